import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Opsgenie API key never leaks", .timeLimit(.minutes(1)))
struct OpsGenieSecretTests {
    static let key = OpsGenieTest.apiKey
    static let forms = [key, Data(key.utf8).base64EncodedString(), Data("GenieKey \(key)".utf8).base64EncodedString()]

    static func expectNoKey(in text: String?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectNoSecret(in: text, forms.map { ("API key", $0) }, what, sourceLocation: sourceLocation)
    }

    static let echoes: [OpsGenieFake.Echo] = [
        .inFailure(status: 400), .inFailure(status: 422), .inFailure(status: 429), .inFailure(status: 503), .inSuccess,
    ]

    @Test(
        "answers echoing the whole request (the key in its Authorization header) put no key in the detail",
        arguments: [NotificationType.open, .resolve]
    )
    func echoedRequests(type: NotificationType) async throws {
        let fake = OpsGenieTest.fake()
        try await fake.run { peer in
            try await withOpsGenieSink(OpsGenieTest.settings(url: peer.url(""))) { sink in
                for echo in Self.echoes {
                    fake.setEcho(echo)
                    let result = await sink.deliver(OpsGenieTest.outbound(type))
                    if case .inSuccess = echo {
                        #expect(result.outcome == .delivered)
                    } else {
                        #expect(result.outcome != .delivered)
                        #expect(result.detail?.contains("GenieKey <secret>") == true, "the echo was not quoted: \(result.detail ?? "nil")")
                    }
                    Self.expectNoKey(in: result.detail, "detail of \(echo)")
                }
                // A close answered 404 with the request echoed is delivered with a detail: still no key.
                fake.setEcho(.inFailure(status: 404))
                let closed = await sink.deliver(OpsGenieTest.outbound(.resolve))
                #expect(closed.outcome == .delivered)
                #expect(closed.detail?.contains("<secret>") == true)
                Self.expectNoKey(in: closed.detail, "detail of a 404 on close")
            }
            #expect(peer.requests.allSatisfy { $0.header("Authorization") == "GenieKey \(Self.key)" })
        }
    }

    @Test("a refused connection and a timeout put no key in the detail")
    func transportFailures() async throws {
        let port = try await ScriptedPeer.closedPort()
        let refused = try await withOpsGenieSink(OpsGenieTest.settings(url: "http://127.0.0.1:\(port)"), timeout: .seconds(1)) {
            await $0.deliver(OpsGenieTest.outbound(.open))
        }
        #expect(refused.outcome == .retryable(retryAfter: nil))
        Self.expectNoKey(in: refused.detail, "detail of a refused connection")
        try await ScriptedPeer.run(.after(.seconds(2), .status(202))) { peer in
            let timedOut = try await withOpsGenieSink(OpsGenieTest.settings(url: peer.url("")), timeout: .milliseconds(200)) {
                await $0.deliver(OpsGenieTest.outbound(.resolve))
            }
            #expect(timedOut.outcome == .retryable(retryAfter: nil))
            Self.expectNoKey(in: timedOut.detail, "detail of a timeout")
        }
    }

    @Test("descriptions of the sink and its configuration show no key")
    func descriptions() async throws {
        try await withOpsGenieSink(OpsGenieTest.settings(url: "http://127.0.0.1:9")) { sink in
            Self.expectNoKey(in: String(describing: sink), "String(describing:) of the sink")
            Self.expectNoKey(in: String(reflecting: sink), "String(reflecting:) of the sink")
            Self.expectNoKey(in: String(describing: sink.configuration), "String(describing:) of the configuration")
            Self.expectNoKey(in: String(reflecting: sink.configuration), "String(reflecting:) of the configuration")
            var dumped = ""
            dump(sink, to: &dumped)
            Self.expectNoKey(in: dumped, "dump of the sink")
            #expect(sink.configuration.apiKey.exposedValue == Self.key)
        }
    }

    @Test("configuration problems name the key, never its value")
    func problemsShowNoKey() {
        let malformed = "GK-" + Self.key
        let found = problems(OpsGenieConfiguration.parse(OpsGenieTest.integration(["api_key": .string(malformed), "apikey": .string(Self.key)])))
        #expect(found.count == 2)
        let text = found.map(\.description).joined(separator: "\n")
        #expect(!text.contains(malformed))
        Self.expectNoKey(in: text, "configuration problems")
    }
}
