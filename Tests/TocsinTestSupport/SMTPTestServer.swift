import Foundation
import TocsinCore

/// A real SMTP server for the e-mail tests: aiosmtpd (Python) started as a child process on a free port of
/// 127.0.0.1, from Tests/Fixtures/smtp/smtp_server.py. It reports what it sees (EHLOs, AUTH attempts, received
/// messages) as JSON lines, which this type reads back.
///
/// A missing peer (python3, aiosmtpd, openssl) throws `SMTPTestServer.Unavailable`, which fails the test with a
/// message saying what to install: scripts/test.sh installs them.
public final class SMTPTestServer: Sendable {
    public enum Security: String, Sendable {
        /// Plain text until STARTTLS, which the server requires before anything else.
        case starttls
        /// TLS from the first byte.
        case implicit
        case none
    }

    /// Which certificate the server shows (both are issued by the throwaway test CA).
    public enum Certificate: Sendable {
        /// For `localhost` and `127.0.0.1`.
        case valid
        /// For `mail.invalid` only: a host name check against 127.0.0.1 or localhost fails.
        case wrongName
    }

    public enum Mode: Sendable {
        /// aiosmtpd. With a username and password, AUTH is required and only that login succeeds; `mechanisms`
        /// are the ones offered. Recipients `refused@…` get 550 and `busy@…` 451; senders `tempfail-mail@…`,
        /// `reject-mail@…` are refused at MAIL FROM (451, 553), `tempfail-data@…`, `reject-data@…` at the end of
        /// data (451, 554). With `echoSecrets` every reply quotes the credentials it received.
        case smtp(
            security: Security,
            username: String? = nil,
            password: String? = nil,
            mechanisms: [String] = ["PLAIN", "LOGIN"],
            certificate: Certificate = .valid,
            echoSecrets: Bool = false
        )
        /// A plain-text server answering each command verb from `replies` ("*" for any other, "" for no answer);
        /// `greeting` nil sends no greeting. Each command line is recorded.
        case scripted(greeting: String?, replies: [String: String])
        /// Accepts connections and never says a word.
        case silent
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// One message the server accepted.
    public struct ReceivedMail: Sendable {
        public var mailFrom: String
        public var recipients: [String]
        /// The message as received, after the server removed the dot-stuffing.
        public var data: [UInt8]
        public var overTLS: Bool
        public var authenticated: Bool

        public var text: String { String(decoding: data, as: UTF8.self) }
    }

    public let port: Int
    public let certificates: SMTPTestCertificates?
    private let process: ChildProcess

    private init(port: Int, certificates: SMTPTestCertificates?, process: ChildProcess) {
        self.port = port
        self.certificates = certificates
        self.process = process
    }

    /// Starts a server, runs `body` with it, stops it.
    public static func run<T>(_ mode: Mode, _ body: (SMTPTestServer) async throws -> T) async throws -> T {
        let server = try await start(mode)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    public static func start(_ mode: Mode) async throws -> SMTPTestServer {
        guard let python = which("python3") else {
            throw Unavailable(
                description: "python3 is not on PATH: the e-mail tests need it for aiosmtpd (scripts/test.sh installs aiosmtpd with pip)"
            )
        }
        var arguments = [Fixtures.path("smtp/smtp_server.py")]
        var certificates: SMTPTestCertificates?
        switch mode {
        case .smtp(let security, let username, let password, let mechanisms, let certificate, let echoSecrets):
            arguments += ["smtp", "--security", security.rawValue, "--mechanisms", mechanisms.joined(separator: ",")]
            if security != .none {
                let made = try SMTPTestCertificates.shared()
                certificates = made
                let (cert, key) = certificate == .valid ? (made.serverCertificate, made.serverKey) : (made.wrongNameCertificate, made.wrongNameKey)
                arguments += ["--cert", cert, "--key", key]
            }
            if let username { arguments += ["--user", username] }
            if let password { arguments += ["--password", password] }
            if echoSecrets { arguments.append("--echo-secrets") }
        case .scripted(let greeting, let replies):
            var script: [String: JSONValue] = replies.mapValues { .string($0) }
            script["greeting"] = greeting.map { .string($0) } ?? .null
            arguments += ["scripted", "--script", String(decoding: JSONWriter.write(.object(script)), as: UTF8.self)]
        case .silent:
            arguments.append("silent")
        }
        let process = try ChildProcess(executable: python, arguments: ["-u"] + arguments)
        let ready = await process.waitForLine(containing: "\"event\":\"ready\"", timeout: .seconds(20))
        if let ready, let port = Self.parse(ready)?["port"].flatMap(\.intValue) {
            return SMTPTestServer(port: port, certificates: certificates, process: process)
        }
        await process.stop()
        if process.lines.contains(where: { $0.contains("\"event\":\"missing\"") }) {
            throw Unavailable(description: "the Python package aiosmtpd is not installed for python3: run scripts/test.sh (it installs it with pip)")
        }
        throw Unavailable(description: "the SMTP test server did not start: \(process.lines.suffix(20).joined(separator: "\n"))")
    }

    public func stop() async {
        await process.stop()
    }

    /// Every JSON event so far, in order.
    public var events: [[String: JSONValue]] {
        process.lines.compactMap(Self.parse)
    }

    public func events(_ kind: String) -> [[String: JSONValue]] {
        events.filter { $0["event"]?.text == kind }
    }

    public var messages: [ReceivedMail] {
        events("message").compactMap { event in
            guard let data = event["data"]?.text.flatMap({ Data(base64Encoded: $0) }) else { return nil }
            let recipients: [String]
            if case .array(let items)? = event["rcpt_tos"] { recipients = items.compactMap(\.text) } else { recipients = [] }
            return ReceivedMail(
                mailFrom: event["mail_from"]?.text ?? "",
                recipients: recipients,
                data: Array(data),
                overTLS: event["tls"] == .bool(true),
                authenticated: event["authenticated"] == .bool(true)
            )
        }
    }

    /// The command lines a scripted server received.
    public var commands: [String] {
        events("command").compactMap { $0["line"]?.text }
    }

    /// Waits (bounded) until `count` messages arrived. The server reports a message before it answers the end of
    /// data, so after a delivered attempt it is there at once; the wait covers the pipe between the processes.
    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async -> [ReceivedMail] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let received = messages
            if received.count >= count { return received }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return messages
    }

    private static func parse(_ line: String) -> [String: JSONValue]? {
        guard line.hasPrefix("{"), case .object(let object)? = try? JSONParser.parse(Array(line.utf8)) else { return nil }
        return object
    }
}

extension JSONValue {
    fileprivate var text: String? {
        if case .string(let value) = self { value } else { nil }
    }

    fileprivate var intValue: Int? {
        if case .number(let value) = self { Int(value) } else { nil }
    }
}

/// A throwaway certificate authority and two server certificates it issued, made with `openssl` in a temporary
/// directory once per test process. Nothing here is committed; the keys die with the directory.
public struct SMTPTestCertificates: Sendable {
    public var directory: String
    /// The CA certificate (PEM): what a client must trust (`ca`/`ca_file`).
    public var caCertificate: String
    /// For DNS:localhost and IP:127.0.0.1.
    public var serverCertificate: String
    public var serverKey: String
    /// For DNS:mail.invalid only.
    public var wrongNameCertificate: String
    public var wrongNameKey: String

    /// The CA certificate's PEM text.
    public var caPEM: String {
        (try? String(contentsOfFile: caCertificate, encoding: .utf8)) ?? ""
    }

    private static let cache = LockedBox<SMTPTestCertificates?>(nil)

    /// The process's certificates, made on first use.
    public static func shared() throws -> SMTPTestCertificates {
        try cache.withValue { cached in
            if let cached { return cached }
            let made = try make()
            cached = made
            return made
        }
    }

    static func make() throws -> SMTPTestCertificates {
        guard let openssl = which("openssl") else {
            throw SMTPTestServer.Unavailable(
                description: "openssl is not on PATH: the e-mail tests make their CA with it (scripts/test.sh installs it)"
            )
        }
        let directory = makeTemporaryDirectory("tocsin-smtp-ca")
        func path(_ name: String) -> String { directory + "/" + name }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw SMTPTestServer.Unavailable(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(text)")
            }
        }
        // P-256 keys: made in milliseconds, accepted by BoringSSL and Python's ssl alike.
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(
            ["req", "-x509"] + ecKey + [
                "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=Tocsin Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ]
        )
        for (name, names) in [("server", "DNS:localhost,IP:127.0.0.1"), ("wrongname", "DNS:mail.invalid")] {
            let extensions = """
                subjectAltName=\(names)
                basicConstraints=critical,CA:FALSE
                keyUsage=critical,digitalSignature
                extendedKeyUsage=serverAuth

                """
            try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            try run(["req", "-new"] + ecKey + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
            try run([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-set_serial", String(UInt32.random(in: 1...UInt32.max)), "-days", "2", "-out", path("\(name).pem"),
                "-extfile", path("\(name).ext"),
            ])
        }
        return SMTPTestCertificates(
            directory: directory,
            caCertificate: path("ca.pem"),
            serverCertificate: path("server.pem"),
            serverKey: path("server.key"),
            wrongNameCertificate: path("wrongname.pem"),
            wrongNameKey: path("wrongname.key")
        )
    }
}
