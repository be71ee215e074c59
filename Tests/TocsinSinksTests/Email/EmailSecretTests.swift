import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// The login must never show: not in a delivery's detail, not in a description of the sink or its
/// configuration, not in a configuration problem. The server here quotes back every credential it received,
/// plain and base64, in its refusals and in its success replies.
@Suite("E-mail secrets never leak", .timeLimit(.minutes(1)))
struct EmailSecretTests {
    static let username = "svc-USERNAME-q7w3"
    static let password = "PASSWORD-hunter2-Zq9"

    /// Every form a server or a library could quote.
    static var forbidden: [(name: String, value: String)] {
        let plain = Data([0] + Array(username.utf8) + [0] + Array(password.utf8)).base64EncodedString()
        let user64 = Data(username.utf8).base64EncodedString()
        let password64 = Data(password.utf8).base64EncodedString()
        return [
            ("username", username), ("password", password), ("AUTH PLAIN token", plain), ("base64 username", user64),
            ("base64 password", password64), ("unpadded base64 password", password64.replacingOccurrences(of: "=", with: "")),
        ]
    }

    static func expectNone(in text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectNoSecret(in: text, forbidden, what, sourceLocation: sourceLocation)
    }

    static func settings(
        port: Int,
        password: String = EmailSecretTests.password,
        receivers: [String] = ["ops@example.org"],
        from: String = "alerts@example.org",
        tls: String = "starttls"
    ) throws
        -> [String: JSONValue]
    {
        try SMTPFixture.settings(port: port, tls: tls, username: username, password: password, from: from, receivers: receivers)
    }

    static func echoingServer(mechanisms: [String] = ["PLAIN", "LOGIN"]) -> SMTPTestServer.Mode {
        .smtp(security: .starttls, username: username, password: password, mechanisms: mechanisms, echoSecrets: true)
    }

    @Test("a refused login quoted back (PLAIN and LOGIN) leaves no credential in the detail", arguments: ["PLAIN", "LOGIN"])
    func refusedLoginEchoed(mechanism: String) async throws {
        // The server checks the password it got: a wrong one is refused, and the refusal quotes what was sent.
        let wrong = "PASSWORD-wrong-Zq9-x"
        try await SMTPTestServer.run(Self.echoingServer(mechanisms: [mechanism])) { server in
            let result = try await SMTPFixture.deliver(try Self.settings(port: server.port, password: wrong))
            #expect(result.outcome == .permanent)
            let detail = try #require(result.detail)
            #expect(detail.contains("535"))
            #expect(detail.contains("<secret>"), "the echo was not in the detail at all, so the test proves nothing: \(detail)")
            Self.expectNone(in: detail, "detail of a refused \(mechanism) login")
            for form in [
                wrong, Data(wrong.utf8).base64EncodedString(), Data([0] + Array(Self.username.utf8) + [0] + Array(wrong.utf8)).base64EncodedString(),
            ] {
                #expect(!detail.contains(form), "the detail shows the configured (wrong) password: \(detail)")
            }
        }
    }

    @Test("refusals after a successful login quote the credentials; the detail shows none of them")
    func refusalsEchoed() async throws {
        try await SMTPTestServer.run(Self.echoingServer()) { server in
            // One refused recipient beside an accepted one: delivered, with a detail quoting the refusal.
            let partial = try await SMTPFixture.deliver(try Self.settings(port: server.port, receivers: ["refused@example.org", "ops@example.org"]))
            #expect(partial.outcome == .delivered)
            // Refused at MAIL FROM, at RCPT (every recipient) and at the end of data.
            let failures = [
                try await SMTPFixture.deliver(try Self.settings(port: server.port, from: "reject-mail@example.org")),
                try await SMTPFixture.deliver(try Self.settings(port: server.port, receivers: ["refused@example.org", "busy@example.org"])),
                try await SMTPFixture.deliver(try Self.settings(port: server.port, from: "tempfail-data@example.org")),
            ]
            #expect(failures.map(\.outcome) == [.permanent, .retryable(retryAfter: nil), .retryable(retryAfter: nil)])
            for result in [partial] + failures {
                let detail = try #require(result.detail)
                #expect(detail.contains("<secret>"), "the echo was not in the detail: \(detail)")
                Self.expectNone(in: detail, "detail \(detail.prefix(40))")
            }
        }
    }

    @Test("a refused connection, a timeout and a failed TLS handshake leave no credential in the detail")
    func transportFailures() async throws {
        let port = try await ScriptedPeer.closedPort()
        let refused = try await SMTPFixture.deliver(try Self.settings(port: port), timeout: .seconds(2))
        #expect(refused.outcome == .retryable(retryAfter: nil))
        Self.expectNone(in: try #require(refused.detail), "detail of a refused connection")
        try await SMTPTestServer.run(.silent) { server in
            let timedOut = try await SMTPFixture.deliver(try Self.settings(port: server.port), timeout: .milliseconds(300))
            #expect(timedOut.outcome == .retryable(retryAfter: nil))
            Self.expectNone(in: try #require(timedOut.detail), "detail of a timeout")
        }
        try await SMTPTestServer.run(Self.echoingServer()) { server in
            var settings = try Self.settings(port: server.port)
            settings["ca"] = nil
            let untrusted = try await SMTPFixture.deliver(settings)
            #expect(untrusted.outcome == .retryable(retryAfter: nil))
            Self.expectNone(in: try #require(untrusted.detail), "detail of a failed handshake")
            #expect(server.events("auth").isEmpty)
        }
    }

    @Test("a successful send whose every reply quotes the credentials reports no detail")
    func successEchoed() async throws {
        try await SMTPTestServer.run(Self.echoingServer()) { server in
            let result = try await SMTPFixture.deliver(try Self.settings(port: server.port))
            #expect(result == SinkResult(outcome: .delivered))
            #expect(await server.waitForMessages(1).count == 1)
        }
    }

    @Test("descriptions of the configuration, its credentials and the sink show no secret")
    func descriptions() throws {
        let sink = try EmailFixture.sink(try Self.settings(port: 587))
        let configuration = sink.configuration
        for (what, text) in [
            ("String(describing:) of the configuration", String(describing: configuration)),
            ("String(reflecting:) of the configuration", String(reflecting: configuration)),
            ("the credentials", "\(String(describing: configuration.credentials))"),
            ("String(describing:) of the sink", String(describing: sink)),
            ("String(reflecting:) of the sink", String(reflecting: sink)),
        ] {
            Self.expectNone(in: text, what)
        }
        var dumped = ""
        dump(sink, to: &dumped)
        Self.expectNone(in: dumped, "dump of the sink")
        // Not vacuous: the configuration does hold them.
        #expect(configuration.credentials?.username.exposedValue == Self.username)
        #expect(configuration.credentials?.password.exposedValue == Self.password)
    }

    @Test("configuration problems name the keys, never the secret values")
    func problemsShowNoSecret() throws {
        var settings = try Self.settings(port: 587, tls: "none")
        settings["pasword"] = .string(Self.password)
        settings["port"] = .string(Self.password)
        let found = problems(EmailConfiguration.parse(EmailFixture.integration(settings)))
        #expect(found.count >= 3)
        Self.expectNone(in: found.map(\.description).joined(separator: "\n"), "configuration problems")
    }
}
