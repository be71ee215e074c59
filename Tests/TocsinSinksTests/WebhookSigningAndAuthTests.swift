import Crypto
import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Webhook signing and authentication", .timeLimit(.minutes(1)))
struct WebhookSigningAndAuthTests {
    /// The signature recomputed independently of the sink: hex HMAC-SHA256(secret, timestamp + "." + body).
    static func expectedSignature(secret: String, timestamp: String, body: [UInt8]) -> String {
        let message = Array((timestamp + ".").utf8) + body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "v1=" + code.map { String(format: "%02x", $0) }.joined()
    }

    @Test("with a secret, X-Tocsin-Signature is v1= hex HMAC-SHA256 over timestamp.body of the bytes received")
    func signature() async throws {
        let secret = "whsec_9f8e7d6c5b4a"
        try await ScriptedPeer.run(.status(200)) { receiver in
            let sentAround = Date()
            _ = try await withWebhookSink(["url": .string(receiver.url()), "secret": .string(secret)]) { sink in
                _ = await sink.deliver(Fixture.outbound(.open))
                _ = await sink.deliver(Fixture.outbound(.resolve))
            }
            let requests = receiver.requests
            try #require(requests.count == 2)
            for request in requests {
                let timestamp = try #require(request.header("X-Tocsin-Timestamp"))
                let seconds = try #require(Int64(timestamp), "timestamp is whole Unix seconds: \(timestamp)")
                #expect(abs(Double(seconds) - sentAround.timeIntervalSince1970) < 30)
                #expect(
                    request.values(of: "X-Tocsin-Signature") == [
                        Self.expectedSignature(secret: secret, timestamp: timestamp, body: request.body)
                    ]
                )
                // A signature made with another secret, or over another body, must not match.
                #expect(request.header("X-Tocsin-Signature") != Self.expectedSignature(secret: "other", timestamp: timestamp, body: request.body))
            }
            #expect(requests[0].header("X-Tocsin-Signature") != requests[1].header("X-Tocsin-Signature"))
        }
    }

    @Test("the public signing helper agrees with an independent HMAC computation")
    func signingHelper() {
        let body = Array(#"{"version":"1"}"#.utf8)
        let signature = WebhookSignature.sign(secret: Secret("s3cr3t"), timestamp: "1767225600", body: body)
        #expect("v1=" + signature == Self.expectedSignature(secret: "s3cr3t", timestamp: "1767225600", body: body))
        #expect(signature.count == 64)
    }

    @Test("without a secret, neither signature nor timestamp header is sent")
    func noSignature() async throws {
        try await ScriptedPeer.run(.status(200)) { receiver in
            _ = try await withWebhookSink(["url": .string(receiver.url())]) { await $0.deliver(Fixture.outbound(.open)) }
            let request = try #require(receiver.requests.first)
            #expect(request.values(of: "X-Tocsin-Signature").isEmpty)
            #expect(request.values(of: "X-Tocsin-Timestamp").isEmpty)
        }
    }

    @Test("username and password send one Basic Authorization header")
    func basicAuth() async throws {
        try await ScriptedPeer.run(.status(200)) { receiver in
            let settings: [String: JSONValue] = [
                "url": .string(receiver.url()), "username": .string("tocsin"), "password": .string("pa:ss wörd"),
            ]
            _ = try await withWebhookSink(settings) { await $0.deliver(Fixture.outbound(.open)) }
            let request = try #require(receiver.requests.first)
            let expected = "Basic " + Data("tocsin:pa:ss wörd".utf8).base64EncodedString()
            #expect(request.values(of: "Authorization") == [expected])
        }
    }

    @Test("bearer_token sends one Bearer Authorization header")
    func bearerAuth() async throws {
        try await ScriptedPeer.run(.status(200)) { receiver in
            let settings: [String: JSONValue] = ["url": .string(receiver.url()), "bearer_token": .string("tok-1234567890")]
            _ = try await withWebhookSink(settings) { await $0.deliver(Fixture.outbound(.open)) }
            let request = try #require(receiver.requests.first)
            #expect(request.values(of: "Authorization") == ["Bearer tok-1234567890"])
        }
    }

    @Test("without credentials no Authorization header is sent")
    func noAuth() async throws {
        try await ScriptedPeer.run(.status(200)) { receiver in
            _ = try await withWebhookSink(["url": .string(receiver.url())]) { await $0.deliver(Fixture.outbound(.open)) }
            let request = try #require(receiver.requests.first)
            #expect(request.values(of: "Authorization").isEmpty)
        }
    }

    @Test("the extra headers map is sent as given, next to the standard headers")
    func extraHeaders() async throws {
        try await ScriptedPeer.run(.status(200)) { receiver in
            let settings: [String: JSONValue] = [
                "url": .string(receiver.url()),
                "headers": .object(["X-Team": .string("storage-oncall"), "X-Api-Key": .string("k-42"), "X-Env": .string("prod")]),
            ]
            _ = try await withWebhookSink(settings) { await $0.deliver(Fixture.outbound(.open)) }
            let request = try #require(receiver.requests.first)
            #expect(request.values(of: "X-Team") == ["storage-oncall"])
            #expect(request.values(of: "X-Api-Key") == ["k-42"])
            #expect(request.values(of: "X-Env") == ["prod"])
            #expect(request.header("Content-Type") == "application/json")
            #expect(request.header("Idempotency-Key") == Fixture.outbound(.open).deliveryID)
            #expect(request.header("User-Agent")?.hasPrefix("Tocsin/") == true)
        }
    }

    @Test("a configured header replaces Tocsin's own of the same name instead of sending it twice")
    func headerOverride() async throws {
        try await ScriptedPeer.run(.status(200)) { receiver in
            let settings: [String: JSONValue] = [
                "url": .string(receiver.url()),
                "headers": .object(["content-type": .string("application/vnd.ops+json"), "Authorization": .string("Token t-1")]),
                "bearer_token": .string("b-2"),
            ]
            _ = try await withWebhookSink(settings) { await $0.deliver(Fixture.outbound(.open)) }
            let request = try #require(receiver.requests.first)
            #expect(request.values(of: "Content-Type") == ["application/vnd.ops+json"])
            // Configured authentication wins over a hand-written Authorization header.
            #expect(request.values(of: "Authorization") == ["Bearer b-2"])
        }
    }
}
