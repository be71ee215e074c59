import Foundation

/// How the alerts of a route become notifications: Alertmanager's grouping timers, and PagerDuty's time window.
public struct GroupingPolicy: Sendable, Hashable {
    /// Which labels make two alerts one group.
    public enum GroupBy: Sendable, Hashable {
        /// `...`: every label, so every alert is its own group (no grouping).
        case everyLabel
        /// These labels' values; an empty list puts every alert of the route in one group.
        case labels([String])
    }

    public var groupBy: GroupBy
    /// How long a new group waits for more alerts before its first notification.
    public var groupWait: Duration
    /// How long a notified group waits before telling of changes (new, resolved or escalated alerts).
    public var groupInterval: Duration
    /// How often a group whose alerts still fire, unchanged and not acknowledged, is notified again.
    public var repeatInterval: Duration
    /// Time-window grouping: a group takes new alerts for this long after it opened; later ones start a new incident.
    public var window: Duration?

    public init(groupBy: GroupBy, groupWait: Duration, groupInterval: Duration, repeatInterval: Duration, window: Duration? = nil) {
        self.groupBy = groupBy
        self.groupWait = groupWait
        self.groupInterval = groupInterval
        self.repeatInterval = repeatInterval
        self.window = window
    }

    /// Every alert on its own, told at once; repeated every 3 hours while it fires (AxonOps' notification interval).
    public static let ungrouped = GroupingPolicy(groupBy: .everyLabel, groupWait: .zero, groupInterval: .zero, repeatInterval: .seconds(3 * 3600))

    /// Whether a group holds one alert by construction: then its notifications are the alert's own.
    public var isPerAlert: Bool { groupBy == .everyLabel && window == nil }
}

/// Flap damping: an alert that changes state more than `maxChanges` times within `window` is held as firing
/// (notified once) until it has not changed for `settle`, and then told as it is.
public struct FlapDamping: Sendable, Hashable {
    public var window: Duration
    public var maxChanges: Int
    public var settle: Duration

    public init(window: Duration, maxChanges: Int, settle: Duration) {
        self.window = window
        self.maxChanges = maxChanges
        self.settle = settle
    }
}

/// Alertmanager's inhibition: while an open alert matches `sourceMatchers`, alerts matching `targetMatchers` that
/// share its values of every `equal` label are not notified (for example: a cluster-down alert mutes its node alerts).
public struct InhibitRule: Sendable, Hashable {
    public var sourceMatchers: [LabelMatcher]
    public var targetMatchers: [LabelMatcher]
    public var equal: [String]

    public init(sourceMatchers: [LabelMatcher], targetMatchers: [LabelMatcher], equal: [String]) {
        self.sourceMatchers = sourceMatchers
        self.targetMatchers = targetMatchers
        self.equal = equal
    }

    /// Whether `source` (an open alert's labels) inhibits `target`. An alert never inhibits itself.
    public func inhibits(target: [String: String], source: [String: String]) -> Bool {
        guard LabelMatcher.all(targetMatchers, match: target), LabelMatcher.all(sourceMatchers, match: source) else { return false }
        guard source != target else { return false }
        return equal.allSatisfy { target[$0] == source[$0] }
    }
}

/// Everything that decides when alerts are notified: grouping per route, flap damping and inhibition.
public struct NoiseSettings: Sendable, Hashable {
    /// `routing.grouping`: the policy of every route without its own.
    public var grouping: GroupingPolicy
    /// `routing.<category>.grouping`: a category row's own policy; its groups are its own.
    public var categoryGrouping: [Category: GroupingPolicy]
    public var flapDamping: FlapDamping?
    public var inhibitRules: [InhibitRule]

    public init(
        grouping: GroupingPolicy = .ungrouped,
        categoryGrouping: [Category: GroupingPolicy] = [:],
        flapDamping: FlapDamping? = nil,
        inhibitRules: [InhibitRule] = []
    ) {
        self.grouping = grouping
        self.categoryGrouping = categoryGrouping
        self.flapDamping = flapDamping
        self.inhibitRules = inhibitRules
    }

    public static let standard = NoiseSettings()

    /// The route an alert's category belongs to, and that route's policy.
    public func route(for category: Category) -> (scope: String, policy: GroupingPolicy) {
        if let policy = categoryGrouping[category] { return (category.rawValue, policy) }
        return ("global", grouping)
    }

    /// The group an alert joins on one integration, before any time window: its identity and its labels.
    public func groupIdentity(integration: String, alert: Event) -> (base: String, key: String, labels: [String: String]) {
        let (scope, policy) = route(for: alert.category)
        let fingerprint = alert.fingerprint ?? Fingerprint.of(labels: alert.labels)
        let key: String
        var labels: [String: String] = [:]
        switch policy.groupBy {
        case .everyLabel:
            labels = alert.labels
            key = "\(scope):\(fingerprint)"
        case .labels(let names):
            for name in names { labels[name] = alert.labels[name] ?? "" }
            let rendered = names.sorted().map { "\($0)=\(JSONWriter.string(.string(alert.labels[$0] ?? "")))" }
            key = "\(scope):{\(rendered.joined(separator: ","))}"
        }
        return ("\(integration)|\(key)", key, labels)
    }
}
