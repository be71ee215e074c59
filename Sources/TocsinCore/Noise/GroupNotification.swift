import Foundation

/// The group a notification tells of: its key (the sink's dedup key), its labels and its alerts.
public struct GroupPayload: Sendable, Hashable {
    /// Readable: `scope:{label="value",…}`.
    public var key: String
    /// PagerDuty `dedup_key`, OpsGenie `alias`, ServiceNow `correlation_id`: one incident per group.
    public var dedupKey: String
    /// The values of the `group_by` labels.
    public var groupLabels: [String: String]
    /// The labels every alert of the notification shares.
    public var commonLabels: [String: String]
    /// The alerts that fire (status `firing`), then those resolved since the last notification (status `resolved`).
    public var alerts: [Event]
    /// Fingerprints of the alerts held as flapping.
    public var flapping: [String]
    /// Sent because `repeat_interval` passed with the alerts still firing, not because something changed.
    public var isRepeat: Bool

    public init(
        key: String,
        dedupKey: String,
        groupLabels: [String: String],
        commonLabels: [String: String],
        alerts: [Event],
        flapping: [String],
        isRepeat: Bool
    ) {
        self.key = key
        self.dedupKey = dedupKey
        self.groupLabels = groupLabels
        self.commonLabels = commonLabels
        self.alerts = alerts
        self.flapping = flapping
        self.isRepeat = isRepeat
    }

    public var firingCount: Int { alerts.filter { $0.status != .resolved }.count }
    public var resolvedCount: Int { alerts.filter { $0.status == .resolved }.count }

    /// How many alerts a message lists before "and N more".
    public static let listedAlerts = 10

    /// One line per alert for the first `limit`, then "… and N more": the body every sink can show.
    public func alertList(limit: Int = GroupPayload.listedAlerts) -> String {
        var lines: [String] = []
        for alert in alerts.prefix(limit) {
            let state = alert.status == .resolved ? "RESOLVED" : alert.severity.rawValue.uppercased()
            let distinct = alert.labels.filter { commonLabels[$0.key] == nil }.sorted { $0.key < $1.key }
            let labels = distinct.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let flag = flapping.contains(alert.fingerprint ?? "") ? " (flapping)" : ""
            lines.append("- [\(state)] \(labels.isEmpty ? alert.summary : "\(labels): \(alert.summary)")\(flag)")
        }
        if alerts.count > limit { lines.append("… and \(alerts.count - limit) more") }
        return lines.joined(separator: "\n")
    }

    var storedForm: JSONValue {
        .object([
            "key": .string(key),
            "dedupKey": .string(dedupKey),
            "groupLabels": .object(groupLabels.mapValues(JSONValue.string)),
            "commonLabels": .object(commonLabels.mapValues(JSONValue.string)),
            "alerts": .array(alerts.map(\.storedForm)),
            "flapping": .array(flapping.map(JSONValue.string)),
            "repeat": .bool(isRepeat),
        ])
    }

    init(storedForm value: JSONValue) throws(StoredFormError) {
        let object = try StoredFields(value, name: "group")
        var alerts: [Event] = []
        for item in object["alerts"]?.arrayValue ?? [] { alerts.append(try Event(storedForm: item)) }
        self.init(
            key: try object.text("key"),
            dedupKey: try object.text("dedupKey"),
            groupLabels: object.labels("groupLabels"),
            commonLabels: object.labels("commonLabels"),
            alerts: alerts,
            flapping: (object["flapping"]?.arrayValue ?? []).compactMap(\.stringValue),
            isRepeat: object["repeat"] == .bool(true)
        )
    }
}

extension GroupPayload: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(storedForm: JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try storedForm.encode(to: encoder)
    }
}

extension GroupNotice {
    /// The notification that tells this look. A one-alert group (no grouping) tells the alert itself, so it reads
    /// exactly as an ungrouped alert; a real group gets an event standing for the whole group and the list of alerts.
    /// - Parameter id: the notification's id when the caller has a better one (the triggering event's).
    public func notification(id: String? = nil) -> NotificationRecord {
        let id = id ?? notificationID
        if perAlert, let member = firing.first ?? resolved.first {
            let fires = !firing.isEmpty
            var event = fires ? member.openEvent : (member.resolveEvent ?? member.openEvent)
            event.fingerprint = member.fingerprint
            return NotificationRecord(
                id: id,
                type: fires ? .open : .resolve,
                event: event,
                alertStartsAt: member.openEvent.startsAt,
                createdAt: now
            )
        }
        let payload = self.payload
        return NotificationRecord(
            id: id,
            type: firing.isEmpty ? .resolve : .open,
            event: groupEvent(id: id, payload: payload),
            alertStartsAt: (firing + resolved).map(\.openEvent.startsAt).min(),
            createdAt: now,
            group: payload
        )
    }

    /// The group and its alerts, each with the status it is told with.
    public var payload: GroupPayload {
        var alerts: [Event] = []
        for member in firing {
            var event = member.openEvent
            event.fingerprint = member.fingerprint
            event.status = .firing
            event.endsAt = nil
            alerts.append(event)
        }
        for member in resolved {
            var event = member.resolveEvent ?? member.openEvent
            event.fingerprint = member.fingerprint
            event.status = .resolved
            // A resolve event may carry only the alert's key; when the alert began is what its open said.
            event.startsAt = member.openEvent.startsAt
            alerts.append(event)
        }
        return GroupPayload(
            key: key,
            dedupKey: dedupKey,
            groupLabels: groupLabels,
            commonLabels: Self.commonLabels(alerts.map(\.labels)),
            alerts: alerts,
            flapping: firing.filter(\.flapping).map(\.fingerprint),
            isRepeat: isRepeat
        )
    }

    static func commonLabels(_ sets: [[String: String]]) -> [String: String] {
        guard var common = sets.first else { return [:] }
        for labels in sets.dropFirst() { common = common.filter { labels[$0.key] == $0.value } }
        return common
    }

    /// The event that stands for the group in every sink: highest severity, shared labels, counts in the summary
    /// and the first alerts listed in the description.
    func groupEvent(id: String, payload: GroupPayload) -> Event {
        let shown = firing.isEmpty ? resolved : firing
        let severity = shown.map { firing.isEmpty ? ($0.notifiedSeverity ?? $0.openEvent.severity) : $0.openEvent.severity }.max() ?? .info
        let summaries = Set(shown.map(\.openEvent.summary))
        let title = payload.commonLabels["alertname"] ?? (summaries.count == 1 ? summaries.first! : "\(shown.count) alerts")
        var counts = firing.isEmpty ? "[RESOLVED:\(resolved.count)]" : "[FIRING:\(firing.count)]"
        if !firing.isEmpty && !resolved.isEmpty { counts += "[RESOLVED:\(resolved.count)]" }
        let scope = groupLabels.sorted { $0.key < $1.key }.filter { !$0.value.isEmpty }.map { "\($0.key)=\($0.value)" }
        let summary = "\(counts) \(title)" + (scope.isEmpty ? "" : " (\(scope.joined(separator: " ")))")
        let first = shown.first?.openEvent
        return Event(
            id: id,
            kind: .alert,
            severity: severity,
            category: first?.category ?? .cluster,
            status: firing.isEmpty ? .resolved : .firing,
            labels: payload.commonLabels,
            summary: summary,
            description: payload.alertList(),
            links: first?.links ?? [],
            startsAt: (firing + resolved).map(\.openEvent.startsAt).min() ?? now,
            endsAt: firing.isEmpty ? resolved.compactMap { $0.resolveEvent?.endsAt }.max() ?? now : nil,
            receivedAt: now,
            fingerprint: dedupKey
        )
    }
}
