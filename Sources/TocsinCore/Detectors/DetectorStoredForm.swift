import Foundation

/// The detector engine's state as a stored form, so that instances sharing a store judge every series together: the
/// state of each rule's series, the denominators of ratio rules, and the consensus detector's clusters. The rules
/// themselves are not stored (they come from configuration); state is keyed by rule name — unique in configuration,
/// and the `alertname` of the rule's alerts, so a rule's state stays with the alerts it describes. Written by hand,
/// like the other stored forms (`StoredForm.swift`), because it is written after every run of the engine.
///
/// Shape (version 1):
///
/// ```
/// {"version": 1,
///  "rules": {"<rule name>": {
///     "series": {"fields": ["labels", "lastSampleAt", "lastValue", "clearSince", "criticalClearSince", "warningSince",
///                           "criticalSince", "firing", "firingSince", "stale", "noDataSince"],
///                "rows": [[{"node": "n1"}, t, 85, t, t], …]},
///     "denominators": {"metric": "<denominator metric>", "fields": ["labels", "value", "at"], "rows": [[{…}, 4, t], …]}}},
///  "consensus": {"rule": "<rule name>", "clusters": {"<cluster>": {
///     "nodes": {"<node>": {"view": "…", "viewAt": t, "failed": true, "failedAt": t}},
///     "badSince": t, "goodSince": t, "openedAt": t}}}}
/// ```
///
/// A series is one row under the table's `fields` (thousands of series: no keys repeated in each), null where the
/// state has no value and without its trailing nulls; `stale` and `failed` are `true` or absent. Rules without
/// state, and empty tables, are left out. Rows are in the order of their labels and `JSONWriter` sorts object keys,
/// so one state is always the same text.
///
/// A time `t` is milliseconds since 1970, as in the other stored forms, when that reads back as the very same `Date`
/// (so it is for sample times in milliseconds or whole seconds, and what the engine derives from them); any other
/// time is a string of `Date`'s own number, seconds since 2001-01-01 (`timeIntervalSinceReferenceDate`), which reads
/// back exactly. The engine compares times exactly — a `for` held to the very sample, a sample no older than the last
/// one applied — so a restored state must give back the very same times.
extension DetectorEngine {
    /// The version of `storedForm`; a stored form of another version is refused.
    public static let storedFormVersion = 1

    /// The engine's whole mutable state (see the shape above).
    public var storedForm: JSONValue {
        var rules: [String: JSONValue] = [:]
        var named: Set<String> = []
        // Names are unique in configuration; should two rules share one, the first is the one stored and restored.
        for (index, rule) in settings.rules.enumerated() where named.insert(rule.name).inserted {
            var object: [String: JSONValue] = [:]
            if !states[index].isEmpty {
                object["series"] = .object(Self.table(SeriesColumn.self, states[index].map { ($0.key, $0.value.row) }))
            }
            if case .ratio(_, let denominator) = rule.expression, !denominators[index].isEmpty {
                var table = Self.table(
                    DenominatorColumn.self,
                    denominators[index].map { labels, known in (labels, [.labels(labels), .number(known.value), .time(known.at)]) }
                )
                table["metric"] = .string(denominator)
                object["denominators"] = .object(table)
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
    /// longer configured is dropped (and not read). Series state is kept when a rule's levels or expression changed
    /// (its alerts are the same alerts: rule name and series labels); a ratio rule's denominators only while its
    /// denominator metric is the same. The consensus state is kept when the consensus rule has the same name.
    ///
    /// Throws when `stored` cannot be read, naming the path of the field at fault
    /// (`rules.Disk.series.rows[3].clearSince`); the engine is then left as it was.
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
                if let table = fields["series"] {
                    try reading("series") { () throws(StoredFormError) in
                        let rows = try Self.rows(of: table, SeriesColumn.self)
                        states[index].reserveCapacity(rows.count)
                        for (offset, item) in rows.enumerated() {
                            let state = try reading("rows[\(offset)]") { () throws(StoredFormError) in try SeriesState(row: item) }
                            guard states[index].updateValue(state, forKey: state.labels) == nil else {
                                throw StoredFormError(field: "rows[\(offset)].labels")
                            }
                        }
                    }
                }
                guard let table = fields["denominators"] else { return }
                try reading("denominators") { () throws(StoredFormError) in
                    let metric = try StoredFields(table, name: "").text("metric")
                    let rows = try Self.rows(of: table, DenominatorColumn.self)
                    guard case .ratio(_, let denominator) = rule.expression, denominator == metric else { return }
                    denominators[index].reserveCapacity(rows.count)
                    for (offset, item) in rows.enumerated() {
                        try reading("rows[\(offset)]") { () throws(StoredFormError) in
                            let row = try Row<DenominatorColumn>(item)
                            let labels = try row.labels(.labels)
                            guard let value = try row.number(.value) else { throw StoredFormError(field: "value") }
                            guard let at = try row.time(.at) else { throw StoredFormError(field: "at") }
                            guard denominators[index].updateValue((value, at), forKey: labels) == nil else {
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
                for (name, item) in try fields.optional("clusters", \.objectValue) ?? [:] {
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

    /// A table: its column names and its rows in the order of their labels, so that one state is always written the
    /// same.
    private static func table<Column: TableColumn>(_: Column.Type, _ rows: [([String: String], [JSONValue])]) -> [String: JSONValue] {
        var keyed = rows.map { (key: orderKey($0.0), row: $0.1) }
        keyed.sort { lhs, rhs in
            lhs.key.withUnsafeBytes { left in
                rhs.key.withUnsafeBytes { right in
                    let common = min(left.count, right.count)
                    let order = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                    return order != 0 ? order < 0 : left.count < right.count
                }
            }
        }
        return ["fields": Column.header, "rows": .array(keyed.map { .array($0.row) })]
    }

    /// What orders the rows: each label's name and value, length first, in name order — distinct for distinct labels,
    /// and compared as bytes (a text key such as `DetectorText.seriesKey` cost a third of writing the state).
    private static func orderKey(_ labels: [String: String]) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(64)
        func append(_ text: String) {
            let count = text.utf8.count
            for shift in [24, 16, 8, 0] { key.append(UInt8(truncatingIfNeeded: count >> shift)) }
            key.append(contentsOf: text.utf8)
        }
        for (name, value) in labels.sorted(by: { $0.key < $1.key }) {
            append(name)
            append(value)
        }
        return key
    }

    /// The rows of a stored table whose columns must be `Column`'s.
    private static func rows<Column: TableColumn>(of table: JSONValue, _: Column.Type) throws(StoredFormError) -> [JSONValue] {
        let fields = try StoredFields(table, name: "")
        guard fields["fields"] == Column.header else { throw StoredFormError(field: "fields") }
        return try fields.optional("rows", \.arrayValue) ?? []
    }
}

/// The columns of a table of series, in order; a column's name is its case's.
private protocol TableColumn: RawRepresentable<Int>, CaseIterable {}

extension TableColumn {
    static var header: JSONValue { .array(allCases.map { .string("\($0)") }) }
}

private enum SeriesColumn: Int, TableColumn {
    // The columns most series have come first, so that rows end early.
    case labels, lastSampleAt, lastValue, clearSince, criticalClearSince, warningSince, criticalSince, firing, firingSince, stale, noDataSince
}

private enum DenominatorColumn: Int, TableColumn {
    case labels, value, at
}

/// One stored row, read by column; a missing or null cell is nil, and a malformed one throws with its column's name.
private struct Row<Column: TableColumn> {
    let cells: [JSONValue]

    init(_ value: JSONValue) throws(StoredFormError) {
        guard let cells = value.arrayValue, cells.count <= Column.allCases.count else { throw StoredFormError(field: "") }
        self.cells = cells
    }

    func cell(_ column: Column) -> JSONValue? {
        guard column.rawValue < cells.count else { return nil }
        if case .null = cells[column.rawValue] { return nil }
        return cells[column.rawValue]
    }

    func read<T>(_ column: Column, _ read: (JSONValue) -> T?) throws(StoredFormError) -> T? {
        guard let cell = cell(column) else { return nil }
        guard let value = read(cell) else { throw StoredFormError(field: "\(column)") }
        return value
    }

    func time(_ column: Column) throws(StoredFormError) -> Date? { try read(column, \.detectorTime) }

    func number(_ column: Column) throws(StoredFormError) -> Double? { try read(column, \.numberValue) }

    func labels(_ column: Column) throws(StoredFormError) -> [String: String] {
        guard let object = cell(column)?.objectValue else { throw StoredFormError(field: "\(column)") }
        var labels = [String: String](minimumCapacity: object.count)
        for (name, value) in object {
            guard let text = value.stringValue else { throw StoredFormError(field: "\(column).\(name)") }
            labels[name] = text
        }
        return labels
    }
}

extension DetectorEngine.SeriesState {
    fileprivate var row: [JSONValue] {
        var row = SeriesColumn.allCases.map { column -> JSONValue in
            switch column {
            case .labels: .labels(labels)
            case .lastSampleAt: lastSampleAt.map(JSONValue.time) ?? .null
            case .lastValue: lastValue.map(JSONValue.number) ?? .null
            case .clearSince: clearSince.map(JSONValue.time) ?? .null
            case .criticalClearSince: criticalClearSince.map(JSONValue.time) ?? .null
            case .warningSince: warningSince.map(JSONValue.time) ?? .null
            case .criticalSince: criticalSince.map(JSONValue.time) ?? .null
            case .firing: firing.map { .string($0.rawValue) } ?? .null
            case .firingSince: firingSince.map(JSONValue.time) ?? .null
            case .stale: stale ? .bool(true) : .null
            case .noDataSince: noDataSince.map(JSONValue.time) ?? .null
            }
        }
        while case .null? = row.last { row.removeLast() }
        return row
    }

    fileprivate init(row value: JSONValue) throws(StoredFormError) {
        let row = try Row<SeriesColumn>(value)
        self.init(labels: try row.labels(.labels))
        lastSampleAt = try row.time(.lastSampleAt)
        lastValue = try row.number(.lastValue)
        clearSince = try row.time(.clearSince)
        criticalClearSince = try row.time(.criticalClearSince)
        warningSince = try row.time(.warningSince)
        criticalSince = try row.time(.criticalSince)
        firing = try row.read(.firing) { cell in
            cell.stringValue.flatMap(Severity.init(rawValue:)).flatMap { $0 == .warning || $0 == .critical ? $0 : nil }
        }
        firingSince = try row.time(.firingSince)
        stale = try row.read(.stale) { $0 == .bool(true) ? true : nil } ?? false
        noDataSince = try row.time(.noDataSince)
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
        badSince = try fields.optional("badSince", \.detectorTime)
        goodSince = try fields.optional("goodSince", \.detectorTime)
        openedAt = try fields.optional("openedAt", \.detectorTime)
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
            viewAt: try fields.optional("viewAt", \.detectorTime),
            failed: try fields.optional("failed") { $0 == .bool(true) ? true : nil } ?? false,
            failedAt: try fields.optional("failedAt", \.detectorTime)
        )
    }
}

extension JSONValue {
    /// A time of the detector state: milliseconds since 1970 when they read back as the same `Date`, else `Date`'s
    /// own number (seconds since 2001) as text, which does.
    fileprivate static func time(_ date: Date) -> JSONValue {
        let millis = JSONValue.millis(date)
        if millis.dateFromMillis == date { return millis }
        return .string("\(date.timeIntervalSinceReferenceDate)")
    }

    /// What `time(_:)` wrote.
    fileprivate var detectorTime: Date? {
        switch self {
        case .number: return dateFromMillis
        case .string(let text):
            guard let seconds = Double(text), seconds.isFinite else { return nil }
            return Date(timeIntervalSinceReferenceDate: seconds)
        default: return nil
        }
    }

    fileprivate static func labels(_ labels: [String: String]) -> JSONValue { .object(labels.mapValues(JSONValue.string)) }

}

extension StoredFields {
    /// The field `key` read by `read`; nil when absent (or null), and an error naming `key` when `read` refuses it.
    fileprivate func optional<T>(_ key: String, _ read: (JSONValue) -> T?) throws(StoredFormError) -> T? {
        guard let value = object[key], value != .null else { return nil }
        guard let result = read(value) else { throw StoredFormError(field: key) }
        return result
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
