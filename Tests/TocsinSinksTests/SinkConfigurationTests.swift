import AsyncHTTPClient
import Testing
import TocsinCore
import TocsinSinks

@Suite("Sink registry and configuration validation")
struct SinkConfigurationTests {
    struct ProblemCase: Sendable, CustomTestStringConvertible {
        var name: String
        var settings: [String: JSONValue]
        /// Any of these paths is an acceptable place for the problem.
        var paths: Set<String>

        init(_ name: String, _ settings: [String: JSONValue], _ paths: String...) {
            self.name = name
            self.settings = settings
            self.paths = Set(paths)
        }

        var testDescription: String { name }
    }

    static let goodURL: JSONValue = .string("https://hooks.example.com/tocsin")

    static let webhookCases: [ProblemCase] = [
        ProblemCase("missing url", [:], "integrations[0].url"),
        ProblemCase("empty url", ["url": .string("")], "integrations[0].url"),
        ProblemCase("ftp url", ["url": .string("ftp://files.example.com/hook")], "integrations[0].url"),
        ProblemCase("url without a scheme", ["url": .string("hooks.example.com/tocsin")], "integrations[0].url"),
        ProblemCase("url that is not a string", ["url": .array([.string("https://a.example.com")])], "integrations[0].url"),
        ProblemCase("unknown format", ["url": goodURL, "format": .string("slack")], "integrations[0].format"),
        ProblemCase("unknown key (typo)", ["url": goodURL, "secert": .string("x")], "integrations[0].secert"),
        ProblemCase(
            "bearer_token with basic auth",
            ["url": goodURL, "username": .string("u"), "password": .string("p"), "bearer_token": .string("t")],
            "integrations[0].bearer_token"
        ),
        ProblemCase("password without username", ["url": goodURL, "password": .string("p")], "integrations[0].password"),
        ProblemCase(
            "username without password",
            ["url": goodURL, "username": .string("u")],
            "integrations[0].username",
            "integrations[0].password"
        ),
        ProblemCase("headers not a mapping", ["url": goodURL, "headers": .string("X-A: b")], "integrations[0].headers"),
        ProblemCase(
            "header value not a string",
            ["url": goodURL, "headers": .object(["X-Count": .number(3)])],
            "integrations[0].headers.X-Count"
        ),
    ]

    @Test("each webhook problem is reported at its path", arguments: webhookCases)
    func webhookProblem(_ testCase: ProblemCase) throws {
        let found = problems(WebhookConfiguration.parse(Fixture.integration(testCase.settings)))
        try #require(found.count == 1, "\(found)")
        #expect(testCase.paths.contains(found[0].path), "reported at \(found[0].path)")
        #expect(!found[0].message.isEmpty)
        // The registry reports the same problem.
        let viaRegistry = problems(SinkRegistry.makeSinks(for: [Fixture.integration(testCase.settings)], environment: Self.environment))
        #expect(viaRegistry == found)
    }

    @Test("every problem of one webhook is reported at once")
    func webhookAllProblemsAtOnce() {
        let settings: [String: JSONValue] = [
            "url": .string("ftp://files.example.com/hook"),
            "format": .string("xml"),
            "secert": .string("typo"),
            "password": .string("p"),
        ]
        let found = problems(WebhookConfiguration.parse(Fixture.integration(index: 3, settings)))
        #expect(
            Set(found.map(\.path)) == [
                "integrations[3].url", "integrations[3].format", "integrations[3].secert", "integrations[3].password",
            ]
        )
        #expect(found.count == 4)
    }

    @Test("a valid webhook entry is read completely")
    func webhookValid() throws {
        let settings: [String: JSONValue] = [
            "url": .string("https://hooks.example.com/tocsin"),
            "format": .string("alertmanager"),
            "username": .string("svc"),
            "password": .string("pw-123456"),
            "secret": .string("sign-123456"),
            "headers": .object(["X-Team": .string("ops")]),
        ]
        let configuration = try WebhookConfiguration.parse(Fixture.integration(name: "am", timeout: .seconds(3), settings)).get()
        #expect(configuration.name == "am")
        #expect(configuration.url.exposedValue == "https://hooks.example.com/tocsin")
        #expect(configuration.format == .alertmanager)
        #expect(configuration.timeout == .seconds(3))
        #expect(configuration.signingSecret?.exposedValue == "sign-123456")
        #expect(configuration.headers.mapValues(\.exposedValue) == ["X-Team": "ops"])
        guard case .basic(let username, let password) = configuration.authorization else {
            Issue.record("expected basic auth, got \(configuration.authorization)")
            return
        }
        #expect(username == "svc")
        #expect(password.exposedValue == "pw-123456")
    }

    static let logFileCases: [ProblemCase] = [
        ProblemCase("missing path", [:], "integrations[0].path"),
        ProblemCase("empty path", ["path": .string("")], "integrations[0].path"),
        ProblemCase("max_files 0", ["path": .string("/tmp/x.log"), "max_files": .number(0)], "integrations[0].max_files"),
        ProblemCase("max_files fractional", ["path": .string("/tmp/x.log"), "max_files": .number(2.5)], "integrations[0].max_files"),
        ProblemCase("max_size_mb 0", ["path": .string("/tmp/x.log"), "max_size_mb": .number(0)], "integrations[0].max_size_mb"),
        ProblemCase(
            "max_size_mb not a number",
            ["path": .string("/tmp/x.log"), "max_size_mb": .string("big")],
            "integrations[0].max_size_mb"
        ),
        ProblemCase("unknown key (typo)", ["path": .string("/tmp/x.log"), "max_file": .number(3)], "integrations[0].max_file"),
    ]

    @Test("each log_file problem is reported at its path", arguments: logFileCases)
    func logFileProblem(_ testCase: ProblemCase) throws {
        let found = problems(LogFileConfiguration.parse(Fixture.integration(type: "log_file", testCase.settings)))
        try #require(found.count == 1, "\(found)")
        #expect(testCase.paths.contains(found[0].path), "reported at \(found[0].path)")
        #expect(!found[0].message.isEmpty)
    }

    @Test("log_file defaults: 50 MB per file, 5 files")
    func logFileDefaults() throws {
        let configuration = try LogFileConfiguration.parse(
            Fixture.integration(type: "log_file", ["path": .string("/var/log/tocsin/notifications.log")])
        ).get()
        #expect(configuration.path == "/var/log/tocsin/notifications.log")
        #expect(configuration.maxSizeMB == 50)
        #expect(configuration.maxFiles == 5)
    }

    @Test("makeSinks reports the problems of every integration at once, unknown types included")
    func registryCollectsEverything() {
        let integrations = [
            Fixture.integration(name: "hook", index: 0, [:]),
            Fixture.integration(type: "log_file", name: "file", index: 1, ["max_files": .number(0)]),
            Fixture.integration(type: "pager-duty", name: "pd", index: 2, ["routing_key": .string("k")]),
            Fixture.integration(name: "good", index: 3, ["url": Self.goodURL]),
        ]
        let found = problems(SinkRegistry.makeSinks(for: integrations, environment: Self.environment))
        #expect(
            Set(found.map(\.path)) == [
                "integrations[0].url", "integrations[1].path", "integrations[1].max_files", "integrations[2].type",
            ]
        )
        #expect(found.first { $0.path == "integrations[2].type" }?.message.contains("pager-duty") == true)
    }

    @Test("makeSinks builds one sink per integration, keyed by name")
    func registryBuilds() throws {
        let integrations = [
            Fixture.integration(name: "hook", index: 0, ["url": Self.goodURL]),
            Fixture.integration(type: "log_file", name: "file", index: 1, ["path": .string("/tmp/tocsin-unused.log")]),
        ]
        let sinks = try SinkRegistry.makeSinks(for: integrations, environment: Self.environment).get()
        #expect(Set(sinks.keys) == ["hook", "file"])
        #expect(sinks["hook"] is WebhookSink)
        #expect(sinks["file"] is LogFileSink)
    }

    @Test("the registry knows webhook and log_file")
    func registryTypes() {
        #expect(SinkRegistry.types.isSuperset(of: ["webhook", "log_file"]))
        for (type, factory) in SinkRegistry.factories { #expect(factory.type == type) }
    }

    /// Never used to send: validation and construction only.
    static let environment = SinkEnvironment(http: HTTPTransport(client: HTTPClient.shared))
}
