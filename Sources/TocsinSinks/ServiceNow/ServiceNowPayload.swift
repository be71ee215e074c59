import Crypto
import Foundation
import TocsinCore

/// What Tocsin writes into ServiceNow: keys, severity mappings, field limits and request bodies.
public enum ServiceNowPayload {
    /// Column sizes of the base system's task and em_event tables; longer text is cut with the visible marker.
    public enum Limit {
        public static let shortDescription = 160
        public static let description = 4000
        public static let journal = 4000
        public static let correlationID = 100
        /// em_event `source`, `node`, `resource`, `type` (and `event_class`, `metric_name`, kept to the same size).
        public static let eventField = 100
    }

    /// Urgency and impact of an incident (1 high … 3 low); ServiceNow derives the priority from both.
    public struct IncidentLevel: Sendable, Hashable {
        public var urgency: Int
        public var impact: Int

        public init(urgency: Int, impact: Int) {
            self.urgency = urgency
            self.impact = impact
        }
    }

    /// critical → 1/1 (priority 1), error → 1/2 (priority 2), warning → 2/2 (priority 3), info → 3/3 (priority 5).
    public static func incidentLevel(_ severity: Severity) -> IncidentLevel {
        switch severity {
        case .critical: IncidentLevel(urgency: 1, impact: 1)
        case .error: IncidentLevel(urgency: 1, impact: 2)
        case .warning: IncidentLevel(urgency: 2, impact: 2)
        case .info: IncidentLevel(urgency: 3, impact: 3)
        }
    }

    /// Event Management severity: 1 Critical, 2 Major, 4 Warning, 5 Info; 0 (Clear) closes the alert.
    public static func eventSeverity(_ severity: Severity) -> String {
        switch severity {
        case .critical: "1"
        case .error: "2"
        case .warning: "4"
        case .info: "5"
        }
    }

    public static let clearSeverity = "0"

    /// The key ServiceNow finds the alert's incident or event-management alert by: `tocsin-<fingerprint>` for alerts,
    /// `tocsin-event-<id>` for one-off notifications. A key that would not fit the 100-character column, or that
    /// holds characters with a meaning in an encoded query (`^`, `=`, `,` …), is replaced by a hash of it.
    public static func correlationID(for event: Event) -> String {
        usable(event.fingerprint.map { "tocsin-\($0)" } ?? "tocsin-event-\(event.id)")
    }

    /// The key of a notification: for a group's notification the group's key (`tocsin-group-<digest>`), so that
    /// one incident or one Event Management alert stands for the whole group; otherwise the event's.
    public static func correlationID(for notification: NotificationRecord) -> String {
        notification.group.map { usable($0.dedupKey) } ?? correlationID(for: notification.event)
    }

    /// The key itself when it fits the column and an encoded query, else a hash of it.
    private static func usable(_ key: String) -> String {
        let safe = key.count <= Limit.correlationID && key.unicodeScalars.allSatisfy { CharacterSet.correlationIDAllowed.contains($0) }
        if safe { return key }
        let digest = SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
        return "tocsin-\(digest)"
    }

    /// The encoded query that finds the open incident of a correlation id. Resolved incidents stay `active` in the
    /// base system until they are closed, so the states that end an incident are excluded explicitly; the newest
    /// match comes first.
    public static func openIncidentQuery(correlationID: String, resolveState: String) -> String {
        let endStates = Set(["6", "7", "8", resolveState]).sorted()
        return "correlation_id=\(correlationID)^active=true^stateNOT IN\(endStates.joined(separator: ","))^ORDERBYDESCsys_created_on"
    }

    /// The fields the find asks for.
    static let foundFields = "sys_id,number,state,urgency,impact"

    /// The body that creates an incident.
    static func createIncident(
        _ outbound: OutboundNotification,
        configuration: ServiceNowConfiguration,
        context: MessageContext
    ) -> JSONValue {
        let level = incidentLevel(outbound.notification.event.severity)
        var fields: [String: JSONValue] = [
            "correlation_id": .string(correlationID(for: outbound.notification)),
            "correlation_display": .string("Tocsin"),
            "short_description": .string(render("short_description", limit: Limit.shortDescription, configuration, context)),
            "description": .string(render("description", limit: Limit.description, configuration, context)),
            "urgency": .string(String(level.urgency)),
            "impact": .string(String(level.impact)),
        ]
        if let group = configuration.assignmentGroup { fields["assignment_group"] = .string(group) }
        if let caller = configuration.caller { fields["caller_id"] = .string(caller) }
        if let category = configuration.category { fields["category"] = .string(category) }
        return .object(fields)
    }

    /// The body that raises an open incident's urgency and impact, with a work note saying why.
    static func updateIncident(level: IncidentLevel, configuration: ServiceNowConfiguration, context: MessageContext) -> JSONValue {
        .object([
            "urgency": .string(String(level.urgency)),
            "impact": .string(String(level.impact)),
            "work_notes": .string(render("work_notes", limit: Limit.journal, configuration, context)),
        ])
    }

    /// The body that resolves an incident.
    static func resolveIncident(configuration: ServiceNowConfiguration, context: MessageContext) -> JSONValue {
        .object([
            "state": .string(configuration.resolveState),
            "close_code": .string(configuration.closeCode),
            "close_notes": .string(render("close_notes", limit: Limit.description, configuration, context)),
        ])
    }

    /// One Event Management record in its `{"records":[…]}` envelope. A resolve sends the same `message_key` with
    /// severity 0 (Clear) and `resolution_state: Closing`, which closes the alert.
    static func event(_ outbound: OutboundNotification, configuration: ServiceNowConfiguration, context: MessageContext) -> JSONValue {
        let event = outbound.notification.event
        let isResolve = outbound.notification.type == .resolve
        var record: [String: JSONValue] = [
            "source": .string(Truncation.characters(configuration.source, limit: Limit.eventField)),
            "type": .string(render("type", limit: Limit.eventField, configuration, context)),
            "message_key": .string(correlationID(for: outbound.notification)),
            "severity": .string(isResolve ? clearSeverity : eventSeverity(event.severity)),
            "resolution_state": .string(isResolve ? "Closing" : "New"),
            "description": .string(render("description", limit: Limit.description, configuration, context)),
            "additional_info": .string(JSONWriter.string(additionalInfo(outbound, context: context))),
            "time_of_event": .string(eventTime(isResolve ? (event.endsAt ?? event.receivedAt) : event.startsAt)),
        ]
        if let eventClass = configuration.eventClass {
            record["event_class"] = .string(Truncation.characters(eventClass, limit: Limit.eventField))
        }
        if let node = node(of: event, configuration: configuration) {
            record["node"] = .string(Truncation.characters(node, limit: Limit.eventField))
        }
        if let label = configuration.resourceLabel, let resource = event.labels[label], !resource.isEmpty {
            record["resource"] = .string(Truncation.characters(resource, limit: Limit.eventField))
        }
        let metricName = render("metric_name", limit: Limit.eventField, configuration, context)
        if !metricName.isEmpty { record["metric_name"] = .string(metricName) }
        return .object(["records": .array([.object(record)])])
    }

    /// The labels as they are, then Tocsin's own keys (prefixed, so a label cannot hide them) and the details.
    static func additionalInfo(_ outbound: OutboundNotification, context: MessageContext) -> JSONValue {
        let event = outbound.notification.event
        var info: [String: JSONValue] = event.labels.mapValues { .string($0) }
        info["tocsin_event_id"] = .string(event.id)
        info["tocsin_severity"] = .string(event.severity.rawValue)
        info["tocsin_category"] = .string(event.category.rawValue)
        if let fingerprint = event.fingerprint { info["tocsin_fingerprint"] = .string(fingerprint) }
        let link = context["link"]
        if !link.isEmpty { info["tocsin_link"] = .string(link) }
        if let details = event.details, details != .null { info["tocsin_details"] = details }
        return .object(info)
    }

    static func node(of event: Event, configuration: ServiceNowConfiguration) -> String? {
        let labels = configuration.nodeLabel.map { [$0] } ?? ServiceNowConfiguration.defaultNodeLabels
        return labels.lazy.compactMap { event.labels[$0] }.first { !$0.isEmpty }
    }

    /// `yyyy-MM-dd HH:mm:ss` in GMT, the format Event Management documents for `time_of_event`.
    public static func eventTime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d",
            parts.year ?? 0,
            parts.month ?? 0,
            parts.day ?? 0,
            parts.hour ?? 0,
            parts.minute ?? 0,
            parts.second ?? 0
        )
    }

    static func render(_ name: String, limit: Int, _ configuration: ServiceNowConfiguration, _ context: MessageContext) -> String {
        Truncation.characters(configuration.templates.render(name, context), limit: limit)
    }
}

extension CharacterSet {
    /// Characters that need no escaping inside an encoded query value.
    fileprivate static let correlationIDAllowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
}
