import AsyncHTTPClient
import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// E-mail settings for the tests.
enum EmailFixture {
    static let base: [String: JSONValue] = [
        "from": .string("Tocsin Alerts <alerts@example.org>"),
        "receivers": .array([.string("ops@example.org")]),
        "server": .string("smtp.example.org"),
    ]

    static func settings(_ changes: [String: JSONValue?]) -> [String: JSONValue] {
        var settings = base
        for (key, value) in changes { settings[key] = value }
        return settings
    }

    static func integration(_ settings: [String: JSONValue], timeout: Duration = .seconds(5)) -> IntegrationConfig {
        Fixture.integration(type: "email", name: "ops-email", timeout: timeout, settings)
    }

    static func configuration(_ settings: [String: JSONValue], publicURL: String? = nil, timeout: Duration = .seconds(5)) throws -> EmailConfiguration
    {
        try EmailConfiguration.parse(integration(settings, timeout: timeout), publicURL: publicURL).get()
    }

    static func sink(_ settings: [String: JSONValue], publicURL: String? = nil, timeout: Duration = .seconds(5), now: Date = Fixture.receivedAt)
        throws -> EmailSink
    {
        EmailSink(configuration: try configuration(settings, publicURL: publicURL, timeout: timeout), now: { now })
    }
}

@Suite("E-mail configuration")
struct EmailConfigurationTests {
    struct ProblemCase: Sendable, CustomTestStringConvertible {
        var name: String
        var changes: [String: JSONValue?]
        var path: String

        init(_ name: String, _ changes: [String: JSONValue?], _ path: String) {
            self.name = name
            self.changes = changes
            self.path = path
        }

        var testDescription: String { name }
    }

    static let login: [String: JSONValue?] = ["username": .string("alerts@example.org"), "password": .string("pw")]

    static let cases: [ProblemCase] = [
        ProblemCase("missing from", ["from": nil], "integrations[0].from"),
        ProblemCase("from is not an address", ["from": .string("alerts.example.org")], "integrations[0].from"),
        ProblemCase("from carries a header", ["from": .string("alerts@example.org\r\nBcc: spy@example.net")], "integrations[0].from"),
        ProblemCase("from with a non-ASCII address", ["from": .string("jörg@example.org")], "integrations[0].from"),
        ProblemCase("missing receivers", ["receivers": nil], "integrations[0].receivers"),
        ProblemCase("empty receivers list", ["receivers": .array([])], "integrations[0].receivers"),
        ProblemCase("blank receivers string", ["receivers": .string(" , ")], "integrations[0].receivers"),
        ProblemCase("receivers is a number", ["receivers": .number(3)], "integrations[0].receivers"),
        ProblemCase("a receiver is not a string", ["receivers": .array([.string("ops@example.org"), .number(1)])], "integrations[0].receivers[1]"),
        ProblemCase(
            "a receiver is not an address",
            ["receivers": .array([.string("ops@example.org"), .string("ops at example")])],
            "integrations[0].receivers[1]"
        ),
        ProblemCase(
            "a bad address in a comma-separated string",
            ["receivers": .string("ops@example.org, two@@example.org")],
            "integrations[0].receivers"
        ),
        ProblemCase("a receiver with a bad domain", ["receivers": .array([.string("ops@-example.org")])], "integrations[0].receivers[0]"),
        ProblemCase("missing server", ["server": nil], "integrations[0].server"),
        ProblemCase("server given as a URL", ["server": .string("smtp://mail.example.org")], "integrations[0].server"),
        ProblemCase("server with its port", ["server": .string("mail.example.org:587")], "integrations[0].server"),
        ProblemCase("server with a space", ["server": .string("mail example.org")], "integrations[0].server"),
        ProblemCase("port 0", ["port": .number(0)], "integrations[0].port"),
        ProblemCase("port too large", ["port": .number(70000)], "integrations[0].port"),
        ProblemCase("port not a number", ["port": .string("smtp")], "integrations[0].port"),
        ProblemCase("unknown tls mode", ["tls": .string("ssl")], "integrations[0].tls"),
        ProblemCase("credentials with tls none", ["tls": .string("none")].merging(login) { $1 }, "integrations[0].tls"),
        ProblemCase("username without password", ["username": .string("alerts@example.org")], "integrations[0].password"),
        ProblemCase("password without username", ["password": .string("pw")], "integrations[0].username"),
        ProblemCase("skip_verify not a boolean", ["skip_verify": .string("yes")], "integrations[0].skip_verify"),
        ProblemCase("skip_verify a number", ["skip_verify": .number(1)], "integrations[0].skip_verify"),
        ProblemCase("ca that is not PEM", ["ca": .string("not a certificate")], "integrations[0].ca"),
        ProblemCase("subject that does not compile", ["subject": .string("{{#firing}}unclosed")], "integrations[0].subject"),
        ProblemCase("subject that renders to nothing", ["subject": .string("{{#test}}only tests{{/test}}")], "integrations[0].subject"),
        ProblemCase(
            "subject given twice",
            ["subject": .string("a"), "templates": .object(["subject": .string("b")])],
            "integrations[0].subject"
        ),
        ProblemCase("a text template that does not compile", ["templates": .object(["text": .string("{{/x}}")])], "integrations[0].templates.text"),
        ProblemCase("an unknown template name", ["templates": .object(["body": .string("x")])], "integrations[0].templates.body"),
        ProblemCase("an unknown key", ["smtp_host": .string("mail.example.org")], "integrations[0].smtp_host"),
    ]

    @Test("each problem is reported once, at its path, by the parser and by the registry", arguments: cases)
    func problem(_ testCase: ProblemCase) {
        let integration = EmailFixture.integration(EmailFixture.settings(testCase.changes))
        let found = problems(EmailConfiguration.parse(integration))
        #expect(found.map(\.path) == [testCase.path], "\(found)")
        #expect(found.allSatisfy { !$0.message.isEmpty })
        let viaRegistry = problems(SinkRegistry.makeSinks(for: [integration], environment: Self.environment))
        #expect(viaRegistry.map(\.path) == [testCase.path])
    }

    @Test("every problem of an entry is reported at once")
    func allProblems() {
        let settings: [String: JSONValue] = [
            "from": .string("nobody"), "receivers": .array([.string("x")]), "port": .number(-1), "tls": .string("none"),
            "username": .string("u"), "password": .string("p"), "colour": .string("red"),
        ]
        let paths = Set(problems(EmailConfiguration.parse(EmailFixture.integration(settings))).map(\.path))
        let expected: Set<String> = ["from", "receivers[0]", "server", "port", "tls", "colour"].reduce(into: []) {
            $0.insert("integrations[0].\($1)")
        }
        #expect(paths == expected)
    }

    @Test("the port follows tls: 587 for starttls (the default), 465 for implicit, 25 for none; an explicit port wins")
    func defaults() throws {
        let startTLS = try EmailFixture.configuration(EmailFixture.base)
        #expect(startTLS.security == .startTLS)
        #expect(startTLS.port == 587)
        #expect(!startTLS.skipVerify)
        #expect(startTLS.credentials == nil)
        #expect(startTLS.tlsContext != nil)
        #expect(try EmailFixture.configuration(EmailFixture.settings(["tls": .string("implicit")])).port == 465)
        let plain = try EmailFixture.configuration(EmailFixture.settings(["tls": .string("none")]))
        #expect(plain.port == 25)
        #expect(plain.tlsContext == nil)
        #expect(try EmailFixture.configuration(EmailFixture.settings(["tls": .string("implicit"), "port": .number(2465)])).port == 2465)
        #expect(startTLS.timeout == .seconds(5))
    }

    @Test("receivers as a comma-separated string (the AxonOps form) or a list; the same mailbox twice is kept once")
    func receivers() throws {
        let fromString = try EmailFixture.configuration(
            EmailFixture.settings(["receivers": .string("ops@example.org, On Call <oncall@example.org>,OPS@example.org")])
        )
        #expect(fromString.receivers.map(\.address) == ["ops@example.org", "oncall@example.org"])
        #expect(fromString.receivers[1].displayName == "On Call")
        let fromList = try EmailFixture.configuration(
            EmailFixture.settings(["receivers": .array([.string("ops@example.org"), .string("\"Night, Shift\" <night@[192.0.2.10]>")])])
        )
        #expect(fromList.receivers.map(\.description) == ["ops@example.org", "Night, Shift <night@[192.0.2.10]>"])
        #expect(fromList.from.displayName == "Tocsin Alerts")
        #expect(fromList.from.address == "alerts@example.org")
    }

    @Test("skip_verify accepts true/false and their string forms; empty credentials mean none")
    func flagsAndEmptyCredentials() throws {
        #expect(try EmailFixture.configuration(EmailFixture.settings(["skip_verify": .bool(true)])).skipVerify)
        #expect(try EmailFixture.configuration(EmailFixture.settings(["skip_verify": .string("TRUE")])).skipVerify)
        #expect(!(try EmailFixture.configuration(EmailFixture.settings(["skip_verify": .bool(false)])).skipVerify))
        let empty = try EmailFixture.configuration(EmailFixture.settings(["username": .string(""), "password": .string(""), "tls": .string("none")]))
        #expect(empty.credentials == nil)
    }

    @Test("ca_file is read by the loader and its certificate trusted; password_file likewise")
    func caFileThroughTheLoader() throws {
        let certificates = try SMTPTestCertificates.shared()
        let directory = makeTemporaryDirectory("tocsin-email-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "hunter2-from-file\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        let yaml = """
            integrations:
              - name: mail
                type: email
                from: alerts@example.org
                receivers: ops@example.org, oncall@example.org
                server: 127.0.0.1
                tls: implicit
                username: alerts@example.org
                password_file: \(directory)/password
                ca_file: \(certificates.caCertificate)
            """
        let configuration = try ConfigurationLoader(environment: [:], knownIntegrationTypes: SinkRegistry.types).load(yaml: yaml)
        let integration = try #require(configuration.integrations.first)
        let email = try EmailConfiguration.parse(integration).get()
        #expect(email.trustedCertificateCount == 1)
        #expect(email.credentials?.password.exposedValue == "hunter2-from-file")
        #expect(email.receivers.count == 2)
        #expect(SinkRegistry.rateLimit(for: integration) == EmailSink.defaultRateLimit)
    }

    @Test("the registry knows the type and its default rate limit of 30 a minute")
    func registry() {
        #expect(SinkRegistry.types.contains("email"))
        #expect(SinkRegistry.factories["email"]?.defaultRateLimit == RateLimit(count: 30, period: .seconds(60)))
    }

    static let environment = SinkEnvironment(http: HTTPTransport(client: HTTPClient.shared))
}
