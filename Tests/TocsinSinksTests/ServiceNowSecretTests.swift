import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("ServiceNow secrets never leak", .timeLimit(.minutes(1)))
struct ServiceNowSecretTests {
    static let encodedCredentials = Data("\(ServiceNowTest.username):\(ServiceNowTest.password)".utf8).base64EncodedString()

    /// Records an issue when `text` shows the password or the base64 credentials.
    func expectNoSecret(in text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        TocsinSinksTests.expectNoSecret(
            in: text,
            [("password", ServiceNowTest.password), ("base64 credentials", Self.encodedCredentials)],
            what,
            sourceLocation: sourceLocation
        )
    }

    @Test(
        "answers that echo the request (Authorization included) leave no secret in any detail, success or failure",
        arguments: ["incident", "event"]
    )
    func echoedRequests(mode: String) async throws {
        let fake = ServiceNowTest.fake(echo: true)
        fake.fail(.any, with: .badRequest)
        fake.fail(.any, with: .rateLimited(retryAfter: "5", resetAt: nil))
        fake.fail(.any, with: .serverError(503))
        try await fake.serve { peer in
            let results = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""), ["mode": .string(mode)])) { sink in
                var results: [SinkResult] = []
                for _ in 0..<4 { results.append(await sink.deliver(ServiceNowTest.outbound(.open))) }
                results.append(await sink.deliver(ServiceNowTest.outbound(.open, severity: .warning)))
                results.append(await sink.deliver(ServiceNowTest.outbound(.resolve)))
                return results
            }
            #expect(results.map(\.outcome).prefix(4) == [.permanent, .retryable(retryAfter: .seconds(5)), .retryable(retryAfter: nil), .delivered])
            // The echo really carried the credentials, and the successful answers were quoted.
            #expect(peer.requests.allSatisfy { $0.header("Authorization") == ServiceNowTest.basicAuthorization })
            // Event Management's success answer is not quoted; every other detail quotes an echo, redacted.
            let quoting = mode == "incident" ? results : Array(results.prefix(3))
            for (index, result) in quoting.enumerated() {
                #expect(result.detail?.contains("you sent") == true, "detail of attempt \(index): \(result.detail ?? "")")
                #expect(result.detail?.contains("<secret>") == true, "detail of attempt \(index): \(result.detail ?? "")")
            }
            for (index, result) in results.enumerated() {
                expectNoSecret(in: result.detail ?? "", "detail of attempt \(index) (\(result.outcome))")
            }
        }
    }

    @Test("a 401 that quotes the credentials sent does not show them")
    func echoedUnauthorized() async throws {
        let fake = ServiceNowFake(username: ServiceNowTest.username, password: "the-instance-password", echo: true)
        try await fake.serve { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            #expect(result.outcome == .permanent)
            #expect(result.statusCode == 401)
            expectNoSecret(in: try #require(result.detail), "detail of a 401")
        }
    }

    @Test("an answer quoting the password in plain text does not show it")
    func quotedPassword() async throws {
        let body = #"{"error":{"message":"Bad credentials","detail":"password \#(ServiceNowTest.password) rejected"},"status":"failure"}"#
        try await ScriptedPeer.run(.json(403, body)) { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            let detail = try #require(result.detail)
            #expect(detail.contains("Bad credentials: password <secret> rejected"))
            expectNoSecret(in: detail, "detail of a 403")
        }
    }

    @Test("refused connections and timeouts show no secret")
    func transportFailures() async throws {
        let port = try await ScriptedPeer.closedPort()
        let refused = try await withServiceNowSink(ServiceNowTest.settings(url: "http://127.0.0.1:\(port)"), timeout: .seconds(1)) {
            await $0.deliver(ServiceNowTest.outbound(.open))
        }
        #expect(refused.outcome == .retryable(retryAfter: nil))
        expectNoSecret(in: try #require(refused.detail), "detail of a refused connection")

        let fake = ServiceNowTest.fake()
        fake.fail(.find, with: .slow(.seconds(2)))
        try await fake.serve { peer in
            let timedOut = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url("")), timeout: .milliseconds(200)) {
                await $0.deliver(ServiceNowTest.outbound(.open))
            }
            #expect(timedOut.outcome == .retryable(retryAfter: nil))
            expectNoSecret(in: try #require(timedOut.detail), "detail of a timeout")
        }
    }

    @Test("descriptions of the sink and its configuration show no secret")
    func descriptions() async throws {
        try await withServiceNowSink(ServiceNowTest.settings(url: "https://acme.service-now.com")) { sink in
            for (what, text) in [
                ("String(describing:) of the sink", String(describing: sink)),
                ("String(reflecting:) of the sink", String(reflecting: sink)),
                ("String(describing:) of the configuration", String(describing: sink.configuration)),
                ("String(reflecting:) of the configuration", String(reflecting: sink.configuration)),
                (
                    "dump of the configuration",
                    {
                        var out = ""
                        dump(sink.configuration, to: &out)
                        return out
                    }()
                ),
            ] {
                expectNoSecret(in: text, what)
            }
            #expect(sink.configuration.password.exposedValue == ServiceNowTest.password, "the check is not vacuous")
        }
    }

    @Test("configuration problems name keys, never the password")
    func problemsShowNoSecret() {
        var settings = ServiceNowTest.settings(url: "ftp://acme")
        settings["pasword"] = .string(ServiceNowTest.password)
        settings["instance"] = .string(ServiceNowTest.password)
        let found = problems(ServiceNowConfiguration.parse(ServiceNowTest.integration(settings)))
        #expect(found.count >= 2)
        expectNoSecret(in: found.map(\.description).joined(separator: "\n"), "configuration problems")
    }
}
