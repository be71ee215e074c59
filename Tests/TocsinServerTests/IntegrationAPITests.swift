import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinTestSupport

@Suite("Integrations: listing, test sends and rate limits")
struct IntegrationAPITests {
    func yaml(url: String, extra: String = "") -> String {
        """
        integrations:
          - name: ops-hook
            type: webhook
            url: "\(url)"
            bearer_token: "tok-SECRET-0123456789"
            \(extra)
          - name: alert-log
            type: log_file
            path: "{DATA}/n.log"
        routing:
          global:
            warning: [ops-hook]
        """
    }

    @Test("GET /api/v1/integrations lists names, types and limits, and no setting that could hold a secret")
    func listsIntegrations() async throws {
        let (runtime, _) = try await makeRuntime(yaml: yaml(url: "http://127.0.0.1:9/hook", extra: "rate_limit: 10/s"))
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let response = try await client.get("/api/v1/integrations")
            #expect(response.status == .ok)
            #expect(!response.text.contains("tok-SECRET"))
            let items = try #require(try response.json()["integrations"] as? [[String: Any]])
            #expect(items.map { $0["name"] as? String } == ["ops-hook", "alert-log"])
            #expect(items.first?["type"] as? String == "webhook")
            #expect(items.first?["rateLimit"] as? String == "10/1s")
        }
    }

    @Test("a test send goes out marked, outside the outbox, and reports the service's answer")
    func testSendDelivered() async throws {
        try await ScriptedPeer.run(.status(200, body: "ok")) { peer in
            let (runtime, _) = try await makeRuntime(yaml: yaml(url: peer.url()))
            defer { Task { await runtime.shutdown() } }
            try await runtime.application().test(.router) { client in
                let response = try await client.post("/api/v1/integrations/ops-hook/test", "")
                #expect(response.status == .ok, "\(response.text)")
                let test = try #require(try response.json()["test"] as? [String: Any])
                #expect(test["outcome"] as? String == "delivered")
                #expect(test["statusCode"] as? Int == 200)
                #expect(peer.requests.count == 1)
                let body = try #require(peer.requests.first?.jsonObject())
                let alert = try #require((body["alerts"] as? [[String: Any]])?.first ?? body["event"] as? [String: Any] ?? body)
                #expect("\(alert)".contains("tocsin_test"), "the message carries the test marker: \(body)")
                // Nothing was stored: the outbox never saw it.
                let deliveries = try await client.get("/api/v1/deliveries")
                #expect((try deliveries.json()["deliveries"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test("a refused test answers 502 with the service's answer, redacted; an unknown name is 404")
    func testSendRefused() async throws {
        try await ScriptedPeer.run(.echo(401, extra: "invalid token")) { peer in
            let (runtime, _) = try await makeRuntime(yaml: yaml(url: peer.url()))
            defer { Task { await runtime.shutdown() } }
            try await runtime.application().test(.router) { client in
                let response = try await client.post("/api/v1/integrations/ops-hook/test", "")
                #expect(response.status == .badGateway)
                #expect(!response.text.contains("tok-SECRET-0123456789"), "\(response.text)")
                let test = try #require(try response.json()["test"] as? [String: Any])
                #expect(test["outcome"] as? String == "permanent")
                #expect(test["statusCode"] as? Int == 401)
                #expect((test["detail"] as? String)?.contains("invalid token") == true)

                let missing = try await client.post("/api/v1/integrations/nobody/test", "")
                #expect(missing.status == .notFound)
                #expect(try missing.json()["error"] as? [String: Any] != nil)
            }
        }
    }

    @Test("a throttled test send reports retryable with the service's Retry-After")
    func testSendThrottled() async throws {
        try await ScriptedPeer.run(.status(429, headers: ["Retry-After": "7"], body: "slow down")) { peer in
            let (runtime, _) = try await makeRuntime(yaml: yaml(url: peer.url()))
            defer { Task { await runtime.shutdown() } }
            try await runtime.application().test(.router) { client in
                let response = try await client.post("/api/v1/integrations/ops-hook/test", "")
                #expect(response.status == .badGateway)
                let test = try #require(try response.json()["test"] as? [String: Any])
                #expect(test["outcome"] as? String == "retryable")
                #expect(test["retryAfterSeconds"] as? Double == 7)
                #expect(test["statusCode"] as? Int == 429)
            }
        }
    }

    @Test("the dispatcher holds sends to the integration's rate limit: 4 alerts at 1/s are spread over about 3 s")
    func rateLimitSpacesDeliveries() async throws {
        try await ScriptedPeer.run(.status(200)) { peer in
            let (runtime, _) = try await makeRuntime(yaml: yaml(url: peer.url(), extra: "rate_limit: 1/s"))
            // The router test mode runs the application's services (the dispatcher among them) while the closure runs.
            defer { Task { await runtime.shutdown() } }
            try await runtime.application().test(.router) { client in
                let events = (1...4).map { #"{"severity":"warning","category":"nodes","summary":"n\#($0) slow","labels":{"node":"n\#($0)"}}"# }
                let posted = try await client.post("/api/v1/events", "[\(events.joined(separator: ","))]")
                #expect(posted.status == .accepted)
                #expect(await peer.waitUntil(timeout: .seconds(30)) { $0.count == 4 })
            }
            let times = peer.requests.map(\.arrivedAt).sorted()
            try #require(times.count == 4)
            // The sends are released at 0, 1, 2 and 3 s (unlimited, all four arrive within milliseconds). Arrival times
            // also carry each send's own latency, so the bound leaves a second for a slow first send on a busy machine.
            #expect(times[3].timeIntervalSince(times[0]) >= 2.0, "\(times)")
        }
    }
}
