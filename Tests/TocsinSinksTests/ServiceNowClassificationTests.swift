import AsyncHTTPClient
import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("ServiceNow answers classified from a fake instance", .timeLimit(.minutes(1)))
struct ServiceNowClassificationTests {
    /// Delivers an open through a sink on `fake`'s peer.
    func deliverOpen(
        _ fake: ServiceNowFake,
        settings extra: [String: JSONValue] = [:],
        timeout: Duration = .seconds(5),
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> (SinkResult, [RecordedRequest]) {
        try await fake.serve { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""), extra), timeout: timeout, now: now) {
                await $0.deliver(ServiceNowTest.outbound(.open))
            }
            return (result, peer.requests)
        }
    }

    @Test("400 is permanent; the detail names the step and quotes ServiceNow's error message and detail")
    func badRequest() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.create, with: .badRequest)
        let (result, requests) = try await deliverOpen(fake)
        #expect(result.outcome == .permanent)
        #expect(result.statusCode == 400)
        #expect(result.detail == "create incident: HTTP 400: Exception while reading request: Cannot decode: java.io.StringReader@3d2c1b0a")
        #expect(requests.count == 2)
        #expect(fake.incidents.isEmpty)
    }

    @Test("401 for wrong credentials is permanent and stops at the first request")
    func unauthorized() async throws {
        let fake = ServiceNowFake(username: ServiceNowTest.username, password: "another-password")
        let (result, requests) = try await deliverOpen(fake)
        #expect(result.outcome == .permanent)
        #expect(result.statusCode == 401)
        #expect(result.detail == "find incident: HTTP 401: User Not Authenticated: Required to provide Auth information")
        #expect(requests.count == 1)
    }

    @Test("403 (an ACL) is permanent")
    func forbidden() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.create, with: .forbidden)
        let (result, _) = try await deliverOpen(fake)
        #expect(result.outcome == .permanent)
        #expect(result.statusCode == 403)
        #expect(result.detail?.contains("ACL Exception Insert Failed due to security constraints") == true)
    }

    @Test("a resolve refused by a data policy (a mandatory field) is permanent and names the fields")
    func dataPolicyOnResolve() async throws {
        let fake = ServiceNowTest.fake(mandatoryOnResolve: ["close_code", "close_notes", "assigned_to"])
        try await fake.serve { peer in
            let resolved = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                _ = await sink.deliver(ServiceNowTest.outbound(.open))
                return await sink.deliver(ServiceNowTest.outbound(.resolve))
            }
            #expect(resolved.outcome == .permanent)
            #expect(resolved.statusCode == 403)
            #expect(
                resolved.detail
                    == "resolve incident: HTTP 403: Operation Failed: Data Policy Exception: \n\tThe following fields are mandatory: Assigned to"
            )
            #expect(fake.incidents.first?.state == "1")
        }
    }

    @Test("429 is retryable at the time Retry-After gives; the next attempt creates the incident once")
    func rateLimitedWithRetryAfter() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.create, with: .rateLimited(retryAfter: "120", resetAt: Date().addingTimeInterval(3600)))
        try await fake.serve { peer in
            let (limited, again) = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                (await sink.deliver(ServiceNowTest.outbound(.open)), await sink.deliver(ServiceNowTest.outbound(.open)))
            }
            #expect(limited.outcome == .retryable(retryAfter: .seconds(120)))
            #expect(limited.statusCode == 429)
            #expect(limited.detail?.hasPrefix("create incident: HTTP 429: Rate limit exceeded") == true)
            #expect(again.outcome == .delivered)
            #expect(fake.incidents.count == 1)
        }
    }

    @Test("429 without Retry-After waits until X-RateLimit-Reset (Unix time)")
    func rateLimitedWithResetOnly() async throws {
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        let fake = ServiceNowTest.fake()
        fake.fail(.find, with: .rateLimited(retryAfter: nil, resetAt: now.addingTimeInterval(90)))
        let (result, requests) = try await deliverOpen(fake, now: { now })
        #expect(result.outcome == .retryable(retryAfter: .seconds(90)))
        #expect(requests.count == 1)
    }

    @Test("429 with neither header is retryable with the outbox's own backoff")
    func rateLimitedWithoutHeaders() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.find, with: .rateLimited(retryAfter: nil, resetAt: nil))
        let (result, _) = try await deliverOpen(fake)
        #expect(result.outcome == .retryable(retryAfter: nil))
    }

    @Test("5xx is retryable", arguments: [500, 502, 503, 504])
    func serverError(status: Int) async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.create, with: .serverError(status))
        let (result, _) = try await deliverOpen(fake)
        #expect(result.outcome == .retryable(retryAfter: nil))
        #expect(result.statusCode == status)
        #expect(result.detail?.hasPrefix("create incident: HTTP \(status): <html>") == true)
        #expect(fake.incidents.isEmpty)
    }

    @Test("a failed find, update or resolve classifies the whole attempt")
    func failedStepClassifiesAttempt() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                _ = await sink.deliver(ServiceNowTest.outbound(.open, severity: .warning))

                fake.fail(.update, with: .serverError(500))
                let escalation = await sink.deliver(ServiceNowTest.outbound(.open, severity: .critical))
                #expect(escalation.outcome == .retryable(retryAfter: nil))
                #expect(escalation.statusCode == 500)
                #expect(escalation.detail?.hasPrefix("update incident: HTTP 500") == true)
                #expect(fake.incidents.first?["urgency"] == "2")

                fake.fail(.find, with: .serverError(503))
                let resolveFind = await sink.deliver(ServiceNowTest.outbound(.resolve))
                #expect(resolveFind.outcome == .retryable(retryAfter: nil))
                #expect(resolveFind.detail?.hasPrefix("find incident: HTTP 503") == true)

                fake.fail(.update, with: .badRequest)
                let resolvePatch = await sink.deliver(ServiceNowTest.outbound(.resolve))
                #expect(resolvePatch.outcome == .permanent)
                #expect(resolvePatch.detail?.hasPrefix("resolve incident: HTTP 400") == true)
                #expect(fake.incidents.first?.state == "1")
            }
            #expect(peer.requests.map(\.method) == ["GET", "POST", "GET", "PATCH", "GET", "GET", "PATCH"])
        }
    }

    @Test("an event refused with 400 is permanent, with 503 retryable")
    func eventAnswers() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.pushEvent, with: .badRequest)
        fake.fail(.pushEvent, with: .serverError(503))
        try await fake.serve { peer in
            let results = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""), ["mode": .string("event")])) { sink in
                [await sink.deliver(ServiceNowTest.outbound(.open)), await sink.deliver(ServiceNowTest.outbound(.open))]
            }
            #expect(results.map(\.outcome) == [.permanent, .retryable(retryAfter: nil)])
            #expect(results[0].detail?.hasPrefix("push event: HTTP 400: Exception while reading request") == true)
        }
    }

    @Test("a 404 that is not ServiceNow's No Record found (a wrong URL) is permanent, not an empty find")
    func foreignNotFound() async throws {
        try await ScriptedPeer.run(.status(404, headers: ["Content-Type": "text/html"], body: "<html>Not Found</html>")) { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) {
                await $0.deliver(ServiceNowTest.outbound(.resolve))
            }
            #expect(result.outcome == .permanent)
            #expect(result.statusCode == 404)
            #expect(result.detail == "find incident: HTTP 404: <html>Not Found</html>")
        }
    }

    @Test("a find answered 200 with something other than a Table API result (a login page) is permanent")
    func unexpectedFindAnswer() async throws {
        try await ScriptedPeer.run(.status(200, headers: ["Content-Type": "text/html"], body: "<html>Log in</html>")) { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            #expect(result.outcome == .permanent)
            #expect(result.detail == "find incident: the answer is not a Table API result: <html>Log in</html>")
            #expect(peer.requests.count == 1)
        }
    }

    @Test("an answer slower than the timeout is retryable")
    func timeout() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.find, with: .slow(.seconds(3)))
        let (result, requests) = try await deliverOpen(fake, timeout: .milliseconds(300))
        #expect(result.outcome == .retryable(retryAfter: nil))
        #expect(result.statusCode == nil)
        #expect(result.detail?.hasPrefix("find incident: http://127.0.0.1:") == true, "\(result.detail ?? "")")
        #expect(requests.count == 1)
    }

    @Test("the timeout bounds the whole attempt: the create gets only what the find left of it")
    func timeoutSharedByTheSteps() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.find, with: .slow(.seconds(2)))
        fake.fail(.create, with: .slow(.seconds(4)))
        let (result, requests) = try await deliverOpen(fake, timeout: .seconds(5))
        // Each answer alone fits in 5 s; together they do not: with its own 5 s the create would succeed. The margins are wide so that a loaded machine (the
        // whole suite runs in parallel) still sees the find answered in time.
        #expect(result.outcome == .retryable(retryAfter: nil))
        #expect(result.detail?.hasPrefix("create incident:") == true, "\(result.detail ?? "")")
        #expect(requests.map(\.method) == ["GET", "POST"])
    }

    @Test("a refused connection is retryable, with no status and a detail that says so")
    func connectionRefused() async throws {
        let port = try await ScriptedPeer.closedPort()
        let result = try await withServiceNowSink(ServiceNowTest.settings(url: "http://127.0.0.1:\(port)"), timeout: .seconds(1)) {
            await $0.deliver(ServiceNowTest.outbound(.open))
        }
        #expect(result.outcome == .retryable(retryAfter: nil))
        #expect(result.statusCode == nil)
        let detail = try #require(result.detail)
        #expect(detail.hasPrefix("find incident: http://127.0.0.1:\(port)/…"), "\(detail)")
        #expect(detail.lowercased().contains("refused"), "\(detail)")
    }

    @Test("the registry builds the sink with ServiceNow's default rate limit, and it delivers through the shared transport")
    func registrySink() async throws {
        let factory = try #require(SinkRegistry.factories["servicenow"])
        #expect(factory.defaultRateLimit == RateLimit(count: 60, period: .seconds(60)))
        #expect(
            SinkRegistry.rateLimit(for: ServiceNowTest.integration(ServiceNowTest.settings(url: "https://x.example.com"))) == factory.defaultRateLimit
        )
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let made = SinkRegistry.makeSinks(
                for: [ServiceNowTest.integration(ServiceNowTest.settings(url: peer.url("")))],
                environment: SinkEnvironment(http: HTTPTransport(client: client), publicURL: ServiceNowTest.publicURL)
            )
            var result: SinkResult?
            if case .success(let sinks) = made, let sink = sinks["ops-servicenow"] {
                result = await sink.deliver(ServiceNowTest.outbound(.open))
            }
            try await client.shutdown()
            #expect(result?.outcome == .delivered)
            #expect(fake.incidents.first?["description"]?.contains("In Tocsin: https://tocsin.example.com/alerts/fp-5d2c9a") == true)
        }
    }
}
