import Foundation

/// Hand-written stored forms of a group: every alert that opens or resolves rewrites its group's row, and
/// `JSONEncoder` cost as much as the rest of ingest (see `StoredForm.swift` for the same choice on events).
extension AlertGroup {
    public var storedForm: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "integration": .string(integration),
            "key": .string(key),
            "dedupKey": .string(dedupKey),
            "groupLabels": .object(groupLabels.mapValues(JSONValue.string)),
            "perAlert": .bool(perAlert),
            "members": .array(members.map(\.storedForm)),
            "createdAt": .millis(createdAt),
            "firstFlushAt": .millis(firstFlushAt),
            "notificationCount": .number(Double(notificationCount)),
        ]
        if let nextFlushAt { object["nextFlushAt"] = .millis(nextFlushAt) }
        if let lastNotifiedAt { object["lastNotifiedAt"] = .millis(lastNotifiedAt) }
        if let windowEndsAt { object["windowEndsAt"] = .millis(windowEndsAt) }
        return .object(object)
    }

    public init(storedForm value: JSONValue) throws(StoredFormError) {
        let object = try StoredFields(value, name: "group")
        var members: [GroupMember] = []
        for item in object["members"]?.arrayValue ?? [] { members.append(try GroupMember(storedForm: item)) }
        self.id = try object.text("id")
        self.integration = try object.text("integration")
        self.key = try object.text("key")
        self.dedupKey = try object.text("dedupKey")
        self.groupLabels = object.labels("groupLabels")
        self.perAlert = object["perAlert"] == .bool(true)
        self.members = members
        self.createdAt = try object.date("createdAt")
        self.firstFlushAt = try object.date("firstFlushAt")
        self.nextFlushAt = object["nextFlushAt"]?.dateFromMillis
        self.lastNotifiedAt = object["lastNotifiedAt"]?.dateFromMillis
        self.notificationCount = Int(object["notificationCount"]?.numberValue ?? 0)
        self.windowEndsAt = object["windowEndsAt"]?.dateFromMillis
    }
}

extension GroupMember {
    var storedForm: JSONValue {
        var object: [String: JSONValue] = [
            "fingerprint": .string(fingerprint),
            "openEvent": openEvent.storedForm,
            "firing": .bool(firing),
            "notifiedFiring": .bool(notifiedFiring),
            "changes": .array(changes.map(JSONValue.millis)),
            "flapping": .bool(flapping),
        ]
        if let resolveEvent { object["resolveEvent"] = resolveEvent.storedForm }
        if let notifiedSeverity { object["notifiedSeverity"] = .string(notifiedSeverity.rawValue) }
        if let acknowledgedSeverity { object["acknowledgedSeverity"] = .string(acknowledgedSeverity.rawValue) }
        if let acknowledgedBy { object["acknowledgedBy"] = .string(acknowledgedBy) }
        if let settlesAt { object["settlesAt"] = .millis(settlesAt) }
        switch suppression {
        case .silenced(let ids, let until)?:
            object["suppression"] = .object(["silencedBy": .array(ids.map(JSONValue.string)), "until": .millis(until)])
        case .inhibited(let source)?:
            object["suppression"] = .object(["inhibitedBy": .string(source)])
        case nil:
            break
        }
        return .object(object)
    }

    init(storedForm value: JSONValue) throws(StoredFormError) {
        guard let object = value.objectValue, let fingerprint = object["fingerprint"]?.stringValue, let open = object["openEvent"] else {
            throw StoredFormError(field: "members")
        }
        func severity(_ key: String) -> Severity? { object[key]?.stringValue.flatMap(Severity.init(rawValue:)) }
        var suppression: Suppression?
        if let stored = object["suppression"]?.objectValue {
            if let source = stored["inhibitedBy"]?.stringValue {
                suppression = .inhibited(by: source)
            } else if let until = stored["until"]?.dateFromMillis {
                suppression = .silenced(ids: (stored["silencedBy"]?.arrayValue ?? []).compactMap(\.stringValue), until: until)
            }
        }
        self.init(
            fingerprint: fingerprint,
            openEvent: try Event(storedForm: open),
            resolveEvent: try object["resolveEvent"].map { v throws(StoredFormError) in try Event(storedForm: v) },
            firing: object["firing"] == .bool(true),
            notifiedFiring: object["notifiedFiring"] == .bool(true),
            notifiedSeverity: severity("notifiedSeverity"),
            acknowledgedSeverity: severity("acknowledgedSeverity"),
            acknowledgedBy: object["acknowledgedBy"]?.stringValue,
            suppression: suppression,
            changes: (object["changes"]?.arrayValue ?? []).compactMap(\.dateFromMillis),
            flapping: object["flapping"] == .bool(true),
            settlesAt: object["settlesAt"]?.dateFromMillis
        )
    }
}
