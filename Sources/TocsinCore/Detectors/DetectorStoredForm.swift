import Foundation

/// The detector engine's state as a stored form, so that instances sharing a store judge every series together: the
/// state of each rule's series, the denominators of ratio rules, and the consensus detector's clusters. The rules
/// themselves are not stored (they come from configuration); state is keyed by rule name — unique in configuration,
/// and the `alertname` of the rule's alerts, so a rule's state stays with the alerts it describes. Written by hand,
/// like the other stored forms (`StoredForm.swift`), because it is written after every run of the engine.
///
/// Shape (version 1; a field that is nil, false or empty is left out):
///
/// ```
/// {"version": 1,
///  "rules": {"<rule name>": {
///     "series": [{"labels": {…}, "firing": "warning"|"critical", "firingSince": t, "warningSince": t,
///                 "criticalSince": t, "criticalClearSince": t, "clearSince": t, "lastSampleAt": t,
///                 "lastValue": v, "stale": true, "noDataSince": t}, …],
///     "denominators": {"metric": "<denominator metric>", "series": [{"labels": {…}, "value": v, "at": t}, …]}}},
///  "consensus": {"rule": "<rule name>", "clusters": {"<cluster>": {
///     "nodes": {"<node>": {"view": "…", "viewAt": t, "failed": true, "failedAt": t}},
///     "badSince": t, "goodSince": t, "openedAt": t}}}}
/// ```
///
/// Series are in series-key order and `JSONWriter` sorts object keys, so one state is always the same text. Times `t`
/// are the number `Date` itself holds — seconds since 2001-01-01T00:00:00Z (`timeIntervalSinceReferenceDate`) — not the
/// milliseconds since 1970 of the other stored forms: the engine compares times exactly (a `for` held to the very
/// sample, a sample no older than the last one applied), so a restored state must give back the very same times,
/// and milliseconds since 1970 cannot hold every `Date`.
extension DetectorEngine {
    /// The version of `storedForm`; a stored form of another version is refused.
    public static let storedFormVersion = 1

    /// The engine's whole mutable state (see the shape above). Rules without state are left out.
    public var storedForm: JSONValue {
        var rules: [String: JSONValue] = [:]
        var named: Set<String> = []
        // Names are unique in configuration; should two rules share one, the first is the one stored and restored.
        for (index, rule) in settings.rules.enumerated() where named.insert(rule.name).inserted {
            var object: [String: JSONValue] = [:]
            if !states[index].isEmpty {
                object["series"] = Self.inSeriesOrder(states[index].map { labels, state in (labels, state.storedForm) })
            }
            if case .ratio(_, let denominator) = rule.expression, !denominators[index].isEmpty {
                object["denominators"] = .object([
                    "metric": .string(denominator),
                    "series": Self.inSeriesOrder(
                        denominators[index].map { labels, known in
                            (labels, .object(["labels": .labels(labels), "value": .number(known.value), "at": .time(known.at)]))
                        }
                    ),
                ])
            }
            if !object.isEmpty { rules[rule.name] = .object(object) }
        }
        var object: [String: JSONValue] = ["version": .number(Double(Self.storedFormVersion)), "rules": .object(rules)]
        if let consensus, !consensus.clusters.isEmpty { object["consensus"] = consensus.storedForm }
        return .object(object)
    }

    /// An engine for `settings` with the state `stored` (see `restore(from:)`).
    public init(settings: DetectorSettings, restoring stored: JSONValue) throws(StoredFormError) {
        self.init(settings: settings)
        try restore(from: stored)
    }

    /// Replaces the engine's state with `stored` (a `storedForm`, possibly written under another configuration): each
    /// configured rule takes the state stored under its name, a rule with none starts afresh, and state of rules no
    /// longer configured is dropped. Series state is kept when a rule's levels or expression changed (its alerts are
    /// the same alerts: rule name and series labels); a ratio rule's denominators only when its denominator metric
    /// is the same. The consensus state is kept when the consensus rule has the same name.
    ///
    /// Throws when `stored` cannot be read, naming the path of the field at fault (`rules.Disk.series[3].clearSince`);
    /// the engine is then left as it was.
    public mutating func restore(from stored: JSONValue) throws(StoredFormError) {
        let object = try StoredFields(stored, name: "detectorState")
        guard object["version"]?.numberValue == Double(Self.storedFormVersion) else { throw StoredFormError(field: "version") }
        let storedRules = try object.optional("rules", \.objectValue) ?? [:]
        var states = Array(repeating: [[String: String]: SeriesState](), count: settings.rules.count)
        var denominators = Array(repeating: [[String: String]: (value: Double, at: Date)](), count: settings.rules.count)
        var named: Set<String> = []
        for (index, rule) in settings.rules.enumerated() where named.insert(rule.name).inserted {
            guard let value = storedRules[rule.name] else { continue }
            try reading("rules.\(rule.name)") { () throws(StoredFormError) in
                let fields = try StoredFields(value, name: "")
                for (offset, item) in (try fields.optional("series", \.arrayValue) ?? []).enumerated() {
                    let state = try reading("series[\(offset)]") { () throws(StoredFormError) in try SeriesState(storedForm: item) }
                    guard states[index].updateValue(state, forKey: state.labels) == nil else {
                        throw StoredFormError(field: "series[\(offset)].labels")
                    }
                }
                guard let stored = fields["denominators"] else { return }
                try reading("denominators") { () throws(StoredFormError) in
                    let known = try StoredFields(stored, name: "")
                    let metric = try known.text("metric")
                    let items = try known.optional("series", \.arrayValue) ?? []
                    guard case .ratio(_, let denominator) = rule.expression, denominator == metric else { return }
                    for (offset, item) in items.enumerated() {
                        try reading("series[\(offset)]") { () throws(StoredFormError) in
                            let fields = try StoredFields(item, name: "")
                            let labels = try fields.labels(strict: "labels")
                            let entry = (value: try fields.number("value"), at: try fields.time("at"))
                            guard denominators[index].updateValue(entry, forKey: labels) == nil else {
                                throw StoredFormError(field: "labels")
                            }
                        }
                    }
                }
            }
        }
        var consensus = settings.consensus.map { GossipConsensusDetector(rule: $0) }
        if let stored = object["consensus"] {
            try reading("consensus") { () throws(StoredFormError) in
                let fields = try StoredFields(stored, name: "")
                guard try fields.text("rule") == consensus?.rule.name else { return }
                let clusters = try fields.optional("clusters", \.objectValue) ?? [:]
                for (name, item) in clusters {
                    consensus?.clusters[name] = try reading("clusters.\(name)") { () throws(StoredFormError) in
                        try GossipConsensusDetector.ClusterState(storedForm: item)
                    }
                }
            }
        }
        self.states = states
        self.denominators = denominators
        self.consensus = consensus
    }

    /// The stored forms of series in series-key order, so that one state is always written the same.
    private static func inSeriesOrder(_ items: [([String: String], JSONValue)]) -> JSONValue {
        .array(items.map { (DetectorText.seriesKey($0.0), $0.1) }.sorted { $0.0 < $1.0 }.map(\.1))
    }
}

extension DetectorEngine.SeriesState {
    var storedForm: JSONValue {
        var object = [String: JSONValue](minimumCapacity: 12)
        object["labels"] = .labels(labels)
        if let firing { object["firing"] = .string(firing.rawValue) }
        if let firingSince { object["firingSince"] = .time(firingSince) }
        if let warningSince { object["warningSince"] = .time(warningSince) }
        if let criticalSince { object["criticalSince"] = .time(criticalSince) }
        if let criticalClearSince { object["criticalClearSince"] = .time(criticalClearSince) }
        if let clearSince { object["clearSince"] = .time(clearSince) }
        if let lastSampleAt { object["lastSampleAt"] = .time(lastSampleAt) }
        if let lastValue { object["lastValue"] = .number(lastValue) }
        if stale { object["stale"] = .bool(true) }
        if let noDataSince { object["noDataSince"] = .time(noDataSince) }
        return .object(object)
    }

    init(storedForm value: JSONValue) throws(StoredFormError) {
        let fields = try StoredFields(value, name: "")
        self.init(labels: try fields.labels(strict: "labels"))
        if let firing = try fields.optional("firing", \.stringValue) {
            guard let severity = Severity(rawValue: firing), severity == .warning || severity == .critical else {
                throw StoredFormError(field: "firing")
            }
            self.firing = severity
        }
        firingSince = try fields.optionalTime("firingSince")
        warningSince = try fields.optionalTime("warningSince")
        criticalSince = try fields.optionalTime("criticalSince")
        criticalClearSince = try fields.optionalTime("criticalClearSince")
        clearSince = try fields.optionalTime("clearSince")
        lastSampleAt = try fields.optionalTime("lastSampleAt")
        lastValue = try fields.optional("lastValue", \.numberValue)
        stale = try fields.flag("stale")
        noDataSince = try fields.optionalTime("noDataSince")
    }
}

extension GossipConsensusDetector {
    var storedForm: JSONValue {
        .object(["rule": .string(rule.name), "clusters": .object(clusters.mapValues(\.storedForm))])
    }
}

extension GossipConsensusDetector.ClusterState {
    var storedForm: JSONValue {
        var object: [String: JSONValue] = ["nodes": .object(nodes.mapValues(\.storedForm))]
        if let badSince { object["badSince"] = .time(badSince) }
        if let goodSince { object["goodSince"] = .time(goodSince) }
        if let openedAt { object["openedAt"] = .time(openedAt) }
        return .object(object)
    }

    init(storedForm value: JSONValue) throws(StoredFormError) {
        let fields = try StoredFields(value, name: "")
        self.init()
        for (node, item) in try fields.optional("nodes", \.objectValue) ?? [:] {
            nodes[node] = try reading("nodes.\(node)") { () throws(StoredFormError) in
                try GossipConsensusDetector.NodeReport(storedForm: item)
            }
        }
        badSince = try fields.optionalTime("badSince")
        goodSince = try fields.optionalTime("goodSince")
        openedAt = try fields.optionalTime("openedAt")
    }
}

extension GossipConsensusDetector.NodeReport {
    var storedForm: JSONValue {
        var object: [String: JSONValue] = [:]
        if let view { object["view"] = .string(view) }
        if let viewAt { object["viewAt"] = .time(viewAt) }
        if failed { object["failed"] = .bool(true) }
        if let failedAt { object["failedAt"] = .time(failedAt) }
        return .object(object)
    }

    init(storedForm value: JSONValue) throws(StoredFormError) {
        let fields = try StoredFields(value, name: "")
        self.init(
            view: try fields.optional("view", \.stringValue),
            viewAt: try fields.optionalTime("viewAt"),
            failed: try fields.flag("failed"),
            failedAt: try fields.optionalTime("failedAt")
        )
    }
}

extension JSONValue {
    /// A time in the detector state: `Date`'s own number, so that it reads back exactly.
    fileprivate static func time(_ date: Date) -> JSONValue { .number(date.timeIntervalSinceReferenceDate) }

    fileprivate static func labels(_ labels: [String: String]) -> JSONValue { .object(labels.mapValues(JSONValue.string)) }
}

extension StoredFields {
    /// The field `key` read by `read`; nil when absent (or null), and an error naming `key` when `read` refuses it.
    fileprivate func optional<T>(_ key: String, _ read: (JSONValue) -> T?) throws(StoredFormError) -> T? {
        guard let value = object[key], value != .null else { return nil }
        guard let result = read(value) else { throw StoredFormError(field: key) }
        return result
    }

    fileprivate func number(_ key: String) throws(StoredFormError) -> Double {
        guard let number = object[key]?.numberValue else { throw StoredFormError(field: key) }
        return number
    }

    fileprivate func time(_ key: String) throws(StoredFormError) -> Date {
        Date(timeIntervalSinceReferenceDate: try number(key))
    }

    fileprivate func optionalTime(_ key: String) throws(StoredFormError) -> Date? {
        try optional(key, \.numberValue).map(Date.init(timeIntervalSinceReferenceDate:))
    }

    /// A flag kept only when true: absent is false.
    fileprivate func flag(_ key: String) throws(StoredFormError) -> Bool {
        try optional(key) { value -> Bool? in
            if case .bool(let flag) = value { return flag }
            return nil
        } ?? false
    }

    /// Labels that must all be text (unlike `labels(_:)`, which skips what is not).
    fileprivate func labels(strict key: String) throws(StoredFormError) -> [String: String] {
        guard let object = object[key]?.objectValue else { throw StoredFormError(field: key) }
        var labels = [String: String](minimumCapacity: object.count)
        for (name, value) in object {
            guard let text = value.stringValue else { throw StoredFormError(field: "\(key).\(name)") }
            labels[name] = text
        }
        return labels
    }
}

/// Runs `read`, naming in the error it throws the field's whole path: `path` before the field it names.
private func reading<T>(_ path: @autoclosure () -> String, _ read: () throws(StoredFormError) -> T) throws(StoredFormError) -> T {
    do {
        return try read()
    } catch {
        throw StoredFormError(field: error.field.isEmpty ? path() : path() + "." + error.field)
    }
}
