import Foundation
import Testing
import TocsinCore
import TocsinSinks

/// The SMTP conversation against an in-memory server: the order of commands, the TLS rules and how every reply
/// class at every stage ends the attempt. No network.
@Suite("SMTP session (scripted server, no network)")
struct SMTPSessionTests {
    static let credentials = SMTPCredentials(username: Secret("alerts@example.org"), password: Secret("s3cret-Pa55"))
    static let envelope = SMTPEnvelope(sender: "alerts@example.org", recipients: ["ops@example.org", "oncall@example.org"])
    static let message = Array("Subject: x\r\n\r\nbody\r\n".utf8)

    static func session(_ security: SMTPSecurity = .startTLS, credentials: SMTPCredentials? = credentials, timeout: Duration = .seconds(10))
        -> SMTPSession
    {
        SMTPSession(security: security, credentials: credentials, helloName: "tocsin.example.org", timeout: timeout)
    }

    /// Runs one submission; returns the report or the failure.
    static func submit(
        _ connection: ScriptedSMTPConnection,
        session: SMTPSession = session(),
        envelope: SMTPEnvelope = envelope
    ) async -> Result<SMTPDeliveryReport, SMTPFailure> {
        do throws(SMTPFailure) {
            return .success(try await session.submit(envelope, message: message, over: connection))
        } catch {
            return .failure(error)
        }
    }

    @Test("STARTTLS: EHLO, STARTTLS, TLS, EHLO again, AUTH PLAIN, MAIL, one RCPT per recipient, DATA, QUIT")
    func startTLSSequence() async throws {
        let connection = ScriptedSMTPConnection()
        let report = try await Self.submit(connection).get()
        let plain = Data("\0alerts@example.org\0s3cret-Pa55".utf8).base64EncodedString()
        #expect(
            connection.commands == [
                "EHLO tocsin.example.org", "STARTTLS", "EHLO tocsin.example.org", "AUTH PLAIN \(plain)",
                "MAIL FROM:<alerts@example.org> SIZE=\(Self.message.count)", "RCPT TO:<ops@example.org>", "RCPT TO:<oncall@example.org>",
                "DATA", "<\(Self.message.count + 3) bytes of data>", "QUIT",
            ]
        )
        #expect(connection.transcript.firstIndex(of: "TLS") == connection.transcript.firstIndex(of: "C: STARTTLS").map { $0 + 2 })
        #expect(report.accepted == Self.envelope.recipients)
        #expect(report.refused.isEmpty)
        #expect(report.authMechanism == "PLAIN")
        #expect(report.finalReply.code == 250)
        #expect(connection.data == Self.message + Array(".\r\n".utf8))
        #expect(connection.isClosed)
    }

    @Test("capabilities from before STARTTLS are forgotten: AUTH offered only in plain text is not used")
    func capabilitiesDiscardedAfterStartTLS() async {
        let plainWithAuth = "250-mail.example.org\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN"
        let tlsWithoutAuth = "250-mail.example.org\r\n250 8BITMIME"
        let connection = ScriptedSMTPConnection(["EHLO": plainWithAuth, "EHLO+TLS": tlsWithoutAuth])
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .unsupported(let reason) = failure else {
            Issue.record("expected an unsupported failure, got \(result)")
            return
        }
        #expect(reason.contains("does not offer AUTH"))
        #expect(!failure.isRetryable)
        #expect(!connection.commands.contains { $0.hasPrefix("AUTH") })
    }

    @Test("a server without STARTTLS gets no credentials and no message: tls starttls never falls back to plain text")
    func noStartTLSOffered() async {
        let connection = ScriptedSMTPConnection(["EHLO": "250-mail.example.org\r\n250 AUTH PLAIN LOGIN"])
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .unsupported(let reason) = failure else {
            Issue.record("expected an unsupported failure, got \(result)")
            return
        }
        #expect(reason.contains("STARTTLS"))
        #expect(connection.commands == ["EHLO tocsin.example.org", "QUIT"])
    }

    @Test("credentials on a plain-text session are refused before AUTH is sent, even if the server offers AUTH")
    func neverAuthWithoutTLS() async {
        let connection = ScriptedSMTPConnection(["EHLO": "250-mail.example.org\r\n250 AUTH PLAIN LOGIN"])
        let result = await Self.submit(connection, session: Self.session(.none))
        guard case .failure(.unsupported(let reason)) = result else {
            Issue.record("expected an unsupported failure, got \(result)")
            return
        }
        #expect(reason.contains("without TLS"))
        #expect(!connection.commands.contains { $0.hasPrefix("AUTH") })
    }

    @Test("implicit TLS: no STARTTLS, AUTH after the first EHLO")
    func implicitTLS() async throws {
        let connection = ScriptedSMTPConnection(encrypted: true)
        _ = try await Self.submit(connection, session: Self.session(.implicitTLS)).get()
        #expect(
            Array(connection.commands.prefix(2)) == [
                "EHLO tocsin.example.org", "AUTH PLAIN \(Data("\0alerts@example.org\0s3cret-Pa55".utf8).base64EncodedString())",
            ]
        )
        #expect(!connection.commands.contains("STARTTLS"))
    }

    @Test("AUTH LOGIN when the server offers only LOGIN: user and password base64 in answer to each 334")
    func authLogin() async throws {
        let connection = ScriptedSMTPConnection(["EHLO+TLS": "250-mail.example.org\r\n250 AUTH LOGIN"])
        let report = try await Self.submit(connection).get()
        #expect(report.authMechanism == "LOGIN")
        let auth = connection.commands.drop { !$0.hasPrefix("AUTH") }.prefix(3)
        #expect(Array(auth) == ["AUTH LOGIN", Data("alerts@example.org".utf8).base64EncodedString(), Data("s3cret-Pa55".utf8).base64EncodedString()])
    }

    @Test("the old AUTH=PLAIN form is understood; a server offering only CRAM-MD5 is refused permanently")
    func mechanisms() async throws {
        let legacy = ScriptedSMTPConnection(["EHLO+TLS": "250-mail.example.org\r\n250 AUTH=PLAIN"])
        #expect(try await Self.submit(legacy).get().authMechanism == "PLAIN")
        let cram = ScriptedSMTPConnection(["EHLO+TLS": "250-mail.example.org\r\n250 AUTH CRAM-MD5 XOAUTH2"])
        let result = await Self.submit(cram)
        guard case .failure(.unsupported(let reason)) = result else {
            Issue.record("expected an unsupported failure, got \(result)")
            return
        }
        #expect(reason.contains("CRAM-MD5"))
        #expect(!cram.commands.contains { $0.hasPrefix("AUTH") })
    }

    @Test("without credentials there is no AUTH, and SIZE is sent only when the server announces it")
    func noCredentials() async throws {
        let connection = ScriptedSMTPConnection(["EHLO+TLS": "250-mail.example.org\r\n250 8BITMIME"])
        _ = try await Self.submit(connection, session: Self.session(credentials: nil)).get()
        #expect(!connection.commands.contains { $0.hasPrefix("AUTH") })
        #expect(connection.commands.contains("MAIL FROM:<alerts@example.org>"))
    }

    @Test("tls none without credentials: a server that does not know EHLO is greeted with HELO")
    func heloFallback() async throws {
        let connection = ScriptedSMTPConnection(["EHLO": "502 5.5.2 Error: command not recognized"])
        _ = try await Self.submit(connection, session: Self.session(.none, credentials: nil)).get()
        #expect(Array(connection.commands.prefix(3)) == ["EHLO tocsin.example.org", "HELO tocsin.example.org", "MAIL FROM:<alerts@example.org>"])
    }

    struct StageCase: Sendable, CustomTestStringConvertible {
        var step: String
        var reply: String
        var retryable: Bool
        var stage: SMTPStage
        var testDescription: String { "\(step) → \(reply.prefix(3))" }
    }

    static let stageCases: [StageCase] = [
        StageCase(step: "greeting", reply: "421 4.3.2 Service not available, closing channel", retryable: true, stage: .greeting),
        StageCase(step: "greeting", reply: "554 5.3.2 No SMTP service here", retryable: false, stage: .greeting),
        StageCase(step: "EHLO", reply: "421 4.7.0 Too many connections", retryable: true, stage: .ehlo),
        StageCase(step: "EHLO", reply: "550 5.7.1 Client host rejected", retryable: false, stage: .ehlo),
        StageCase(step: "STARTTLS", reply: "454 4.7.0 TLS not available due to temporary reason", retryable: true, stage: .startTLS),
        StageCase(step: "STARTTLS", reply: "501 5.5.4 Syntax error", retryable: false, stage: .startTLS),
        StageCase(step: "EHLO+TLS", reply: "451 4.3.0 Try again", retryable: true, stage: .ehlo),
        StageCase(step: "AUTH PLAIN", reply: "535 5.7.8 Error: authentication failed", retryable: false, stage: .auth),
        StageCase(step: "AUTH PLAIN", reply: "454 4.7.0 Temporary authentication failure", retryable: true, stage: .auth),
        StageCase(step: "AUTH PLAIN", reply: "534 5.7.9 Authentication mechanism is too weak", retryable: false, stage: .auth),
        StageCase(step: "MAIL", reply: "451 4.3.0 Sender temporarily rejected", retryable: true, stage: .mailFrom),
        StageCase(step: "MAIL", reply: "553 5.7.1 Sender address rejected: not owned by user", retryable: false, stage: .mailFrom),
        StageCase(step: "MAIL", reply: "552 5.3.4 Message size exceeds fixed limit", retryable: false, stage: .mailFrom),
        StageCase(step: "DATA", reply: "451 4.3.0 Try again later", retryable: true, stage: .data),
        StageCase(step: "DATA", reply: "554 5.5.1 Error: no valid recipients", retryable: false, stage: .data),
        StageCase(step: "END", reply: "451 4.3.0 Queue file write error", retryable: true, stage: .endOfData),
        StageCase(step: "END", reply: "554 5.7.1 Message rejected as spam", retryable: false, stage: .endOfData),
        StageCase(step: "END", reply: "552 5.3.4 Message size exceeds fixed limit", retryable: false, stage: .endOfData),
    ]

    @Test("4yz is retryable and 5yz permanent at every stage", arguments: stageCases)
    func replyClasses(_ testCase: StageCase) async {
        let connection = ScriptedSMTPConnection([testCase.step: testCase.reply])
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .refused(let stage, let reply) = failure else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(stage == testCase.stage)
        #expect(reply.description == testCase.reply)
        #expect(failure.isRetryable == testCase.retryable)
        #expect(failure.replyCode == Int(testCase.reply.prefix(3)))
        // After a refusal the server is still there: say QUIT, unless it is closing (421).
        if reply.code == 421 {
            #expect(!connection.commands.contains("QUIT"))
        } else {
            #expect(connection.commands.last == "QUIT")
        }
        #expect(connection.isClosed)
    }

    @Test("a refused recipient does not stop the others; the report names it")
    func partialRecipients() async throws {
        let connection = ScriptedSMTPConnection(["RCPT ops@example.org": "550 5.1.1 <ops@example.org>: Recipient address rejected"])
        let report = try await Self.submit(connection).get()
        #expect(report.accepted == ["oncall@example.org"])
        #expect(report.refused.map(\.address) == ["ops@example.org"])
        #expect(report.refused.first?.reply.code == 550)
        #expect(connection.commands.contains("DATA"))
    }

    @Test(
        "every recipient refused: permanent when all are 5yz, retryable when one is 4yz; no DATA either way",
        arguments: [("550 5.1.1 unknown", "550 5.1.1 unknown", false), ("550 5.1.1 unknown", "452 4.5.3 Too many recipients", true)]
    )
    func allRecipientsRefused(first: String, second: String, retryable: Bool) async {
        let connection = ScriptedSMTPConnection(["RCPT ops@example.org": first, "RCPT oncall@example.org": second])
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .recipientsRefused(let refused) = failure else {
            Issue.record("expected every recipient refused, got \(result)")
            return
        }
        #expect(refused.map(\.address) == ["ops@example.org", "oncall@example.org"])
        #expect(failure.isRetryable == retryable)
        #expect(!connection.commands.contains("DATA"))
        #expect(connection.commands.last == "QUIT")
    }

    @Test("421 to a RCPT ends the attempt as retryable even when an earlier recipient was accepted")
    func closingDuringRecipients() async {
        let connection = ScriptedSMTPConnection(["RCPT oncall@example.org": "421 4.4.2 Timeout exceeded, closing"])
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .refused(.rcptTo, _) = failure else {
            Issue.record("expected a refusal at RCPT, got \(result)")
            return
        }
        #expect(failure.isRetryable)
        #expect(!connection.commands.contains("DATA"))
    }

    @Test("a reply of the wrong kind (250 where 354 is due) is a permanent protocol failure")
    func unexpectedReply() async {
        let connection = ScriptedSMTPConnection(["DATA": "250 2.0.0 Ok"])
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .unexpectedReply(.data, let reply) = failure else {
            Issue.record("expected an unexpected reply at DATA, got \(result)")
            return
        }
        #expect(reply.code == 250)
        #expect(!failure.isRetryable)
    }

    @Test("silence at a stage is a retryable timeout naming the stage, and no QUIT is sent into it", arguments: ["greeting", "EHLO", "END"])
    func silence(step: String) async {
        let connection = ScriptedSMTPConnection([step: String?.none])
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .timedOut(let stage, let limit) = failure else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(stage == ["greeting": .greeting, "EHLO": .ehlo, "END": .endOfData][step])
        #expect(limit == .seconds(10))
        #expect(failure.isRetryable)
        #expect(!connection.commands.contains("QUIT"))
    }

    @Test("each stage waits at most the integration timeout, and at most RFC 5321's limit for the stage")
    func stageLimits() async {
        // A silent DATA under a 10-minute integration timeout: RFC 5321 §4.5.3.2.5 gives DATA initiation 2 minutes.
        let connection = ScriptedSMTPConnection(["DATA": String?.none])
        let result = await Self.submit(connection, session: Self.session(timeout: .seconds(600)))
        guard case .failure(.timedOut(.data, let limit)) = result else {
            Issue.record("expected a timeout at DATA, got \(result)")
            return
        }
        #expect(limit == .seconds(120))
    }

    @Test("a failed TLS handshake after STARTTLS is retryable and sends nothing more")
    func tlsFailure() async {
        let connection = ScriptedSMTPConnection(failTLS: true)
        let result = await Self.submit(connection)
        guard case .failure(let failure) = result, case .connectionFailed(.tlsHandshake, _) = failure else {
            Issue.record("expected a TLS failure, got \(result)")
            return
        }
        #expect(failure.isRetryable)
        #expect(connection.commands == ["EHLO tocsin.example.org", "STARTTLS"])
    }

    @Test("credentials print as <credentials>")
    func credentialsDescription() {
        for text in [String(describing: Self.credentials), String(reflecting: Self.credentials), "\(Self.credentials)"] {
            #expect(!text.contains("s3cret") && !text.contains("alerts@"), "\(text)")
        }
    }
}
