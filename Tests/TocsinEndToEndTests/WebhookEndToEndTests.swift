import Foundation
import Testing
import TocsinCore
import TocsinTestSupport

@Suite("End to end: a live server delivering to a real receiver", .serialized)
struct WebhookEndToEndTests {
    @Test("an alert's open and its recovery reach the webhook in order, signed, with a stable idempotency key")
    func testOpenAndResolve() async throws {
        let receiver = try await RecordingReceiver.start()
        let server = try await LiveServer.start(
            yaml: """
                integrations:
                  - name: hook
                    type: webhook
                    url: \(receiver.url)
                    secret: s3cr3t-signing-key
                routing:
                  default: [hook]
                """
        )
        let open = try await TestHTTP.post(
            server.baseURL + "/api/v1/events",
            #"{"id":"e2e-1","severity":"error","category":"nodes","summary":"n1 down","labels":{"node":"n1"}}"#
        )
        #expect(open.status == 202)
        let resolve = try await TestHTTP.post(
            server.baseURL + "/api/v1/events",
            #"{"id":"e2e-2","status":"resolved","category":"nodes","labels":{"node":"n1"}}"#
        )
        #expect(resolve.status == 202)
        #expect(await receiver.waitUntil { $0.count >= 2 })
        let requests = receiver.requests
        #expect(requests.map(\.status) == ["open", "resolved"])
        #expect(requests.map(\.eventID) == ["e2e-1", "e2e-2"])
        let first = try #require(requests.first)
        #expect(first.headers["idempotency-key"]?.isEmpty == false)
        #expect(first.headers["x-tocsin-signature"]?.hasPrefix("v1=") == true)
        #expect(first.json()?["summary"] as? String == "n1 down")
        #expect(requests.last?.json()?["summary"] as? String == "n1 down")
        #expect(first.headers["idempotency-key"] != requests.last?.headers["idempotency-key"])
        await server.stop()
        await receiver.stop()
    }

    @Test("outage: refused, then 503 with Retry-After, then back; everything arrives, in order per alert, on the header's schedule")
    func testOutage() async throws {
        // A port held bound but not listening, so that the first attempts are refused (and no other test's server
        // can be given it meanwhile).
        let refusing = try RefusingPort()
        defer { refusing.release() }
        let port = refusing.port
        let server = try await LiveServer.start(
            yaml: """
                integrations:
                  - name: hook
                    type: webhook
                    url: http://127.0.0.1:\(port)/webhook
                    concurrency: 4
                    retry: {initial_backoff: 100ms, max_backoff: 400ms, max_age: 10m}
                routing:
                  default: [hook]
                """
        )
        let opened = try await TestHTTP.post(server.baseURL + "/api/v1/events", alertBatch(0..<5, prefix: "outage"))
        #expect(opened.status == 202)
        let resolved = try await TestHTTP.post(server.baseURL + "/api/v1/events", alertBatch(0..<5, prefix: "outage", status: "resolved"))
        #expect(resolved.status == 202)

        // While the port refuses connections, attempts fail and are scheduled again.
        let refused = try await eventually(timeout: .seconds(20)) {
            let pending = try await server.runtime.store.deliveries(status: .pending, integration: "hook", before: nil, limit: 100)
            return pending.contains { $0.1.attempts >= 2 && $0.1.lastError != nil }
        }
        #expect(refused)

        // The receiver comes back on the same port, answering 503 with Retry-After: 2 to the first three requests.
        let retryAfterSeconds = 2.0
        let receiver = try await RecordingReceiver.start(port: port) { _, index in
            index < 3 ? .init(status: 503, headers: [("Retry-After", "2")], body: "maintenance") : .ok
        }
        refusing.release()
        let allDelivered = await receiver.waitUntil(timeout: .seconds(60)) { requests in
            Set(requests.filter { $0.text.contains("\"open\"") || $0.text.contains("\"resolved\"") }.compactMap(\.eventID))
                .count == 10 && requests.count >= 13
        }
        #expect(allDelivered)
        let requests = receiver.requests
        // Every notification arrived; the first three were answered 503 and sent again.
        let ids = Set(requests.compactMap(\.eventID))
        #expect(ids == Set((0..<5).flatMap { ["outage-firing-\($0)", "outage-resolved-\($0)"] }))
        // In order per alert: each alert's open was accepted before its recovery was sent.
        for index in 0..<5 {
            let lastOpen = requests.lastIndex { $0.eventID == "outage-firing-\(index)" }
            let firstResolve = requests.firstIndex { $0.eventID == "outage-resolved-\(index)" }
            #expect(lastOpen != nil && firstResolve != nil && lastOpen! < firstResolve!)
        }
        // The retry schedule honours Retry-After: a refused delivery is not tried again before the header says.
        for (index, refusedRequest) in requests.prefix(3).enumerated() {
            let key = try #require(refusedRequest.headers["idempotency-key"])
            let retry = try #require(requests.dropFirst(index + 1).first { $0.headers["idempotency-key"] == key })
            let gap = retry.receivedAt.timeIntervalSince(refusedRequest.receivedAt)
            #expect(gap >= retryAfterSeconds - 0.05, "retried after \(gap) s despite Retry-After: 2")
        }
        let dead = try await server.runtime.store.deliveries(status: .dead, integration: nil, before: nil, limit: 10)
        #expect(dead.isEmpty)
        await server.stop()
        await receiver.stop()
    }

    @Test("a permanent refusal fails at once and an operator's retry delivers it")
    func testPermanentFailureAndManualRetry() async throws {
        let receiver = try await RecordingReceiver.start { _, index in index == 0 ? .init(status: 400, body: "bad payload") : .ok }
        let server = try await LiveServer.start(
            yaml: """
                integrations:
                  - {name: hook, type: webhook, url: "\(receiver.url)"}
                routing:
                  default: [hook]
                """
        )
        #expect(try await TestHTTP.post(server.baseURL + "/api/v1/events", alertBatch(0..<1, prefix: "perm")).status == 202)
        let failed = try await eventually {
            let page = try await TestHTTP.get(server.baseURL + "/api/v1/deliveries?status=failed").json()
            return ((page?["deliveries"] as? [[String: Any]])?.count ?? 0) == 1
        }
        #expect(failed)
        let page = try await TestHTTP.get(server.baseURL + "/api/v1/deliveries?status=failed").json()
        let delivery = try #require((page?["deliveries"] as? [[String: Any]])?.first?["delivery"] as? [String: Any])
        #expect(delivery["attempts"] as? Int == 1)
        #expect(delivery["lastStatusCode"] as? Int == 400)
        #expect((delivery["lastError"] as? String)?.contains("bad payload") == true)
        let id = try #require(delivery["id"] as? String)
        #expect(try await TestHTTP.post(server.baseURL + "/api/v1/deliveries/\(id)/retry", "").status == 202)
        #expect(await receiver.waitUntil { $0.count == 2 })
        let delivered = try await eventually {
            try await server.runtime.store.delivery(id: id)?.status == .delivered
        }
        #expect(delivered)
        await server.stop()
        await receiver.stop()
    }

    @Test("a peer that sends its head and then trickles its body is cut off at the integration's timeout")
    func testTricklingPeerTimesOut() async throws {
        let receiver = try await RecordingReceiver.start { _, index in
            index == 0 ? .init(trickle: .seconds(20)) : .ok
        }
        let server = try await LiveServer.start(
            yaml: """
                integrations:
                  - name: hook
                    type: webhook
                    url: \(receiver.url)
                    timeout: 500ms
                    retry: {initial_backoff: 100ms, max_backoff: 200ms}
                routing:
                  default: [hook]
                """
        )
        #expect(try await TestHTTP.post(server.baseURL + "/api/v1/events", alertBatch(0..<1, prefix: "trickle")).status == 202)
        // The first attempt is abandoned at the timeout and recorded; the retry is answered at once.
        let settled = try await eventually(timeout: .seconds(15)) {
            let delivered = try await server.runtime.store.deliveries(status: .delivered, integration: "hook", before: nil, limit: 10)
            return delivered.first?.1.attempts == 2
        }
        #expect(settled)
        #expect(receiver.requests.count == 2)
        await server.stop()
        await receiver.stop()
    }

    @Test("a server with no integrations keeps serving (every event is unrouted)")
    func testNoIntegrations() async throws {
        let server = try await LiveServer.start(yaml: "integrations: []\n")
        let answer = try await TestHTTP.post(
            server.baseURL + "/api/v1/events",
            #"{"severity":"error","summary":"nobody listens","labels":{"a":"b"}}"#
        )
        #expect(answer.json().flatMap { ($0["accepted"] as? [[String: Any]])?.first?["outcome"] as? String } == "unrouted")
        // A service that returned would have stopped the server by now.
        try await Task.sleep(for: .seconds(1))
        #expect(try await TestHTTP.get(server.baseURL + "/healthz").status == 200)
        await server.stop()
    }
}
