import Foundation

/// The rules and the consensus detector a configuration enables.
public struct DetectorSettings: Sendable, Hashable {
    public var rules: [ThresholdRule]
    public var consensus: GossipConsensusRule?

    public init(rules: [ThresholdRule] = [], consensus: GossipConsensusRule? = nil) {
        self.rules = rules
        self.consensus = consensus
    }
}

/// Evaluates threshold rules per series and the gossip consensus detector. A pure state machine: time is passed in,
/// nothing is read from a clock, and alert events are returned only on transitions (open, severity change, resolve).
public struct DetectorEngine: Sendable {
    public private(set) var settings: DetectorSettings
    /// Per rule, the state of each series, keyed by the series' labels (hashing the labels is cheaper than building
    /// a text key for every sample; the text key is made only for an event's id). Internal, like `denominators` and
    /// `consensus`, for the stored form (`DetectorStoredForm.swift`).
    var states: [[[String: String]: SeriesState]]
    var denominators: [[[String: String]: (value: Double, at: Date)]]
    var consensus: GossipConsensusDetector?
    /// Per metric name, the rules it feeds (as the metric, numerator or denominator) and whether it is a denominator
    /// (applied first among samples of the same instant): a sample is offered only to its rules.
    private let routes: [String: (rules: [Int], isDenominator: Bool)]

    public init(settings: DetectorSettings) {
        self.settings = settings
        var routes: [String: (rules: [Int], isDenominator: Bool)] = [:]
        for (index, rule) in settings.rules.enumerated() {
            switch rule.expression {
            case .metric(let name):
                routes[name, default: ([], false)].rules.append(index)
            case .ratio(let numerator, let denominator):
                routes[numerator, default: ([], false)].rules.append(index)
                if denominator != numerator { routes[denominator, default: ([], false)].rules.append(index) }
                routes[denominator, default: ([], false)].isDenominator = true
            }
        }
        self.routes = routes
        states = Array(repeating: [:], count: settings.rules.count)
        denominators = Array(repeating: [:], count: settings.rules.count)
        consensus = settings.consensus.map { GossipConsensusDetector(rule: $0) }
    }

    public init(rules: [ThresholdRule], consensus: GossipConsensusRule? = nil) {
        self.init(settings: DetectorSettings(rules: rules, consensus: consensus))
    }

    /// Feeds samples (any order; they are applied in timestamp order, denominators first at equal times) and returns
    /// the transitions they cause. Samples with a NaN or infinite value are ignored, as are samples older than the
    /// latest one already applied to their series.
    public mutating func ingest(_ samples: [MetricSample], now: Date) -> [Event] {
        // One lookup per sample gives both its rules and its place in the order; a set lookup per comparison was
        // most of the sort's cost.
        var keyed: [(time: Date, denominatorFirst: Bool, offset: Int, rules: [Int])] = []
        keyed.reserveCapacity(samples.count)
        var forConsensus: [MetricSample] = []
        for (offset, sample) in samples.enumerated() where sample.value.isFinite {
            if let route = routes[sample.name] { keyed.append((sample.timestamp, route.isDenominator, offset, route.rules)) }
            if let consensus, sample.name == consensus.rule.viewMetric || sample.name == consensus.rule.failedMetric {
                forConsensus.append(sample)
            }
        }
        keyed.sort { lhs, rhs in
            if lhs.time != rhs.time { return lhs.time < rhs.time }
            if lhs.denominatorFirst != rhs.denominatorFirst { return lhs.denominatorFirst }
            return lhs.offset < rhs.offset
        }
        var events: [Event] = []
        for entry in keyed {
            for index in entry.rules {
                events += apply(samples[entry.offset], ruleIndex: index, now: now)
            }
        }
        if !forConsensus.isEmpty {
            // In time order, arrival order among equal times (Swift's sort is not stable by itself).
            let ordered = forConsensus.enumerated().sorted { lhs, rhs in
                lhs.element.timestamp != rhs.element.timestamp ? lhs.element.timestamp < rhs.element.timestamp : lhs.offset < rhs.offset
            }
            events += consensus?.ingest(ordered.map(\.element), now: now) ?? []
        }
        return events
    }

    /// Applies staleness (series with no sample for the rule's `staleness.after`) and re-evaluates the consensus
    /// detector at `now`. Call it regularly, e.g. every few seconds.
    public mutating func tick(now: Date) -> [Event] {
        var events: [Event] = []
        for index in settings.rules.indices {
            let rule = settings.rules[index]
            guard let staleness = rule.staleness else { continue }
            // In series-key order, so that the events of one tick come out the same on every run.
            for (_, labels) in states[index].keys.map({ (DetectorText.seriesKey($0), $0) }).sorted(by: { $0.0 < $1.0 }) {
                guard var state = states[index][labels], !state.stale, let last = state.lastSampleAt else { continue }
                guard now.hasHeld(since: last, for: staleness.after) else { continue }
                events += Self.goStale(rule: rule, state: &state, at: last.adding(staleness.after), now: now)
                states[index][labels] = state
            }
        }
        events += consensus?.tick(now: now) ?? []
        return events
    }

    // MARK: threshold rules

    struct SeriesState: Sendable {
        var labels: [String: String]
        var firing: Severity?
        var firingSince: Date?
        var warningSince: Date?
        var criticalSince: Date?
        var criticalClearSince: Date?
        var clearSince: Date?
        var lastSampleAt: Date?
        var lastValue: Double?
        var stale = false
        var noDataSince: Date?
    }

    private mutating func apply(_ sample: MetricSample, ruleIndex: Int, now: Date) -> [Event] {
        let rule = settings.rules[ruleIndex]
        let labels = rule.seriesLabels(of: sample.labels)
        let value: Double
        switch rule.expression {
        case .metric(let name):
            guard sample.name == name else { return [] }
            value = sample.value
        case .ratio(let numerator, let denominator):
            if sample.name == denominator {
                if let known = denominators[ruleIndex][labels], known.at > sample.timestamp { return [] }
                denominators[ruleIndex][labels] = (sample.value, sample.timestamp)
            }
            guard sample.name == numerator else { return [] }
            guard let divisor = denominators[ruleIndex][labels]?.value, divisor != 0 else { return [] }
            value = sample.value / divisor
            guard value.isFinite else { return [] }
        }
        // Evaluated in place: copying the state out and back cost two hash lookups and its labels' reference counts.
        return Self.evaluate(
            rule: rule,
            state: &states[ruleIndex][labels, default: SeriesState(labels: labels)],
            value: value,
            at: sample.timestamp,
            now: now
        )
    }

    private static func evaluate(rule: ThresholdRule, state: inout SeriesState, value: Double, at time: Date, now: Date) -> [Event] {
        if let last = state.lastSampleAt, time < last { return [] }
        var events: [Event] = []
        if let staleness = rule.staleness, let last = state.lastSampleAt, !state.stale, time.hasHeld(since: last, for: staleness.after) {
            events += goStale(rule: rule, state: &state, at: last.adding(staleness.after), now: now)
        }
        state.lastSampleAt = time
        state.lastValue = value
        if state.stale {
            state.stale = false
            if let since = state.noDataSince {
                state.noDataSince = nil
                events.append(noDataEvent(rule: rule, state: state, status: .resolved, startsAt: since, at: time, now: now))
            }
        }
        let comparator = rule.comparator
        let warningHolds = rule.warning.map { comparator.holds(value, $0) } ?? false
        let criticalHolds = rule.critical.map { comparator.holds(value, $0) } ?? false
        let cleared = rule.effectiveClearLevel.map { !comparator.holds(value, $0) } ?? true
        state.warningSince = warningHolds ? (state.warningSince ?? time) : nil
        state.criticalSince = criticalHolds ? (state.criticalSince ?? time) : nil
        state.criticalClearSince = criticalHolds ? nil : (state.criticalClearSince ?? time)
        state.clearSince = cleared ? (state.clearSince ?? time) : nil

        let target: Severity?
        if time.hasHeld(since: state.criticalSince, for: rule.forDuration) {
            target = .critical
        } else if time.hasHeld(since: state.warningSince, for: rule.forDuration) {
            target = .warning
        } else {
            target = nil
        }
        switch state.firing {
        case nil:
            if let target {
                state.firing = target
                state.firingSince = time
                events.append(alertEvent(rule: rule, state: state, status: .firing, transition: "open", at: time, now: now))
            }
        case let severity?:
            if time.hasHeld(since: state.clearSince, for: rule.clearFor) {
                events.append(alertEvent(rule: rule, state: state, status: .resolved, transition: "resolve", at: time, now: now))
                state.firing = nil
                state.firingSince = nil
            } else if severity == .warning, target == .critical {
                state.firing = .critical
                events.append(alertEvent(rule: rule, state: state, status: .firing, transition: "critical", at: time, now: now))
            } else if severity == .critical, rule.warning != nil, time.hasHeld(since: state.criticalClearSince, for: rule.clearFor) {
                state.firing = .warning
                events.append(alertEvent(rule: rule, state: state, status: .firing, transition: "warning", at: time, now: now))
            }
        }
        return events
    }

    private static func goStale(rule: ThresholdRule, state: inout SeriesState, at time: Date, now: Date) -> [Event] {
        guard let staleness = rule.staleness else { return [] }
        var events: [Event] = []
        if state.firing != nil {
            events.append(alertEvent(rule: rule, state: state, status: .resolved, transition: "stale", at: time, now: now))
        }
        state.firing = nil
        state.firingSince = nil
        state.warningSince = nil
        state.criticalSince = nil
        state.criticalClearSince = nil
        state.clearSince = nil
        state.stale = true
        if staleness.action == .noData {
            state.noDataSince = time
            events.append(noDataEvent(rule: rule, state: state, status: .firing, startsAt: time, at: time, now: now))
        }
        return events
    }

    private static func alertEvent(
        rule: ThresholdRule,
        state: SeriesState,
        status: AlertEventStatus,
        transition: String,
        at time: Date,
        now: Date
    ) -> Event {
        var labels = state.labels
        labels["alertname"] = rule.name
        labels["detector"] = "tocsin"
        let severity = state.firing ?? .warning
        let level = severity == .critical ? rule.critical : rule.warning
        let base = rule.summary.isEmpty ? rule.name : rule.summary
        let series = DetectorEngine.describe(state.labels)
        var summary = base + (series.isEmpty ? "" : " on \(series)")
        var details: [String: JSONValue] = ["rule": .string(rule.name), "transition": .string(transition)]
        if let value = state.lastValue {
            details["value"] = .number(value)
            if transition != "stale" { summary += " (value \(DetectorText.number(value)))" }
        }
        if let level {
            details["level"] = .number(level)
            details["comparator"] = .string(rule.comparator.rawValue)
        }
        if transition == "stale" { details["reason"] = .string("no samples for \(DurationParser.format(rule.staleness?.after ?? .zero))") }
        return Event(
            id: DetectorText.eventID(rule: rule.name, series: DetectorText.seriesKey(state.labels), transition: transition, at: time),
            kind: .alert,
            severity: severity,
            category: rule.category,
            status: status,
            labels: labels,
            summary: summary,
            description: rule.description.isEmpty ? nil : rule.description,
            details: .object(details),
            startsAt: state.firingSince ?? time,
            endsAt: status == .resolved ? time : nil,
            receivedAt: now,
            fingerprint: Fingerprint.of(labels: labels),
            source: .api
        )
    }

    private static func noDataEvent(
        rule: ThresholdRule,
        state: SeriesState,
        status: AlertEventStatus,
        startsAt: Date,
        at time: Date,
        now: Date
    ) -> Event {
        var labels = state.labels
        labels["alertname"] = rule.name
        labels["detector"] = "tocsin"
        labels["condition"] = "no_data"
        let series = DetectorEngine.describe(state.labels)
        let after = DurationParser.format(rule.staleness?.after ?? .zero)
        return Event(
            id: DetectorText.eventID(
                rule: rule.name,
                series: DetectorText.seriesKey(state.labels),
                transition: status == .firing ? "no_data" : "data",
                at: time
            ),
            kind: .alert,
            severity: .warning,
            category: rule.category,
            status: status,
            labels: labels,
            summary: "No data for \(rule.name)" + (series.isEmpty ? "" : " on \(series)")
                + ": no \(rule.expression.drivingMetric) sample for \(after)",
            description: "The metric stream stopped. Check that the node is up and that its metrics agent still reports "
                + "\(rule.expression.drivingMetric) to Tocsin.",
            details: .object(["rule": .string(rule.name), "metric": .string(rule.expression.drivingMetric)]),
            startsAt: startsAt,
            endsAt: status == .resolved ? time : nil,
            receivedAt: now,
            fingerprint: Fingerprint.of(labels: labels),
            source: .api
        )
    }

    static func describe(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }
}
