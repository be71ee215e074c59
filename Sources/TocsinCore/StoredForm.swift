import Foundation

/// Hand-written conversions between the records kept in the store and `JSONValue`, in the same shape their
/// `Codable` conformances give with dates as milliseconds since 1970 — so either side can read the other's output —
/// but without `JSONEncoder`'s per-value cost on the paths every event and delivery take.
public struct StoredFormError: Error, Hashable {
    public var field: String

    public init(field: String) {
        self.field = field
    }
}

extension Event {
    public var storedForm: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "kind": .string(kind.rawValue),
            "severity": .string(severity.rawValue),
            "category": .string(category.rawValue),
            "labels": .object(labels.mapValues(JSONValue.string)),
            "summary": .string(summary),
            "links": .array(links.map(\.storedForm)),
            "startsAt": .millis(startsAt),
            "receivedAt": .millis(receivedAt),
            "source": .string(source.rawValue),
        ]
        if let status { object["status"] = .string(status.rawValue) }
        if let description { object["description"] = .string(description) }
        if let details { object["details"] = details }
        if let endsAt { object["endsAt"] = .millis(endsAt) }
        if let fingerprint { object["fingerprint"] = .string(fingerprint) }
        return .object(object)
    }

    public init(storedForm value: JSONValue) throws(StoredFormError) {
        guard let object = value.objectValue else { throw StoredFormError(field: "event") }
        func text(_ key: String) throws(StoredFormError) -> String {
            guard let text = object[key]?.stringValue else { throw StoredFormError(field: key) }
            return text
        }
        func date(_ key: String) throws(StoredFormError) -> Date {
            guard let date = object[key]?.dateFromMillis else { throw StoredFormError(field: key) }
            return date
        }
        guard let kind = EventKind(rawValue: try text("kind")) else { throw StoredFormError(field: "kind") }
        guard let severity = Severity(rawValue: try text("severity")) else { throw StoredFormError(field: "severity") }
        guard let category = Category(rawValue: try text("category")) else { throw StoredFormError(field: "category") }
        var labels: [String: String] = [:]
        for (key, item) in object["labels"]?.objectValue ?? [:] { labels[key] = item.stringValue }
        var links: [Link] = []
        for item in object["links"]?.arrayValue ?? [] {
            guard let link = item.objectValue, let href = link["href"]?.stringValue else { throw StoredFormError(field: "links") }
            links.append(Link(href: href, text: link["text"]?.stringValue))
        }
        self.init(
            id: try text("id"),
            kind: kind,
            severity: severity,
            category: category,
            status: object["status"]?.stringValue.flatMap(AlertEventStatus.init(rawValue:)),
            labels: labels,
            summary: try text("summary"),
            description: object["description"]?.stringValue,
            details: object["details"],
            links: links,
            startsAt: try date("startsAt"),
            endsAt: object["endsAt"]?.dateFromMillis,
            receivedAt: try date("receivedAt"),
            fingerprint: object["fingerprint"]?.stringValue,
            source: object["source"]?.stringValue.flatMap(EventSource.init(rawValue:)) ?? .api
        )
    }
}

extension Link {
    var storedForm: JSONValue {
        var object: [String: JSONValue] = ["href": .string(href)]
        if let text { object["text"] = .string(text) }
        return .object(object)
    }
}

extension NotificationRecord {
    public var storedForm: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "type": .string(type.rawValue),
            "event": event.storedForm,
            "createdAt": .millis(createdAt),
        ]
        if let alertStartsAt { object["alertStartsAt"] = .millis(alertStartsAt) }
        if let records { object["records"] = records.storedForm }
        if let group { object["group"] = group.storedForm }
        return .object(object)
    }

    public init(storedForm value: JSONValue) throws(StoredFormError) {
        guard let object = value.objectValue else { throw StoredFormError(field: "notification") }
        guard let id = object["id"]?.stringValue else { throw StoredFormError(field: "id") }
        guard let type = object["type"]?.stringValue.flatMap(NotificationType.init(rawValue:)) else {
            throw StoredFormError(field: "type")
        }
        guard let event = object["event"] else { throw StoredFormError(field: "event") }
        guard let createdAt = object["createdAt"]?.dateFromMillis else { throw StoredFormError(field: "createdAt") }
        self.init(
            id: id,
            type: type,
            event: try Event(storedForm: event),
            alertStartsAt: object["alertStartsAt"]?.dateFromMillis,
            createdAt: createdAt,
            records: try object["records"].map { v throws(StoredFormError) in try RecordBatch(storedForm: v) },
            group: try object["group"].map { v throws(StoredFormError) in try GroupPayload(storedForm: v) }
        )
    }
}
