import Foundation
import Testing

@testable import TocsinCore

/// An instant `seconds` after the suite's fixed epoch (`coreT0`); never the wall clock.
func noiseAt(_ seconds: Double) -> Date {
    coreT0.addingTimeInterval(seconds)
}

enum NoiseFixture {
    /// group_by alertname, group_wait 30s, group_interval 5m, repeat_interval 1h.
    static let grouped = GroupingPolicy(
        groupBy: .labels(["alertname"]),
        groupWait: .seconds(30),
        groupInterval: .seconds(300),
        repeatInterval: .seconds(3600)
    )

    /// When a group made at `coreT0` with `grouped` first flushes.
    static let firstFlush = noiseAt(30)

    /// A firing (or resolving) alert `DiskFull` on `node`, identified by its labels.
    static func alert(
        _ id: String,
        node: String,
        alertname: String = "DiskFull",
        severity: Severity = .warning,
        category: TocsinCore.Category = .metrics,
        resolved: Bool = false,
        extraLabels: [String: String] = [:],
        at instant: Date
    ) -> Event {
        var labels = ["alertname": alertname, "node": node]
        labels.merge(extraLabels) { _, new in new }
        return alertEvent(
            id: id,
            severity: severity,
            category: category,
            status: resolved ? .resolved : .firing,
            labels: labels,
            summary: "\(alertname) on \(node)",
            at: instant,
            endsAt: resolved ? instant : nil
        )
    }

    static func fingerprint(_ event: Event) -> String {
        event.fingerprint ?? Fingerprint.of(labels: event.labels)
    }

    static func matcher(_ text: String) -> LabelMatcher {
        do {
            return try LabelMatcher.parse(text)
        } catch {
            Issue.record("bad matcher in the test: \(text)")
            return try! LabelMatcher(name: "never", operation: .equal, value: "x")
        }
    }

    static func silence(
        _ id: String,
        _ matchers: [String],
        from start: Date,
        to end: Date,
        schedule: RecurringWindow? = nil
    ) -> Silence {
        Silence(
            id: id,
            matchers: matchers.map(matcher),
            startsAt: start,
            endsAt: end,
            schedule: schedule,
            createdBy: "ops",
            comment: "maintenance",
            createdAt: start,
            updatedAt: start
        )
    }
}

/// One group on one integration driven on simulated time the way the store and the flusher drive it: every event is
/// admitted at its `receivedAt`, and the group is looked at whenever its `nextFlushAt` has come.
struct GroupRun {
    var group: AlertGroup
    var policy: GroupingPolicy
    var flap: FlapDamping?
    var silences: [Silence] = []
    var rules: [InhibitRule] = []
    var sources: [(fingerprint: String, labels: [String: String])] = []
    /// Every notice told so far, with the instant of the look that told it.
    private(set) var notices: [(at: Date, notice: GroupNotice)] = []
    /// Every look taken, told or not.
    private(set) var looks: [Date] = []
    private(set) var clock: Date

    /// A group made for `first` (not yet admitted) on `integration`.
    init(for first: Event, policy: GroupingPolicy, flap: FlapDamping? = nil, integration: String = "chat") {
        let settings = NoiseSettings(grouping: policy)
        let identity = settings.groupIdentity(integration: integration, alert: first)
        self.group = AlertGroup(
            id: identity.base,
            integration: integration,
            key: identity.key,
            labels: identity.labels,
            policy: policy,
            now: first.receivedAt
        )
        self.policy = policy
        self.flap = flap
        self.clock = first.receivedAt
    }

    func judge(at now: Date) -> SuppressionJudge {
        SuppressionJudge(now: now, silences: silences, rules: rules, sources: sources)
    }

    /// Takes every look due up to and including `instant`.
    mutating func advance(to instant: Date) {
        var passes = 0
        while let due = group.nextFlushAt, due <= instant, passes < 50 {
            let now = max(due, clock)
            clock = now
            looks.append(now)
            if let notice = group.flush(now: now, policy: policy, judge: judge(at: now), flap: flap) {
                notices.append((now, notice))
            }
            passes += 1
            // A look that leaves the group due at once would be taken again by the next pass, not in this one.
            if let next = group.nextFlushAt, next <= now { break }
        }
        clock = max(clock, instant)
    }

    /// Admits the alert's change at its `receivedAt` (after the looks due by then), then takes any look due at once.
    /// A resolved event is a resolve unless `firing` says otherwise.
    mutating func send(_ event: Event, firing: Bool? = nil) {
        let firing = firing ?? (event.status != .resolved)
        // An empty group has nothing to look at: the store makes a group and admits its first alert at once.
        if group.isEmpty {
            clock = max(clock, event.receivedAt)
        } else {
            advance(to: event.receivedAt)
        }
        group.admit(event, firing: firing, now: event.receivedAt, policy: policy, flap: flap)
        advance(to: event.receivedAt)
    }

    var lastNotice: GroupNotice? { notices.last?.notice }
}

extension GroupNotice {
    var firingFingerprints: Set<String> { Set(firing.map(\.fingerprint)) }
    var resolvedFingerprints: Set<String> { Set(resolved.map(\.fingerprint)) }
}
