import Foundation

/// A silence: alerts whose labels match every matcher are recorded but not notified while it is active. Either a
/// fixed span (`startsAt` to `endsAt`) or a recurring maintenance window (`schedule`, active within the span).
public struct Silence: Sendable, Hashable {
    public var id: String
    public var matchers: [LabelMatcher]
    public var startsAt: Date
    /// When the silence stops for good; expiring a silence sets it to now.
    public var endsAt: Date
    /// A maintenance window that opens at each occurrence of a cron schedule (UTC) for a duration.
    public var schedule: RecurringWindow?
    public var createdBy: String
    public var comment: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String,
        matchers: [LabelMatcher],
        startsAt: Date,
        endsAt: Date,
        schedule: RecurringWindow? = nil,
        createdBy: String,
        comment: String,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.schedule = schedule
        self.createdBy = createdBy
        self.comment = comment
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public enum State: String, Sendable {
        /// Its span has not begun, or (recurring) its window is closed now.
        case pending
        case active
        case expired
    }

    public func state(at now: Date) -> State {
        if now >= endsAt { return .expired }
        if now < startsAt { return .pending }
        guard let schedule else { return .active }
        return schedule.window(containing: now) == nil ? .pending : .active
    }

    /// While active: when it stops muting (the window's end, or the silence's end, whichever is first).
    public func activeUntil(_ now: Date) -> Date? {
        guard state(at: now) == .active else { return nil }
        guard let window = schedule?.window(containing: now) else { return endsAt }
        return min(window.end, endsAt)
    }

    public func matches(_ labels: [String: String]) -> Bool {
        LabelMatcher.all(matchers, match: labels)
    }
}

/// Why an alert is not notified right now.
public enum Suppression: Sendable, Hashable {
    /// Muted by these silences until `until` (the earliest end of their current activity).
    case silenced(ids: [String], until: Date)
    /// Muted by an open alert matching an inhibit rule's source.
    case inhibited(by: String)
}

/// Judges, at one instant, whether an alert is muted by a silence or inhibited by another open alert.
public struct SuppressionJudge: Sendable {
    public var now: Date
    public var silences: [Silence]
    public var rules: [InhibitRule]
    /// Open alerts that match some rule's source matchers: fingerprint and labels.
    public var sources: [(fingerprint: String, labels: [String: String])]

    public init(now: Date, silences: [Silence], rules: [InhibitRule], sources: [(fingerprint: String, labels: [String: String])]) {
        self.now = now
        self.silences = silences
        self.rules = rules
        self.sources = sources
    }

    /// A judge that mutes nothing.
    public static func none(now: Date) -> SuppressionJudge {
        SuppressionJudge(now: now, silences: [], rules: [], sources: [])
    }

    public func suppression(fingerprint: String, labels: [String: String]) -> Suppression? {
        var ids: [String] = []
        var until: Date?
        for silence in silences where silence.matches(labels) {
            guard let end = silence.activeUntil(now) else { continue }
            ids.append(silence.id)
            until = until.map { min($0, end) } ?? end
        }
        if let until { return .silenced(ids: ids, until: until) }
        for rule in rules {
            guard LabelMatcher.all(rule.targetMatchers, match: labels) else { continue }
            // As in Alertmanager: an alert on both sides of a rule is not inhibited by alerts also on both sides,
            // or two such alerts would mute each other and neither would ever be told.
            let onBothSides = LabelMatcher.all(rule.sourceMatchers, match: labels)
            for source in sources where source.fingerprint != fingerprint && rule.inhibits(target: labels, source: source.labels) {
                if onBothSides && LabelMatcher.all(rule.targetMatchers, match: source.labels) { continue }
                return .inhibited(by: source.fingerprint)
            }
        }
        return nil
    }

    /// Whether an open alert with these labels can inhibit others (so it must be loaded when judging).
    public static func isSource(_ labels: [String: String], rules: [InhibitRule]) -> Bool {
        rules.contains { LabelMatcher.all($0.sourceMatchers, match: labels) }
    }
}

extension Silence {
    /// The stored and public JSON form: matchers as text, dates as RFC 3339, a schedule as cron text and seconds.
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "matchers": .array(matchers.map { .string($0.description) }),
            "starts_at": .string(Timestamp.format(startsAt)),
            "ends_at": .string(Timestamp.format(endsAt)),
            "created_by": .string(createdBy),
            "comment": .string(comment),
            "created_at": .string(Timestamp.format(createdAt)),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ]
        if let schedule {
            object["schedule"] = .object([
                "cron": .string(schedule.schedule.expression),
                "duration": .string(DurationParser.format(schedule.duration)),
            ])
        }
        return .object(object)
    }

    /// Reads the form `jsonValue` writes (what the store keeps).
    public init(stored value: JSONValue) throws(StoredFormError) {
        let object = try StoredFields(value, name: "silence")
        var matchers: [LabelMatcher] = []
        for item in object["matchers"]?.arrayValue ?? [] {
            guard let text = item.stringValue, let matcher = try? LabelMatcher.parse(text) else { throw StoredFormError(field: "matchers") }
            matchers.append(matcher)
        }
        var schedule: RecurringWindow?
        if let window = object["schedule"]?.objectValue {
            guard let cron = window["cron"]?.stringValue, let parsed = try? CronSchedule(parsing: cron),
                let duration = window["duration"]?.stringValue.flatMap(DurationParser.parse)
            else { throw StoredFormError(field: "schedule") }
            schedule = RecurringWindow(schedule: parsed, duration: duration)
        }
        self.init(
            id: try object.text("id"),
            matchers: matchers,
            startsAt: try object.timestamp("starts_at"),
            endsAt: try object.timestamp("ends_at"),
            schedule: schedule,
            createdBy: try object.text("created_by"),
            comment: try object.text("comment"),
            createdAt: try object.timestamp("created_at"),
            updatedAt: try object.timestamp("updated_at")
        )
    }
}
