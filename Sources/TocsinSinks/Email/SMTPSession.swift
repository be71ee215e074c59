import Foundation
import TocsinCore

/// A step of one submission: names timeouts and failures.
public enum SMTPStage: String, Sendable, Hashable, CustomStringConvertible {
    case connect = "connect"
    case tlsHandshake = "TLS handshake"
    case greeting = "greeting"
    case ehlo = "EHLO"
    case startTLS = "STARTTLS"
    case auth = "AUTH"
    case mailFrom = "MAIL FROM"
    case rcptTo = "RCPT TO"
    case data = "DATA"
    case endOfData = "end of data"
    case quit = "QUIT"

    public var description: String { rawValue }

    /// RFC 5321 §4.5.3.2's client timeouts; stages it does not name get the same five minutes as MAIL.
    var standardTimeout: Duration {
        switch self {
        case .data: .seconds(120)
        case .endOfData: .seconds(600)
        default: .seconds(300)
        }
    }
}

/// How the connection is protected.
public enum SMTPSecurity: String, Sendable, Hashable {
    /// TLS from the first byte (port 465, RFC 8314).
    case implicitTLS = "implicit"
    /// Plain text until `STARTTLS` (port 587, RFC 3207); the upgrade is required, never skipped.
    case startTLS = "starttls"
    /// No encryption: only without credentials.
    case none = "none"
}

/// The login for `AUTH`. Prints as `<credentials>`.
public struct SMTPCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var username: Secret
    public var password: Secret

    public init(username: Secret, password: Secret) {
        self.username = username
        self.password = password
    }

    public var description: String { "<credentials>" }
    public var debugDescription: String { "<credentials>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// The line-level connection a session talks over. `SMTPChannelConnection` is the real one (SwiftNIO); tests
/// replace it with a scripted server.
public protocol SMTPConnection: Sendable {
    /// Writes `bytes` as they are (the session adds CRLF).
    func send(_ bytes: [UInt8], stage: SMTPStage, timeout: Duration) async throws
    /// The next complete reply.
    func readReply(stage: SMTPStage, timeout: Duration) async throws -> SMTPReply
    /// Puts TLS on the open connection (after `220` to `STARTTLS`). The handshake runs under the deadline of the
    /// next exchange (the EHLO that follows); its failure is what that exchange reports.
    func startTLS() async throws
    func close() async
}

/// What one message to one server carries.
public struct SMTPEnvelope: Sendable, Hashable {
    public var sender: String
    public var recipients: [String]

    public init(sender: String, recipients: [String]) {
        self.sender = sender
        self.recipients = recipients
    }
}

/// A recipient the server refused with its reply.
public struct SMTPRefusedRecipient: Sendable, Hashable {
    public var address: String
    public var reply: SMTPReply

    public init(address: String, reply: SMTPReply) {
        self.address = address
        self.reply = reply
    }
}

/// A message the server took.
public struct SMTPDeliveryReport: Sendable, Hashable {
    public var accepted: [String]
    public var refused: [SMTPRefusedRecipient]
    /// The mechanism used to log in, if any.
    public var authMechanism: String?
    /// The server's answer to the end of data (it often names the queue id).
    public var finalReply: SMTPReply
}

/// Why a submission failed. Texts quote the server; the sink redacts them before they are stored.
public enum SMTPFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered 4yz or 5yz at a stage.
    case refused(SMTPStage, SMTPReply)
    /// The server answered something that does not fit the stage (a 354 to MAIL FROM).
    case unexpectedReply(SMTPStage, SMTPReply)
    /// Every recipient was refused.
    case recipientsRefused([SMTPRefusedRecipient])
    /// The server lacks what the configuration needs (STARTTLS, AUTH, a mechanism Tocsin speaks).
    case unsupported(String)
    case timedOut(SMTPStage, Duration)
    /// The connection could not be opened, broke, failed its TLS handshake or carried something that is not SMTP.
    case connectionFailed(SMTPStage, String)

    public var description: String {
        switch self {
        case .refused(let stage, let reply): "the server refused \(stage): \(reply)"
        case .unexpectedReply(let stage, let reply): "unexpected reply to \(stage): \(reply)"
        case .recipientsRefused(let refused):
            "every recipient was refused: " + refused.map { "\($0.address) (\($0.reply))" }.joined(separator: ", ")
        case .unsupported(let reason): reason
        case .timedOut(let stage, let limit): "no answer to \(stage) within \(DurationParser.format(limit))"
        case .connectionFailed(let stage, let reason): "connection failed during \(stage): \(reason)"
        }
    }

    /// 4yz, timeouts and broken connections are worth another try; 5yz and missing server features are not.
    public var isRetryable: Bool {
        switch self {
        case .refused(_, let reply): reply.isTransient
        case .unexpectedReply: false
        case .recipientsRefused(let refused): refused.contains { $0.reply.isTransient }
        case .unsupported: false
        case .timedOut, .connectionFailed: true
        }
    }

    /// The reply code the failure is about, when there is one.
    public var replyCode: Int? {
        switch self {
        case .refused(_, let reply), .unexpectedReply(_, let reply): reply.code
        case .recipientsRefused(let refused): refused.first?.reply.code
        default: nil
        }
    }
}

/// One SMTP submission (RFC 5321, 3207, 4954): greeting, EHLO, STARTTLS and EHLO again, AUTH, MAIL FROM, one
/// RCPT TO per recipient, DATA, the dot-stuffed message, QUIT. Commands go one at a time (no PIPELINING):
/// the exchange is short and each reply is checked before the next command.
public struct SMTPSession: Sendable {
    public var security: SMTPSecurity
    public var credentials: SMTPCredentials?
    /// The name given in EHLO.
    public var helloName: String
    /// Bound on every stage; RFC 5321's longer stage timeouts apply only when this is longer.
    public var timeout: Duration

    public init(security: SMTPSecurity, credentials: SMTPCredentials?, helloName: String, timeout: Duration) {
        self.security = security
        self.credentials = credentials
        self.helloName = helloName
        self.timeout = timeout
    }

    func limit(_ stage: SMTPStage) -> Duration {
        min(stage.standardTimeout, timeout)
    }

    /// Runs the whole exchange on `connection` and closes it.
    public func submit(_ envelope: SMTPEnvelope, message: [UInt8], over connection: any SMTPConnection) async throws(SMTPFailure)
        -> SMTPDeliveryReport
    {
        var conversation = Conversation(session: self, connection: connection)
        do throws(SMTPFailure) {
            let report = try await conversation.run(envelope, message: message)
            await conversation.quit()
            await connection.close()
            return report
        } catch {
            // A server that refused something is still talking: say goodbye. One that is closing (421), timed out
            // or broke is not.
            if !conversation.isBroken(by: error) && error.replyCode != 421 {
                await conversation.quit()
            }
            await connection.close()
            throw error
        }
    }

    /// The state of one exchange.
    struct Conversation {
        let session: SMTPSession
        let connection: any SMTPConnection
        var capabilities = SMTPCapabilities()
        var encrypted = false

        init(session: SMTPSession, connection: any SMTPConnection) {
            self.session = session
            self.connection = connection
            self.encrypted = session.security == .implicitTLS
        }

        func isBroken(by failure: SMTPFailure) -> Bool {
            switch failure {
            case .timedOut, .connectionFailed: true
            default: false
            }
        }

        mutating func run(_ envelope: SMTPEnvelope, message: [UInt8]) async throws(SMTPFailure) -> SMTPDeliveryReport {
            let greeting = try await read(.greeting)
            try expect(greeting, 220, at: .greeting)
            try await hello()
            if session.security == .startTLS {
                guard capabilities.supports("STARTTLS") else {
                    throw .unsupported("the server does not offer STARTTLS, which tls: starttls requires (Tocsin never falls back to plain text)")
                }
                try expect(try await command("STARTTLS", .startTLS), 220, at: .startTLS)
                do {
                    try await connection.startTLS()
                } catch {
                    throw Self.failure(error, stage: .tlsHandshake)
                }
                encrypted = true
                // RFC 3207 §4.2: forget everything learnt before TLS and ask again.
                capabilities = SMTPCapabilities()
                try await hello()
            }
            var mechanism: String?
            if let credentials = session.credentials {
                mechanism = try await authenticate(credentials)
            }
            var mailFrom = "MAIL FROM:<\(envelope.sender)>"
            if capabilities.supports("SIZE") { mailFrom += " SIZE=\(message.count)" }
            try expect(try await command(mailFrom, .mailFrom), 250, at: .mailFrom)
            var accepted: [String] = []
            var refused: [SMTPRefusedRecipient] = []
            for recipient in envelope.recipients {
                let reply = try await command("RCPT TO:<\(recipient)>", .rcptTo)
                if reply.code == 250 || reply.code == 251 {
                    accepted.append(recipient)
                } else if reply.code == 421 {
                    // The server is closing the connection: nothing more will be taken on it.
                    throw .refused(.rcptTo, reply)
                } else if reply.isTransient || reply.isPermanent {
                    refused.append(SMTPRefusedRecipient(address: recipient, reply: reply))
                } else {
                    throw .unexpectedReply(.rcptTo, reply)
                }
            }
            guard !accepted.isEmpty else { throw .recipientsRefused(refused) }
            try expect(try await command("DATA", .data), 354, at: .data)
            do {
                try await connection.send(SMTPDataEncoding.stuffed(message), stage: .endOfData, timeout: session.limit(.endOfData))
            } catch {
                throw Self.failure(error, stage: .endOfData)
            }
            let final = try await read(.endOfData)
            try expect(final, 250, at: .endOfData)
            return SMTPDeliveryReport(accepted: accepted, refused: refused, authMechanism: mechanism, finalReply: final)
        }

        /// EHLO, or HELO for an old server when nothing needs an extension.
        mutating func hello() async throws(SMTPFailure) {
            let reply = try await command("EHLO \(session.helloName)", .ehlo)
            if reply.code == 250 {
                capabilities = SMTPCapabilities(ehloReply: reply)
                return
            }
            if (reply.code == 500 || reply.code == 502) && session.security == .none && session.credentials == nil {
                try expect(try await command("HELO \(session.helloName)", .ehlo), 250, at: .ehlo)
                capabilities = SMTPCapabilities()
                return
            }
            try expect(reply, 250, at: .ehlo)
        }

        /// AUTH PLAIN if offered, else LOGIN (RFC 4954; PLAIN is one round trip). Never on a plain-text link.
        mutating func authenticate(_ credentials: SMTPCredentials) async throws(SMTPFailure) -> String {
            guard encrypted else { throw .unsupported("refusing to send credentials over a connection without TLS") }
            guard capabilities.supports("AUTH") else {
                throw .unsupported("credentials are configured but the server does not offer AUTH")
            }
            let offered = capabilities.authMechanisms
            let username = credentials.username.exposedValue
            let password = credentials.password.exposedValue
            if offered.contains("PLAIN") {
                let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                try expect(try await command("AUTH PLAIN \(token)", .auth), 235, at: .auth)
                return "PLAIN"
            }
            if offered.contains("LOGIN") {
                // The challenges' texts vary between servers ("Username:", "User Name\0"); their order does not.
                try expect(try await command("AUTH LOGIN", .auth), 334, at: .auth)
                try expect(try await command(Data(username.utf8).base64EncodedString(), .auth), 334, at: .auth)
                try expect(try await command(Data(password.utf8).base64EncodedString(), .auth), 235, at: .auth)
                return "LOGIN"
            }
            throw .unsupported("the server offers AUTH \(offered.sorted().joined(separator: " ")), none of which Tocsin speaks (PLAIN, LOGIN)")
        }

        /// QUIT, waiting briefly for 221; a failure here changes nothing.
        func quit() async {
            let limit = min(session.limit(.quit), .seconds(2))
            do {
                try await connection.send(Array("QUIT\r\n".utf8), stage: .quit, timeout: limit)
                _ = try await connection.readReply(stage: .quit, timeout: limit)
            } catch {}
        }

        func command(_ line: String, _ stage: SMTPStage) async throws(SMTPFailure) -> SMTPReply {
            do {
                try await connection.send(Array((line + "\r\n").utf8), stage: stage, timeout: session.limit(stage))
            } catch {
                throw Self.failure(error, stage: stage)
            }
            return try await read(stage)
        }

        func read(_ stage: SMTPStage) async throws(SMTPFailure) -> SMTPReply {
            do {
                return try await connection.readReply(stage: stage, timeout: session.limit(stage))
            } catch {
                throw Self.failure(error, stage: stage)
            }
        }

        /// `code` is what the stage needs; 4yz and 5yz are refusals, anything else does not fit.
        func expect(_ reply: SMTPReply, _ code: Int, at stage: SMTPStage) throws(SMTPFailure) {
            if reply.code == code || (code == 250 && reply.code == 251) { return }
            if reply.isTransient || reply.isPermanent { throw .refused(stage, reply) }
            throw .unexpectedReply(stage, reply)
        }

        static func failure(_ error: any Error, stage: SMTPStage) -> SMTPFailure {
            switch error {
            case let failure as SMTPFailure: failure
            case is CancellationError: .connectionFailed(stage, "cancelled")
            default: .connectionFailed(stage, String(describing: error))
            }
        }
    }
}
