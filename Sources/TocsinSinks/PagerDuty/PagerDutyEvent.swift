import Crypto
import Foundation
import TocsinCore

/// One request to the Events API v2: where it goes and the JSON it carries.
public struct PagerDutyEvent: Sendable {
    /// Service limits (PagerDuty developer docs, Events API v2 overview and trigger events).
    public enum Limits {
        public static let summaryCharacters = 1024
        public static let dedupKeyCharacters = 255
        /// "512 KB" read as the smaller of its two meanings.
        public static let bodyBytes = 512_000
    }

    public enum Action: String, Sendable {
        case trigger
        case acknowledge
        case resolve
        /// A change event, sent to `/v2/change/enqueue`.
        case change
    }

    public var action: Action
    public var url: String
    /// The key of the alert the event acts on; nil for change events.
    public var dedupKey: String?
    public var body: JSONValue

    /// The body as sent.
    public var bytes: [UInt8] { JSONWriter.write(body) }

    /// The event for one notification: an open triggers, an acknowledgement acknowledges and a resolve resolves
    /// with the same key, a one-off notification is a change event or a trigger with a key of its own
    /// (`notifications_as`).
    public init(_ outbound: OutboundNotification, configuration: PagerDutyConfiguration) {
        let notification = outbound.notification
        let event = notification.event
        let context = MessageContext(outbound, publicURL: configuration.publicURL)
        let routingKey = JSONValue.string(configuration.routingKey.exposedValue)
        switch notification.type {
        case .resolve, .acknowledge:
            // Follow-up events carry no payload: PagerDuty applies them to the alert that a trigger with the same
            // routing key and dedup key opened, and drops them (still answering 202) when there is none.
            let key = Self.dedupKey(for: notification)
            action = notification.type == .resolve ? .resolve : .acknowledge
            url = configuration.enqueueURL
            dedupKey = key
            body = .object(["routing_key": routingKey, "event_action": .string(action.rawValue), "dedup_key": .string(key)])
        case .open, .notification, .records:
            // The summary is required: a template that renders nothing for this event falls back to its own summary.
            let rendered = configuration.templates.render("summary", context)
            let summary = Truncation.characters(rendered.isEmpty ? event.summary : rendered, limit: Limits.summaryCharacters)
            var payload: [String: JSONValue] = [
                "summary": .string(summary),
                "timestamp": .string(Timestamp.format(notification.alertStartsAt ?? event.startsAt)),
                "source": .string(Self.source(of: event, configuration: configuration)),
            ]
            let links = Self.links(of: event, publicURL: configuration.publicURL)
            var fields: [String: JSONValue] = [
                "routing_key": routingKey,
                "links": .array(links),
            ]
            if notification.type == .notification && configuration.notificationsAs == .change {
                action = .change
                url = configuration.changeURL
                dedupKey = nil
            } else {
                let key = Self.dedupKey(for: notification)
                action = .trigger
                url = configuration.enqueueURL
                dedupKey = key
                fields["event_action"] = .string("trigger")
                fields["dedup_key"] = .string(key)
                payload["severity"] = .string(Self.severity(event.severity))
                if let component = Self.firstLabel(configuration.componentLabels, in: event) { payload["component"] = .string(component) }
                if let group = Self.firstLabel(configuration.groupLabels, in: event) { payload["group"] = .string(group) }
                if let eventClass = Self.firstLabel(configuration.classLabels, in: event) { payload["class"] = .string(eventClass) }
                // `client` and `client_url` are only read on triggers.
                let client = configuration.templates.render("client", context)
                if !client.isEmpty { fields["client"] = .string(client) }
                if let link = MessageContext.link(for: event, publicURL: configuration.publicURL) { fields["client_url"] = .string(link) }
            }
            body = Self.fitted(fields: fields, payload: payload, customDetails: Self.customDetails(of: event))
        }
    }

    /// PagerDuty's severities are Tocsin's, one for one.
    public static func severity(_ severity: Severity) -> String {
        switch severity {
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }

    /// `tocsin-<fingerprint>` for an alert, the same for its open, its updates, its acknowledgement, its resolve
    /// and every retry; the group's key (`tocsin-group-<digest>`, 45 characters) for a group's notification, so
    /// that one PagerDuty alert stands for the whole group; `tocsin-notification-<id>` for a one-off notification,
    /// stable across retries but never shared. A key that would pass PagerDuty's limit is replaced by a hash of
    /// its identity.
    public static func dedupKey(for notification: NotificationRecord) -> String {
        if let group = notification.group { return group.dedupKey }
        let identity =
            notification.type == .notification || notification.event.fingerprint == nil
            ? "notification-\(notification.id)" : notification.event.fingerprint ?? notification.id
        let key = "tocsin-\(identity)"
        guard key.count > Limits.dedupKeyCharacters else { return key }
        return "tocsin-" + SHA256.hash(data: Array(identity.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func source(of event: Event, configuration: PagerDutyConfiguration) -> String {
        configuration.source ?? firstLabel(configuration.sourceLabels, in: event) ?? PagerDutyConfiguration.fallbackSource
    }

    static func firstLabel(_ names: [String], in event: Event) -> String? {
        for name in names {
            if let value = event.labels[name], !value.isEmpty { return value }
        }
        return nil
    }

    /// The event's links, then the page of the alert in Tocsin.
    static func links(of event: Event, publicURL: String?) -> [JSONValue] {
        var links: [JSONValue] = event.links.map { link in
            var item: [String: JSONValue] = ["href": .string(link.href)]
            if let text = link.text { item["text"] = .string(text) }
            return .object(item)
        }
        if let link = MessageContext.link(for: event, publicURL: publicURL) {
            links.append(.object(["href": .string(link), "text": .string("Open in Tocsin")]))
        }
        return links
    }

    static func customDetails(of event: Event) -> [String: JSONValue] {
        var details: [String: JSONValue] = [
            "category": .string(event.category.rawValue),
            "labels": .object(event.labels.mapValues(JSONValue.string)),
        ]
        if let description = event.description, !description.isEmpty { details["description"] = .string(description) }
        if let extra = event.details, extra != .null { details["details"] = extra }
        return details
    }

    /// The body, within PagerDuty's size limit: when it is too large, `custom_details` entries are cut in turn (the
    /// free-form details first, then the description, then the labels) into strings ending with the marker; links
    /// other than Tocsin's own go last.
    static func fitted(fields: [String: JSONValue], payload: [String: JSONValue], customDetails: [String: JSONValue]) -> JSONValue {
        var details = customDetails
        func assemble() -> JSONValue {
            var payload = payload
            payload["custom_details"] = .object(details)
            var fields = fields
            fields["payload"] = .object(payload)
            return .object(fields)
        }
        var body = assemble()
        for key in ["details", "description", "labels"] {
            var size = JSONWriter.write(body).count
            guard size > Limits.bodyBytes else { return body }
            guard let value = details[key] else { continue }
            let text = value.compactText
            var limit = text.utf8.count
            // JSON bytes per byte of text (escaping makes it more than one): cutting overflow ÷ ratio bytes lands
            // close to the limit at once; the limit only ever shrinks, so the loop ends.
            var ratio = Double(JSONWriter.write(.string(text)).count) / Double(max(limit, 1))
            while size > Limits.bodyBytes && limit > 0 {
                limit = max(0, limit - Int((Double(size - Limits.bodyBytes) / ratio).rounded(.up)))
                let cut = Truncation.utf8Bytes(text, limit: limit)
                ratio = Double(JSONWriter.write(.string(cut)).count) / Double(max(cut.utf8.count, 1))
                details[key] = .string(cut)
                body = assemble()
                size = JSONWriter.write(body).count
            }
        }
        if JSONWriter.write(body).count > Limits.bodyBytes, case .array(let links) = fields["links"] ?? .null, links.count > 1 {
            var fields = fields
            fields["links"] = .array(Array(links.suffix(1)))
            return fitted(fields: fields, payload: payload, customDetails: details)
        }
        return body
    }
}
