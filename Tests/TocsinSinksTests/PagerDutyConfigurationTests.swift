import AsyncHTTPClient
import Testing
import TocsinCore
import TocsinSinks

@Suite("PagerDuty configuration")
struct PagerDutyConfigurationTests {
    struct ProblemCase: Sendable, CustomTestStringConvertible {
        var name: String
        var settings: [String: JSONValue]
        var path: String
        /// A text the message must contain.
        var message: String

        init(_ name: String, _ settings: [String: JSONValue], _ path: String, _ message: String) {
            self.name = name
            self.settings = settings
            self.path = path
            self.message = message
        }

        var testDescription: String { name }
    }

    static let key: JSONValue = .string(PagerDutyTest.routingKey)
    static let rulesetKey: JSONValue = .string("R0" + String(repeating: "a", count: 30))

    static let cases: [ProblemCase] = [
        ProblemCase("missing routing_key", [:], "integrations[0].routing_key", "required"),
        ProblemCase("empty routing_key", ["routing_key": .string("  ")], "integrations[0].routing_key", "must not be empty"),
        ProblemCase(
            "routing_key of 31 characters",
            ["routing_key": .string(String(repeating: "a", count: 31))],
            "integrations[0].routing_key",
            "got 31 characters"
        ),
        ProblemCase(
            "routing_key of 33 characters",
            ["routing_key": .string(String(repeating: "a", count: 33))],
            "integrations[0].routing_key",
            "32-character"
        ),
        ProblemCase("routing_key not a string", ["routing_key": .array([])], "integrations[0].routing_key", "expected a string"),
        ProblemCase("ruleset key for change events", ["routing_key": rulesetKey], "integrations[0].routing_key", "notifications_as: alert"),
        ProblemCase("unknown region", ["routing_key": key, "region": .string("apac")], "integrations[0].region", "us, eu"),
        ProblemCase(
            "unknown notifications_as",
            ["routing_key": key, "notifications_as": .string("page")],
            "integrations[0].notifications_as",
            "alert, change"
        ),
        ProblemCase("url without a scheme", ["routing_key": key, "url": .string("events.pagerduty.com")], "integrations[0].url", "http"),
        ProblemCase(
            "url and region",
            ["routing_key": key, "url": .string("https://proxy.example.com"), "region": .string("eu")],
            "integrations[0].url",
            "not both"
        ),
        ProblemCase("empty source", ["routing_key": key, "source": .string("")], "integrations[0].source", "must not be empty"),
        ProblemCase("label name with spaces", ["routing_key": key, "group_label": .string(" cluster")], "integrations[0].group_label", "spaces"),
        ProblemCase("unknown key", ["routing_key": key, "severity_map": .object([:])], "integrations[0].severity_map", "unknown key"),
        ProblemCase(
            "broken summary template",
            ["routing_key": key, "templates": .object(["summary": .string("{{#summary}")])],
            "integrations[0].templates.summary",
            "Mustache"
        ),
        ProblemCase(
            "summary that renders to nothing",
            ["routing_key": key, "templates": .object(["summary": .string("{{nothing}}")])],
            "integrations[0].templates.summary",
            "renders to nothing"
        ),
        ProblemCase(
            "unknown template",
            ["routing_key": key, "templates": .object(["title": .string("x")])],
            "integrations[0].templates.title",
            "summary, client"
        ),
    ]

    @Test("each problem is reported at its path", arguments: cases)
    func problem(_ testCase: ProblemCase) throws {
        let found = problems(PagerDutyConfiguration.parse(PagerDutyTest.integration(testCase.settings)))
        try #require(found.count == 1, "\(found)")
        #expect(found[0].path == testCase.path)
        #expect(found[0].message.contains(testCase.message), "message: \(found[0].message)")
        // The registry reports the same.
        let viaRegistry = problems(
            SinkRegistry.makeSinks(
                for: [PagerDutyTest.integration(testCase.settings)],
                environment: SinkEnvironment(http: HTTPTransport(client: .shared))
            )
        )
        #expect(viaRegistry == found)
    }

    @Test("every problem is reported at once")
    func allAtOnce() {
        let settings: [String: JSONValue] = [
            "routing_key": .string("short"), "region": .string("mars"), "notifications_as": .string("sms"), "url": .string("ftp://x"),
            "colour": .string("red"),
        ]
        let found = problems(PagerDutyConfiguration.parse(PagerDutyTest.integration(settings, index: 2)))
        #expect(
            Set(found.map(\.path)) == [
                "integrations[2].routing_key", "integrations[2].region", "integrations[2].notifications_as", "integrations[2].url",
                "integrations[2].colour",
            ]
        )
    }

    @Test("a ruleset key is accepted when notifications are sent as alerts")
    func rulesetKeyWithAlerts() throws {
        let configuration = try PagerDutyConfiguration.parse(
            PagerDutyTest.integration(["routing_key": Self.rulesetKey, "notifications_as": .string("alert")])
        ).get()
        #expect(configuration.notificationsAs == .alert)
    }

    @Test("defaults: US host, change events, the documented labels, the integration's timeout")
    func defaults() throws {
        let configuration = try PagerDutyConfiguration.parse(PagerDutyTest.integration(["routing_key": Self.key], timeout: .seconds(7))).get()
        #expect(configuration.region == .us)
        #expect(configuration.enqueueURL == "https://events.pagerduty.com/v2/enqueue")
        #expect(configuration.changeURL == "https://events.pagerduty.com/v2/change/enqueue")
        #expect(configuration.notificationsAs == .change)
        #expect(configuration.source == nil)
        #expect(configuration.sourceLabels == ["node", "instance", "host", "hostname"])
        #expect(configuration.componentLabels == ["component", "service", "job"])
        #expect(configuration.groupLabels == ["cluster"])
        #expect(configuration.classLabels == ["alertname"])
        #expect(configuration.timeout == .seconds(7))
    }
}
