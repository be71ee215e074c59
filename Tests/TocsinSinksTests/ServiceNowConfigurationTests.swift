import AsyncHTTPClient
import Testing
import TocsinCore
import TocsinSinks

@Suite("ServiceNow configuration")
struct ServiceNowConfigurationTests {
    struct ProblemCase: Sendable, CustomTestStringConvertible {
        var name: String
        var settings: [String: JSONValue]
        var path: String

        init(_ name: String, _ settings: [String: JSONValue], _ path: String) {
            self.name = name
            self.settings = settings
            self.path = path
        }

        var testDescription: String { name }
    }

    static let credentials: [String: JSONValue] = ["username": .string("tocsin"), "password": .string("pw-1234")]

    static func with(_ extra: [String: JSONValue], base: [String: JSONValue] = ["instance": .string("acme")]) -> [String: JSONValue] {
        credentials.merging(base) { $1 }.merging(extra) { $1 }
    }

    static let cases: [ProblemCase] = [
        ProblemCase("neither instance nor url", credentials, "integrations[0].instance"),
        ProblemCase("both instance and url", with(["url": .string("https://acme.service-now.com")]), "integrations[0].url"),
        ProblemCase("instance given as a host name", with(["instance": .string("acme.service-now.com")]), "integrations[0].instance"),
        ProblemCase("empty instance", with(["instance": .string("")]), "integrations[0].instance"),
        ProblemCase("instance not a string", with(["instance": .array([])]), "integrations[0].instance"),
        ProblemCase("url without a scheme", with([:], base: ["url": .string("acme.service-now.com")]), "integrations[0].url"),
        ProblemCase("ftp url", with([:], base: ["url": .string("ftp://acme.service-now.com")]), "integrations[0].url"),
        ProblemCase("url with credentials", with([:], base: ["url": .string("https://u:p@acme.service-now.com")]), "integrations[0].url"),
        ProblemCase("url with a query", with([:], base: ["url": .string("https://acme.service-now.com/?x=1")]), "integrations[0].url"),
        ProblemCase("missing username", ["instance": .string("acme"), "password": .string("pw")], "integrations[0].username"),
        ProblemCase("missing password", ["instance": .string("acme"), "username": .string("tocsin")], "integrations[0].password"),
        ProblemCase("empty password", with(["password": .string(" ")]), "integrations[0].password"),
        ProblemCase("unknown mode", with(["mode": .string("alert")]), "integrations[0].mode"),
        ProblemCase("unknown notifications choice", with(["notifications": .string("incident")]), "integrations[0].notifications"),
        ProblemCase("resolve_state not a number", with(["resolve_state": .string("Resolved")]), "integrations[0].resolve_state"),
        ProblemCase("empty close_code", with(["close_code": .string("")]), "integrations[0].close_code"),
        ProblemCase("event setting in incident mode", with(["source": .string("X")]), "integrations[0].source"),
        ProblemCase(
            "incident setting in event mode",
            with(["mode": .string("event"), "assignment_group": .string("g")]),
            "integrations[0].assignment_group"
        ),
        ProblemCase("unknown key (typo)", with(["assigment_group": .string("g")]), "integrations[0].assigment_group"),
        ProblemCase("unknown template", with(["templates": .object(["title": .string("x")])]), "integrations[0].templates.title"),
        ProblemCase(
            "template of the other mode",
            with(["mode": .string("event"), "templates": .object(["short_description": .string("x")])]),
            "integrations[0].templates.short_description"
        ),
        ProblemCase(
            "broken template",
            with(["templates": .object(["short_description": .string("{{#summary}}")])]),
            "integrations[0].templates.short_description"
        ),
        ProblemCase(
            "short description rendering nothing",
            with(["templates": .object(["short_description": .string("{{^summary}}x{{/summary}}")])]),
            "integrations[0].templates.short_description"
        ),
    ]

    @Test("each problem is reported once at its path, by the parser and by the registry", arguments: cases)
    func problem(_ testCase: ProblemCase) throws {
        let found = problems(ServiceNowConfiguration.parse(ServiceNowTest.integration(testCase.settings)))
        try #require(found.count == 1, "\(found)")
        #expect(found[0].path == testCase.path, "reported at \(found[0].path): \(found[0].message)")
        #expect(!found[0].message.isEmpty)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { try? client.syncShutdown() }
        let viaRegistry = problems(
            SinkRegistry.makeSinks(
                for: [ServiceNowTest.integration(testCase.settings)],
                environment: SinkEnvironment(http: HTTPTransport(client: client))
            )
        )
        #expect(viaRegistry == found)
    }

    @Test("every problem of one integration is reported at once")
    func allProblemsAtOnce() {
        let settings: [String: JSONValue] = [
            "url": .string("ftp://x"), "mode": .string("page"), "resolve_state": .string("six"), "node_label": .string("n"), "colour": .string("red"),
        ]
        let found = problems(ServiceNowConfiguration.parse(ServiceNowTest.integration(settings, index: 2)))
        #expect(
            Set(found.map(\.path)) == [
                "integrations[2].url", "integrations[2].username", "integrations[2].password", "integrations[2].mode",
                "integrations[2].resolve_state", "integrations[2].node_label", "integrations[2].colour",
            ]
        )
        #expect(found.count == 7)
    }

    @Test("an instance name becomes https://<instance>.service-now.com; a url is used as given without trailing slashes")
    func baseURL() throws {
        let byName = try ServiceNowConfiguration.parse(ServiceNowTest.integration(Self.with(["instance": .string("Acme-Dev2")]))).get()
        #expect(byName.baseURL == "https://acme-dev2.service-now.com")
        let byURL = try ServiceNowConfiguration.parse(
            ServiceNowTest.integration(Self.with([:], base: ["url": .string("https://sn.example.com/proxy//")]))
        )
        .get()
        #expect(byURL.baseURL == "https://sn.example.com/proxy")
    }

    @Test("defaults: incident mode, notifications skipped, close code, resolve state 6, source Tocsin, node labels tried in order")
    func defaults() throws {
        let configuration = try ServiceNowConfiguration.parse(ServiceNowTest.integration(Self.with([:]), timeout: .seconds(7))).get()
        #expect(configuration.mode == .incident)
        #expect(configuration.notifications == .skip)
        #expect(configuration.closeCode == "Solved (Permanently)")
        #expect(configuration.resolveState == "6")
        #expect(configuration.source == "Tocsin")
        #expect(configuration.eventClass == nil)
        #expect(configuration.nodeLabel == nil)
        #expect(configuration.assignmentGroup == nil)
        #expect(configuration.timeout == .seconds(7))
        #expect(configuration.username == "tocsin")

        let event = try ServiceNowConfiguration.parse(
            ServiceNowTest.integration(Self.with(["mode": .string("event"), "event_class": .string("prod"), "node_label": .string("server")]))
        ).get()
        #expect(event.mode == .event)
        #expect(event.eventClass == "prod")
        #expect(event.nodeLabel == "server")
    }

    @Test("a whole-number resolve_state given as a YAML number is accepted")
    func numericResolveState() throws {
        let configuration = try ServiceNowConfiguration.parse(ServiceNowTest.integration(Self.with(["resolve_state": .number(7)]))).get()
        #expect(configuration.resolveState == "7")
    }
}
