import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// Settings and helpers for sends to the aiosmtpd test server.
enum SMTPFixture {
    static let username = "tocsin-submitter"
    static let password = "Correct-Horse-Battery-7"

    /// A sink configured for the test server on `port`, trusting the test CA unless `trustCA` is false.
    static func settings(
        port: Int,
        tls: String = "starttls",
        server: String = "127.0.0.1",
        username: String? = SMTPFixture.username,
        password: String? = SMTPFixture.password,
        trustCA: Bool = true,
        from: String = "Tocsin Alerts <alerts@example.org>",
        receivers: [String] = ["ops@example.org", "oncall@example.org"]
    ) throws -> [String: JSONValue] {
        var settings: [String: JSONValue] = [
            "from": .string(from),
            "receivers": .array(receivers.map { .string($0) }),
            "server": .string(server),
            "port": .number(Double(port)),
            "tls": .string(tls),
        ]
        if let username { settings["username"] = .string(username) }
        if let password { settings["password"] = .string(password) }
        if trustCA && tls != "none" { settings["ca"] = .string(try SMTPTestCertificates.shared().caPEM) }
        return settings
    }

    static func deliver(
        _ settings: [String: JSONValue],
        _ outbound: OutboundNotification = Fixture.outbound(.open),
        timeout: Duration = .seconds(5)
    ) async throws -> SinkResult {
        let sink = try EmailFixture.sink(settings, publicURL: "https://tocsin.example.com", timeout: timeout)
        return await sink.deliver(outbound)
    }

    /// The one message the server received, parsed.
    static func onlyMessage(_ server: SMTPTestServer, sourceLocation: SourceLocation = #_sourceLocation) async throws -> (
        SMTPTestServer.ReceivedMail, ParsedMail
    ) {
        let received = await server.waitForMessages(1)
        try #require(received.count == 1, "the server received \(received.count) messages", sourceLocation: sourceLocation)
        return (received[0], try ParsedMail(received[0].data))
    }
}

@Suite("E-mail delivery to a real SMTP server (aiosmtpd)", .timeLimit(.minutes(1)))
struct EmailDeliveryTests {
    static let authServer = SMTPTestServer.Mode.smtp(security: .starttls, username: SMTPFixture.username, password: SMTPFixture.password)

    @Test("STARTTLS with AUTH PLAIN: EHLO again after TLS, AUTH only over TLS, the message arrives whole")
    func startTLSPlain() async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port))
            #expect(result == SinkResult(outcome: .delivered))
            let (received, mail) = try await SMTPFixture.onlyMessage(server)
            #expect(received.overTLS && received.authenticated)
            #expect(received.mailFrom == "alerts@example.org")
            #expect(received.recipients == ["ops@example.org", "oncall@example.org"])
            #expect(server.events("ehlo").map { $0["tls"] } == [.bool(false), .bool(true)])
            #expect(server.events("auth").map { $0["mechanism"] } == [.string("PLAIN")])
            #expect(server.events("auth").allSatisfy { $0["tls"] == .bool(true) && $0["success"] == .bool(true) })

            #expect(mail.header("From") == "\"Tocsin Alerts\" <alerts@example.org>")
            #expect(mail.header("To") == "ops@example.org, oncall@example.org")
            #expect(mail.subject == "[FIRING] CRITICAL Disk usage above 80 % on n3")
            #expect(mail.header("Message-ID") == "<tocsin.d3f0c2a9b8e7d6c5b4a39281@example.org>")
            #expect(mail.header("Date") == "Thu, 01 Jan 2026 00:00:31 +0000")
            #expect(mail.header("MIME-Version") == "1.0")
            #expect(mail.parts.map(\.contentType) == ["text/plain; charset=utf-8", "text/html; charset=utf-8"])
            #expect(mail.parts[0].text.contains("View in Tocsin: https://tocsin.example.com/alerts/fp-5d2c9a"))
            #expect(mail.parts[1].text.contains("<code>alertname</code>"))
            EmailMessageTests.expectWellFormed(received.data)
        }
    }

    @Test("AUTH LOGIN when the server offers only LOGIN")
    func startTLSLogin() async throws {
        let mode = SMTPTestServer.Mode.smtp(
            security: .starttls,
            username: SMTPFixture.username,
            password: SMTPFixture.password,
            mechanisms: ["LOGIN"]
        )
        try await SMTPTestServer.run(mode) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port))
            #expect(result.outcome == .delivered, "\(result)")
            #expect(server.events("auth").map { $0["mechanism"] } == [.string("LOGIN")])
            #expect(try await SMTPFixture.onlyMessage(server).0.authenticated)
        }
    }

    @Test("implicit TLS: encrypted from the first byte, one EHLO, AUTH")
    func implicitTLS() async throws {
        let mode = SMTPTestServer.Mode.smtp(security: .implicit, username: SMTPFixture.username, password: SMTPFixture.password)
        try await SMTPTestServer.run(mode) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, tls: "implicit"))
            #expect(result.outcome == .delivered, "\(result)")
            #expect(server.events("ehlo").map { $0["tls"] } == [.bool(true)])
            let (received, mail) = try await SMTPFixture.onlyMessage(server)
            #expect(received.overTLS && received.authenticated)
            #expect(mail.parts.count == 2)
        }
    }

    @Test("tls none without credentials delivers in plain text")
    func plainText() async throws {
        try await SMTPTestServer.run(.smtp(security: .none)) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, tls: "none", username: nil, password: nil))
            #expect(result.outcome == .delivered, "\(result)")
            #expect(try await SMTPFixture.onlyMessage(server).0.overTLS == false)
        }
    }

    @Test("the certificate is checked against the host name too: server localhost matches the certificate's DNS name")
    func hostNameVerification() async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, server: "localhost"))
            #expect(result.outcome == .delivered, "\(result)")
        }
    }

    @Test("lines starting with '.' and a 3000-character line arrive intact; no line on the wire passes 998 characters")
    func dotsAndLongLines() async throws {
        let longLine = String((0..<3000).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
        let description = ".hidden behind a dot\n.\n..two dots\n\(longLine)\nlast line ü"
        let outbound = Fixture.outbound(.open, event: Fixture.event(for: .open, description: description))
        try await SMTPTestServer.run(Self.authServer) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port), outbound)
            #expect(result.outcome == .delivered, "\(result)")
            let (received, mail) = try await SMTPFixture.onlyMessage(server)
            let text = mail.parts[0].text
            #expect(text.contains(description.replacingOccurrences(of: "\n", with: "\r\n")), "the description did not arrive intact")
            #expect(mail.parts[1].text.contains(longLine))
            #expect(mail.lines.allSatisfy { $0.count <= 998 })
            EmailMessageTests.expectWellFormed(received.data)
        }
    }

    @Test("a refused recipient does not stop the others: they get the message, the detail names the refused one")
    func refusedRecipientIsolated() async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let settings = try SMTPFixture.settings(port: server.port, receivers: ["ops@example.org", "refused@example.org", "oncall@example.org"])
            let result = try await SMTPFixture.deliver(settings)
            #expect(result.outcome == .delivered)
            let detail = try #require(result.detail)
            #expect(detail.contains("refused@example.org") && detail.contains("550 5.1.1"))
            #expect(detail.contains("2 of 3"))
            #expect(!detail.contains("ops@example.org") && !detail.contains("oncall@example.org"))
            let (received, mail) = try await SMTPFixture.onlyMessage(server)
            #expect(received.recipients == ["ops@example.org", "oncall@example.org"])
            // The header still lists everyone the integration writes to.
            #expect(mail.header("To")?.contains("refused@example.org") == true)
        }
    }

    @Test("a recipient refused for now (451) beside accepted ones: delivered to those, the detail names it")
    func busyRecipient() async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let result = try await SMTPFixture.deliver(
                try SMTPFixture.settings(port: server.port, receivers: ["busy@example.org", "ops@example.org"])
            )
            #expect(result.outcome == .delivered)
            #expect(result.detail?.contains("busy@example.org (451 4.3.0") == true, "\(result)")
            #expect(try await SMTPFixture.onlyMessage(server).0.recipients == ["ops@example.org"])
        }
    }

    @Test(
        "every recipient refused: permanent when all got 5xx, retryable when one got 4xx; nothing is sent",
        arguments: [(["refused@example.org"], false), (["refused@example.org", "busy@example.org"], true)]
    )
    func allRecipientsRefused(receivers: [String], retryable: Bool) async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, receivers: receivers))
            #expect(result.outcome == (retryable ? .retryable(retryAfter: nil) : .permanent), "\(result)")
            let detail = try #require(result.detail)
            for receiver in receivers { #expect(detail.contains(receiver)) }
            #expect(server.messages.isEmpty)
        }
    }

    @Test(
        "refusals at MAIL FROM and at the end of data: 4xx retryable, 5xx permanent",
        arguments: [
            ("tempfail-mail@example.org", false, "451 4.3.0"), ("reject-mail@example.org", true, "553 5.7.1"),
            ("tempfail-data@example.org", false, "451 4.3.0"), ("reject-data@example.org", true, "554 5.6.0"),
        ]
    )
    func senderAndDataRefusals(from: String, permanent: Bool, code: String) async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, from: from))
            #expect(result.outcome == (permanent ? .permanent : .retryable(retryAfter: nil)), "\(result)")
            let detail = try #require(result.detail)
            #expect(detail.contains(code))
            #expect(detail.contains(from.hasPrefix("tempfail-mail") || from.hasPrefix("reject-mail") ? "MAIL FROM" : "end of data"))
            #expect(server.messages.isEmpty)
        }
    }

    @Test("a wrong password is a permanent 535, and the detail does not show it")
    func wrongPassword() async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, password: "Wrong-Password-42"))
            #expect(result.outcome == .permanent)
            let detail = try #require(result.detail)
            #expect(detail.contains("535") && detail.contains("AUTH"))
            #expect(!detail.contains("Wrong-Password-42"))
            #expect(server.events("auth").map { $0["success"] } == [.bool(false)])
            #expect(server.messages.isEmpty)
        }
    }

    @Test("certificates are verified by default: the test CA's server is refused without ca, accepted with skip_verify")
    func certificateVerification() async throws {
        for tls in ["starttls", "implicit"] {
            let mode = SMTPTestServer.Mode.smtp(
                security: tls == "starttls" ? .starttls : .implicit,
                username: SMTPFixture.username,
                password: SMTPFixture.password
            )
            try await SMTPTestServer.run(mode) { server in
                let refused = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, tls: tls, trustCA: false))
                #expect(refused.outcome == .retryable(retryAfter: nil), "\(tls): \(refused)")
                #expect(refused.detail?.contains("TLS") == true, "\(tls): \(refused)")
                // Nothing secret went over the unverified connection.
                #expect(server.events("auth").isEmpty)
                var settings = try SMTPFixture.settings(port: server.port, tls: tls, trustCA: false)
                settings["skip_verify"] = .bool(true)
                let accepted = try await SMTPFixture.deliver(settings)
                #expect(accepted.outcome == .delivered, "\(tls): \(accepted)")
                #expect(await server.waitForMessages(1).count == 1)
            }
        }
    }

    @Test("a certificate for another name is refused even though its CA is trusted")
    func wrongHostName() async throws {
        let mode = SMTPTestServer.Mode.smtp(
            security: .starttls,
            username: SMTPFixture.username,
            password: SMTPFixture.password,
            certificate: .wrongName
        )
        try await SMTPTestServer.run(mode) { server in
            for host in ["127.0.0.1", "localhost"] {
                let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port, server: host))
                #expect(result.outcome == .retryable(retryAfter: nil), "\(host): \(result)")
                #expect(result.detail?.contains("TLS") == true)
            }
            #expect(server.events("auth").isEmpty)
            #expect(server.messages.isEmpty)
        }
    }

    @Test("a server that accepts the connection and never answers: a retryable timeout at the greeting")
    func silentServer() async throws {
        try await SMTPTestServer.run(.silent) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port), timeout: .milliseconds(300))
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(result.detail?.contains("no answer to greeting within") == true, "\(result)")
        }
    }

    @Test("a server that goes silent after STARTTLS is agreed: the handshake stalls, the attempt times out, retryable")
    func silentAfterStartTLS() async throws {
        // The TLS ClientHello arrives as if it were commands: "*" answers nothing to whatever it looks like.
        let replies = ["EHLO": "250-scripted.tocsin.test\n250 STARTTLS", "STARTTLS": "220 2.0.0 Ready to start TLS", "*": ""]
        try await SMTPTestServer.run(.scripted(greeting: "220 scripted ESMTP", replies: replies)) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port), timeout: .milliseconds(300))
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(result.detail?.contains("no answer to EHLO within") == true, "\(result)")
            #expect(Array(server.commands.prefix(2)) == ["EHLO \(server.commands.first?.dropFirst(5) ?? "")", "STARTTLS"])
        }
    }

    @Test("a refused connection is retryable")
    func connectionRefused() async throws {
        let port = try await ScriptedPeer.closedPort()
        let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: port), timeout: .seconds(2))
        #expect(result.outcome == .retryable(retryAfter: nil))
        #expect(result.detail?.contains("connect") == true, "\(result)")
    }

    @Test("a reply injected behind the STARTTLS answer is not read as if it came through TLS: nothing more is sent")
    func startTLSInjection() async throws {
        let replies = [
            "EHLO": "250-scripted.tocsin.test\n250-AUTH PLAIN\n250 STARTTLS", "STARTTLS": "220 2.0.0 Go ahead\n250 2.7.0 injected", "*": "250 ok",
        ]
        try await SMTPTestServer.run(.scripted(greeting: "220 scripted ESMTP", replies: replies)) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port))
            #expect(result.outcome != .delivered)
            #expect(result.detail?.contains("after its STARTTLS reply") == true, "\(result)")
            try await Task.sleep(for: .milliseconds(100))
            #expect(server.commands.map { $0.split(separator: " ").first ?? "" } == ["EHLO", "STARTTLS"])
        }
    }

    @Test("a server that offers AUTH but not STARTTLS gets neither credentials nor the message (permanent)")
    func noStartTLS() async throws {
        let replies = ["EHLO": "250-scripted.tocsin.test\n250 AUTH PLAIN LOGIN", "*": "250 ok"]
        try await SMTPTestServer.run(.scripted(greeting: "220 scripted ESMTP", replies: replies)) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port))
            #expect(result.outcome == .permanent)
            #expect(result.detail?.contains("STARTTLS") == true)
            try await Task.sleep(for: .milliseconds(100))
            #expect(server.commands.map { $0.split(separator: " ").first ?? "" } == ["EHLO", "QUIT"])
        }
    }

    @Test(
        "the greeting's class decides: 421 retryable, 554 permanent",
        arguments: [("421 4.3.2 Service not available", false), ("554 5.3.2 No service", true)]
    )
    func greetingRefusal(greeting: String, permanent: Bool) async throws {
        try await SMTPTestServer.run(.scripted(greeting: greeting, replies: [:])) { server in
            let result = try await SMTPFixture.deliver(try SMTPFixture.settings(port: server.port))
            #expect(result.outcome == (permanent ? .permanent : .retryable(retryAfter: nil)))
            #expect(result.detail?.contains(greeting) == true, "\(result)")
        }
    }

    @Test("a multi-line reply split over several lines and a garbage line: the first is read, the second ends the attempt")
    func multiLineAndGarbage() async throws {
        let replies = ["EHLO": "250-scripted.tocsin.test\n250-SIZE 1000\n250 8BITMIME", "MAIL": "this is not smtp", "*": "250 ok"]
        try await SMTPTestServer.run(.scripted(greeting: "220-scripted\n220-second line\n220 ready", replies: replies)) { server in
            let settings = try SMTPFixture.settings(port: server.port, tls: "none", username: nil, password: nil)
            let result = try await SMTPFixture.deliver(settings)
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(result.detail?.contains("malformed SMTP reply") == true, "\(result)")
            try await Task.sleep(for: .milliseconds(100))
            #expect(server.commands.first?.hasPrefix("EHLO ") == true)
            #expect(server.commands.contains { $0.hasPrefix("MAIL FROM:<alerts@example.org> SIZE=") })
        }
    }

    @Test("a retried delivery carries the same Message-ID; the resolve replies to the alert's thread")
    func retryAndThread() async throws {
        try await SMTPTestServer.run(Self.authServer) { server in
            let settings = try SMTPFixture.settings(port: server.port)
            for outbound in [Fixture.outbound(.open), Fixture.outbound(.open), Fixture.outbound(.resolve, deliveryID: "resolve-0001")] {
                #expect(try await SMTPFixture.deliver(settings, outbound).outcome == .delivered)
            }
            let mails = try await server.waitForMessages(3).map { try ParsedMail($0.data) }
            try #require(mails.count == 3)
            #expect(mails[0].header("Message-ID") == mails[1].header("Message-ID"))
            #expect(mails[2].header("Message-ID") == "<tocsin.resolve-0001@example.org>")
            #expect(mails[2].header("In-Reply-To") == mails[0].header("References"))
            #expect(mails[2].subject.hasPrefix("[RESOLVED]"))
        }
    }
}
