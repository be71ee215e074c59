import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinTestSupport

@Suite("Catalogue endpoint and typed events")
struct CatalogueAPITests {
    static let yaml =
        logFileYAML + """

            catalogue:
              overrides:
                backup.local_created: {severity: warning}
            """

    @Test("GET /api/v1/catalogue lists every entry sorted by type, with the override applied")
    func testListing() async throws {
        let (runtime, _) = try await makeRuntime(yaml: Self.yaml)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let response = try await client.get("/api/v1/catalogue")
            #expect(response.status == .ok)
            let entries = try #require(try response.json()["entries"] as? [[String: Any]])
            #expect(entries.count == EventCatalogue.builtIn.entries.count)
            let types = entries.compactMap { $0["type"] as? String }
            #expect(types == types.sorted())
            let created = try #require(entries.first { $0["type"] as? String == "backup.local_created" })
            #expect(created["severity"] as? String == "warning")
            #expect(created["defaultSeverity"] as? String == "info")
            #expect(created["category"] as? String == "backups")
            #expect(created["kind"] as? String == "notification")
            #expect(created["summary"] as? String == "Local backup created")
            #expect((created["source"] as? String)?.contains("AxonOps") == true)
            let provisioning = try #require(entries.first { $0["type"] as? String == "cluster.provisioning_failed" })
            #expect(provisioning["severity"] as? String == "error")
            #expect(provisioning["defaultSeverity"] as? String == "error")
        }
    }

    @Test("a catalogue event is accepted and routed by its category and its (overridden) severity")
    func testTypedEventRouting() async throws {
        let (runtime, _) = try await makeRuntime(yaml: Self.yaml)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            func integrations(_ body: String) async throws -> [String]? {
                let response = try await client.post("/api/v1/events", body)
                #expect(response.status == .accepted, "\(response.text)")
                let accepted = try #require(try response.json()["accepted"] as? [[String: Any]])
                return accepted.first?["integrations"] as? [String]
            }
            // backups.info → backup-log; a warning goes through the global row → alert-log.
            #expect(try await integrations(#"{"type":"backup.deleted","labels":{"node":"n1"}}"#) == ["backup-log"])
            #expect(try await integrations(#"{"type":"backup.local_failed","labels":{"node":"n1"}}"#) == ["alert-log"])
            #expect(try await integrations(#"{"type":"backup.local_created","labels":{"node":"n1"}}"#) == ["alert-log"])
            #expect(try await integrations(#"{"type":"backup.local_created","severity":"info","labels":{"node":"n1"}}"#) == ["backup-log"])
            #expect(try await integrations(#"{"type":"service_check","result":"Error","labels":{"check":"cql"}}"#) == ["alert-log"])

            let page = try await client.get("/api/v1/events?limit=5").json()
            let items = try #require(page["events"] as? [[String: Any]])
            let failed = try #require(
                items.map { $0["event"] as? [String: Any] }.first { ($0?["summary"] as? String)?.hasPrefix("Local backup failed") == true }
            )
            #expect(failed?["category"] as? String == "backups")
            #expect(failed?["severity"] as? String == "warning")
            #expect(failed?["summary"] as? String == "Local backup failed (node n1)")

            let refused = try await client.post("/api/v1/events", #"{"type":"backup.exploded","labels":{"node":"n1"}}"#)
            #expect(refused.status == .badRequest)
            let error = try #require(try refused.json()["error"] as? [String: Any])
            #expect(error["field"] as? String == "type")
            #expect(error["reason"] as? String == "invalid_field")

            let preview = try await client.post("/api/v1/route-preview", #"{"type":"backup.local_created","labels":{"node":"n1"}}"#).json()
            #expect(preview["severity"] as? String == "warning")
            #expect(preview["category"] as? String == "backups")
        }
    }
}
