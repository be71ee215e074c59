import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinStore
import TocsinTestSupport

@Suite("Web console pages")
struct ConsoleTests {
    /// Answers a page and checks what every page shares: HTML, the layout, nothing loaded from elsewhere.
    func page(_ client: some TestClientProtocol, _ path: String, status: HTTPResponse.Status = .ok) async throws -> String {
        let response = try await client.get(path)
        #expect(response.status == status, "\(path): \(response.text)")
        #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
        #expect(response.text.contains(#"<link rel="stylesheet" href="/console/console.css">"#), "\(path)")
        #expect(!response.text.contains("http://") && !response.text.contains("https://"), "\(path) refers to another site")
        return response.text
    }

    @Test("/ sends to /alerts; /alerts lists an open alert with its buttons, and the history")
    func alertsPage() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let root = try await client.get("/")
            #expect(root.status == .seeOther)
            #expect(root.headers[.location] == "/alerts")

            let empty = try await page(client, "/alerts")
            #expect(empty.contains("No open alerts."))
            let body = #"{"severity":"error","category":"nodes","summary":"Node n1 is down","labels":{"node":"n1","dc":"eu"}}"#
            #expect(try await client.post("/api/v1/events", body).status == .accepted)
            let alert = try #require(try await runtime.store.openAlerts(AlertFilter()).first)

            let html = try await page(client, "/alerts")
            #expect(html.contains(#"<a href="/alerts/\#(alert.fingerprint)">Node n1 is down</a>"#))
            #expect(html.contains(#"<span class="label">dc=eu</span> <span class="label">node=n1</span>"#))
            #expect(html.contains(#"data-action="acknowledge" data-fingerprint="\#(alert.fingerprint)""#))
            // The silence button carries the alert's labels as matchers, escaped for the attribute.
            #expect(
                html.contains(#"data-action="silence-alert" data-matchers="[&quot;dc=\&quot;eu\&quot;&quot;,&quot;node=\&quot;n1\&quot;&quot;]""#)
            )
            #expect(html.contains(#"<table class="list" id="history">"#))
            #expect(html.contains("<td>opened</td><td>alert-log</td>"))
            #expect(html.contains(#"<nav><a href="/alerts" class="current" aria-current="page">Alerts</a>"#))

            // Acknowledged and silenced alerts say so, and lose the acknowledge button.
            #expect(try await client.post("/api/v1/alerts/\(alert.fingerprint)/ack", #"{"by":"oncall"}"#).status == .ok)
            let silence = #"{"matchers":["node=\"n1\""],"duration":"1h","created_by":"oncall","comment":"maintenance"}"#
            #expect(try await client.post("/api/v1/silences", silence).status == .created)
            let after = try await page(client, "/alerts")
            #expect(after.contains("acknowledged by oncall"))
            #expect(after.contains(">silenced</span>"))
            #expect(!after.contains(#"data-action="acknowledge""#))
        }
    }

    @Test("label values, summaries and silence comments are escaped, in text and in attributes")
    func escapesEverything() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let body = #"""
                {"severity":"error","category":"nodes","summary":"<img src=x onerror=alert(1)>",
                 "labels":{"node":"<script>alert('x')</script>","q":"\"><b>"}}
                """#
            #expect(try await client.post("/api/v1/events", body).status == .accepted)
            let silence = #"{"matchers":["node=\"n9\""],"duration":"1h","created_by":"<i>me</i>","comment":"<script>bad()</script>"}"#
            #expect(try await client.post("/api/v1/silences", silence).status == .created)
            for path in ["/alerts", "/silences"] {
                let html = try await page(client, path)
                #expect(!html.contains("<script>alert"), "\(path)")
                #expect(!html.contains("<img src=x"), "\(path)")
                #expect(!html.contains("\"><b>"), "\(path)")
                #expect(!html.contains("<script>bad()"), "\(path)")
                #expect(!html.contains("<i>me</i>"), "\(path)")
            }
            let alerts = try await page(client, "/alerts")
            #expect(alerts.contains("node=&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
            #expect(alerts.contains("&lt;img src=x onerror=alert(1)&gt;"))
            #expect(alerts.contains("q=&quot;&gt;&lt;b&gt;"))
            let silences = try await page(client, "/silences")
            #expect(silences.contains("&lt;script&gt;bad()&lt;/script&gt;"))
        }
    }

    @Test("/deliveries shows the outbox per integration and a failed delivery with the service's answer and a Retry button")
    func deliveriesPage() async throws {
        let receiver = try await RecordingReceiver.start { _, _ in
            RecordingReceiver.Reply(status: 400, body: #"{"error":"channel_not_found"}"#)
        }
        let yaml = """
            integrations:
              - name: ops-hook
                type: webhook
                url: "\(receiver.url)"
            routing:
              global:
                error: [ops-hook]
            """
        let (runtime, _) = try await makeRuntime(yaml: yaml)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            #expect(
                try await client.post("/api/v1/events", #"{"severity":"error","summary":"disk full","labels":{"node":"n1"}}"#).status == .accepted
            )
            let failed = await eventually {
                (try? await runtime.store.deliveries(status: .failed, integration: nil, before: nil, limit: 10).count) == 1
            }
            #expect(failed)
            let delivery = try #require(try await runtime.store.deliveries(status: .failed, integration: nil, before: nil, limit: 10).first?.1)
            let html = try await page(client, "/deliveries")
            #expect(html.contains("<tr><td>ops-hook</td><td>0</td><td>0</td><td>1</td><td>0</td></tr>"))
            #expect(html.contains(#"<table class="list" id="failed-deliveries">"#))
            #expect(html.contains("<code>400</code>"))
            #expect(html.contains("channel_not_found"))
            #expect(html.contains(#"<button type="button" data-action="retry" data-delivery="\#(delivery.id)">Retry</button>"#))

            // The button's request: the delivery is pending again, and the page no longer lists it as failed.
            #expect(try await client.post("/api/v1/deliveries/\(delivery.id)/retry", "").status == .accepted)
            receiver.setScript { _, _ in .ok }
            let delivered = await eventually {
                (try? await runtime.store.delivery(id: delivery.id))??.status == .delivered
            }
            #expect(delivered)
            let after = try await page(client, "/deliveries")
            #expect(after.contains("No failed deliveries."))
            #expect(after.contains(#"<span class="status delivered">delivered</span>"#))
        }
        await receiver.stop()
    }

    @Test("/alerts/{id} shows a group and its members by the key messages link to; an unknown id is a friendly 404")
    func groupPage() async throws {
        let yaml =
            logFileYAML + """

                  grouping:
                    group_by: [dc]
                    group_wait: 0s
                """
        let (runtime, _) = try await makeRuntime(yaml: yaml)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let body = """
                [{"severity":"error","category":"nodes","summary":"n1 down","labels":{"node":"n1","dc":"eu"}},
                 {"severity":"error","category":"nodes","summary":"n2 down","labels":{"node":"n2","dc":"eu"}}]
                """
            #expect(try await client.post("/api/v1/events", body).status == .accepted)
            let groups = try #require(try await client.get("/api/v1/groups").json()["groups"] as? [[String: Any]])
            let key = try #require(groups.first?["dedupKey"] as? String)
            #expect(key.hasPrefix("tocsin-group-"))
            let html = try await page(client, "/alerts/\(key)")
            #expect(html.contains("<h3>alert-log: "))
            #expect(html.contains(">n1 down</a>"))
            #expect(html.contains(">n2 down</a>"))
            #expect(html.contains(#"data-action="acknowledge-group" data-key="\#(key)""#))

            let missing = try await page(client, "/alerts/tocsin-group-0000", status: .notFound)
            #expect(missing.contains("Nothing open here"))
            #expect(missing.contains("tocsin-group-0000"))
        }
    }

    @Test("/silences lists silences by state with Expire buttons and the create form")
    func silencesPage() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let body = #"{"matchers":["cluster=\"prod\""],"duration":"2h","created_by":"ana","comment":"upgrade window"}"#
            let created = try await client.post("/api/v1/silences", body)
            #expect(created.status == .created)
            let id = try #require((try created.json()["silence"] as? [String: Any])?["id"] as? String)
            let html = try await page(client, "/silences")
            #expect(html.contains(#"<table class="list silences" data-state="active">"#))
            #expect(html.contains("<code>cluster=&quot;prod&quot;</code>"))
            #expect(html.contains("upgrade window"))
            #expect(html.contains(#"data-action="expire-silence" data-id="\#(id)""#))
            #expect(html.contains(#"<form id="silence-form">"#))
            #expect(html.contains(#"<input name="cron""#))

            #expect(try await client.execute(uri: "/api/v1/silences/\(id)", method: .delete).status == .ok)
            let expired = try await page(client, "/silences")
            #expect(expired.contains(#"<table class="list silences" data-state="expired">"#))
            #expect(!expired.contains(#"data-action="expire-silence""#))

            let window = #"{"matchers":["cluster=\"prod\""],"schedule":{"cron":"0 2 * * 6","duration":"4h"},"created_by":"ana","comment":"weekly"}"#
            #expect(try await client.post("/api/v1/silences", window).status == .created)
            #expect(try await page(client, "/silences").contains("0 2 * * 6 for 4h"))
        }
    }

    @Test("/routing shows the matrix with the file's cells read-only and the preview form; /integrations lists them")
    func routingAndIntegrationsPages() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let routing = try await page(client, "/routing")
            #expect(routing.contains("<thead><tr><th></th><th>info</th><th>warning</th><th>error</th><th>critical</th></tr></thead>"))
            #expect(routing.contains(#"<td class="cell file" data-scope="global" data-severity="warning""#))
            #expect(routing.contains(#"<td class="cell file" data-scope="backups" data-severity="info""#))
            #expect(routing.contains("<li>backup-log</li>"))
            #expect(routing.contains(#"<th scope="row">rolling_restart</th>"#))
            #expect(routing.contains(#"<form id="route-preview-form">"#))

            let integrations = try await page(client, "/integrations")
            #expect(integrations.contains("<h2>log_file</h2>"))
            #expect(integrations.contains(#"<tr data-integration="alert-log">"#))
            #expect(integrations.contains("file (read-only)"))
            #expect(integrations.contains(#"data-action="test-integration" data-name="backup-log""#))
        }
    }

    @Test("with authentication off the sign-in page links to the console; a next outside this server is refused")
    func loginPage() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let html = try await page(client, "/login")
            #expect(html.contains("Authentication is off"))
            #expect(html.contains(#"<a href="/">Open the console</a>"#))
            #expect(!html.contains("<nav><a"))
            // Assets are served from the binary.
            let script = try await client.get("/console/console.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.text.contains("X-CSRF-Token"))
            let style = try await client.get("/console/console.css")
            #expect(style.headers[.contentType] == "text/css; charset=utf-8")
        }
    }

    @Test("with authentication on, a visitor without a sign-in is sent to /login; a viewer sees pages without change buttons")
    func signInRedirect() async throws {
        let yaml = """
            server:
              auth:
                mode: "on"
            """ + "\n" + logFileYAML
        let (runtime, _) = try await makeRuntime(yaml: yaml)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            for path in ["/alerts", "/deliveries", "/integrations", "/routing", "/silences", "/audit", "/alerts/abc"] {
                let response = try await client.get(path)
                #expect(response.status == .seeOther, "\(path)")
                #expect(response.headers[.location] == "/login?next=" + path, "\(path)")
            }
            let login = try await page(client, "/login?next=/deliveries")
            #expect(login.contains(#"<form id="login-form" data-next="/deliveries">"#))
            // A next that leaves this server is replaced: the sign-in page sends nobody elsewhere.
            let elsewhere = try await page(client, "/login?next=//evil.example/x")
            #expect(elsewhere.contains(#"data-next="/alerts""#))
            #expect(try await client.get("/console/console.js").status == .ok)

            let (token, id, hash) = Credentials.newToken()
            let audit = AuditEntry(at: Date(), actor: "cli", action: "token.create", target: id, detail: "viewer")
            try await runtime.store.createToken(
                StoredToken(id: id, name: "reader", tokenHash: hash, role: .viewer, createdAt: Date(), createdBy: "cli"),
                audit: audit
            )
            #expect(try await client.post("/api/v1/events", #"{"severity":"error","summary":"x","labels":{"a":"b"}}"#).status == .unauthorized)
            let bearer: HTTPFields = [.authorization: "Bearer \(token.exposedValue)"]
            let alerts = try await client.execute(uri: "/alerts", method: .get, headers: bearer)
            #expect(alerts.status == .ok)
            #expect(alerts.text.contains(#"<span id="signed-in-as">token:\#(id)</span> <span class="role">viewer</span>"#))
            #expect(!alerts.text.contains(#"<a href="/audit""#))
            #expect(!alerts.text.contains("id=\"silence-dialog\""))
            let silences = try await client.execute(uri: "/silences", method: .get, headers: bearer)
            #expect(!silences.text.contains(#"<form id="silence-form">"#))
            let audited = try await client.execute(uri: "/audit", method: .get, headers: bearer)
            #expect(audited.status == .forbidden)
        }
    }
}
