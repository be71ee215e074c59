import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinStore
import TocsinTestSupport

@Suite("Managed configuration: integrations and routing cells through the API")
struct ManagedConfigurationTests {
    static let token = "tok-MANAGED-SECRET-0001"

    static func hook(_ url: String, extra: String = "") -> String {
        #"{"name":"ops-hook","type":"webhook","url":"\#(url)","bearer_token":"\#(token)","timeout":"5s"\#(extra)}"#
    }

    static let backupWarning = #"{"category":"backups","severity":"warning","summary":"backup slow","labels":{"node":"n1"}}"#

    @Test("an integration made through the API, routed in a category, receives the category's events; secrets never come back")
    func createRouteAndDeliver() async throws {
        try await ScriptedPeer.run(.status(200)) { peer in
            let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
            defer { Task { await runtime.shutdown() } }
            try await runtime.application().test(.router) { client in
                let created = try await client.post("/api/v1/integrations", Self.hook(peer.url()))
                #expect(created.status == .created, "\(created.text)")
                #expect(!created.text.contains(Self.token))
                let integration = try #require(try created.json()["integration"] as? [String: Any])
                #expect(integration["source"] as? String == "managed")
                #expect(integration["editable"] as? Bool == true)
                #expect((integration["settings"] as? [String: Any])?["bearer_token"] as? String == "********")
                #expect((integration["settings"] as? [String: Any])?["url"] as? String == "********")

                let cell = try await client.execute(
                    uri: "/api/v1/routing/backups/warning",
                    method: .put,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"integrations":["ops-hook"],"override":true}"#)
                )
                #expect(cell.status == .ok, "\(cell.text)")

                let preview = try await client.post("/api/v1/route-preview", Self.backupWarning)
                #expect(try preview.json()["integrations"] as? [String] == ["ops-hook"])
                let posted = try await client.post("/api/v1/events", Self.backupWarning)
                #expect(posted.status == .accepted)
                let accepted = try #require((try posted.json()["accepted"] as? [[String: Any]])?.first)
                #expect(accepted["integrations"] as? [String] == ["ops-hook"])
                #expect(await peer.waitUntil { !$0.isEmpty })
                #expect(peer.requests.first?.header("Authorization") == "Bearer \(Self.token)")

                let list = try await client.get("/api/v1/integrations")
                #expect(!list.text.contains(Self.token))
                let items = try #require(try list.json()["integrations"] as? [[String: Any]])
                #expect(items.map { $0["name"] as? String } == ["alert-log", "backup-log", "ops-hook"])
                #expect(items.map { $0["source"] as? String } == ["file", "file", "managed"])
                let one = try await client.get("/api/v1/integrations/ops-hook")
                #expect(one.status == .ok)
                #expect(!one.text.contains(Self.token))

                let routing = try #require(try (await client.get("/api/v1/routing")).json()["routing"] as? [String: Any])
                let rows = try #require(routing["rows"] as? [[String: Any]])
                let backups = try #require(rows.first { $0["scope"] as? String == "backups" }?["cells"] as? [[String: Any]])
                let warning = try #require(backups.first { $0["severity"] as? String == "warning" })
                #expect(warning["source"] as? String == "managed")
                #expect(warning["integrations"] as? [String] == ["ops-hook"])
                let info = try #require(backups.first { $0["severity"] as? String == "info" })
                #expect(info["source"] as? String == "file")
                #expect(info["editable"] as? Bool == false)
            }
            let audit = try await runtime.store.auditLog(before: nil, limit: 10)
            #expect(audit.map(\.action) == ["routing.update", "integration.create"])
            #expect(audit.map(\.target) == ["backups/warning", "ops-hook"])
            #expect(audit.allSatisfy { $0.actor == "anonymous" && !$0.detail.contains(Self.token) })
        }
    }

    @Test("secrets are stored encrypted; an update that leaves them out or masked keeps them working")
    func secretsAtRest() async throws {
        try await ScriptedPeer.run(.status(200)) { peer in
            let (runtime, directory) = try await makeRuntime(yaml: logFileYAML)
            defer { Task { await runtime.shutdown() } }
            try await runtime.application().test(.router) { client in
                #expect(try await client.post("/api/v1/integrations", Self.hook(peer.url())).status == .created)
                let row = try #require(try await runtime.store.managedIntegrations().first)
                #expect(!row.body.contains(Self.token))
                #expect(!row.body.contains(peer.url()))
                #expect(row.body.contains("enc:v1:"))
                #expect(row.updatedBy == "anonymous")
                let database = try Data(contentsOf: URL(fileURLWithPath: directory + "/tocsin.db"))
                #expect(database.range(of: Data(Self.token.utf8)) == nil)
                let keyAttributes = try FileManager.default.attributesOfItem(atPath: directory + "/secrets.key")
                #expect(keyAttributes[.posixPermissions] as? Int == 0o600)

                // Without the secrets, and with the URL masked: both kept.
                let update = try await client.execute(
                    uri: "/api/v1/integrations/ops-hook",
                    method: .put,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"type":"webhook","url":"********","timeout":"3s","format":"alertmanager"}"#)
                )
                #expect(update.status == .ok, "\(update.text)")
                #expect((try update.json()["integration"] as? [String: Any])?["timeoutSeconds"] as? Double == 3)
                let test = try await client.post("/api/v1/integrations/ops-hook/test", "")
                #expect(test.status == .ok, "\(test.text)")
                #expect(peer.requests.last?.header("Authorization") == "Bearer \(Self.token)")
                #expect(peer.requests.last?.path == "/hook")
            }
            let audit = try await runtime.store.auditLog(before: nil, limit: 10)
            #expect(audit.first?.action == "integration.update")
        }
    }

    @Test("an invalid integration is refused with every problem and its path; nothing is stored")
    func validation() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let structural = try await client.post(
                "/api/v1/integrations",
                #"{"name":"bad hook","type":"webhook","retry":{"max_age":"soon"},"rate_limit":"lots"}"#
            )
            #expect(structural.status == .badRequest)
            let error = try #require(try structural.json()["error"] as? [String: Any])
            #expect(error["reason"] as? String == "invalid_configuration")
            let paths = Set((error["problems"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
            #expect(paths == ["name", "retry.max_age", "rate_limit"])

            let sink = try await client.post("/api/v1/integrations", #"{"name":"h","type":"webhook","format":"xml"}"#)
            #expect(sink.status == .badRequest)
            let sinkPaths = Set(
                ((try sink.json()["error"] as? [String: Any])?["problems"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
            )
            #expect(sinkPaths == ["url", "format"])

            let indirect = try await client.post(
                "/api/v1/integrations",
                #"{"name":"h","type":"webhook","url":"https://x.example.com/${HOME}","bearer_token_file":"/etc/passwd"}"#
            )
            #expect(indirect.status == .badRequest)
            #expect(indirect.text.contains("bearer_token_file"))
            #expect(indirect.text.contains("tocsin.yml only"))

            let clash = try await client.post("/api/v1/integrations", #"{"name":"alert-log","type":"log_file","path":"/tmp/x.log"}"#)
            #expect(clash.status == .conflict)
            #expect(try await runtime.store.managedIntegrations().isEmpty)
            #expect(try await runtime.store.auditLog(before: nil, limit: 10).isEmpty)
        }
    }

    @Test("a managed log file stays inside server.managed_integrations.log_directory; managed CloudWatch needs its own keys")
    func machineLimits() async throws {
        let logs = makeTemporaryDirectory("tocsin-managed-logs")
        let yaml = "server: {managed_integrations: {log_directory: \"\(logs)\"}}\n" + logFileYAML
        let (runtime, _) = try await makeRuntime(yaml: yaml)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            for outside in ["/etc/cron.d/tocsin", "\(logs)/../escape.log", "relative.log", logs] {
                let answer = try await client.post("/api/v1/integrations", #"{"name":"l","type":"log_file","path":"\#(outside)"}"#)
                #expect(answer.status == .badRequest, "\(outside): \(answer.text)")
                let problems = (try answer.json()["error"] as? [String: Any])?["problems"] as? [[String: Any]] ?? []
                #expect(problems.compactMap { $0["path"] as? String } == ["path"], "\(outside)")
                #expect(answer.text.contains("server.managed_integrations.log_directory"))
            }
            let inside = try await client.post("/api/v1/integrations", #"{"name":"l","type":"log_file","path":"\#(logs)/team/alerts.log"}"#)
            #expect(inside.status == .created, "\(inside.text)")

            let ambient = #"{"name":"cw","type":"cloudwatch_logs","region":"eu-west-1","group_name":"tocsin"}"#
            let refused = try await client.post("/api/v1/integrations", ambient)
            #expect(refused.status == .badRequest, "\(refused.text)")
            #expect(refused.text.contains("allow_server_aws_credentials"))
            let keyed = try await client.post(
                "/api/v1/integrations",
                #"{"name":"cw","type":"cloudwatch_logs","region":"eu-west-1","group_name":"tocsin","access_key_id":"AKIDEXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG"}"#
            )
            #expect(keyed.status == .created, "\(keyed.text)")
            #expect(!keyed.text.contains("wJalrXUtnFEMI"))
            #expect(try await runtime.store.managedIntegrations().map(\.name).sorted() == ["cw", "l"])
        }
    }

    @Test("a stored log file outside the limits in force at load is not put in force, and says why")
    func limitsAtLoad() async throws {
        let root = makeTemporaryDirectory("tocsin-managed-root")
        let loose = "server: {managed_integrations: {log_directory: \"\(root)\"}}\n" + logFileYAML
        let (first, directory) = try await makeRuntime(yaml: loose)
        try await first.application().test(.router) { client in
            let made = try await client.post("/api/v1/integrations", #"{"name":"l","type":"log_file","path":"\#(root)/other/alerts.log"}"#)
            #expect(made.status == .created, "\(made.text)")
        }
        await first.shutdown()
        // The same database, read by a server whose limits are stricter (or by another instance of a fleet).
        let strict = "server: {managed_integrations: {log_directory: \"\(root)/logs\"}}\n" + logFileYAML
        let (second, _) = try await makeRuntime(yaml: strict, directory: directory)
        defer { Task { await second.shutdown() } }
        #expect(second.live.snapshot.integration(named: "l") == nil)
        #expect(!second.dispatcher.integrationNames.contains("l"))
        let problem = try #require(second.live.snapshot.unavailable["l"])
        #expect(problem.contains("server.managed_integrations"), "\(problem)")
    }

    @Test("file-defined integrations and cells are read-only; unknown names, categories and severities are refused")
    func readOnlyAndRefusals() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            func put(_ uri: String, _ body: String) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .put, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
            }
            let update = try await put("/api/v1/integrations/alert-log", #"{"type":"log_file","path":"/tmp/y.log"}"#)
            #expect(update.status == .conflict)
            #expect((try update.json()["error"] as? [String: Any])?["reason"] as? String == "read_only")
            #expect(try await client.execute(uri: "/api/v1/integrations/alert-log", method: .delete).status == .conflict)
            let fileCell = try await put("/api/v1/routing/global/warning", #"{"integrations":["backup-log"]}"#)
            #expect(fileCell.status == .conflict)
            #expect((try fileCell.json()["error"] as? [String: Any])?["reason"] as? String == "read_only")
            #expect(try await put("/api/v1/routing/global/info", #"{"integrations":["nobody"]}"#).status == .badRequest)
            #expect(try await put("/api/v1/routing/weather/info", #"{"integrations":["alert-log"]}"#).status == .badRequest)
            #expect(try await put("/api/v1/routing/global/loud", #"{"integrations":["alert-log"]}"#).status == .badRequest)
            #expect(try await put("/api/v1/routing/global/info", #"{"integrations":["alert-log"],"override":true}"#).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/routing/nodes/info", method: .delete).status == .notFound)

            let info = try await put("/api/v1/routing/global/info", #"{"integrations":["alert-log"]}"#)
            #expect(info.status == .ok)
            let preview = try await client.post(
                "/api/v1/route-preview",
                #"{"category":"nodes","severity":"info","summary":"x","labels":{"node":"n1"}}"#
            )
            #expect(try preview.json()["integrations"] as? [String] == ["alert-log"])
            #expect(try await client.execute(uri: "/api/v1/routing/global/info", method: .delete).status == .ok)
            let after = try await client.post(
                "/api/v1/route-preview",
                #"{"category":"nodes","severity":"info","summary":"x","labels":{"node":"n1"}}"#
            )
            #expect(try after.json()["unrouted"] as? Bool == true)

            let types = try await client.get("/api/v1/integration-types")
            let list = try #require(try types.json()["types"] as? [[String: Any]])
            let webhook = try #require(list.first { $0["type"] as? String == "webhook" }?["fields"] as? [[String: Any]])
            #expect(webhook.first { $0["key"] as? String == "bearer_token" }?["kind"] as? String == "secret")
        }
        let actions = try await runtime.store.auditLog(before: nil, limit: 10).map(\.action)
        #expect(actions == ["routing.delete", "routing.update"])
    }

    @Test("deleting an integration stops its deliveries and takes it out of its cells")
    func delete() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            #expect(try await client.post("/api/v1/integrations", Self.hook("http://127.0.0.1:9/hook")).status == .created)
            #expect(runtime.dispatcher.integrationNames.contains("ops-hook"))
            let cell = try await client.execute(
                uri: "/api/v1/routing/backups/warning",
                method: .put,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"integrations":["ops-hook"]}"#)
            )
            #expect(cell.status == .ok)
            #expect(try await client.post("/api/v1/events", Self.backupWarning).status == .accepted)
            /// The outbox gauge of one integration, summed over the delivery statuses.
            func outboxGauge(_ name: String) async throws -> Double {
                let text = try await client.get("/metrics").text
                return text.split(separator: "\n").filter { $0.hasPrefix("tocsin_outbox_deliveries{integration=\"\(name)\",") }
                    .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
            }
            #expect(try await outboxGauge("ops-hook") == 1, "a managed integration's outbox is measured")
            let deleted = try await client.execute(uri: "/api/v1/integrations/ops-hook", method: .delete)
            #expect(deleted.status == .noContent)
            #expect(try await client.get("/api/v1/integrations/ops-hook").status == .notFound)
            #expect(!runtime.dispatcher.integrationNames.contains("ops-hook"))
            #expect(runtime.live.snapshot.routing.route(category: .backups, severity: .warning).integrations == ["alert-log"])
            // Its delivery stays in the outbox (documented), and stays visible there.
            #expect(try await outboxGauge("ops-hook") == 1)
        }
        #expect(try await runtime.store.auditLog(before: nil, limit: 1).first?.action == "integration.delete")
    }

    /// Makes the hook and routes nodes/error to it through `first`; `second` has neither until its version check,
    /// then both, with the secret readable.
    func expectChangeTravels(from first: TocsinRuntime, to second: TocsinRuntime) async throws {
        try await first.application().test(.router) { client in
            #expect(try await client.post("/api/v1/integrations", Self.hook("http://127.0.0.1:9/hook")).status == .created)
            let cell = try await client.execute(
                uri: "/api/v1/routing/nodes/error",
                method: .put,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"integrations":["ops-hook"],"override":true}"#)
            )
            #expect(cell.status == .ok)
        }
        #expect(second.live.snapshot.integration(named: "ops-hook") == nil)
        try await second.live.checkForChanges()
        let integration = try #require(second.live.snapshot.integration(named: "ops-hook"))
        #expect(integration.settings["bearer_token"] == .string(Self.token))
        #expect(second.dispatcher.integrationNames.contains("ops-hook"))
        #expect(second.live.snapshot.routing.route(category: .nodes, severity: .error).integrations == ["ops-hook"])
    }

    @Test("another instance on the same database picks the change up at its version check")
    func secondInstance() async throws {
        let (first, directory) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await first.shutdown() } }
        let (second, _) = try await makeRuntime(yaml: logFileYAML, directory: directory)
        defer { Task { await second.shutdown() } }
        try await expectChangeTravels(from: first, to: second)
    }

    @Test("on PostgreSQL: a secret needs a configured key; two instances with it share sealed integrations and routing")
    func postgresInstances() async throws {
        let url = try TestPostgres.freshSchemaURL(prefix: "managed_config")
        let storage = "storage:\n  postgres: \"\(url)\"\n"
        // Without a key there is nowhere safe to keep one: storing a secret is refused, and nothing is stored.
        let (keyless, _) = try await makeRuntime(yaml: storage + logFileYAML, name: "keyless")
        do {
            try await keyless.application().test(.router) { client in
                let refused = try await client.post("/api/v1/integrations", Self.hook("http://127.0.0.1:9/hook"))
                #expect(refused.status == .conflict, "\(refused.text)")
                #expect((try refused.json()["error"] as? [String: Any])?["reason"] as? String == "secrets_key_required")
            }
            #expect(try await keyless.store.managedIntegrations().isEmpty)
        } catch {
            await keyless.shutdown()
            throw error
        }
        await keyless.shutdown()

        let keyFile = makeTemporaryDirectory("tocsin-key") + "/secrets.key"
        try (SecretBox.generateKeyText() + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        let yaml = storage + "server: {secrets_key_file: \"\(keyFile)\"}\n" + logFileYAML
        let (first, _) = try await makeRuntime(yaml: yaml, name: "instance-a")
        defer { Task { await first.shutdown() } }
        let (second, _) = try await makeRuntime(yaml: yaml, name: "instance-b")
        defer { Task { await second.shutdown() } }
        try await expectChangeTravels(from: first, to: second)
        let row = try #require(try await second.store.managedIntegrations().first)
        #expect(!row.body.contains(Self.token))
        #expect(row.body.contains("enc:v1:"))
        // And back: a deletion on the second reaches the first.
        try await second.application().test(.router) { client in
            let deleted = try await client.execute(uri: "/api/v1/integrations/ops-hook", method: .delete)
            #expect(deleted.status == .noContent, "\(deleted.text)")
        }
        try await first.live.checkForChanges()
        #expect(first.live.snapshot.integration(named: "ops-hook") == nil)
        #expect(!first.dispatcher.integrationNames.contains("ops-hook"))
    }

    @Test("a secret that the key cannot open leaves the integration out, named with the reason, without a crash")
    func wrongKey() async throws {
        let (first, directory) = try await makeRuntime(yaml: logFileYAML)
        try await first.application().test(.router) { client in
            let created = try await client.post("/api/v1/integrations", Self.hook("http://127.0.0.1:9/hook"))
            #expect(created.status == .created)
        }
        await first.shutdown()
        try (SecretBox.generateKeyText() + "\n").write(toFile: directory + "/secrets.key", atomically: true, encoding: .utf8)
        let (second, _) = try await makeRuntime(yaml: logFileYAML, directory: directory)
        defer { Task { await second.shutdown() } }
        #expect(second.live.snapshot.integration(named: "ops-hook") == nil)
        let problem = try #require(second.live.snapshot.unavailable["ops-hook"])
        #expect(problem.contains("ops-hook"))
        #expect(problem.contains("secrets key differs"))
        try await second.application().test(.router) { client in
            let list = try await client.get("/api/v1/integrations")
            let items = try #require(try list.json()["integrations"] as? [[String: Any]])
            #expect(items.first { $0["name"] as? String == "ops-hook" }?["problem"] as? String == problem)
            #expect(!list.text.contains(Self.token))
        }
    }
}
