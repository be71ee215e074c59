import Foundation
import TocsinCore

/// The body Teams receives for one notification: an Adaptive Card in a `message` activity (Workflows), or a legacy
/// MessageCard (Office 365 connector). Both carry the same content, shrunk to fit the size limit.
public enum TeamsCard {
    /// Teams refuses messages above 28 KB (add-incoming-webhook.md); bodies of 21–27 KB have been reported refused
    /// too, so Tocsin keeps every body within this many bytes.
    public static let targetBodyBytes = 24_000
    /// The Adaptive Card version sent: Teams and the Workflows flow bot render 1.4; nothing newer is used.
    public static let cardVersion = "1.4"
    /// Link buttons: the Tocsin page and the event's first links.
    public static let maximumActions = 5

    /// Per-field caps applied before fitting the whole body, so one huge label does not push out all the others.
    static let titleCharacters = 500
    static let nameCharacters = 100
    static let valueCharacters = 1000

    public static let templateSpecs: [TemplateSpec] = [
        TemplateSpec(
            name: "title",
            defaultText: "{{#test}}[TEST] {{/test}}{{#resolved}}Resolved: {{/resolved}}{{^resolved}}[{{severity_upper}}] {{/resolved}}{{summary}}",
            escaping: .text
        ),
        TemplateSpec(name: "text", defaultText: "{{description}}", escaping: .text, required: false),
    ]

    /// Adaptive Card text colour of the title: `attention` for error and critical, `warning`, `accent` for info,
    /// `good` once resolved.
    public static func adaptiveColour(for notification: NotificationRecord) -> String {
        if notification.type == .resolve { return "good" }
        switch notification.event.severity {
        case .critical, .error: return "attention"
        case .warning: return "warning"
        case .info: return "accent"
        }
    }

    /// MessageCard `themeColor` (hex without `#`), the same colours Slack uses.
    public static func themeColour(for notification: NotificationRecord) -> String {
        if notification.type == .resolve { return "2EB67D" }
        switch notification.event.severity {
        case .critical, .error: return "D0021B"
        case .warning: return "F5A623"
        case .info: return "439FE0"
        }
    }

    /// What a card shows, whatever its format.
    struct Content {
        var title: String
        var text: String
        var adaptiveColour: String
        var themeColour: String
        var facts: [(String, String)]
        var labels: [(String, String)]
        /// Labels left out to fit the size limit, counted in a last fact with the marker.
        var hiddenLabels = 0
        var links: [(title: String, url: String)]
    }

    static func content(_ outbound: OutboundNotification, templates: MessageTemplates, publicURL: String?) -> Content {
        let context = MessageContext(outbound, publicURL: publicURL)
        let notification = outbound.notification
        var title = templates.render("title", context)
        if title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { title = notification.type == .resolve ? "Resolved" : "(no summary)" }
        var facts: [(String, String)] = [
            ("Status", context["status"].prefix(1).uppercased() + context["status"].dropFirst()),
            ("Severity", context["severity_upper"]),
            ("Category", context["category_title"]),
            (notification.type == .notification ? "At" : "Started", context["started_at"]),
        ]
        if notification.type == .resolve { facts.append(("Resolved", context["ended_at"])) }
        var links: [(title: String, url: String)] = []
        let link = context["link"]
        if isLinkURL(link) { links.append((title: "Open in Tocsin", url: link)) }
        for item in notification.event.links where links.count < maximumActions && isLinkURL(item.href) {
            let label = (item.text?.isEmpty == false ? item.text : nil) ?? item.href
            links.append((title: Truncation.characters(label, limit: nameCharacters), url: item.href))
        }
        func cap(_ pairs: [(String, String)]) -> [(String, String)] {
            pairs.map { (Truncation.characters($0.0, limit: nameCharacters), Truncation.characters($0.1, limit: valueCharacters)) }
        }
        return Content(
            title: Truncation.characters(title, limit: titleCharacters),
            text: templates.render("text", context),
            adaptiveColour: adaptiveColour(for: notification),
            themeColour: themeColour(for: notification),
            facts: cap(facts),
            labels: cap(notification.event.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }),
            links: links
        )
    }

    static func isLinkURL(_ url: String) -> Bool {
        (url.hasPrefix("https://") || url.hasPrefix("http://")) && url.count <= 2048
    }

    /// The request body for one notification, within ``targetBodyBytes``: the description is cut first, then labels
    /// are left out from the end, then the title is shortened, each with the visible marker.
    public static func body(_ outbound: OutboundNotification, format: TeamsConfiguration.Format, templates: MessageTemplates, publicURL: String?)
        -> [UInt8]
    {
        fitted(content(outbound, templates: templates, publicURL: publicURL), format: format, budget: targetBodyBytes)
    }

    static func fitted(_ original: Content, format: TeamsConfiguration.Format, budget: Int) -> [UInt8] {
        var content = original
        let markerBytes = Truncation.marker.utf8.count
        while true {
            let body = encode(content, format: format)
            let excess = body.count - budget
            if excess <= 0 { return body }
            // Each step removes at least `excess` bytes of source text (JSON escaping only makes text longer), plus
            // room for the marker; the loop checks the result again.
            let descriptionBytes = content.text.utf8.count
            if descriptionBytes > markerBytes && content.text != Truncation.marker {
                content.text = Truncation.utf8Bytes(content.text, limit: max(markerBytes, descriptionBytes - excess - 2 * markerBytes))
                continue
            }
            if !content.labels.isEmpty {
                var saved = 0
                while !content.labels.isEmpty && saved < excess + 64 {
                    let (name, value) = content.labels.removeLast()
                    saved += name.utf8.count + value.utf8.count + 32
                    content.hiddenLabels += 1
                }
                continue
            }
            let titleBytes = content.title.utf8.count
            if titleBytes > 200 {
                // The title is sent twice (title and fallback or summary).
                content.title = Truncation.utf8Bytes(content.title, limit: max(200, titleBytes - (excess + 1) / 2 - markerBytes))
                continue
            }
            if content.facts.contains(where: { $0.1.utf8.count > 100 }) {
                content.facts = content.facts.map { ($0.0, Truncation.utf8Bytes($0.1, limit: 100)) }
                continue
            }
            if content.links.count > 1 {
                content.links.removeLast(content.links.count - 1)
                continue
            }
            // Nothing left to shorten (a pathological template): the smallest card that still says what happened.
            content.title = Truncation.utf8Bytes(content.title, limit: 100)
            content.text = Truncation.marker
            content.links = []
            return encode(content, format: format)
        }
    }

    static func encode(_ content: Content, format: TeamsConfiguration.Format) -> [UInt8] {
        switch format {
        case .adaptiveCard: return JSONWriter.write(adaptiveMessage(content))
        case .messageCard: return JSONWriter.write(messageCard(content))
        }
    }

    static func labelFacts(_ content: Content) -> [(String, String)] {
        var facts = content.labels
        if content.hiddenLabels > 0 {
            facts.append((Truncation.marker, "\(content.hiddenLabels) more label\(content.hiddenLabels == 1 ? "" : "s") not shown"))
        }
        return facts
    }

    /// `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",…}]}` with an
    /// Adaptive Card 1.4 holding only elements of the published schema (no Teams-only `msteams` key).
    static func adaptiveMessage(_ content: Content) -> JSONValue {
        func textBlock(_ text: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
            .object(["type": .string("TextBlock"), "text": .string(text), "wrap": .bool(true)].merging(extra) { $1 })
        }
        func factSet(_ facts: [(String, String)]) -> JSONValue {
            .object([
                "type": .string("FactSet"),
                "facts": .array(facts.map { .object(["title": .string($0.0), "value": .string($0.1)]) }),
            ])
        }
        var body: [JSONValue] = [
            textBlock(content.title, ["size": .string("large"), "weight": .string("bolder"), "color": .string(content.adaptiveColour)]),
            factSet(content.facts),
        ]
        if !content.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { body.append(textBlock(content.text)) }
        let labels = labelFacts(content)
        if !labels.isEmpty {
            body.append(textBlock("Labels", ["weight": .string("bolder"), "spacing": .string("medium")]))
            body.append(factSet(labels))
        }
        var card: [String: JSONValue] = [
            "$schema": .string("http://adaptivecards.io/schemas/adaptive-card.json"),
            "type": .string("AdaptiveCard"),
            "version": .string(cardVersion),
            "fallbackText": .string(content.title),
            "body": .array(body),
        ]
        if !content.links.isEmpty {
            card["actions"] = .array(
                content.links.map { .object(["type": .string("Action.OpenUrl"), "title": .string($0.title), "url": .string($0.url)]) }
            )
        }
        return .object([
            "type": .string("message"),
            "attachments": .array([
                .object([
                    "contentType": .string("application/vnd.microsoft.card.adaptive"),
                    "contentUrl": .null,
                    "content": .object(card),
                ])
            ]),
        ])
    }

    /// The legacy connector's MessageCard: `themeColor`, `summary`, `title`, facts and `OpenUri` actions.
    static func messageCard(_ content: Content) -> JSONValue {
        func facts(_ pairs: [(String, String)]) -> JSONValue {
            .array(pairs.map { .object(["name": .string($0.0), "value": .string($0.1)]) })
        }
        var main: [String: JSONValue] = ["facts": facts(content.facts), "markdown": .bool(true)]
        if !content.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { main["text"] = .string(content.text) }
        var sections: [JSONValue] = [.object(main)]
        let labels = labelFacts(content)
        if !labels.isEmpty {
            sections.append(.object(["activityTitle": .string("Labels"), "facts": facts(labels), "markdown": .bool(false)]))
        }
        var card: [String: JSONValue] = [
            "@type": .string("MessageCard"),
            "@context": .string("http://schema.org/extensions"),
            "themeColor": .string(content.themeColour),
            "summary": .string(content.title),
            "title": .string(content.title),
            "sections": .array(sections),
        ]
        if !content.links.isEmpty {
            card["potentialAction"] = .array(
                content.links.map {
                    .object([
                        "@type": .string("OpenUri"),
                        "name": .string($0.title),
                        "targets": .array([.object(["os": .string("default"), "uri": .string($0.url)])]),
                    ])
                }
            )
        }
        return .object(card)
    }
}
