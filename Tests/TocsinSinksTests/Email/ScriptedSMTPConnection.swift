import Foundation
import TocsinSinks
import TocsinTestSupport

/// An in-memory SMTP server for `SMTPSession` tests: it answers each command like a typical submission server
/// (Postfix-like replies), unless `replies` overrides a step, and records the transcript. No network, no clock: a
/// step whose reply is `nil` behaves like a server that stays silent (the read times out at once).
final class ScriptedSMTPConnection: SMTPConnection {
    /// Keys: `greeting`, `EHLO`, `EHLO+TLS` (after STARTTLS), `STARTTLS`, `AUTH PLAIN`, `AUTH LOGIN`,
    /// `AUTH LOGIN user`, `AUTH LOGIN password`, `MAIL`, `RCPT <address>`, `RCPT`, `DATA`, `END` (end of data),
    /// `QUIT`. A value is the raw reply text (lines separated by CRLF), or nil for silence.
    let replies: [String: String?]
    let failTLS: Bool
    private let state = LockedBox(State())

    private struct State {
        var transcript: [String] = []
        var pending: [String] = []
        var encrypted = false
        var inData = false
        var loginStep = 0
        var data: [UInt8] = []
        var closed = false
    }

    static let ehloPlain = "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME"
    static let ehloTLS =
        "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME"

    init(_ replies: [String: String?] = [:], encrypted: Bool = false, failTLS: Bool = false) {
        self.replies = replies
        self.failTLS = failTLS
        state.withValue { state in
            state.encrypted = encrypted
            state.pending.append(self.reply("greeting", "220 mail.example.org ESMTP") ?? "")
        }
    }

    /// Client lines as `C: …`, server replies as `S: …` (first line), the TLS switch as `TLS`.
    var transcript: [String] { state.value.transcript }
    /// The client's commands only.
    var commands: [String] { transcript.filter { $0.hasPrefix("C: ") }.map { String($0.dropFirst(3)) } }
    /// The bytes sent after DATA, as sent (dot-stuffed, with the final dot).
    var data: [UInt8] { state.value.data }
    var isClosed: Bool { state.value.closed }

    private func reply(_ key: String, _ fallback: String) -> String? {
        if let override = replies[key] { return override }
        return fallback
    }

    func send(_ bytes: [UInt8], stage: SMTPStage, timeout: Duration) async throws {
        try state.withValue { state in
            guard !state.closed else { throw SMTPFailure.connectionFailed(stage, "closed") }
            if state.inData {
                state.data += bytes
                state.transcript.append("C: <\(bytes.count) bytes of data>")
                state.inData = false
                state.pending.append(reply("END", "250 2.0.0 Ok: queued as 4ABC123") ?? "")
                return
            }
            precondition(bytes.suffix(2) == [13, 10], "a command must end with CRLF")
            let line = String(decoding: bytes.dropLast(2), as: UTF8.self)
            precondition(!line.unicodeScalars.contains { $0 == "\r" || $0 == "\n" }, "one command per send")
            state.transcript.append("C: \(line)")
            let verb = line.split(separator: " ").first.map { String($0).uppercased() } ?? ""
            let answer: String?
            if state.loginStep == 1 {
                state.loginStep = 2
                answer = reply("AUTH LOGIN user", "334 UGFzc3dvcmQ6")
            } else if state.loginStep == 2 {
                state.loginStep = 0
                answer = reply("AUTH LOGIN password", "235 2.7.0 Authentication successful")
            } else {
                switch verb {
                case "EHLO": answer = state.encrypted ? reply("EHLO+TLS", Self.ehloTLS) : reply("EHLO", Self.ehloPlain)
                case "HELO": answer = reply("HELO", "250 mail.example.org")
                case "STARTTLS": answer = reply("STARTTLS", "220 2.0.0 Ready to start TLS")
                case "AUTH" where line.uppercased().hasPrefix("AUTH PLAIN"):
                    answer = reply("AUTH PLAIN", "235 2.7.0 Authentication successful")
                case "AUTH" where line.uppercased() == "AUTH LOGIN":
                    answer = reply("AUTH LOGIN", "334 VXNlcm5hbWU6")
                    if answer?.hasPrefix("334") == true { state.loginStep = 1 }
                case "MAIL": answer = reply("MAIL", "250 2.1.0 Ok")
                case "RCPT":
                    let address = line.components(separatedBy: "<").last.map { String($0.dropLast()) } ?? ""
                    answer = replies["RCPT \(address)"] ?? reply("RCPT", "250 2.1.5 Ok")
                case "DATA":
                    answer = reply("DATA", "354 End data with <CR><LF>.<CR><LF>")
                    if answer?.hasPrefix("354") == true { state.inData = true }
                case "QUIT": answer = reply("QUIT", "221 2.0.0 Bye")
                default: answer = "502 5.5.2 Error: command not recognized"
                }
            }
            state.pending.append(answer ?? "")
        }
    }

    func readReply(stage: SMTPStage, timeout: Duration) async throws -> SMTPReply {
        let text: String = try state.withValue { state in
            guard !state.closed else { throw SMTPFailure.connectionFailed(stage, "closed") }
            guard !state.pending.isEmpty else { throw SMTPFailure.timedOut(stage, timeout) }
            return state.pending.removeFirst()
        }
        guard !text.isEmpty else { throw SMTPFailure.timedOut(stage, timeout) }
        let parsed = try SMTPReplyParser.parse(text)
        guard let reply = parsed.first, parsed.count == 1 else { throw SMTPFailure.connectionFailed(stage, "script holds \(parsed.count) replies") }
        state.withValue { $0.transcript.append("S: \(reply.code) \(reply.lines[0])") }
        return reply
    }

    func startTLS() async throws {
        try state.withValue { state in
            if failTLS {
                state.closed = true
                throw SMTPFailure.connectionFailed(.tlsHandshake, "TLS: certificate verify failed")
            }
            state.encrypted = true
            state.transcript.append("TLS")
        }
    }

    func close() async {
        state.withValue { $0.closed = true }
    }
}
