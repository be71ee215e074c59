import Crypto
import Foundation
import TocsinCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends each notification as an e-mail through an SMTP submission server, with Tocsin's own SMTP client
/// (`SMTPSession` over `SMTPChannelConnection`).
public struct EmailSink: Sink {
    public let configuration: EmailConfiguration
    let redactor: SecretRedactor
    let now: @Sendable () -> Date

    public init(configuration: EmailConfiguration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.redactor = configuration.redactor
        self.now = now
    }

    /// 30 messages a minute: the per-mailbox submission limit of Exchange Online (Microsoft 365), the strictest of
    /// the common submission services; Gmail and most relays allow more. SMTP itself defines no rate limit.
    public static let defaultRateLimit = RateLimit(count: 30, period: .seconds(60))

    public static let factory = SinkFactory(type: "email", defaultRateLimit: defaultRateLimit) { integration, environment in
        EmailConfiguration.parse(integration, publicURL: environment.publicURL).map { EmailSink(configuration: $0, now: environment.now) }
    }

    /// Subjects longer than this are cut (with the marker): mail clients show far less, and a subject is a line.
    public static let subjectLimit = 250
    /// Each body part is cut to this many UTF-8 bytes (with the marker), far below any server's SIZE.
    public static let bodyLimit = 256 * 1024

    public static let templateSpecs: [TemplateSpec] = [
        TemplateSpec(name: "subject", defaultText: EmailConfiguration.defaultSubject),
        TemplateSpec(name: "text", defaultText: defaultText),
        TemplateSpec(name: "html", defaultText: defaultHTML, escaping: .html),
    ]

    public static let defaultText = """
        {{status_upper}} · {{severity_upper}} · {{category_title}}

        {{summary}}
        {{^empty(description)}}

        {{description}}
        {{/empty(description)}}

        Status: {{status}}
        Severity: {{severity}}
        Category: {{category_title}}
        Started at: {{started_at}}
        {{#resolved}}
        Resolved at: {{ended_at}}
        {{/resolved}}
        {{#has_labels}}

        Labels:
        {{#labels}}
          {{name}}: {{value}}
        {{/labels}}
        {{/has_labels}}
        {{#has_details}}

        Details:
        {{#details}}
          {{name}}: {{value}}
        {{/details}}
        {{/has_details}}
        {{#has_links}}

        Links:
        {{#links}}
          {{text}}: {{href}}
        {{/links}}
        {{/has_links}}
        {{^empty(link)}}

        View in Tocsin: {{link}}
        {{/empty(link)}}
        {{#test}}

        This is a test message from Tocsin: no action is needed.
        {{/test}}
        """

    public static let defaultHTML = """
        <!DOCTYPE html>
        <html>
        <head><meta charset="utf-8"><title>{{summary}}</title></head>
        <body style="font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 14px; color: #1f2328;">
        <p style="margin: 0 0 8px 0; font-weight: bold; color: {{#firing}}#cf222e{{/firing}}{{#resolved}}#1a7f37{{/resolved}}{{#notification}}#0969da{{/notification}};">{{status_upper}} · {{severity_upper}} · {{category_title}}</p>
        <h2 style="margin: 0 0 12px 0; font-size: 18px;">{{summary}}</h2>
        {{^empty(description)}}
        <p style="white-space: pre-wrap; margin: 0 0 12px 0;">{{description}}</p>
        {{/empty(description)}}
        <table cellpadding="4" cellspacing="0" style="border-collapse: collapse; margin: 0 0 12px 0;">
        <tr><th align="left">Status</th><td>{{status}}</td></tr>
        <tr><th align="left">Severity</th><td>{{severity}}</td></tr>
        <tr><th align="left">Category</th><td>{{category_title}}</td></tr>
        <tr><th align="left">Started at</th><td>{{started_at}}</td></tr>
        {{#resolved}}
        <tr><th align="left">Resolved at</th><td>{{ended_at}}</td></tr>
        {{/resolved}}
        </table>
        {{#has_labels}}
        <h3 style="margin: 0 0 6px 0; font-size: 14px;">Labels</h3>
        <table cellpadding="4" cellspacing="0" style="border-collapse: collapse; margin: 0 0 12px 0;">
        {{#labels}}
        <tr><td style="border: 1px solid #d0d7de;"><code>{{name}}</code></td><td style="border: 1px solid #d0d7de;">{{value}}</td></tr>
        {{/labels}}
        </table>
        {{/has_labels}}
        {{#has_details}}
        <h3 style="margin: 0 0 6px 0; font-size: 14px;">Details</h3>
        <table cellpadding="4" cellspacing="0" style="border-collapse: collapse; margin: 0 0 12px 0;">
        {{#details}}
        <tr><td style="border: 1px solid #d0d7de;"><code>{{name}}</code></td><td style="border: 1px solid #d0d7de;">{{value}}</td></tr>
        {{/details}}
        </table>
        {{/has_details}}
        {{#has_links}}
        <p style="margin: 0 0 12px 0;">{{#links}}<a href="{{href}}">{{text}}</a><br>{{/links}}</p>
        {{/has_links}}
        {{^empty(link)}}
        <p style="margin: 0 0 12px 0;"><a href="{{link}}">View in Tocsin</a></p>
        {{/empty(link)}}
        {{#test}}
        <p style="margin: 0; color: #57606a;"><em>This is a test message from Tocsin: no action is needed.</em></p>
        {{/test}}
        </body>
        </html>
        """

    public func deliver(_ outbound: OutboundNotification) async -> SinkResult {
        let message = makeMessage(outbound, date: now())
        let envelope = SMTPEnvelope(sender: configuration.from.address, recipients: configuration.receivers.map(\.address))
        let server = "\(configuration.server):\(configuration.port)"
        do throws(SMTPFailure) {
            let connection = try await SMTPChannelConnection.connect(
                host: configuration.server,
                port: configuration.port,
                security: configuration.security,
                tls: configuration.tlsSetup,
                timeout: configuration.timeout
            )
            let session = SMTPSession(
                security: configuration.security,
                credentials: configuration.credentials,
                helloName: Self.localHostName ?? connection.localAddressLiteral,
                timeout: configuration.timeout
            )
            let report = try await session.submit(envelope, message: message.rendered(), over: connection)
            guard !report.refused.isEmpty else { return SinkResult(outcome: .delivered) }
            let refused = report.refused.map { "\($0.address) (\($0.reply))" }.joined(separator: ", ")
            let detail = "delivered to \(report.accepted.count) of \(envelope.recipients.count) recipients; refused: \(refused)"
            return SinkResult(outcome: .delivered, detail: redactor.redact(detail))
        } catch {
            return SinkResult(outcome: error.isRetryable ? .retryable(retryAfter: nil) : .permanent, detail: redactor.redact("\(server): \(error)"))
        }
    }

    /// The e-mail for one notification, as it would be sent at `date`.
    public func makeMessage(_ outbound: OutboundNotification, date: Date) -> EmailMessage {
        let context = MessageContext(outbound, publicURL: configuration.publicURL)
        let templates = configuration.templates
        let subject = templates.render("subject", context).split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        let notification = outbound.notification
        let domain = configuration.from.domain
        var headers = [
            EmailMessage.Header("Auto-Submitted", "auto-generated"),
            EmailMessage.Header("X-Tocsin-Delivery", outbound.deliveryID),
            EmailMessage.Header("X-Tocsin-Status", context["status"]),
            EmailMessage.Header("X-Tocsin-Severity", notification.event.severity.rawValue),
        ]
        headers += Self.priorityHeaders(notification)
        var inReplyTo: String?
        var references: [String] = []
        if let thread = EmailThreading.threadID(for: notification, domain: domain) {
            references = [thread]
            if notification.type == .resolve { inReplyTo = thread }
        }
        return EmailMessage(
            from: configuration.from,
            to: configuration.receivers,
            subject: Truncation.characters(subject, limit: Self.subjectLimit),
            date: date,
            messageID: EmailThreading.messageID(deliveryID: outbound.deliveryID, domain: domain),
            inReplyTo: inReplyTo,
            references: references,
            textBody: Truncation.utf8Bytes(templates.render("text", context), limit: Self.bodyLimit),
            htmlBody: Truncation.utf8Bytes(templates.render("html", context), limit: Self.bodyLimit),
            extraHeaders: headers
        )
    }

    /// Severity as mail clients know it: critical and error alerts are marked important, info ones unimportant;
    /// a recovery is normal.
    static func priorityHeaders(_ notification: NotificationRecord) -> [EmailMessage.Header] {
        if notification.type == .resolve { return [] }
        switch notification.event.severity {
        case .critical: return [EmailMessage.Header("Importance", "high"), EmailMessage.Header("X-Priority", "1 (Highest)")]
        case .error: return [EmailMessage.Header("Importance", "high"), EmailMessage.Header("X-Priority", "2 (High)")]
        case .warning: return []
        case .info: return [EmailMessage.Header("Importance", "low"), EmailMessage.Header("X-Priority", "5 (Lowest)")]
        }
    }

    /// This host's name for EHLO when it is fully qualified; otherwise the connection's address literal is used
    /// (RFC 5321 §4.1.4).
    static let localHostName: String? = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard name.contains("."), EmailConfiguration.serverProblem(name) == nil, !EmailConfiguration.isIPAddress(name) else { return nil }
        return name
    }()
}

/// Message ids: one per delivery, so a retried send carries the same `Message-ID` (and a receiving system that
/// saw the first copy can drop the second), and one per alert, which every message about it refers to.
public enum EmailThreading {
    /// `tocsin.<delivery id>@<domain of from>`.
    public static func messageID(deliveryID: String, domain: String) -> String {
        "tocsin.\(safe(deliveryID))@\(domain)"
    }

    /// `tocsin.alert.<fingerprint>.<start>@<domain>` for alerts: the open and the resolve of one occurrence of an
    /// alert refer to it (`References`, and `In-Reply-To` on the resolve), so mail clients show them as one thread.
    /// The start time keeps a later occurrence of the same alert out of an old thread.
    public static func threadID(for notification: NotificationRecord, domain: String) -> String? {
        guard notification.type != .notification, let fingerprint = notification.event.fingerprint else { return nil }
        let start = notification.alertStartsAt.map { ".\(Int64($0.timeIntervalSince1970))" } ?? ""
        return "tocsin.alert.\(safe(fingerprint))\(start)@\(domain)"
    }

    /// The text itself when it is short and made of letters, digits, `-` and `_`; otherwise a hash of it, so the id
    /// is always a valid `dot-atom-text`.
    static func safe(_ text: String) -> String {
        if !text.isEmpty, text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            return text
        }
        return SHA256.hash(data: Data(text.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
