import AsyncHTTPClient
import Testing
import TocsinCore
import TocsinSinks

@Suite("Opsgenie configuration")
struct OpsGenieConfigurationTests {
    struct ProblemCase: Sendable, CustomTestStringConvertible {
        var name: String
        var settings: [String: JSONValue]
        var path: String
        var message: String

        init(_ name: String, _ settings: [String: JSONValue], _ path: String, _ message: String) {
            self.name = name
            self.settings = settings
            self.path = path
            self.message = message
        }

        var testDescription: String { name }
    }

    static let key: JSONValue = .string(OpsGenieTest.apiKey)

    static func with(_ extra: [String: JSONValue]) -> [String: JSONValue] {
        var settings: [String: JSONValue] = ["api_key": key]
        settings.merge(extra) { $1 }
        return settings
    }

    static func responder(_ fields: [String: String]) -> JSONValue {
        .array([.object(fields.mapValues(JSONValue.string))])
    }

    static let cases: [ProblemCase] = [
        ProblemCase("missing api_key", [:], "integrations[0].api_key", "required"),
        ProblemCase("api_key that is not a UUID", ["api_key": .string("eb243592-faa2-4ba2-a551q-1afdf565c889")], "integrations[0].api_key", "UUID"),
        ProblemCase("unknown region", with(["region": .string("apac")]), "integrations[0].region", "us, eu"),
        ProblemCase("url without a scheme", with(["url": .string("api.opsgenie.com")]), "integrations[0].url", "http"),
        ProblemCase(
            "url and region",
            with(["url": .string("https://proxy.example.com"), "region": .string("us")]),
            "integrations[0].url",
            "not both"
        ),
        ProblemCase("responders not a list", with(["responders": .string("ops-team")]), "integrations[0].responders", "list"),
        ProblemCase("responder not a mapping", with(["responders": .array([.string("ops")])]), "integrations[0].responders[0]", "mapping"),
        ProblemCase("responder without type", with(["responders": responder(["name": "ops"])]), "integrations[0].responders[0].type", "required"),
        ProblemCase(
            "responder of unknown type",
            with(["responders": responder(["type": "group", "name": "ops"])]),
            "integrations[0].responders[0].type",
            "team"
        ),
        ProblemCase(
            "responder without a reference",
            with(["responders": responder(["type": "team"])]),
            "integrations[0].responders[0]",
            "one of id, name"
        ),
        ProblemCase(
            "responder with two references",
            with(["responders": responder(["type": "team", "name": "ops", "id": "x"])]),
            "integrations[0].responders[0]",
            "only one"
        ),
        ProblemCase(
            "username for a team",
            with(["responders": responder(["type": "team", "username": "ops@example.com"])]),
            "integrations[0].responders[0].username",
            "users only"
        ),
        ProblemCase(
            "unknown responder key",
            with(["responders": responder(["type": "team", "name": "ops", "team": "x"])]),
            "integrations[0].responders[0].team",
            "unknown key"
        ),
        ProblemCase(
            "empty responder name",
            with(["responders": responder(["type": "team", "name": " "])]),
            "integrations[0].responders[0].name",
            "non-empty"
        ),
        ProblemCase(
            "too many responders",
            with(["responders": .array(Array(repeating: .object(["type": .string("team"), "name": .string("a")]), count: 51))]),
            "integrations[0].responders",
            "at most 50"
        ),
        ProblemCase("tags not a list", with(["tags": .string("a,b")]), "integrations[0].tags", "list"),
        ProblemCase("tag not a string", with(["tags": .array([.number(3)])]), "integrations[0].tags[0]", "expected a string"),
        ProblemCase("empty tag", with(["tags": .array([.string("ok"), .string("")])]), "integrations[0].tags[1]", "must not be empty"),
        ProblemCase("tag over 50 characters", with(["tags": .array([.string(String(repeating: "t", count: 51))])]), "integrations[0].tags[0]", "50"),
        ProblemCase("more than 20 tags", with(["tags": .array((0..<21).map { .string("t\($0)") })]), "integrations[0].tags", "at most 20"),
        ProblemCase(
            "broken message template",
            with(["templates": .object(["message": .string("{{#summary}")])]),
            "integrations[0].templates.message",
            "Mustache"
        ),
        ProblemCase(
            "message that renders to nothing",
            with(["templates": .object(["message": .string("{{nothing}}")])]),
            "integrations[0].templates.message",
            "renders to nothing"
        ),
        ProblemCase(
            "unknown template",
            with(["templates": .object(["title": .string("x")])]),
            "integrations[0].templates.title",
            "message, description, entity"
        ),
        ProblemCase("unknown key", with(["priority": .string("P1")]), "integrations[0].priority", "unknown key"),
    ]

    @Test("each problem is reported at its path", arguments: cases)
    func problem(_ testCase: ProblemCase) throws {
        let found = problems(OpsGenieConfiguration.parse(OpsGenieTest.integration(testCase.settings)))
        try #require(found.count == 1, "\(found)")
        #expect(found[0].path == testCase.path)
        #expect(found[0].message.contains(testCase.message), "message: \(found[0].message)")
        let viaRegistry = problems(
            SinkRegistry.makeSinks(
                for: [OpsGenieTest.integration(testCase.settings)],
                environment: SinkEnvironment(http: HTTPTransport(client: .shared))
            )
        )
        #expect(viaRegistry == found)
    }

    @Test("every problem is reported at once")
    func allAtOnce() {
        let settings: [String: JSONValue] = [
            "api_key": .string("key"), "region": .string("mars"), "responders": .array([.object(["type": .string("team")])]),
            "tags": .array([.bool(true)]), "colour": .string("red"),
        ]
        let found = problems(OpsGenieConfiguration.parse(OpsGenieTest.integration(settings, index: 4)))
        #expect(
            Set(found.map(\.path)) == [
                "integrations[4].api_key", "integrations[4].region", "integrations[4].responders[0]", "integrations[4].tags[0]",
                "integrations[4].colour",
            ]
        )
    }

    @Test("defaults: US host, no responders or extra tags, the integration's timeout; responders and tags are read")
    func defaultsAndLists() throws {
        let plain = try OpsGenieConfiguration.parse(OpsGenieTest.integration(["api_key": Self.key], timeout: .seconds(8))).get()
        #expect(plain.region == .us)
        #expect(plain.createURL == "https://api.opsgenie.com/v2/alerts")
        #expect(plain.responders.isEmpty)
        #expect(plain.tags.isEmpty)
        #expect(plain.timeout == .seconds(8))
        let full = try OpsGenieConfiguration.parse(
            OpsGenieTest.integration(
                Self.with([
                    "region": .string("eu"),
                    "responders": .array([
                        .object(["type": .string("team"), "name": .string("db")]),
                        .object(["type": .string("user"), "username": .string("a@example.com")]),
                    ]),
                    "tags": .array([.string("tocsin")]),
                ])
            )
        ).get()
        #expect(full.createURL == "https://api.eu.opsgenie.com/v2/alerts")
        #expect(
            full.responders == [
                OpsGenieConfiguration.Responder(kind: .team, reference: .name("db")),
                OpsGenieConfiguration.Responder(kind: .user, reference: .username("a@example.com")),
            ]
        )
        #expect(full.tags == ["tocsin"])
    }
}
