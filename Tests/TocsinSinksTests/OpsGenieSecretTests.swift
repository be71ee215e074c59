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

    /// Opsgenie's error body with the whole request (its `Authorization` header included) quoted in `message`.
    static func echo(_ status: Int, _ request: RecordedRequest) -> ScriptedAnswer {
        var text = "\(request.method) \(request.path)?\(request.query)\n"
        for (name, value) in request.headers { text += "\(name): \(value)\n" }
        text += "\n" + request.bodyText
        let key = status == 202 ? "result" : "message"
        return .json(status, JSONWriter.string(.object([key: .string(text), "took": .number(0.1), "requestId": .string("r-echo")])))
    }

    @Test("acknowledgements: answers echoing the whole request (the key in its Authorization header) put no key in the detail")
    func echoedAcknowledgements() async throws {
        let outbounds = [
            OpsGenieTest.outbound(.acknowledge),
            GroupFixture.outbound(GroupFixture.acknowledge(integration: "ops-opsgenie"), integration: "ops-opsgenie"),
        ]
        try await ScriptedPeer.run { peer in
            try await withOpsGenieSink(OpsGenieTest.settings(url: peer.url(""))) { sink in
                for outbound in outbounds {
                    for status in [400, 401, 422, 429, 503, 404, 202] {
                        peer.handle { Self.echo(status, $0) }
                        let result = await sink.deliver(outbound)
                        switch status {
                        case 202:
                            #expect(result.outcome == .delivered)
                        case 404:
                            // Nothing to acknowledge: delivered, with Opsgenie's answer quoted in the detail.
                            #expect(result.outcome == .delivered)
                            #expect(result.detail?.contains("GenieKey <secret>") == true, "the echo was not quoted: \(result.detail ?? "nil")")
                        default:
                            #expect(result.outcome != .delivered)
                            #expect(result.detail?.contains("GenieKey <secret>") == true, "the echo was not quoted: \(result.detail ?? "nil")")
                        }
                        Self.expectNoKey(in: result.detail, "detail of an acknowledgement answered \(status)")
                    }
                }
            }
            // The echo really carried the key, and every request was an acknowledgement.
            #expect(peer.requests.count == 14)
            #expect(peer.requests.allSatisfy { $0.header("Authorization") == "GenieKey \(Self.key)" })
            #expect(peer.requests.allSatisfy { $0.path.hasSuffix("/acknowledge") })
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
