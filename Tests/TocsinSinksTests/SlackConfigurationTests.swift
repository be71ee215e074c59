import AsyncHTTPClient
import Foundation
import Testing
import TocsinCore
import TocsinSinks

@Suite("Slack and Teams configuration")
struct SlackConfigurationTests {
    struct ProblemCase: Sendable, CustomTestStringConvertible {
        var name: String
        var settings: [String: JSONValue]
        var paths: [String]

        init(_ name: String, _ settings: [String: JSONValue], _ paths: String...) {
            self.name = name
            self.settings = settings
            self.paths = paths
        }

        var testDescription: String { name }
    }

    static let hook: JSONValue = .string("https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnop")
    static let token: JSONValue = .string("xoxb-1111-2222-abcdef")

    static let slackCases: [ProblemCase] = [
        ProblemCase("neither url nor token", [:], "integrations[0].url"),
        ProblemCase("both url and token", ["url": hook, "token": token, "channel": .string("#a")], "integrations[0].token"),
        ProblemCase("empty url", ["url": .string("")], "integrations[0].url"),
        ProblemCase("url without https", ["url": .string("hooks.slack.com/services/T/B/x")], "integrations[0].url"),
        ProblemCase("url not a string", ["url": .number(3)], "integrations[0].url"),
        ProblemCase("token without channel", ["token": token], "integrations[0].channel"),
        ProblemCase("token that is not a Slack token", ["token": .string("abcdef"), "channel": .string("#a")], "integrations[0].token"),
        ProblemCase("empty channel", ["url": hook, "channel": .string(" ")], "integrations[0].channel"),
        ProblemCase(
            "api_url without scheme",
            ["token": token, "channel": .string("#a"), "api_url": .string("slack.com/api")],
            "integrations[0].api_url"
        ),
        ProblemCase(
            "bad update_interval",
            ["token": token, "channel": .string("#a"), "update_interval": .string("soon")],
            "integrations[0].update_interval"
        ),
        ProblemCase(
            "negative update_interval",
            ["token": token, "channel": .string("#a"), "update_interval": .string("-5m")],
            "integrations[0].update_interval"
        ),
        ProblemCase("update_interval with a webhook", ["url": hook, "update_interval": .string("5m")], "integrations[0].update_interval"),
        ProblemCase("api_url with a webhook", ["url": hook, "api_url": .string("https://slack.com/api")], "integrations[0].api_url"),
        ProblemCase("unknown key (typo)", ["url": hook, "chanel": .string("#a")], "integrations[0].chanel"),
        ProblemCase("unknown template", ["url": hook, "templates": .object(["subject": .string("x")])], "integrations[0].templates.subject"),
        ProblemCase("broken template", ["url": hook, "templates": .object(["title": .string("{{#summary}}")])], "integrations[0].templates.title"),
        ProblemCase(
            "title template rendering nothing",
            ["url": hook, "templates": .object(["title": .string("{{nothing}}")])],
            "integrations[0].templates.title"
        ),
    ]

    static let environment = SinkEnvironment(http: HTTPTransport(client: HTTPClient.shared))

    @Test("each Slack problem is reported at its path", arguments: slackCases)
    func slackProblem(_ testCase: ProblemCase) {
        let found = problems(SlackConfiguration.parse(Fixture.integration(type: "slack", testCase.settings)))
        #expect(found.map(\.path) == testCase.paths, "\(found)")
        #expect(found.allSatisfy { !$0.message.isEmpty })
        let viaRegistry = problems(
            SinkRegistry.makeSinks(for: [Fixture.integration(type: "slack", testCase.settings)], environment: Self.environment)
        )
        #expect(viaRegistry == found)
    }

    @Test("every problem of one Slack integration is reported at once")
    func slackAllProblems() {
        let settings: [String: JSONValue] = [
            "token": .string("not-a-token"),
            "api_url": .string("ftp://x"),
            "update_interval": .string("often"),
            "colour": .string("red"),
        ]
        let found = problems(SlackConfiguration.parse(Fixture.integration(type: "slack", index: 2, settings)))
        #expect(
            Set(found.map(\.path)) == [
                "integrations[2].token", "integrations[2].channel", "integrations[2].api_url", "integrations[2].update_interval",
                "integrations[2].colour",
            ]
        )
    }

    @Test("Slack defaults: webhook mode, or bot mode with slack.com/api and a five-minute update interval")
    func slackDefaults() throws {
        let webhook = try SlackConfiguration.parse(Fixture.integration(type: "slack", ["url": Self.hook])).get()
        guard case .webhook(let url) = webhook.mode else {
            Issue.record("expected webhook mode, got \(webhook.mode)")
            return
        }
        #expect(url.exposedValue == "https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnop")
        #expect(webhook.channel == nil)

        let bot = try SlackConfiguration.parse(Fixture.integration(type: "slack", ["token": Self.token, "channel": .string("C0123")])).get()
        guard case .bot(let token, let apiURL) = bot.mode else {
            Issue.record("expected bot mode, got \(bot.mode)")
            return
        }
        #expect(token.exposedValue == "xoxb-1111-2222-abcdef")
        #expect(apiURL == "https://slack.com/api")
        #expect(bot.updateInterval == .seconds(300))
        #expect(bot.channel == "C0123")

        let custom = try SlackConfiguration.parse(
            Fixture.integration(
                type: "slack",
                ["token": Self.token, "channel": .string("#a"), "api_url": .string("http://127.0.0.1:8080/api/"), "update_interval": .string("90s")]
            )
        ).get()
        guard case .bot(_, let customURL) = custom.mode else {
            Issue.record("expected bot mode")
            return
        }
        #expect(customURL == "http://127.0.0.1:8080/api")
        #expect(custom.updateInterval == .seconds(90))
    }

    static let teamsURL: JSONValue = .string(
        "https://prod-00.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=abc"
    )

    static let teamsCases: [ProblemCase] = [
        ProblemCase("missing url", [:], "integrations[0].url"),
        ProblemCase("empty url", ["url": .string("")], "integrations[0].url"),
        ProblemCase("url without scheme", ["url": .string("prod-00.logic.azure.com/workflows")], "integrations[0].url"),
        ProblemCase("unknown format", ["url": teamsURL, "format": .string("adaptive")], "integrations[0].format"),
        ProblemCase("unknown key", ["url": teamsURL, "token": .string("x")], "integrations[0].token"),
        ProblemCase("unknown template", ["url": teamsURL, "templates": .object(["body": .string("x")])], "integrations[0].templates.body"),
        ProblemCase("template not a string", ["url": teamsURL, "templates": .object(["title": .number(1)])], "integrations[0].templates.title"),
    ]

    @Test("each Teams problem is reported at its path", arguments: teamsCases)
    func teamsProblem(_ testCase: ProblemCase) {
        let found = problems(TeamsConfiguration.parse(Fixture.integration(type: "microsoft_teams", testCase.settings)))
        #expect(found.map(\.path) == testCase.paths, "\(found)")
        let viaRegistry = problems(
            SinkRegistry.makeSinks(for: [Fixture.integration(type: "microsoft_teams", testCase.settings)], environment: Self.environment)
        )
        #expect(viaRegistry == found)
    }

    @Test("Teams defaults to an Adaptive Card; message_card selects the legacy format")
    func teamsFormats() throws {
        #expect(try TeamsConfiguration.parse(Fixture.integration(type: "microsoft_teams", ["url": Self.teamsURL])).get().format == .adaptiveCard)
        let legacy = try TeamsConfiguration.parse(
            Fixture.integration(type: "microsoft_teams", ["url": Self.teamsURL, "format": .string("message_card")])
        ).get()
        #expect(legacy.format == .messageCard)
    }

    @Test("both types are registered with the services' documented rate limits: Slack 1/s, Teams 4/s")
    func registry() throws {
        let slack = try #require(SinkRegistry.factories["slack"])
        #expect(slack.defaultRateLimit == RateLimit(count: 1, period: .seconds(1)))
        let teams = try #require(SinkRegistry.factories["microsoft_teams"])
        #expect(teams.defaultRateLimit == RateLimit(count: 4, period: .seconds(1)))
        #expect(SinkRegistry.rateLimit(for: Fixture.integration(type: "slack", ["url": Self.hook])) == RateLimit(count: 1, period: .seconds(1)))
    }
}
