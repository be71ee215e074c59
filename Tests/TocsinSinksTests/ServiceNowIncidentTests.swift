import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("ServiceNow incidents: exact requests against a fake instance", .timeLimit(.minutes(1)))
struct ServiceNowIncidentTests {
    static let findQuery = "correlation_id=tocsin-fp-5d2c9a^active=true^stateNOT IN6,7,8^ORDERBYDESCsys_created_on"
    /// The same query as it travels: every `=`, `^`, `,` and space percent-encoded.
    static let findQueryOnTheWire =
        "sysparm_query=correlation_id%3Dtocsin-fp-5d2c9a%5Eactive%3Dtrue%5EstateNOT%20IN6%2C7%2C8%5EORDERBYDESCsys_created_on"
        + "&sysparm_fields=sys_id%2Cnumber%2Cstate%2Curgency%2Cimpact&sysparm_limit=1"

    static let expectedDescription = """
        Disk usage above 80 % on n3

        Disk usage on n3 is 83 %, above the 80 % warning level.

        Severity: critical
        Category: Nodes
        Started: 2026-01-01T00:00:00Z

        Labels:
        - alertname: DiskUsageHigh
        - cluster: prod-eu
        - dc: dc1
        - node: n3

        Details:
        - runbook: https://runbooks.example.com/disk
        - used_ratio: 0.83

        Links:
        - Disk dashboard: https://grafana.example.com/d/disk?node=n3

        In Tocsin: https://tocsin.example.com/alerts/fp-5d2c9a
        """

    /// Checks the find request: GET, the encoded query, JSON accepted, Basic credentials, no body.
    func expectFind(_ request: RecordedRequest, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(request.method == "GET", sourceLocation: sourceLocation)
        #expect(request.path == "/api/now/table/incident", sourceLocation: sourceLocation)
        #expect(request.query == Self.findQueryOnTheWire, sourceLocation: sourceLocation)
        #expect(request.queryValue("sysparm_query") == Self.findQuery, sourceLocation: sourceLocation)
        #expect(request.queryValue("sysparm_fields") == "sys_id,number,state,urgency,impact", sourceLocation: sourceLocation)
        #expect(request.queryValue("sysparm_limit") == "1", sourceLocation: sourceLocation)
        #expect(request.header("Accept") == "application/json", sourceLocation: sourceLocation)
        #expect(request.header("Authorization") == ServiceNowTest.basicAuthorization, sourceLocation: sourceLocation)
        #expect(request.header("Content-Type") == nil, sourceLocation: sourceLocation)
        #expect(request.body.isEmpty, sourceLocation: sourceLocation)
    }

    /// Checks the headers of a request with a JSON body.
    func expectJSONHeaders(_ request: RecordedRequest, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(request.header("Accept") == "application/json", sourceLocation: sourceLocation)
        #expect(request.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(request.header("Authorization") == ServiceNowTest.basicAuthorization, sourceLocation: sourceLocation)
        #expect(request.query.isEmpty, sourceLocation: sourceLocation)
    }

    @Test("an open finds no incident, then creates one with the correlation id, urgency, impact and the configured fields")
    func createsIncident() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let settings = ServiceNowTest.settings(
                url: peer.url(""),
                [
                    "assignment_group": .string("287ebd7da9fe198100f92cc8d1d2154e"),
                    "caller": .string("46c6f9efa9fe198101ddf5eed9adf6e7"),
                    "category": .string("software"),
                ]
            )
            let result = try await withServiceNowSink(settings) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            #expect(result.outcome == .delivered)
            #expect(result.statusCode == 201)
            #expect(result.detail == "created INC0010001 (correlation_id tocsin-fp-5d2c9a)")

            let requests = peer.requests
            try #require(requests.count == 2)
            expectFind(requests[0])
            #expect(requests[1].method == "POST")
            #expect(requests[1].path == "/api/now/table/incident")
            expectJSONHeaders(requests[1])
            #expect(
                requests[1].stringFields == [
                    "correlation_id": "tocsin-fp-5d2c9a",
                    "correlation_display": "Tocsin",
                    "short_description": "Disk usage above 80 % on n3",
                    "description": Self.expectedDescription,
                    "urgency": "1",
                    "impact": "1",
                    "assignment_group": "287ebd7da9fe198100f92cc8d1d2154e",
                    "caller_id": "46c6f9efa9fe198101ddf5eed9adf6e7",
                    "category": "software",
                ]
            )
            #expect(requests[1].jsonObject()?.count == 9, "no other field is sent")

            let incident = try #require(fake.incidents.first)
            #expect(fake.incidents.count == 1)
            #expect(incident["correlation_id"] == "tocsin-fp-5d2c9a")
            #expect(incident["priority"] == "1")
            #expect(incident.state == "1")
        }
    }

    @Test("without optional settings the create carries only Tocsin's fields")
    func createsMinimalIncident() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            #expect(result.outcome == .delivered)
            let create = try #require(peer.requests.last)
            #expect(
                Set(create.jsonObject()?.keys.map { $0 } ?? [])
                    == ["correlation_id", "correlation_display", "short_description", "description", "urgency", "impact"]
            )
        }
    }

    @Test("an open retried after the create succeeded but its answer was lost leaves exactly one incident")
    func retriedOpenAfterLostAnswer() async throws {
        let fake = ServiceNowTest.fake()
        fake.fail(.create, with: .answerLost)
        try await fake.serve { peer in
            let outbound = ServiceNowTest.outbound(.open)
            // The create's answer never arrives within the timeout (the fake answers after 30 s); the incident exists all
            // the same. The timeout is generous so that the find still answers in time on a loaded machine.
            let (first, second) = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url("")), timeout: .seconds(5)) { sink in
                (await sink.deliver(outbound), await sink.deliver(outbound))
            }
            #expect(first.outcome == .retryable(retryAfter: nil), "the lost answer is a failed attempt: \(first.detail ?? "")")
            #expect(first.detail?.hasPrefix("create incident:") == true)
            #expect(fake.incidents.count == 1, "the first attempt did create the incident")
            #expect(second.outcome == .delivered)
            #expect(second.detail == "INC0010001 is already open with urgency 1 and impact 1: nothing to change")
            #expect(peer.requests.map(\.method) == ["GET", "POST", "GET"], "the retry finds the incident and creates none")
            #expect(fake.incidents.count == 1)
            #expect(fake.incidents.first?.workNotes == [])
        }
    }

    @Test("an open sent twice after a successful create (the outbox retried anyway) creates one incident")
    func repeatedOpenAfterSuccess() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let outbound = ServiceNowTest.outbound(.open)
            let results = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                [await sink.deliver(outbound), await sink.deliver(outbound), await sink.deliver(outbound)]
            }
            #expect(results.map(\.outcome) == [.delivered, .delivered, .delivered])
            #expect(fake.incidents.count == 1)
            #expect(peer.requests.map(\.method) == ["GET", "POST", "GET", "GET"])
        }
    }

    @Test("an escalation raises the open incident's urgency and impact with a work note instead of opening another")
    func escalationUpdatesIncident() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let (opened, escalated) = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                (
                    await sink.deliver(ServiceNowTest.outbound(.open, severity: .warning)),
                    await sink.deliver(ServiceNowTest.outbound(.open, severity: .critical))
                )
            }
            #expect(opened.outcome == .delivered)
            #expect(escalated.outcome == .delivered)
            #expect(escalated.statusCode == 200)
            #expect(escalated.detail == "updated INC0010001: urgency 1, impact 1")
            let incident = try #require(fake.incidents.first)
            #expect(fake.incidents.count == 1)

            let requests = peer.requests
            try #require(requests.count == 4)
            #expect(requests[1].stringFields?["urgency"] == "2")
            #expect(requests[1].stringFields?["impact"] == "2")
            expectFind(requests[2])
            #expect(requests[3].method == "PATCH")
            #expect(requests[3].path == "/api/now/table/incident/\(incident.sysID)")
            expectJSONHeaders(requests[3])
            #expect(
                requests[3].stringFields == [
                    "urgency": "1",
                    "impact": "1",
                    "work_notes": "Tocsin: the alert is now critical: Disk usage above 80 % on n3\nhttps://tocsin.example.com/alerts/fp-5d2c9a",
                ]
            )
            #expect(incident["urgency"] == "1")
            #expect(incident["impact"] == "1")
            #expect(incident["priority"] == "1")
            #expect(incident.workNotes.count == 1)
        }
    }

    @Test("an open never lowers the urgency or impact someone raised in ServiceNow")
    func neverLowersLevels() async throws {
        let fake = ServiceNowTest.fake()
        fake.insertIncident(["correlation_id": ServiceNowTest.correlationID, "urgency": "1", "impact": "3", "state": "2"])
        try await fake.serve { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) {
                await $0.deliver(ServiceNowTest.outbound(.open, severity: .warning))
            }
            #expect(result.outcome == .delivered)
            // Warning maps to 2/2: urgency stays 1, impact rises from 3 to 2.
            #expect(peer.requests.last?.stringFields?["urgency"] == "1")
            #expect(peer.requests.last?.stringFields?["impact"] == "2")
            #expect(fake.incidents.first?["urgency"] == "1")
            #expect(fake.incidents.first?["impact"] == "2")
        }
    }

    @Test("a resolve finds the open incident and sets the resolved state, the close code and the close notes")
    func resolvesIncident() async throws {
        let fake = ServiceNowTest.fake(mandatoryOnResolve: ["close_code", "close_notes"])
        try await fake.serve { peer in
            let (opened, resolved) = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                (await sink.deliver(ServiceNowTest.outbound(.open)), await sink.deliver(ServiceNowTest.outbound(.resolve)))
            }
            #expect(opened.outcome == .delivered)
            #expect(resolved.outcome == .delivered)
            #expect(resolved.statusCode == 200)
            #expect(resolved.detail == "resolved INC0010001")
            let incident = try #require(fake.incidents.first)
            let requests = peer.requests
            try #require(requests.count == 4)
            expectFind(requests[2])
            #expect(requests[3].method == "PATCH")
            #expect(requests[3].path == "/api/now/table/incident/\(incident.sysID)")
            expectJSONHeaders(requests[3])
            #expect(
                requests[3].stringFields == [
                    "state": "6",
                    "close_code": "Solved (Permanently)",
                    "close_notes": "Resolved by Tocsin: Disk usage above 80 % on n3",
                ]
            )
            #expect(incident.state == "6")
            #expect(incident["close_code"] == "Solved (Permanently)")
        }
    }

    @Test("close code, close notes template and resolve state come from the settings")
    func resolveSettings() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let settings = ServiceNowTest.settings(
                url: peer.url(""),
                [
                    "close_code": .string("Solution provided"),
                    "resolve_state": .number(7),
                    "templates": .object(["close_notes": .string("Recovered at {{ended_at}}")]),
                ]
            )
            let resolved = try await withServiceNowSink(settings) { sink in
                _ = await sink.deliver(ServiceNowTest.outbound(.open))
                return await sink.deliver(ServiceNowTest.outbound(.resolve))
            }
            #expect(resolved.outcome == .delivered)
            #expect(
                peer.requests.last?.stringFields == [
                    "state": "7", "close_code": "Solution provided", "close_notes": "Recovered at 2026-01-01T00:10:00Z",
                ]
            )
            #expect(peer.requests[2].queryValue("sysparm_query")?.contains("^stateNOT IN6,7,8^") == true)
            #expect(fake.incidents.first?.isActive == false)
        }
    }

    @Test("a resolve for a correlation id with no open incident is delivered and says there was nothing to resolve")
    func resolveUnknown() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) {
                await $0.deliver(ServiceNowTest.outbound(.resolve))
            }
            #expect(result.outcome == .delivered)
            #expect(result.detail == "no open incident with correlation_id tocsin-fp-5d2c9a: nothing to resolve")
            #expect(peer.requests.count == 1)
            expectFind(try #require(peer.requests.first))
            #expect(fake.incidents.isEmpty)
        }
    }

    @Test("version 1 of the Table API answers 404 No Record found to an empty find: treated as no incident")
    func tableAPIVersion1() async throws {
        let fake = ServiceNowTest.fake(tableAPIVersion: 1)
        try await fake.serve { peer in
            let (resolved, opened) = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                (await sink.deliver(ServiceNowTest.outbound(.resolve)), await sink.deliver(ServiceNowTest.outbound(.open)))
            }
            #expect(resolved.outcome == .delivered)
            #expect(resolved.detail?.contains("nothing to resolve") == true)
            #expect(opened.outcome == .delivered)
            #expect(fake.incidents.count == 1)
        }
    }

    @Test("a resolved incident stays active in ServiceNow, yet an alert that fires again gets a new incident, resolved in turn")
    func refiresAfterResolve() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let results = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { sink in
                var results: [SinkResult] = []
                for type in [NotificationType.open, .resolve, .open, .resolve] { results.append(await sink.deliver(ServiceNowTest.outbound(type))) }
                return results
            }
            #expect(results.map(\.outcome) == [.delivered, .delivered, .delivered, .delivered])
            #expect(
                results.map(\.detail) == [
                    "created INC0010001 (correlation_id tocsin-fp-5d2c9a)", "resolved INC0010001",
                    "created INC0010002 (correlation_id tocsin-fp-5d2c9a)", "resolved INC0010002",
                ]
            )
            #expect(fake.incidents.map(\.state) == ["6", "6"])
            let allActive = fake.incidents.allSatisfy(\.isActive)
            #expect(allActive, "resolved incidents are still active until closed")
        }
    }

    @Test(
        "severity sets urgency and impact, hence the priority",
        arguments: [
            (Severity.critical, "1", "1", "1"), (.error, "1", "2", "2"), (.warning, "2", "2", "3"), (.info, "3", "3", "5"),
        ]
    )
    func severityMapping(severity: Severity, urgency: String, impact: String, priority: String) async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) {
                await $0.deliver(ServiceNowTest.outbound(.open, severity: severity))
            }
            #expect(result.outcome == .delivered)
            #expect(peer.requests.last?.stringFields?["urgency"] == urgency)
            #expect(peer.requests.last?.stringFields?["impact"] == impact)
            #expect(fake.incidents.first?["priority"] == priority)
        }
        #expect(ServiceNowPayload.incidentLevel(severity) == .init(urgency: Int(urgency) ?? 0, impact: Int(impact) ?? 0))
    }

    @Test("a short description over 160 characters and a description over 4000 are cut with the visible marker")
    func truncation() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let outbound = ServiceNowTest.outbound(.open) { event in
                event.summary = String(repeating: "S", count: 300)
                event.description = String(repeating: "d", count: 6000)
            }
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered)
            let fields = try #require(peer.requests.last?.stringFields)
            let short = try #require(fields["short_description"])
            #expect(short.count == 160)
            #expect(short == String(repeating: "S", count: 160 - Truncation.marker.count) + Truncation.marker)
            let description = try #require(fields["description"])
            #expect(description.count == 4000)
            #expect(description.hasSuffix(Truncation.marker))
            #expect(description.hasPrefix(String(repeating: "S", count: 300)))
        }
    }

    @Test("templates override the short description and the description")
    func templateOverrides() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let settings = ServiceNowTest.settings(
                url: peer.url(""),
                [
                    "templates": .object([
                        "short_description": .string("[{{severity_upper}}] {{summary}}"), "description": .string("{{label.node}} in {{label.dc}}"),
                    ])
                ]
            )
            _ = try await withServiceNowSink(settings) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            #expect(peer.requests.last?.stringFields?["short_description"] == "[CRITICAL] Disk usage above 80 % on n3")
            #expect(peer.requests.last?.stringFields?["description"] == "n3 in dc1")
        }
    }

    @Test("without a public URL the description has no Tocsin link")
    func noPublicURL() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            _ = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url("")), publicURL: nil) {
                await $0.deliver(ServiceNowTest.outbound(.open))
            }
            let description = try #require(peer.requests.last?.stringFields?["description"])
            #expect(!description.contains("In Tocsin"))
            #expect(description.hasSuffix("- Disk dashboard: https://grafana.example.com/d/disk?node=n3"))
        }
    }

    @Test("one-off notifications are skipped by default and become their own incident with notifications: send")
    func oneOffNotifications() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let skipped = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) {
                await $0.deliver(Fixture.outbound(.notification))
            }
            #expect(skipped.outcome == .delivered)
            #expect(skipped.detail == "one-off notification not sent to ServiceNow (notifications: skip)")
            #expect(peer.requests.isEmpty)

            let sent = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""), ["notifications": .string("send")])) { sink in
                (await sink.deliver(Fixture.outbound(.notification)), await sink.deliver(Fixture.outbound(.notification))).0
            }
            #expect(sent.outcome == .delivered)
            #expect(sent.detail == "created INC0010001 (correlation_id tocsin-event-evt-0001)")
            #expect(fake.incidents.count == 1, "a repeated send finds the incident")
            #expect(fake.incidents.first?["urgency"] == "3")
            #expect(fake.incidents.first?["short_description"] == "Local backup created successfully")
        }
    }

    @Test("a correlation id that would not fit the column or holds encoded-query characters is replaced by a hash")
    func correlationIDs() {
        func event(_ fingerprint: String?) -> Event {
            var event = Fixture.event(for: .open)
            event.fingerprint = fingerprint
            return event
        }
        #expect(ServiceNowPayload.correlationID(for: event("fp-5d2c9a")) == "tocsin-fp-5d2c9a")
        #expect(ServiceNowPayload.correlationID(for: event("0123456789abcdef")) == "tocsin-0123456789abcdef")
        #expect(ServiceNowPayload.correlationID(for: event(nil)) == "tocsin-event-evt-0001")
        for unsafe in ["a^b", "a=b", "a,b", "with space", String(repeating: "x", count: 94)] {
            let id = ServiceNowPayload.correlationID(for: event(unsafe))
            #expect(id.count == 71 && id.hasPrefix("tocsin-"), "\(unsafe) → \(id)")
            let hexDigest = id.dropFirst(7).allSatisfy(\.isHexDigit)
            #expect(hexDigest, "\(id)")
            #expect(ServiceNowPayload.correlationID(for: event(unsafe)) == id, "stable")
        }
        #expect(ServiceNowPayload.correlationID(for: event(String(repeating: "x", count: 93))).count == 100)
    }

    @Test("a url with a path prefix (a proxy) keeps it in every request")
    func urlWithPathPrefix() async throws {
        try await ScriptedPeer.run(.json(200, #"{"result":[]}"#), .json(201, #"{"result":{"sys_id":"abc","number":"INC0000042"}}"#)) { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url("/proxy/sn/"))) {
                await $0.deliver(ServiceNowTest.outbound(.open))
            }
            #expect(result.outcome == .delivered)
            #expect(result.detail == "created INC0000042 (correlation_id tocsin-fp-5d2c9a)")
            #expect(peer.requests.map(\.path) == ["/proxy/sn/api/now/table/incident", "/proxy/sn/api/now/table/incident"])
        }
    }
}
