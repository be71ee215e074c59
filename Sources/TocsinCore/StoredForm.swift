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

/// The fields of one stored object, read by name; a missing or malformed field throws with its name.
struct StoredFields {
    let object: [String: JSONValue]

    init(_ value: JSONValue, name: String) throws(StoredFormError) {
        guard let object = value.objectValue else { throw StoredFormError(field: name) }
        self.object = object
    }

    subscript(key: String) -> JSONValue? { object[key] }

    func text(_ key: String) throws(StoredFormError) -> String {
        guard let text = object[key]?.stringValue else { throw StoredFormError(field: key) }
        return text
    }

    /// A date kept as milliseconds since 1970.
    func date(_ key: String) throws(StoredFormError) -> Date {
        guard let date = object[key]?.dateFromMillis else { throw StoredFormError(field: key) }
        return date
    }

    /// A date kept as RFC 3339 text (the forms the API shows as they are stored).
    func timestamp(_ key: String) throws(StoredFormError) -> Date {
        guard let date = Timestamp.parse(try text(key)) else { throw StoredFormError(field: key) }
        return date
    }

    func labels(_ key: String) -> [String: String] {
        var labels: [String: String] = [:]
        for (name, item) in object[key]?.objectValue ?? [:] { labels[name] = item.stringValue }
        return labels
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
        let object = try StoredFields(value, name: "event")
        guard let kind = EventKind(rawValue: try object.text("kind")) else { throw StoredFormError(field: "kind") }
        guard let severity = Severity(rawValue: try object.text("severity")) else { throw StoredFormError(field: "severity") }
        guard let category = Category(rawValue: try object.text("category")) else { throw StoredFormError(field: "category") }
        let labels = object.labels("labels")
        var links: [Link] = []
        for item in object["links"]?.arrayValue ?? [] {
            guard let link = item.objectValue, let href = link["href"]?.stringValue else { throw StoredFormError(field: "links") }
            links.append(Link(href: href, text: link["text"]?.stringValue))
        }
        self.init(
            id: try object.text("id"),
            kind: kind,
            severity: severity,
            category: category,
            status: object["status"]?.stringValue.flatMap(AlertEventStatus.init(rawValue:)),
            labels: labels,
            summary: try object.text("summary"),
            description: object["description"]?.stringValue,
            details: object["details"],
            links: links,
            startsAt: try object.date("startsAt"),
            endsAt: object["endsAt"]?.dateFromMillis,
            receivedAt: try object.date("receivedAt"),
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
