import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// Distinctive credentials of the Slack tests: none may appear in a result or a description.
private enum SlackSecrets {
    static let team = "T0SECRET9"
    static let bot = "B0SECRET8"
    static let hookToken = "HOOKTOKENq8w7e6r5t4y3"
    static let botToken = "xoxb-9876-5432-BOTTOKENz1x2c3v4"

    static func hookURL(port: Int) -> String { "http://127.0.0.1:\(port)/services/\(team)/\(bot)/\(hookToken)" }

    static func webhookSettings(port: Int) -> [String: JSONValue] { ["url": .string(hookURL(port: port))] }

    static func botSettings(port: Int) -> [String: JSONValue] {
        ["token": .string(botToken), "channel": .string("#alerts"), "api_url": .string("http://127.0.0.1:\(port)/api")]
    }

    /// Each secret, its base64 form and, for the webhook, its path.
    static let values: [(name: String, value: String)] = [
        ("team id", team), ("webhook id", bot), ("webhook token", hookToken), ("webhook path", "\(team)/\(bot)/\(hookToken)"),
        ("bot token", botToken), ("base64 bot token", Data(botToken.utf8).base64EncodedString()),
        ("base64 webhook token", Data(hookToken.utf8).base64EncodedString()),
    ]

    static func expectNone(in text: String?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectNoSecret(in: text, values, what, sourceLocation: sourceLocation)
    }
}

@Suite("Slack secrets never leak", .timeLimit(.minutes(1)))
struct SlackSecretTests {
    @Test("the webhook URL and its parts stay out of every detail, though the fake echoes the request in failures and successes")
    func webhookEcho() async throws {
        let fake = SlackWebhookFake(echo: true)
        fake.fail(
            .channelNotFound,
            .rollupError,
            .rateLimited(retryAfter: 5),
            .status(400, "no_service for /services/\(SlackSecrets.team)/\(SlackSecrets.bot)/\(SlackSecrets.hookToken)")
        )
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(SlackSecrets.webhookSettings(port: peer.port)) { sink in
                var results: [SinkResult] = []
                for _ in 0..<5 { results.append(await sink.deliver(ChatFixture.alert(.open))) }
                #expect(
                    results.map(\.outcome) == [.permanent, .retryable(retryAfter: nil), .retryable(retryAfter: .seconds(5)), .permanent, .delivered]
                )
                for result in results { SlackSecrets.expectNone(in: result.detail, "detail of \(result.outcome)") }
                // The echo really carried the secrets back.
                #expect(results[0].detail?.contains("POST") == true)
                #expect(peer.requests.first?.path.contains(SlackSecrets.hookToken) == true)
            }
        }
    }

    @Test("the bot token stays out of every detail, though the fake echoes the request (with its Authorization) back")
    func botEcho() async throws {
        let fake = SlackWebAPIFake(token: SlackSecrets.botToken, echo: true)
        fake.fail(.error("invalid_auth"), .status(500, "oops "), .rateLimited(retryAfter: 2), .error("internal_error"))
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(SlackSecrets.botSettings(port: peer.port)) { sink in
                var results: [SinkResult] = []
                for _ in 0..<4 { results.append(await sink.deliver(ChatFixture.alert(.open))) }
                results.append(await sink.deliver(ChatFixture.alert(.open)))
                results.append(await sink.deliver(ChatFixture.alert(.resolve)))
                #expect(results.map(\.outcome).last == .delivered)
                for result in results { SlackSecrets.expectNone(in: result.detail, "detail of \(result.outcome)") }
                #expect(results[1].detail?.contains("Authorization") == true, "the echo did not reach the detail: \(results[1].detail ?? "")")
            }
            #expect(peer.requests.first?.header("Authorization") == "Bearer \(SlackSecrets.botToken)")
        }
    }

    @Test("a refused connection and a timeout show no secret", arguments: ["webhook", "bot"])
    func transportFailures(mode: String) async throws {
        let port = try await ScriptedPeer.closedPort()
        let settings = mode == "webhook" ? SlackSecrets.webhookSettings(port: port) : SlackSecrets.botSettings(port: port)
        let refused = try await withSlackSink(settings, timeout: .seconds(1)) { await $0.deliver(ChatFixture.alert(.open)) }
        #expect(refused.outcome == .retryable(retryAfter: nil))
        SlackSecrets.expectNone(in: refused.detail, "detail of a refused connection")
        try await ScriptedPeer.run(.after(.seconds(2), .status(200, body: "ok"))) { peer in
            let settings = mode == "webhook" ? SlackSecrets.webhookSettings(port: peer.port) : SlackSecrets.botSettings(port: peer.port)
            let result = try await withSlackSink(settings, timeout: .milliseconds(200)) { await $0.deliver(ChatFixture.alert(.open)) }
            #expect(result.outcome == .retryable(retryAfter: nil))
            SlackSecrets.expectNone(in: result.detail, "detail of a timeout")
        }
    }

    @Test("descriptions of the sink and its configuration show no secret", arguments: ["webhook", "bot"])
    func descriptions(mode: String) async throws {
        let settings = mode == "webhook" ? SlackSecrets.webhookSettings(port: 9) : SlackSecrets.botSettings(port: 9)
        try await withSlackSink(settings) { sink in
            for (what, text) in [
                ("String(describing:) of the sink", String(describing: sink)),
                ("String(reflecting:) of the sink", String(reflecting: sink)),
                ("String(describing:) of the configuration", String(describing: sink.configuration)),
                ("String(reflecting:) of the configuration", String(reflecting: sink.configuration)),
                ("the mode", "\(sink.configuration.mode)"),
            ] {
                SlackSecrets.expectNone(in: text, what)
            }
            // Not vacuous: the configuration holds the secret.
            switch sink.configuration.mode {
            case .webhook(let url): #expect(url.exposedValue.contains(SlackSecrets.hookToken))
            case .bot(let token, _): #expect(token.exposedValue == SlackSecrets.botToken)
            }
        }
    }

    @Test("configuration problems name keys, never the secret values")
    func problemsShowNoSecret() {
        let settings: [String: JSONValue] = [
            "url": .string("ftp://hooks/\(SlackSecrets.team)/\(SlackSecrets.bot)/\(SlackSecrets.hookToken)"),
            "token": .string(SlackSecrets.botToken),
            "tokne": .string(SlackSecrets.botToken),
        ]
        let found = problems(SlackConfiguration.parse(Fixture.integration(type: "slack", settings)))
        #expect(found.count >= 2)
        SlackSecrets.expectNone(in: found.map(\.description).joined(separator: "\n"), "configuration problems")
        let wrongToken = problems(
            SlackConfiguration.parse(Fixture.integration(type: "slack", ["token": .string("HOOKTOKENq8w7e6r5t4y3"), "channel": .string("#a")]))
        )
        #expect(wrongToken.map(\.path) == ["integrations[0].token"])
        SlackSecrets.expectNone(in: wrongToken.map(\.description).joined(), "the refused token's problem")
    }
}
