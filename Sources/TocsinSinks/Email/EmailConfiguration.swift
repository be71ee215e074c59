import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import TocsinCore

/// The settings of an `email` integration: the fields of AxonOps' e-mail form (`from`, `receivers`, `subject`,
/// `server`, `port`, `username`, `password`, `skip_verify`, `tls`), plus `ca` (usually given as `ca_file`) and
/// `templates`.
public struct EmailConfiguration: Sendable {
    public var name: String
    public var from: EmailAddress
    public var receivers: [EmailAddress]
    /// The SMTP server's host name or IP address.
    public var server: String
    public var port: Int
    public var security: SMTPSecurity
    public var credentials: SMTPCredentials?
    /// Certificate checks off (`skip_verify: true`): the connection is still encrypted, but anyone on the path can
    /// pose as the server.
    public var skipVerify: Bool
    /// How many certificates `ca` added to the trusted roots.
    public var trustedCertificateCount: Int
    /// Trust roots and verification for TLS; nil with `tls: none`.
    public var tlsContext: NIOSSLContext?
    public var templates: MessageTemplates
    public var publicURL: String?
    /// Bound on each stage of the SMTP exchange (the integration's `timeout`).
    public var timeout: Duration

    public static let defaultSubject = "[{{status_upper}}] {{severity_upper}} {{summary}}"

    /// The TLS setup for a connection to `server`: the certificate must name the host, or carry the IP address.
    var tlsSetup: SMTPChannelConnection.TLSSetup? {
        tlsContext.map { SMTPChannelConnection.TLSSetup(context: $0, serverHostname: Self.isIPAddress(server) ? nil : server) }
    }

    /// Every secret, for redaction: the login in plain and in the base64 forms AUTH sends.
    var redactor: SecretRedactor {
        var redactor = SecretRedactor()
        guard let credentials else { return redactor }
        let username = credentials.username.exposedValue
        let password = credentials.password.exposedValue
        redactor.add(credentials.username)
        redactor.add(credentials.password)
        let plain = [0] + Array(username.utf8) + [0] + Array(password.utf8)
        for form in [plain, Array(username.utf8), Array(password.utf8)] {
            redactor.add(Secret(Data(form).base64EncodedString()))
            // The same base64 without padding, as some servers quote it.
            redactor.add(Secret(Data(form).base64EncodedString().replacingOccurrences(of: "=", with: "")))
        }
        return redactor
    }

    public static func parse(_ integration: IntegrationConfig, publicURL: String? = nil) -> Result<EmailConfiguration, ConfigurationError> {
        // The reader handles scalars and mappings; the list (or string) `receivers` and the boolean `skip_verify`
        // are read here and hidden from it, so that it does not report them as unknown.
        var scalars = integration
        scalars.settings["receivers"] = nil
        scalars.settings["skip_verify"] = nil
        var reader = SettingsReader(scalars)

        let from = reader.string("from", required: true).flatMap { text in address(text, key: "from", reader: &reader) }
        let receivers = parseReceivers(integration.settings["receivers"], reader: &reader)
        let server = reader.string("server", required: true) ?? ""
        if let problem = serverProblem(server) { reader.problem("server", problem) }
        let security = SMTPSecurity(rawValue: reader.oneOf("tls", ["starttls", "implicit", "none"], default: "starttls")) ?? .startTLS
        let defaultPort =
            switch security {
            case .implicitTLS: 465
            case .startTLS: 587
            case .none: 25
            }
        let port = reader.integer("port", default: defaultPort, range: 1...65535)
        let username = nonEmpty(reader.secret("username"))
        let password = nonEmpty(reader.secret("password"))
        var credentials: SMTPCredentials?
        switch (username, password) {
        case (let user?, let password?): credentials = SMTPCredentials(username: user, password: password)
        case (nil, nil): break
        case (nil, .some): reader.problem("username", "a password needs a username")
        case (.some, nil): reader.problem("password", "a username needs a password")
        }
        if security == .none && (username != nil || password != nil) {
            reader.problem("tls", "credentials are never sent without TLS: use tls: starttls or tls: implicit, or remove username and password")
        }
        let skipVerify = parseBool(integration.settings["skip_verify"], key: "skip_verify", reader: &reader)
        var certificates: [NIOSSLCertificate] = []
        let caPEM = reader.string("ca")
        if let pem = caPEM {
            do {
                certificates = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
                if certificates.isEmpty { reader.problem("ca", "holds no PEM certificate (given as ca or read from ca_file)") }
            } catch {
                reader.problem("ca", "is not a PEM certificate (given as ca or read from ca_file): \(error)")
            }
        }
        var tlsContext: NIOSSLContext?
        if security != .none {
            do {
                tlsContext = try TLSContextCache.context(
                    skipVerify: skipVerify,
                    certificates: certificates,
                    pem: certificates.isEmpty ? "" : caPEM ?? ""
                )
            } catch {
                reader.problem(certificates.isEmpty ? "tls" : "ca", "cannot set up TLS: \(error)")
            }
        }

        var specs = EmailSink.templateSpecs
        if let subject = reader.string("subject") {
            if case .object(let overrides) = integration.settings["templates"], overrides["subject"] != nil {
                reader.problem("subject", "give the subject either as subject or as templates.subject, not both")
            } else {
                // Checked like a template override, with problems reported at `subject`.
                var probe = SettingsReader(
                    IntegrationConfig(
                        name: integration.name,
                        type: integration.type,
                        settings: ["templates": .object(["subject": .string(subject)])],
                        path: integration.path
                    )
                )
                _ = probe.templates(specs.filter { $0.name == "subject" }, publicURL: publicURL)
                for problem in probe.problems { reader.problem("subject", problem.message) }
                if probe.problems.isEmpty, let index = specs.firstIndex(where: { $0.name == "subject" }) { specs[index].defaultText = subject }
            }
        }
        let templates = reader.templates(specs, publicURL: publicURL)
        if let error = reader.finish() { return .failure(error) }
        guard let from else {
            return .failure(ConfigurationError(problems: [ConfigProblem(path: "\(integration.path).from", message: "is required")]))
        }
        return .success(
            EmailConfiguration(
                name: integration.name,
                from: from,
                receivers: receivers,
                server: server,
                port: port,
                security: security,
                credentials: credentials,
                skipVerify: skipVerify,
                trustedCertificateCount: certificates.count,
                tlsContext: tlsContext,
                templates: templates,
                publicURL: publicURL,
                timeout: integration.delivery.timeout
            )
        )
    }

    private static func nonEmpty(_ secret: Secret?) -> Secret? {
        guard let secret, !secret.exposedValue.isEmpty else { return nil }
        return secret
    }

    private static func address(_ text: String, key: String, reader: inout SettingsReader) -> EmailAddress? {
        switch EmailAddress.parse(text) {
        case .success(let address): return address
        case .failure(let problem):
            reader.problem(key, "is not a valid e-mail address: \(problem)")
            return nil
        }
    }

    /// A list of addresses, or one string of comma-separated addresses (how the AxonOps form sends it).
    static func parseReceivers(_ value: JSONValue?, reader: inout SettingsReader) -> [EmailAddress] {
        var items: [(key: String, text: String)] = []
        switch value {
        case nil:
            reader.problem("receivers", "is required")
            return []
        case .string(let text):
            items = text.split(separator: ",").map { ("receivers", String($0)) }
        case .array(let array):
            for (index, item) in array.enumerated() {
                guard case .string(let text) = item else {
                    reader.problem("receivers[\(index)]", "expected a string, got \(item.typeName)")
                    continue
                }
                items.append(("receivers[\(index)]", text))
            }
        case .some(let other):
            reader.problem("receivers", "expected a list of addresses or a comma-separated string, got \(other.typeName)")
            return []
        }
        var addresses: [EmailAddress] = []
        for item in items where !item.text.trimmingCharacters(in: .whitespaces).isEmpty {
            if let address = address(item.text, key: item.key, reader: &reader) {
                // The same mailbox twice would get the message twice.
                if !addresses.contains(where: { $0.address.lowercased() == address.address.lowercased() }) { addresses.append(address) }
            }
        }
        if addresses.isEmpty && !reader.problems.contains(where: { $0.path.hasPrefix("\(reader.integration.path).receivers") }) {
            reader.problem("receivers", "must name at least one address")
        }
        return addresses
    }

    static func parseBool(_ value: JSONValue?, key: String, reader: inout SettingsReader) -> Bool {
        switch value {
        case nil: return false
        case .bool(let flag): return flag
        // A value from `${ENV}` substitution arrives as a string.
        case .string(let text) where ["true", "false"].contains(text.lowercased()): return text.lowercased() == "true"
        case .some(let other):
            reader.problem(key, "expected true or false, got \(other.typeName)")
            return false
        }
    }

    static func serverProblem(_ server: String) -> String? {
        guard !server.isEmpty else { return nil }
        if server.contains("://") || server.contains("/") { return "must be a host name or an IP address, not a URL" }
        if isIPAddress(server) { return nil }
        if server.contains(":") { return "must be a host name or an IP address; give the port in port" }
        let labels = server.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
        return valid ? nil : "must be a host name or an IP address, got '\(server)'"
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// TLS contexts by settings. Making one loads the system's trust roots (tens of milliseconds), and every
/// integration with the same settings can share it: a context holds no per-connection state.
enum TLSContextCache {
    private struct Key: Hashable {
        var skipVerify: Bool
        var pem: String
    }

    private static let contexts = NIOLockedValueBox<[Key: NIOSSLContext]>([:])

    static func context(skipVerify: Bool, certificates: [NIOSSLCertificate], pem: String) throws -> NIOSSLContext {
        let key = Key(skipVerify: skipVerify, pem: pem)
        if let cached = contexts.withLockedValue({ $0[key] }) { return cached }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if skipVerify { tls.certificateVerification = .none }
        if !certificates.isEmpty { tls.additionalTrustRoots = [.certificates(certificates)] }
        let context = try NIOSSLContext(configuration: tls)
        contexts.withLockedValue { $0[key] = context }
        return context
    }
}
