import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinTestSupport

@Suite("Query, delivery, routing-preview and health endpoints")
struct QueryAPITests {
    @Test("open alerts filter by category, severity and label; history pages newest first")
    func testAlertsAndHistory() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let body = """
                [
                  {"severity":"error","category":"nodes","summary":"n1 down","labels":{"node":"n1","dc":"eu"}},
                  {"severity":"warning","category":"nodes","summary":"n2 slow","labels":{"node":"n2","dc":"us"}},
                  {"severity":"error","category":"repairs","summary":"repair failed","labels":{"node":"n1","dc":"eu","check":"repair"}}
                ]
                """
            #expect(try await client.post("/api/v1/events", body).status == .accepted)
            func count(_ query: String) async throws -> Int {
                try #require(try await client.get("/api/v1/alerts\(query)").json()["alerts"] as? [[String: Any]]).count
            }
            #expect(try await count("") == 3)
            #expect(try await count("?category=nodes") == 2)
            #expect(try await count("?severity=error") == 2)
            #expect(try await count("?label=dc=eu") == 2)
            #expect(try await count("?category=nodes&label=dc=eu") == 1)
            #expect(try await client.get("/api/v1/alerts?severity=huge").status == .badRequest)
            #expect(try await client.get("/api/v1/alerts?category=weather").status == .badRequest)

            let page1 = try await client.get("/api/v1/events?limit=2").json()
            let first = try #require(page1["events"] as? [[String: Any]])
            #expect(first.count == 2)
            let next = try #require(page1["next"] as? Int)
            let page2 = try await client.get("/api/v1/events?limit=2&before=\(next)").json()
            let second = try #require(page2["events"] as? [[String: Any]])
            #expect(second.count == 1)
            #expect(page2["next"] == nil)
            #expect(try await client.get("/api/v1/events?limit=0").status == .badRequest)
        }
    }

    @Test("route preview names the integrations and the cells, and sends nothing")
    func testRoutePreview() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let preview = try await client.post(
                "/api/v1/route-preview",
                #"{"kind":"notification","severity":"info","category":"backups","summary":"Backup done"}"#
            )
            #expect(preview.status == .ok)
            let json = try preview.json()
            #expect(json["integrations"] as? [String] == ["backup-log"])
            let targets = try #require(json["targets"] as? [[String: Any]])
            #expect(targets.first?["cell"] as? String == "backups.info")
            #expect(json["unrouted"] as? Bool == false)
            let critical = try await client.post(
                "/api/v1/route-preview",
                #"{"severity":"critical","category":"metrics","summary":"x","labels":{"a":"b"}}"#
            ).json()
            #expect(((critical["targets"] as? [[String: Any]])?.first?["cell"] as? String) == "global.error")
            let unrouted = try await client.post("/api/v1/route-preview", #"{"severity":"info","summary":"x","labels":{"a":"b"}}"#).json()
            #expect(unrouted["unrouted"] as? Bool == true)
            #expect(try await runtime.store.counts().events == 0)
            #expect(try await client.post("/api/v1/route-preview", #"{"severity":"loud","summary":"x"}"#).status == .badRequest)
        }
    }

    @Test("deliveries list by status; retry refuses unknown and non-failed deliveries")
    func testDeliveriesAndRetry() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            #expect(try await client.post("/api/v1/events", #"{"severity":"error","summary":"x","labels":{"a":"b"}}"#).status == .accepted)
            let delivered = await eventually {
                let page = try? await client.get("/api/v1/deliveries?status=delivered").json()
                return ((page?["deliveries"] as? [[String: Any]])?.count ?? 0) == 1
            }
            #expect(delivered)
            let all = try #require(try await client.get("/api/v1/deliveries").json()["deliveries"] as? [[String: Any]])
            let delivery = try #require(all.first?["delivery"] as? [String: Any])
            let id = try #require(delivery["id"] as? String)
            #expect(delivery["attempts"] as? Int == 1)
            #expect(delivery["integration"] as? String == "alert-log")
            #expect(try await client.post("/api/v1/deliveries/\(id)/retry", "").status == .conflict)
            #expect(try await client.post("/api/v1/deliveries/nope/retry", "").status == .notFound)
            #expect(try await client.get("/api/v1/deliveries?status=lost").status == .badRequest)
        }
    }

    @Test("health, readiness and Alertmanager's probes answer; metrics are Prometheus text")
    func testHealth() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            #expect(try await client.get("/healthz").status == .ok)
            let ready = try await client.get("/readyz")
            #expect(ready.status == .ok)
            #expect(try ready.json()["store"] as? String == "ok")
            #expect(try ready.json()["schemaVersion"] as? Int == 5)
            #expect(try await client.get("/-/ready").status == .ok)
            #expect(try await client.get("/-/healthy").status == .ok)
            #expect(try await client.post("/api/v1/events", #"{"severity":"warning","summary":"x","labels":{"a":"b"}}"#).status == .accepted)
            let metrics = try await client.get("/metrics")
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"tocsin_events_ingested_total{kind="alert",severity="warning",source="api"} 1"#))
            #expect(metrics.text.contains("tocsin_outbox_deliveries{"))
        }
    }
}
