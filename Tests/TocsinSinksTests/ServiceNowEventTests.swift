import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("ServiceNow Event Management: exact events against a fake instance", .timeLimit(.minutes(1)))
struct ServiceNowEventTests {
    static func settings(url: String, _ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var settings = ServiceNowTest.settings(url: url, ["mode": .string("event")])
        settings.merge(extra) { $1 }
        return settings
    }

    static let expectedAdditionalInfo: JSONValue = .object([
        "alertname": .string("DiskUsageHigh"), "cluster": .string("prod-eu"), "dc": .string("dc1"), "node": .string("n3"),
        "tocsin_event_id": .string("evt-0001"), "tocsin_severity": .string("critical"), "tocsin_category": .string("nodes"),
        "tocsin_fingerprint": .string("fp-5d2c9a"), "tocsin_link": .string("https://tocsin.example.com/alerts/fp-5d2c9a"),
        "tocsin_details": .object(["runbook": .string("https://runbooks.example.com/disk"), "used_ratio": .number(0.83)]),
    ])

    /// The single record of an Event Management request.
    func record(_ request: RecordedRequest?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let request = try #require(request, sourceLocation: sourceLocation)
        let records = try #require(request.jsonObject()?["records"] as? [[String: Any]], sourceLocation: sourceLocation)
        #expect(request.jsonObject()?.count == 1, "only records in the envelope", sourceLocation: sourceLocation)
        try #require(records.count == 1, sourceLocation: sourceLocation)
        return records[0]
    }

    /// `additional_info` parsed back from its string form (stringified JSON).
    func additionalInfo(_ record: [String: Any]) throws -> JSONValue {
        let text = try #require(record["additional_info"] as? String)
        return try JSONValue.decode(Array(text.utf8))
    }

    @Test("an open pushes one event with the message key, severity, node, type, metric, description and GMT time")
    func openEvent() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let settings = Self.settings(url: peer.url(""), ["event_class": .string("tocsin-prod"), "resource_label": .string("dc")])
            let result = try await withServiceNowSink(settings) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            #expect(result.outcome == .delivered)
            #expect(result.statusCode == 200)
            #expect(result.detail == "event sent with message_key tocsin-fp-5d2c9a")

            let request = try #require(peer.requests.first)
            #expect(peer.requests.count == 1)
            #expect(request.method == "POST")
            #expect(request.path == "/api/global/em/jsonv2")
            #expect(request.query.isEmpty)
            #expect(request.header("Accept") == "application/json")
            #expect(request.header("Content-Type") == "application/json")
            #expect(request.header("Authorization") == ServiceNowTest.basicAuthorization)

            let record = try record(request)
            let strings = record.compactMapValues { $0 as? String }
            #expect(strings.count == record.count, "every field is a string")
            #expect(
                strings.filter { !["description", "additional_info"].contains($0.key) } == [
                    "source": "Tocsin",
                    "event_class": "tocsin-prod",
                    "node": "n3",
                    "resource": "dc1",
                    "type": "Nodes",
                    "metric_name": "DiskUsageHigh",
                    "message_key": "tocsin-fp-5d2c9a",
                    "severity": "1",
                    "resolution_state": "New",
                    "time_of_event": "2026-01-01 00:00:30",
                ]
            )
            #expect(strings["description"] == ServiceNowIncidentTests.expectedDescription)
            #expect(try additionalInfo(record) == Self.expectedAdditionalInfo)
            #expect(fake.alerts["tocsin-fp-5d2c9a"]?.state == "Open")
            #expect(fake.alerts["tocsin-fp-5d2c9a"]?.severity == "1")
        }
    }

    @Test("a resolve sends the same message key with severity 0 and resolution state Closing, which closes the alert")
    func clearEvent() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let (opened, cleared) = try await withServiceNowSink(Self.settings(url: peer.url(""))) { sink in
                (await sink.deliver(ServiceNowTest.outbound(.open)), await sink.deliver(ServiceNowTest.outbound(.resolve)))
            }
            #expect(opened.outcome == .delivered)
            #expect(cleared.outcome == .delivered)
            #expect(cleared.detail == "event cleared with message_key tocsin-fp-5d2c9a")
            let record = try record(peer.requests.last)
            #expect(record["message_key"] as? String == "tocsin-fp-5d2c9a")
            #expect(record["severity"] as? String == "0")
            #expect(record["resolution_state"] as? String == "Closing")
            #expect(record["time_of_event"] as? String == "2026-01-01 00:10:00", "the time the alert ended")
            #expect(record["event_class"] == nil, "no event_class unless configured")
            #expect(record["resource"] == nil, "no resource unless resource_label is set")
            #expect(fake.alerts.count == 1)
            #expect(fake.alerts["tocsin-fp-5d2c9a"]?.state == "Closed")
            #expect(fake.alerts["tocsin-fp-5d2c9a"]?.eventCount == 2)
        }
    }

    @Test("severity maps to Event Management's scale", arguments: [(Severity.critical, "1"), (.error, "2"), (.warning, "4"), (.info, "5")])
    func severityMapping(severity: Severity, expected: String) async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            _ = try await withServiceNowSink(Self.settings(url: peer.url(""))) {
                await $0.deliver(ServiceNowTest.outbound(.open, severity: severity))
            }
            #expect(try record(peer.requests.last)["severity"] as? String == expected)
            #expect(fake.alerts["tocsin-fp-5d2c9a"]?.severity == expected)
        }
        #expect(ServiceNowPayload.eventSeverity(severity) == expected)
    }

    @Test("the node comes from node_label, else from the node, instance or host label; without any it is left out")
    func nodeChoice() async throws {
        let cases: [(labels: [String: String], nodeLabel: String?, expected: String?)] = [
            (["node": "n3", "instance": "10.0.0.3:9100", "host": "h3"], nil, "n3"),
            (["instance": "10.0.0.3:9100", "host": "h3"], nil, "10.0.0.3:9100"),
            (["host": "h3"], nil, "h3"),
            (["alertname": "X"], nil, nil),
            (["node": "n3", "server": "db-7"], "server", "db-7"),
            (["node": "n3"], "server", nil),
        ]
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            for testCase in cases {
                var extra: [String: JSONValue] = [:]
                if let label = testCase.nodeLabel { extra["node_label"] = .string(label) }
                _ = try await withServiceNowSink(Self.settings(url: peer.url(""), extra)) { sink in
                    await sink.deliver(ServiceNowTest.outbound(.open) { $0.labels = testCase.labels })
                }
                #expect(try record(peer.requests.last)["node"] as? String == testCase.expected, "\(testCase)")
            }
        }
    }

    @Test("source, node, resource and type longer than 100 characters are cut with the visible marker")
    func truncation() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let long = String(repeating: "n", count: 150)
            let settings = Self.settings(
                url: peer.url(""),
                [
                    "source": .string(String(repeating: "s", count: 150)), "resource_label": .string("disk"),
                    "templates": .object(["type": .string(String(repeating: "t", count: 150))]),
                ]
            )
            _ = try await withServiceNowSink(settings) {
                await $0.deliver(ServiceNowTest.outbound(.open) { $0.labels = ["node": long, "disk": long] })
            }
            let record = try record(peer.requests.last)
            for field in ["source", "node", "resource", "type"] {
                let value = try #require(record[field] as? String, "\(field)")
                #expect(value.count == 100, "\(field) has \(value.count) characters")
                #expect(value.hasSuffix(Truncation.marker), "\(field)")
            }
        }
    }

    @Test("the configured source and the type and metric templates are used; an empty metric name is left out")
    func templates() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let settings = Self.settings(
                url: peer.url(""),
                ["source": .string("Tocsin EU"), "templates": .object(["type": .string("{{label.alertname}}"), "metric_name": .string("")])]
            )
            _ = try await withServiceNowSink(settings) { await $0.deliver(ServiceNowTest.outbound(.open)) }
            let record = try record(peer.requests.last)
            #expect(record["source"] as? String == "Tocsin EU")
            #expect(record["type"] as? String == "DiskUsageHigh")
            #expect(record["metric_name"] == nil)
        }
    }

    @Test("one-off notifications are skipped by default; with notifications: send they are pushed under their event id")
    func notifications() async throws {
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let skipped = try await withServiceNowSink(Self.settings(url: peer.url(""))) { await $0.deliver(Fixture.outbound(.notification)) }
            #expect(skipped.outcome == .delivered)
            #expect(peer.requests.isEmpty)
            let sent = try await withServiceNowSink(Self.settings(url: peer.url(""), ["notifications": .string("send")])) {
                await $0.deliver(Fixture.outbound(.notification))
            }
            #expect(sent.outcome == .delivered)
            let record = try record(peer.requests.last)
            #expect(record["message_key"] as? String == "tocsin-event-evt-0001")
            #expect(record["severity"] as? String == "5")
        }
    }

    @Test("time_of_event is yyyy-MM-dd HH:mm:ss in GMT")
    func eventTime() {
        #expect(ServiceNowPayload.eventTime(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00:00")
        #expect(ServiceNowPayload.eventTime(Date(timeIntervalSince1970: 1_767_225_600 + 13 * 3600 + 4 * 60 + 5.9)) == "2026-01-01 13:04:05")
    }
}
