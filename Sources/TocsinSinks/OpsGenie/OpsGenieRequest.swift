import Crypto
import Foundation
import TocsinCore

/// One request to the Opsgenie Alert API v2: create an alert, or acknowledge or close one by its alias.
public struct OpsGenieRequest: Sendable {
    public enum Action: String, Sendable {
        case create
        case acknowledge
        case close
    }

    public typealias Limits = OpsGenieConfiguration.Limits

    /// What Opsgenie shows as the alert's source.
    public static let source = "Tocsin"
    /// The note an acknowledgement adds to the alert's log.
    public static let acknowledgementNote = "Acknowledged in Tocsin"

    public var action: Action
    public var url: String
    public var alias: String
    public var body: JSONValue

    /// The body as sent.
    public var bytes: [UInt8] { JSONWriter.write(body) }

    /// An open creates (or, while the alias is open, adds to) the alert; an acknowledgement acknowledges it and a
    /// resolve closes it, by alias; a one-off notification creates an alert with an alias of its own that nothing
    /// closes.
    public init(_ outbound: OutboundNotification, configuration: OpsGenieConfiguration) {
        let notification = outbound.notification
        let event = notification.event
        let context = MessageContext(outbound, publicURL: configuration.publicURL)
        alias = Self.alias(for: notification)
        switch notification.type {
        case .resolve:
            action = .close
            url = configuration.closeURL(alias: alias)
            let ended = Timestamp.format(event.endsAt ?? event.receivedAt)
            body = .object([
                "source": .string(Self.source),
                "note": .string(Truncation.characters("Resolved in Tocsin at \(ended): \(event.summary)", limit: Limits.noteCharacters)),
            ])
        case .acknowledge:
            action = .acknowledge
            url = configuration.acknowledgeURL(alias: alias)
            body = .object(["source": .string(Self.source), "note": .string(Self.acknowledgementNote)])
        case .open, .notification, .records:
            action = .create
            url = configuration.createURL
            var object: [String: JSONValue] = [
                "message": .string(Self.message(configuration.templates.render("message", context), fallback: event.summary)),
                "alias": .string(alias),
                "priority": .string(Self.priority(event.severity)),
                "source": .string(Self.source),
                "tags": .array(Self.tags(configured: configuration.tags, labels: event.labels).map(JSONValue.string)),
                "details": .object(Self.details(labels: event.labels, details: event.details).mapValues(JSONValue.string)),
            ]
            let description = configuration.templates.render("description", context)
            if !description.isEmpty {
                object["description"] = .string(Truncation.characters(description, limit: Limits.descriptionCharacters))
            }
            if let entity = Self.entity(configuration.templates.render("entity", context), event: event) {
                object["entity"] = .string(Truncation.characters(entity, limit: Limits.entityCharacters))
            }
            if !configuration.responders.isEmpty { object["responders"] = .array(configuration.responders.map(\.jsonValue)) }
            body = .object(object)
        }
    }

    /// critical P1, error P2, warning P3, info P5: P4 is left free for what a team wants below warnings.
    public static func priority(_ severity: Severity) -> String {
        switch severity {
        case .critical: "P1"
        case .error: "P2"
        case .warning: "P3"
        case .info: "P5"
        }
    }

    /// `tocsin-<fingerprint>` for an alert, the same for its open, its updates, its acknowledgement, its close and
    /// every retry; the group's key (`tocsin-group-<digest>`, 45 characters) for a group's notification, so that
    /// one Opsgenie alert stands for the whole group; `tocsin-notification-<id>` for a one-off notification. A
    /// longer alias than Opsgenie keeps is replaced by a hash of its identity.
    public static func alias(for notification: NotificationRecord) -> String {
        if let group = notification.group { return group.dedupKey }
        let identity =
            notification.type == .notification || notification.event.fingerprint == nil
            ? "notification-\(notification.id)" : notification.event.fingerprint ?? notification.id
        let alias = "tocsin-\(identity)"
        guard alias.count > Limits.aliasCharacters else { return alias }
        return "tocsin-" + SHA256.hash(data: Array(identity.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// One line of at most 130 characters: line breaks become spaces, an empty rendering falls back to the event's
    /// summary (the field is required).
    static func message(_ rendered: String, fallback: String) -> String {
        let text = rendered.isEmpty ? fallback : rendered
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: " ")
        return Truncation.characters(line, limit: Limits.messageCharacters)
    }

    /// The configured tags, then `name:value` for each label by name; each cut to 50 characters, duplicates
    /// dropped, at most 20 — the 20th is the marker when more were left out.
    static func tags(configured: [String], labels: [String: String]) -> [String] {
        var tags: [String] = []
        var seen: Set<String> = []
        let candidates = configured + labels.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
        for candidate in candidates {
            let tag = Truncation.characters(candidate, limit: Limits.tagCharacters)
            if seen.insert(tag).inserted { tags.append(tag) }
        }
        guard tags.count > Limits.tagCount else { return tags }
        return Array(tags.prefix(Limits.tagCount - 1)) + [Truncation.marker]
    }

    /// The key that says entries were left out of `details`, with how many.
    static let omittedDetailsKey = "tocsin_truncated"

    /// The labels by name, then the event's details by name (a detail whose name is a label's is
    /// `details.<name>`; values that are not strings are written as compact JSON). Keys and values together stay
    /// within 8000 characters: the entry that crosses the limit is cut with the marker and the rest are counted
    /// under `tocsin_truncated`.
    static func details(labels: [String: String], details: JSONValue?) -> [String: String] {
        var entries = labels.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        if case .object(let object)? = details {
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                entries.append((key: labels[key] == nil ? key : "details.\(key)", value: value.compactText))
            }
        }
        let total = entries.reduce(0) { $0 + $1.key.count + $1.value.count }
        guard total > Limits.detailsCharacters else {
            return Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
        // Room for the count entry, so that the map never passes the limit.
        let budget = Limits.detailsCharacters - omittedDetailsKey.count - "99999 more".count
        var result: [String: String] = [:]
        var used = 0
        var included = 0
        for entry in entries {
            let size = entry.key.count + entry.value.count
            if used + size <= budget {
                result[entry.key] = entry.value
                used += size
                included += 1
                continue
            }
            let room = budget - used - entry.key.count
            if room >= Truncation.marker.count {
                result[entry.key] = Truncation.characters(entry.value, limit: room)
                included += 1
            }
            break
        }
        if included < entries.count { result[omittedDetailsKey] = "\(entries.count - included) more" }
        return result
    }

    /// The rendered `entity` template, else the first machine-naming label, else none.
    static func entity(_ rendered: String, event: Event) -> String? {
        if !rendered.isEmpty { return rendered }
        for name in OpsGenieConfiguration.defaultEntityLabels {
            if let value = event.labels[name], !value.isEmpty { return value }
        }
        return nil
    }
}
