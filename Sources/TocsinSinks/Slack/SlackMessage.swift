import Foundation
import TocsinCore

/// Slack's documented limits that Tocsin enforces by truncating (docs.slack.dev/reference/block-kit/blocks,
/// api.slack.com/changelog/2018-04-truncating-really-long-messages).
public enum SlackLimits {
    /// Blocks per message, top-level and attachment blocks together.
    public static let blocks = 50
    /// A section block's `text`.
    public static let sectionText = 3000
    /// Fields per section block.
    public static let fieldsPerSection = 10
    /// One field's text.
    public static let fieldText = 2000
    /// A header block's plain text.
    public static let headerText = 150
    /// A button's label and its URL.
    public static let buttonText = 75
    public static let buttonURL = 3000
    /// The message `text` (Slack truncates above it; Tocsin cuts first, so the marker shows).
    public static let messageText = 40_000
    /// All block text of one message. Slack refuses messages with about 13,200 characters of block text
    /// (`msg_blocks_too_long`, slackapi/bolt-js#2509) although each block is within its own limit.
    public static let blockTextTotal = 12_000
    /// Link buttons in the actions block: the Tocsin page and the event's first links.
    public static let buttons = 5
}

/// The Slack message of one notification: the title as a header block, then one attachment carrying the severity
/// colour with the description, the facts and labels as fields, and link buttons; `text` is the fallback that
/// notifications and clients without Block Kit show. The header is a top-level block so that `text` stays a
/// fallback: Slack shows a message's `text` above its attachments unless the message has top-level blocks.
public struct SlackMessage: Sendable, Hashable {
    public var text: String
    public var colour: String
    public var blocks: [JSONValue]
    public var attachmentBlocks: [JSONValue]

    public static let templateSpecs: [TemplateSpec] = [
        TemplateSpec(name: "title", defaultText: "{{#test}}[TEST] {{/test}}{{#resolved}}Resolved: {{/resolved}}{{summary}}", escaping: .text),
        TemplateSpec(name: "text", defaultText: "{{description}}", escaping: .slack, required: false),
        TemplateSpec(
            name: "fallback",
            defaultText: "{{#test}}[TEST] {{/test}}{{#resolved}}[RESOLVED] {{/resolved}}{{^resolved}}[{{severity_upper}}] {{/resolved}}{{summary}}",
            escaping: .slack
        ),
    ]

    /// Attachment colours: red for error and critical, amber for warning, blue for info, green once resolved.
    public static func colour(for notification: NotificationRecord) -> String {
        if notification.type == .resolve { return "#2eb67d" }
        switch notification.event.severity {
        case .critical, .error: return "#d0021b"
        case .warning: return "#f5a623"
        case .info: return "#439fe0"
        }
    }

    /// The fields of a message, before labels: what the alert is and when it started (and ended).
    static func facts(_ outbound: OutboundNotification, context: MessageContext) -> [(String, String)] {
        var facts: [(String, String)] = [
            ("Severity", context["severity_upper"]),
            ("Category", context["category_title"]),
            (outbound.notification.type == .notification ? "At" : "Started", context["started_at"]),
        ]
        if outbound.notification.type == .resolve { facts.append(("Resolved", context["ended_at"])) }
        return facts
    }

    public init(_ outbound: OutboundNotification, templates: MessageTemplates, publicURL: String?) {
        let context = MessageContext(outbound, publicURL: publicURL)
        let event = outbound.notification.event
        colour = Self.colour(for: outbound.notification)

        var fallback = templates.render("fallback", context)
        if fallback.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { fallback = Self.escape(event.summary) }
        if fallback.isEmpty { fallback = outbound.notification.type == .resolve ? "Resolved" : "Alert" }
        text = Self.truncateMarkdown(fallback, limit: SlackLimits.messageText)

        var budget = SlackLimits.blockTextTotal
        var title = templates.render("title", context).split(whereSeparator: \.isNewline).joined(separator: " ")
        if title.trimmingCharacters(in: .whitespaces).isEmpty { title = outbound.notification.type == .resolve ? "Resolved" : "(no summary)" }
        title = Truncation.characters(title, limit: SlackLimits.headerText)
        budget -= title.count
        blocks = [.object(["type": .string("header"), "text": Self.plainText(title)])]

        var attachment: [JSONValue] = []
        let body = templates.render("text", context)
        if !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let cut = Self.truncateMarkdown(body, limit: SlackLimits.sectionText)
            budget -= cut.count
            attachment.append(.object(["type": .string("section"), "text": Self.markdown(cut)]))
        }

        let buttons = Self.buttons(link: context["link"], links: event.links)
        budget -= buttons.reduce(0) { $0 + $1.label.count }
        // The header, the text section and the actions block take up to three blocks; fields fill the rest.
        let fieldSections = SlackLimits.blocks - 1 - (attachment.count) - (buttons.isEmpty ? 0 : 1)
        let fields = Self.fields(
            facts: Self.facts(outbound, context: context),
            labels: event.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            budget: budget,
            maximum: fieldSections * SlackLimits.fieldsPerSection
        )
        for start in stride(from: 0, to: fields.count, by: SlackLimits.fieldsPerSection) {
            let chunk = fields[start..<min(start + SlackLimits.fieldsPerSection, fields.count)]
            attachment.append(.object(["type": .string("section"), "fields": .array(chunk.map(Self.markdown))]))
        }
        if !buttons.isEmpty {
            let elements: [JSONValue] = buttons.enumerated().map { index, button in
                var element: [String: JSONValue] = [
                    "type": .string("button"),
                    "text": Self.plainText(button.label),
                    "url": .string(button.url),
                    "action_id": .string("tocsin-link-\(index)"),
                ]
                if index == 0 && button.isTocsin { element["style"] = .string("primary") }
                return .object(element)
            }
            attachment.append(.object(["type": .string("actions"), "elements": .array(elements)]))
        }
        attachmentBlocks = attachment
    }

    /// The message as the fields of a webhook or `chat.postMessage` body.
    public var jsonFields: [String: JSONValue] {
        [
            "text": .string(text),
            "blocks": .array(blocks),
            "attachments": .array([
                .object([
                    "color": .string(colour),
                    "fallback": .string(Self.truncateMarkdown(text, limit: SlackLimits.sectionText)),
                    "blocks": .array(attachmentBlocks),
                ])
            ]),
        ]
    }

    /// Facts first, then labels, each as `*name*\nvalue`, within the total block text budget and the number of
    /// fields the blocks left can hold. Labels that do not fit are counted in a last field with the marker.
    static func fields(facts: [(String, String)], labels: [(String, String)], budget: Int, maximum: Int) -> [String] {
        func field(_ name: String, _ value: String) -> String {
            truncateMarkdown("*\(escape(name))*\n\(value.isEmpty ? " " : escape(value))", limit: SlackLimits.fieldText)
        }
        var result: [String] = []
        var remaining = budget
        // Room for the marker field, so it always fits when labels are left out.
        let reserve = 64
        for (name, value) in facts {
            let text = field(name, value)
            result.append(text)
            remaining -= text.count
        }
        for (index, (name, value)) in labels.enumerated() {
            let text = field(name, value)
            // The last label needs no room for the marker after it.
            let isLast = index == labels.count - 1
            if result.count + (isLast ? 1 : 2) > maximum || text.count > remaining - (isLast ? 0 : reserve) {
                let hidden = labels.count - index
                result.append("*\(Truncation.marker)*\n\(hidden) more label\(hidden == 1 ? "" : "s") not shown")
                return result
            }
            result.append(text)
            remaining -= text.count
        }
        return result
    }

    struct Button {
        var label: String
        var url: String
        var isTocsin: Bool
    }

    /// The Tocsin page of the alert, then the event's own links: http(s) only, within Slack's URL limit.
    static func buttons(link: String, links: [Link]) -> [Button] {
        var buttons: [Button] = []
        if isButtonURL(link) { buttons.append(Button(label: "Open in Tocsin", url: link, isTocsin: true)) }
        for item in links where buttons.count < SlackLimits.buttons && isButtonURL(item.href) {
            let label = (item.text?.isEmpty == false ? item.text : nil) ?? item.href
            buttons.append(Button(label: Truncation.characters(label, limit: SlackLimits.buttonText), url: item.href, isTocsin: false))
        }
        return buttons
    }

    static func isButtonURL(_ url: String) -> Bool {
        (url.hasPrefix("https://") || url.hasPrefix("http://")) && url.count <= SlackLimits.buttonURL
    }

    static func plainText(_ text: String) -> JSONValue {
        .object(["type": .string("plain_text"), "text": .string(text), "emoji": .bool(true)])
    }

    static func markdown(_ text: String) -> JSONValue {
        .object(["type": .string("mrkdwn"), "text": .string(text)])
    }

    static func escape(_ text: String) -> String {
        SlackMarkdownContentType().escapeText(text)
    }

    /// Cuts mrkdwn to `limit` characters with the marker, without leaving half an entity (`&am`) that Slack
    /// would show literally.
    static func truncateMarkdown(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        var kept = String(text.prefix(max(0, limit - Truncation.marker.count)))
        if let ampersand = kept.lastIndex(of: "&"), !kept[ampersand...].contains(";"), kept.distance(from: ampersand, to: kept.endIndex) < 5 {
            kept = String(kept[..<ampersand])
        }
        return kept + Truncation.marker
    }
}
