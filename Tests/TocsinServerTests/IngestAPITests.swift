import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinTestSupport

@Suite("Ingest API through the router")
struct IngestAPITests {
    @Test("an event is answered 202 with its id only after it is stored, and a re-post changes nothing")
    func testPostAndRepost() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        let app = runtime.application()
        try await app.test(.router) { client in
            let body = #"{"id":"evt-1","severity":"error","category":"nodes","summary":"Node down","labels":{"node":"n1"}}"#
            let first = try await client.post("/api/v1/events", body)
            #expect(first.status == .accepted)
            let accepted = try #require(try first.json()["accepted"] as? [[String: Any]])
            #expect(accepted.first?["id"] as? String == "evt-1")
            #expect(accepted.first?["outcome"] as? String == "opened")
            #expect(accepted.first?["integrations"] as? [String] == ["alert-log"])
            let stored = try await runtime.store.counts()
            #expect(stored.events == 1)
            #expect(stored.deliveries == 1)

            let again = try await client.post("/api/v1/events", body)
            #expect(again.status == .accepted)
            let repeated = try #require(try again.json()["accepted"] as? [[String: Any]])
            #expect(repeated.first?["outcome"] as? String == "duplicate")
            let after = try await runtime.store.counts()
            #expect(after == stored)
        }
    }

    @Test("an array of events is committed together and every id is listed")
    func testBatch() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let body = """
                [
                  {"id":"a","severity":"warning","summary":"one","labels":{"n":"1"}},
                  {"id":"b","kind":"notification","severity":"info","category":"backups","summary":"Local backup created"},
                  {"id":"c","severity":"info","category":"commands","summary":"nobody routes this","labels":{"n":"3"}}
                ]
                """
            let response = try await client.post("/api/v1/events", body)
            #expect(response.status == .accepted)
            let accepted = try #require(try response.json()["accepted"] as? [[String: Any]])
            #expect(accepted.map { $0["id"] as? String } == ["a", "b", "c"])
            #expect(accepted.map { $0["outcome"] as? String } == ["opened", "notified", "unrouted"])
            #expect(accepted[1]["integrations"] as? [String] == ["backup-log"])
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"tocsin_events_unrouted_total{category="commands",severity="info"} 1"#))
            let history = try await client.get("/api/v1/events").json()
            let items = try #require(history["events"] as? [[String: Any]])
            #expect(items.count == 3)
            #expect(items.first?["outcome"] as? String == "unrouted")
        }
    }

    @Test(
        "bad input is refused with the field and reason, and nothing of it is stored",
        arguments: [
            ("{not json", 400, "malformed_json", nil),
            (#"{"severity":"fatal","summary":"x","labels":{"a":"b"}}"#, 400, "invalid_field", "severity"),
            (#"{"severity":"error","category":"weather","summary":"x","labels":{"a":"b"}}"#, 400, "invalid_field", "category"),
            (#"{"severity":"error","labels":{"a":"b"}}"#, 400, "missing_field", "summary"),
            (#"{"severity":"error","summary":"x","labels":{"a":1}}"#, 400, "invalid_field", "labels.a"),
            (#"{"severity":"error","summary":"x","labels":"a"}"#, 400, "invalid_field", "labels"),
            (
                #"[{"severity":"error","summary":"ok","labels":{"a":"b"}},{"severity":"error","labels":{"a":"c"}}]"#, 400, "missing_field",
                "[1].summary"
            ),
            (#"{"severity":"error","summary":"x","labels":{"a":"b"},"colour":"red"}"#, 400, "invalid_field", "colour"),
            (#"{"severity":"error","summary":"x"}"#, 400, "missing_field", "labels"),
            (#"{"id":"has space","severity":"error","summary":"x","labels":{"a":"b"}}"#, 400, "invalid_field", "id"),
            (#""just a string""#, 400, "invalid_field", nil),
            ("[]", 400, "missing_field", nil),
        ] as [(String, Int, String, String?)]
    )
    func testRejections(body: String, status: Int, reason: String, field: String?) async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let response = try await client.post("/api/v1/events", body)
            #expect(response.status.code == status)
            let error = try #require(try response.json()["error"] as? [String: Any])
            #expect(error["reason"] as? String == reason)
            #expect(error["field"] as? String == field)
            #expect((error["message"] as? String)?.isEmpty == false)
            let counts = try await runtime.store.counts()
            #expect(counts.events == 0 && counts.alerts == 0 && counts.deliveries == 0)
        }
    }

    @Test("a body over the limit is 413, and so are too many events")
    func testLimits() async throws {
        let yaml = logFileYAML + "\nserver:\n  max_body_bytes: 2048\n  max_events_per_request: 3\n"
        let (runtime, _) = try await makeRuntime(yaml: yaml)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let big = #"{"severity":"error","summary":""# + String(repeating: "x", count: 4096) + #"","labels":{"a":"b"}}"#
            let tooLarge = try await client.post("/api/v1/events", big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try tooLarge.json()["error"].flatMap { ($0 as? [String: Any])?["reason"] as? String } == "body_too_large")
            let four = (1...4).map { #"{"severity":"error","summary":"s","labels":{"n":"\#($0)"}}"# }.joined(separator: ",")
            let tooMany = try await client.post("/api/v1/events", "[\(four)]")
            #expect(tooMany.status == .contentTooLarge)
            #expect(try tooMany.json()["error"].flatMap { ($0 as? [String: Any])?["reason"] as? String } == "too_many_events")
            let alertmanager = try await client.post("/api/v2/alerts", "[\(four)]")
            #expect(alertmanager.status == .contentTooLarge)
            #expect(try await runtime.store.counts().events == 0)
        }
    }

    @Test("Alertmanager's v2 body: severity and category labels, annotations, endsAt in the past resolves")
    func testAlertmanagerIngest() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let firing = """
                [{"labels":{"alertname":"DiskFull","node":"n3","severity":"critical","category":"nodes"},
                  "annotations":{"summary":"Disk on n3 is full","description":"97% used","runbook":"http://wiki/disk"},
                  "generatorURL":"http://prometheus/graph"},
                 {"labels":{"alertname":"Odd","severity":"page"}}]
                """
            let response = try await client.post("/api/v2/alerts", firing)
            #expect(response.status == .ok)
            let alerts = try #require(try await client.get("/api/v1/alerts").json()["alerts"] as? [[String: Any]])
            #expect(alerts.count == 2)
            let disk = try #require(alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "DiskFull" })
            #expect(disk["severity"] as? String == "critical")
            #expect(disk["category"] as? String == "nodes")
            #expect(disk["summary"] as? String == "Disk on n3 is full")
            #expect(disk["description"] as? String == "97% used")
            let odd = try #require(alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "Odd" })
            #expect(odd["severity"] as? String == "warning")
            #expect(odd["category"] as? String == "metrics")
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains("tocsin_alertmanager_unknown_severity_total 1"))

            let past = Timestamp.format(Date().addingTimeInterval(-60))
            let resolve = """
                [{"labels":{"alertname":"DiskFull","node":"n3","severity":"critical","category":"nodes"},"endsAt":"\(past)"}]
                """
            #expect(try await client.post("/api/v2/alerts", resolve).status == .ok)
            let open = try #require(try await client.get("/api/v1/alerts").json()["alerts"] as? [[String: Any]])
            #expect(open.count == 1)
            let history = try #require(try await client.get("/api/v1/events?limit=1").json()["events"] as? [[String: Any]])
            #expect(history.first?["outcome"] as? String == "resolved")
        }
    }

    @Test("an Alertmanager alert not sent again before its endsAt resolves itself, on simulated time")
    func testResolveTimeout() async throws {
        let clock = ManualClock()
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML, clock: clock)
        defer { Task { await runtime.shutdown() } }
        // The router alone: the real sweeper would also sweep, on the same manual clock, at moments of its own.
        try await Application(router: runtime.router()).test(.router) { client in
            let body = #"[{"labels":{"alertname":"Load","node":"n1","severity":"error"}}]"#
            #expect(try await client.post("/api/v2/alerts", body).status == .ok)
            clock.advance(by: .seconds(240))
            #expect(try await runtime.expiry.sweep() == 0)
            // Re-sent at 4 minutes: the default resolve timeout (5 minutes) starts again.
            #expect(try await client.post("/api/v2/alerts", body).status == .ok)
            clock.advance(by: .seconds(240))
            #expect(try await runtime.expiry.sweep() == 0)
            #expect(try await runtime.store.openAlerts(.init()).count == 1)
            clock.advance(by: .seconds(61))
            #expect(try await runtime.expiry.sweep() == 1)
            #expect(try await runtime.store.openAlerts(.init()).isEmpty)
            let history = try #require(try await client.get("/api/v1/events?limit=1").json()["events"] as? [[String: Any]])
            #expect(history.first?["outcome"] as? String == "resolved")
            #expect(history.first?["integrations"] as? [String] == ["alert-log"])
            #expect(try await runtime.expiry.sweep() == 0)
        }
    }
}
