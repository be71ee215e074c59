import Foundation
import Mustache
import TocsinCore

/// How a template's `{{name}}` output is escaped: not at all (plain text, JSON fields — the JSON writer escapes),
/// for HTML (e-mail), or for Slack's mrkdwn, where `&`, `<` and `>` are control characters.
public enum TemplateEscaping: String, Sendable {
    case text = "TEXT"
    case html = "HTML"
    case slack = "SLACK_MRKDWN"
}

/// Slack's mrkdwn escaping: only `&`, `<` and `>` (api.slack.com "Escaping text").
struct SlackMarkdownContentType: MustacheContentType {
    func escapeText(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// One message template of a sink: a default, overridable per integration under `templates:`.
public struct TemplateSpec: Sendable {
    public var name: String
    public var defaultText: String
    public var escaping: TemplateEscaping
    /// A template that renders to nothing for the sample events is refused (a page without a title).
    public var required: Bool

    public init(name: String, defaultText: String, escaping: TemplateEscaping = .text, required: Bool = true) {
        self.name = name
        self.defaultText = defaultText
        self.escaping = escaping
        self.required = required
    }
}

/// A sink's compiled templates, by name.
public struct MessageTemplates: Sendable {
    private let templates: [String: MustacheTemplate]

    private static let registerContentTypes: Void = {
        MustacheContentTypes.register(SlackMarkdownContentType(), named: TemplateEscaping.slack.rawValue)
    }()

    /// Compiles `text` with its escaping; the error text says what is wrong with it.
    static func compile(_ text: String, escaping: TemplateEscaping) throws -> MustacheTemplate {
        _ = registerContentTypes
        return try MustacheTemplate(string: "{{% CONTENT_TYPE: \(escaping.rawValue)}}" + text)
    }

    init(templates: [String: MustacheTemplate]) {
        self.templates = templates
    }

    /// The defaults of `specs`, with no overrides: for code that builds a sink without a configuration file.
    public static func defaults(_ specs: [TemplateSpec]) -> MessageTemplates {
        var compiled: [String: MustacheTemplate] = [:]
        for spec in specs {
            // Defaults are part of the program and covered by tests; a broken one is a programming error.
            compiled[spec.name] = try! compile(spec.defaultText, escaping: spec.escaping)
        }
        return MessageTemplates(templates: compiled)
    }

    /// Renders one template; surrounding blank lines are removed and runs of blank lines collapsed.
    public func render(_ name: String, _ context: MessageContext) -> String {
        guard let template = templates[name] else { return "" }
        return Self.tidy(template.render(context.values))
    }

    static func tidy(_ text: String) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.last == " " ? Substring(line.trimmingCharacters(in: .whitespaces)) : line
            if trimmed.isEmpty && (lines.last?.isEmpty ?? true) { continue }
            lines.append(trimmed)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }
}

/// What a template can use. Documented in docs/templates.md; keep the two in step.
public struct MessageContext: @unchecked Sendable {
    /// Foundation values only (strings, booleans, arrays, dictionaries): what Mustache walks.
    public let values: [String: Any]

    public init(_ outbound: OutboundNotification, publicURL: String?) {
        let notification = outbound.notification
        let event = notification.event
        let status: String
        switch notification.type {
        case .open: status = "firing"
        case .resolve: status = "resolved"
        case .notification: status = "notification"
        case .records: status = "records"
        // Only sinks that forward acknowledgements get one, and those send no text for it; should one reach a sink
        // that renders words, it reads as a one-off notification.
        case .acknowledge: status = "notification"
        }
        let labels = event.labels.sorted { $0.key < $1.key }
        var values: [String: Any] = [
            "summary": event.summary,
            "description": event.description ?? "",
            "severity": event.severity.rawValue,
            "severity_upper": event.severity.rawValue.uppercased(),
            "category": event.category.rawValue,
            "category_title": MessageContext.title(of: event.category.rawValue),
            "kind": event.kind.rawValue,
            "status": status,
            "status_upper": status.uppercased(),
            "firing": notification.type == .open,
            "resolved": notification.type == .resolve,
            "notification": notification.type == .notification,
            "labels": labels.map { ["name": $0.key, "value": $0.value] },
            "label": event.labels,
            "has_labels": !labels.isEmpty,
            "started_at": MessageContext.timestamp(notification.alertStartsAt ?? event.startsAt),
            "event_id": event.id,
            "fingerprint": event.fingerprint ?? "",
            "integration": outbound.integration,
            "source": event.source.rawValue,
            "links": event.links.map { ["href": $0.href, "text": $0.text ?? $0.href] },
            "has_links": !event.links.isEmpty,
            "test": event.labels[TestNotification.label] == "true",
        ]
        if notification.type == .resolve { values["ended_at"] = MessageContext.timestamp(event.endsAt ?? event.receivedAt) }
        if case .object(let details) = event.details {
            values["details"] = details.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value.compactText] }
            values["has_details"] = !details.isEmpty
        }
        let link = MessageContext.link(for: event, publicURL: publicURL) ?? ""
        values["link"] = link
        // swift-mustache renders a section for any string, even an empty one: templates test these flags instead.
        values["has_link"] = !link.isEmpty
        values["has_description"] = !(event.description ?? "").isEmpty
        self.values = values
    }

    /// The page about this alert (or event) in Tocsin, when a public URL is configured.
    public static func link(for event: Event, publicURL: String?) -> String? {
        guard let publicURL else { return nil }
        if let fingerprint = event.fingerprint { return "\(publicURL)/alerts/\(fingerprint)" }
        return "\(publicURL)/events/\(event.id)"
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// `rolling_restart` → `Rolling restart`.
    static func title(of category: String) -> String {
        let words = category.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// One string value for the context (for string fields of a sink that also needs the raw value).
    public subscript(_ key: String) -> String {
        values[key] as? String ?? ""
    }
}

extension JSONValue {
    /// Strings as they are; anything else as compact JSON.
    var compactText: String {
        if case .string(let text) = self { return text }
        return String(decoding: JSONWriter.write(self), as: UTF8.self)
    }
}

extension SettingsReader {
    /// Reads `templates:` (name → Mustache text) over the sink's defaults. Each template is compiled and rendered
    /// against sample open, resolve and notification events, so a broken template fails `check-config`.
    public mutating func templates(_ specs: [TemplateSpec], publicURL: String?) -> MessageTemplates {
        let overrides = stringMap("templates")
        var compiled: [String: MustacheTemplate] = [:]
        for name in overrides.keys.sorted() where !specs.contains(where: { $0.name == name }) {
            problem("templates.\(name)", "unknown template for type \(integration.type) (known: \(specs.map(\.name).joined(separator: ", ")))")
        }
        for spec in specs {
            let text = overrides[spec.name] ?? spec.defaultText
            do {
                let template = try MessageTemplates.compile(text, escaping: spec.escaping)
                compiled[spec.name] = template
                if spec.required {
                    for sample in TestNotification.samples(integration: integration.name) {
                        let rendered = MessageTemplates.tidy(template.render(MessageContext(sample, publicURL: publicURL).values))
                        if rendered.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                            problem("templates.\(spec.name)", "renders to nothing for a sample \(sample.notification.type.rawValue) event")
                            break
                        }
                    }
                }
            } catch {
                problem("templates.\(spec.name)", "is not a valid Mustache template: \(error)")
            }
        }
        return MessageTemplates(templates: compiled)
    }
}
