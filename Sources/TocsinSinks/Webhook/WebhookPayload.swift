import Foundation
import TocsinCore

/// The JSON bodies a webhook sends.
public enum WebhookPayload {
    public static func encode(_ outbound: OutboundNotification, format: WebhookConfiguration.Format) throws -> [UInt8] {
        // Written by hand rather than with JSONEncoder: this runs for every delivery.
        switch format {
        case .tocsin: return JSONWriter.write(TocsinPayload(outbound).jsonValue)
        case .alertmanager: return JSONWriter.write(AlertmanagerPayload(outbound).jsonValue)
        }
    }
}

/// Tocsin's own payload, version 1. Documented field by field in docs/webhook-payload.md; fields are only
/// ever added within a version.
public struct TocsinPayload: Codable, Sendable, Hashable {
    public var version: String
    public var deliveryId: String
    public var notificationId: String
    public var integration: String
    /// `open`, `resolved` or `notification`.
    public var status: String
    public var kind: String
    public var eventId: String
    public var fingerprint: String?
    public var severity: String
    public var category: String
    public var labels: [String: String]
    public var summary: String
    public var description: String?
    public var details: JSONValue?
    public var links: [Link]
    public var startsAt: String
    public var endsAt: String?
    /// For status `records`: the log records or metric samples of the batch (those the integration's matchers accept).
    public var records: [JSONValue]?
    /// For a group's notification: the group and each of its alerts (the other fields then describe the whole group).
    public var group: TocsinGroupPayload?

    /// The payload as JSON, with the keys `Codable` would give it.
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = [
            "version": .string(version),
            "deliveryId": .string(deliveryId),
            "notificationId": .string(notificationId),
            "integration": .string(integration),
            "status": .string(status),
            "kind": .string(kind),
            "eventId": .string(eventId),
            "severity": .string(severity),
            "category": .string(category),
            "labels": .object(labels.mapValues(JSONValue.string)),
            "summary": .string(summary),
            "links": .array(
                links.map { link in
                    var item: [String: JSONValue] = ["href": .string(link.href)]
                    if let text = link.text { item["text"] = .string(text) }
                    return .object(item)
                }
            ),
            "startsAt": .string(startsAt),
        ]
        if let fingerprint { object["fingerprint"] = .string(fingerprint) }
        if let description { object["description"] = .string(description) }
        if let details { object["details"] = details }
        if let endsAt { object["endsAt"] = .string(endsAt) }
        if let records { object["records"] = .array(records) }
        if let group { object["group"] = group.jsonValue }
        return .object(object)
    }

    public init(_ outbound: OutboundNotification) {
        let notification = outbound.notification
        let event = notification.event
        version = "1"
        deliveryId = outbound.deliveryID
        notificationId = notification.id
        integration = outbound.integration
        switch notification.type {
        case .open: status = "open"
        case .resolve: status = "resolved"
        case .notification: status = "notification"
        case .records: status = "records"
        // Webhooks do not forward acknowledgements, so none is ever queued for one; should one come, it is told as
        // a one-off notification.
        case .acknowledge: status = "notification"
        }
        kind = event.kind.rawValue
        eventId = event.id
        fingerprint = event.fingerprint
        severity = event.severity.rawValue
        category = event.category.rawValue
        labels = event.labels
        summary = event.summary
        description = event.description
        details = event.details
        links = event.links
        startsAt = Timestamp.format(notification.alertStartsAt ?? event.startsAt)
        endsAt = notification.type == .resolve ? Timestamp.format(event.endsAt ?? event.receivedAt) : nil
        records = notification.records?.publicJSON
        group = notification.group.map(TocsinGroupPayload.init)
    }
}

/// The `group` object of the `tocsin` payload: the group's keys and labels, its counts and every alert it tells of.
public struct TocsinGroupPayload: Codable, Sendable, Hashable {
    public struct Alert: Codable, Sendable, Hashable {
        public var fingerprint: String
        /// `firing` or `resolved`.
        public var status: String
        public var severity: String
        public var category: String
        public var labels: [String: String]
        public var summary: String
        public var startsAt: String
        /// Resolved alerts only.
        public var endsAt: String?
        /// Held as firing while it flaps, whatever its last event said.
        public var flapping: Bool

        public init(
            fingerprint: String,
            status: String,
            severity: String,
            category: String,
            labels: [String: String],
            summary: String,
            startsAt: String,
            endsAt: String?,
            flapping: Bool
        ) {
            self.fingerprint = fingerprint
            self.status = status
            self.severity = severity
            self.category = category
            self.labels = labels
            self.summary = summary
            self.startsAt = startsAt
            self.endsAt = endsAt
            self.flapping = flapping
        }

        var jsonValue: JSONValue {
            var object: [String: JSONValue] = [
                "fingerprint": .string(fingerprint),
                "status": .string(status),
                "severity": .string(severity),
                "category": .string(category),
                "labels": .object(labels.mapValues(JSONValue.string)),
                "summary": .string(summary),
                "startsAt": .string(startsAt),
                "flapping": .bool(flapping),
            ]
            if let endsAt { object["endsAt"] = .string(endsAt) }
            return .object(object)
        }
    }

    /// The readable group key, `scope:{label="value",…}`.
    public var key: String
    /// The key incident platforms know the group by (PagerDuty `dedup_key`, Opsgenie `alias`).
    public var dedupKey: String
    public var groupLabels: [String: String]
    public var commonLabels: [String: String]
    public var firing: Int
    public var resolved: Int
    /// Sent because the alerts kept firing for `repeat_interval`, not because something changed.
    public var isRepeat: Bool
    public var alerts: [Alert]

    enum CodingKeys: String, CodingKey {
        case key, dedupKey, groupLabels, commonLabels, firing, resolved, alerts
        case isRepeat = "repeat"
    }

    /// The object as JSON, with the keys `Codable` gives it.
    public var jsonValue: JSONValue {
        .object([
            "key": .string(key),
            "dedupKey": .string(dedupKey),
            "groupLabels": .object(groupLabels.mapValues(JSONValue.string)),
            "commonLabels": .object(commonLabels.mapValues(JSONValue.string)),
            "firing": .number(Double(firing)),
            "resolved": .number(Double(resolved)),
            "repeat": .bool(isRepeat),
            "alerts": .array(alerts.map(\.jsonValue)),
        ])
    }

    public init(_ group: GroupPayload) {
        key = group.key
        dedupKey = group.dedupKey
        groupLabels = group.groupLabels
        commonLabels = group.commonLabels
        firing = group.firingCount
        resolved = group.resolvedCount
        isRepeat = group.isRepeat
        alerts = group.alerts.map { event in
            let fingerprint = event.fingerprint ?? Fingerprint.of(labels: event.labels)
            let resolved = event.status == .resolved
            return Alert(
                fingerprint: fingerprint,
                status: resolved ? "resolved" : "firing",
                severity: event.severity.rawValue,
                category: event.category.rawValue,
                labels: event.labels,
                summary: event.summary,
                startsAt: Timestamp.format(event.startsAt),
                endsAt: resolved ? Timestamp.format(event.endsAt ?? event.receivedAt) : nil,
                flapping: group.flapping.contains(fingerprint)
            )
        }
    }
}

/// Alertmanager's webhook payload, version 4: one alert for an alert's own notification, every alert of the group
/// for a group's notification.
public struct AlertmanagerPayload: Codable, Sendable, Hashable {
    public struct Alert: Codable, Sendable, Hashable {
        public var status: String
        public var labels: [String: String]
        public var annotations: [String: String]
        public var startsAt: String
        public var endsAt: String
        public var generatorURL: String
        public var fingerprint: String
    }

    public var version: String
    public var groupKey: String
    public var truncatedAlerts: Int
    public var status: String
    public var receiver: String
    public var groupLabels: [String: String]
    public var commonLabels: [String: String]
    public var commonAnnotations: [String: String]
    public var externalURL: String
    public var alerts: [Alert]

    /// The payload as JSON, with the keys `Codable` would give it.
    public var jsonValue: JSONValue {
        func strings(_ map: [String: String]) -> JSONValue { .object(map.mapValues(JSONValue.string)) }
        let alertValues: [JSONValue] = alerts.map { alert in
            .object([
                "status": .string(alert.status),
                "labels": strings(alert.labels),
                "annotations": strings(alert.annotations),
                "startsAt": .string(alert.startsAt),
                "endsAt": .string(alert.endsAt),
                "generatorURL": .string(alert.generatorURL),
                "fingerprint": .string(alert.fingerprint),
            ])
        }
        return .object([
            "version": .string(version),
            "groupKey": .string(groupKey),
            "truncatedAlerts": .number(Double(truncatedAlerts)),
            "status": .string(status),
            "receiver": .string(receiver),
            "groupLabels": strings(groupLabels),
            "commonLabels": strings(commonLabels),
            "commonAnnotations": strings(commonAnnotations),
            "externalURL": .string(externalURL),
            "alerts": .array(alertValues),
        ])
    }

    /// Alertmanager's way of writing "no end time".
    static let zeroTime = "0001-01-01T00:00:00Z"

    public init(_ outbound: OutboundNotification) {
        let notification = outbound.notification
        if let group = notification.group {
            // A real group, as Alertmanager sends one: its key and labels, and each alert with its own status.
            let alerts = group.alerts.map { event in
                Self.alert(
                    event,
                    resolved: event.status == .resolved,
                    startsAt: event.startsAt,
                    fingerprint: event.fingerprint ?? Fingerprint.of(labels: event.labels)
                )
            }
            self.init(groupKey: group.key, receiver: outbound.integration, groupLabels: group.groupLabels, alerts: alerts)
        } else {
            let event = notification.event
            let fingerprint = event.fingerprint ?? notification.id
            let alert = Self.alert(
                event,
                resolved: notification.type == .resolve,
                startsAt: notification.alertStartsAt ?? event.startsAt,
                fingerprint: fingerprint
            )
            self.init(groupKey: "{}:{fingerprint=\"\(fingerprint)\"}", receiver: outbound.integration, groupLabels: [:], alerts: [alert])
        }
    }

    /// Common labels and annotations are those every alert has with the same value, as Alertmanager computes them;
    /// the group fires while any of its alerts does.
    private init(groupKey: String, receiver: String, groupLabels: [String: String], alerts: [Alert]) {
        version = "4"
        self.groupKey = groupKey
        truncatedAlerts = 0
        status = alerts.contains { $0.status == "firing" } ? "firing" : "resolved"
        self.receiver = receiver
        self.groupLabels = groupLabels
        commonLabels = Self.common(alerts.map(\.labels))
        commonAnnotations = Self.common(alerts.map(\.annotations))
        externalURL = ""
        self.alerts = alerts
    }

    /// One alert: the event's labels with `alertname`, `severity` and `category` added where missing (receivers
    /// written for Alertmanager expect them), its summary, description and string details as annotations.
    static func alert(_ event: Event, resolved: Bool, startsAt: Date, fingerprint: String) -> Alert {
        var labels = event.labels
        if labels["alertname"] == nil { labels["alertname"] = event.summary }
        if labels["severity"] == nil { labels["severity"] = event.severity.rawValue }
        if labels["category"] == nil { labels["category"] = event.category.rawValue }
        var annotations = ["summary": event.summary]
        if let description = event.description { annotations["description"] = description }
        if case .object(let details) = event.details {
            for (key, value) in details {
                if case .string(let text) = value, annotations[key] == nil { annotations[key] = text }
            }
        }
        return Alert(
            status: resolved ? "resolved" : "firing",
            labels: labels,
            annotations: annotations,
            startsAt: Timestamp.format(startsAt),
            endsAt: resolved ? Timestamp.format(event.endsAt ?? event.receivedAt) : Self.zeroTime,
            generatorURL: event.links.first?.href ?? "",
            fingerprint: fingerprint
        )
    }

    static func common(_ maps: [[String: String]]) -> [String: String] {
        guard var common = maps.first else { return [:] }
        for map in maps.dropFirst() { common = common.filter { map[$0.key] == $0.value } }
        return common
    }
}
