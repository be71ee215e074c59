import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("PagerDuty routing key never leaks", .timeLimit(.minutes(1)))
struct PagerDutySecretTests {
    static let key = PagerDutyTest.routingKey
    static let forms = [key, Data(key.utf8).base64EncodedString()]

    static func expectNoKey(in text: String?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectNoSecret(in: text, forms.map { ("routing key", $0) }, what, sourceLocation: sourceLocation)
    }

    static let echoes: [PagerDutyFake.Echo] = [.inFailure(status: 400), .inFailure(status: 429), .inFailure(status: 503), .inSuccess]

    /// A small event, so that the key (the body's last field) falls within the start of the answer a detail keeps.
    static func smallEvent(_ type: NotificationType) -> OutboundNotification {
        PagerDutyTest.outbound(type) { event in
            event.labels = [:]
            event.description = nil
            event.details = nil
            event.links = []
        }
    }

    @Test(
        "answers echoing the whole request (with the key in its body) put no key in the detail",
        arguments: [NotificationType.open, .resolve, .notification, .acknowledge]
    )
    func echoedRequests(type: NotificationType) async throws {
        let fake = PagerDutyFake()
        try await fake.run { peer in
            try await withPagerDutySink(PagerDutyTest.settings(url: peer.url("")), publicURL: nil) { sink in
                for echo in Self.echoes {
                    fake.setEcho(echo)
                    let result = await sink.deliver(Self.smallEvent(type))
                    if case .inSuccess = echo {
                        #expect(result.outcome == .delivered)
                    } else {
                        #expect(result.outcome != .delivered)
                        #expect(result.detail?.contains("<secret>") == true, "the echo was not quoted: \(result.detail ?? "nil")")
                    }
                    Self.expectNoKey(in: result.detail, "detail of \(echo)")
                }
            }
            // The echo really carried the key: it was in every request body.
            #expect(peer.requests.count == Self.echoes.count)
            #expect(peer.requests.allSatisfy { $0.bodyText.contains(Self.key) })
        }
    }

    @Test("a refused connection and a timeout put no key in the detail")
    func transportFailures() async throws {
        let port = try await ScriptedPeer.closedPort()
        let refused = try await withPagerDutySink(PagerDutyTest.settings(url: "http://127.0.0.1:\(port)"), timeout: .seconds(1)) { sink in
            [await sink.deliver(PagerDutyTest.outbound(.open)), await sink.deliver(PagerDutyTest.outbound(.acknowledge))]
        }
        #expect(refused.map(\.outcome) == [.retryable(retryAfter: nil), .retryable(retryAfter: nil)])
        for result in refused { Self.expectNoKey(in: result.detail, "detail of a refused connection") }
        try await ScriptedPeer.run(.after(.seconds(2), .status(202))) { peer in
            let timedOut = try await withPagerDutySink(PagerDutyTest.settings(url: peer.url("")), timeout: .milliseconds(200)) {
                await $0.deliver(PagerDutyTest.outbound(.open))
            }
            #expect(timedOut.outcome == .retryable(retryAfter: nil))
            Self.expectNoKey(in: timedOut.detail, "detail of a timeout")
        }
    }

    @Test("descriptions of the sink, its configuration and its events show no key")
    func descriptions() async throws {
        try await withPagerDutySink(PagerDutyTest.settings(url: "http://127.0.0.1:9")) { sink in
            Self.expectNoKey(in: String(describing: sink), "String(describing:) of the sink")
            Self.expectNoKey(in: String(reflecting: sink), "String(reflecting:) of the sink")
            Self.expectNoKey(in: String(describing: sink.configuration), "String(describing:) of the configuration")
            Self.expectNoKey(in: String(reflecting: sink.configuration), "String(reflecting:) of the configuration")
            var dumped = ""
            dump(sink, to: &dumped)
            Self.expectNoKey(in: dumped, "dump of the sink")
            // Not vacuous: the configuration holds the key.
            #expect(sink.configuration.routingKey.exposedValue == Self.key)
        }
    }

    @Test("configuration problems name the key, never its value")
    func problemsShowNoKey() {
        let shortKey = String(Self.key.dropLast())
        let found = problems(
            PagerDutyConfiguration.parse(PagerDutyTest.integration(["routing_key": .string(shortKey), "rooting_key": .string(Self.key)]))
        )
        #expect(found.count == 2)
        let text = found.map(\.description).joined(separator: "\n")
        #expect(!text.contains(shortKey), "problems show the key: \(text)")
        Self.expectNoKey(in: text, "configuration problems")
    }
}
