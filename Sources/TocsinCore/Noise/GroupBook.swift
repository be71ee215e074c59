import Foundation

/// The groups one store transaction works on, and what it must write: the pure part of grouping, silencing and
/// acknowledging, so that every store runs the same rules. The store loads the groups the transaction needs (by
/// `base`), hands alert changes and due looks to the book, then writes `changedGroups`, `deletedGroups` and
/// `deliveries`.
public struct GroupBook: Sendable {
    public var settings: NoiseSettings
    /// Every loaded or created group, by base (`integration|key`); time-window groups share a base.
    public private(set) var groupsByBase: [String: [AlertGroup]]
    public private(set) var changedGroups: Set<String> = []
    public private(set) var deletedGroups: Set<String> = []
    /// Notifications to store, each with the integrations it goes to (an outbox row each). One notification may
    /// serve several integrations when their one-alert groups tell the same event.
    public private(set) var deliveries: [(notification: NotificationRecord, integrations: [String])] = []
    /// Where each notification id is in `deliveries`: a transaction of thousands of alerts must not search it.
    private var deliveryIndex: [String: Int] = [:]

    public init(settings: NoiseSettings, groups: [AlertGroup]) {
        self.settings = settings
        var byBase: [String: [AlertGroup]] = [:]
        for group in groups { byBase[Self.base(of: group), default: []].append(group) }
        self.groupsByBase = byBase
    }

    /// The base of a group: its id without a time window's `@start`.
    public static func base(of group: AlertGroup) -> String {
        "\(group.integration)|\(group.key)"
    }

    /// The bases an alert event touches on these integrations: what the store must load first.
    public static func bases(of event: Event, integrations: [String], settings: NoiseSettings) -> [String] {
        integrations.map { settings.groupIdentity(integration: $0, alert: event).base }
    }

    /// Whether an alert's change can only make new groups, so the store need not look for them: an alert that opens
    /// (it was unknown or resolved) under one-alert groups without flap damping. Such a group is deleted once its
    /// recovery is told, so none is left to find; a burst of new alerts then costs no read.
    public static func isSurelyNew(_ plan: EventPlan, settings: NoiseSettings) -> Bool {
        guard plan.outcome == .opened, settings.flapDamping == nil, let event = plan.notification?.event else { return false }
        return settings.route(for: event.category).policy.isPerAlert
    }

    /// Takes an alert's change for each of its integrations, and tells at once the groups that are due (a
    /// one-alert group with no wait is due at once). Returns the integrations told now and how the alert fared.
    public mutating func admit(
        _ event: Event,
        firing: Bool,
        integrations: [String],
        now: Date,
        judge: SuppressionJudge
    ) -> (told: [String], suppression: Suppression?) {
        let fingerprint = event.fingerprint ?? Fingerprint.of(labels: event.labels)
        var told: [String] = []
        var suppressions: [Suppression] = []
        for integration in integrations {
            let (base, key, labels) = settings.groupIdentity(integration: integration, alert: event)
            let policy = settings.route(for: event.category).policy
            var groups = groupsByBase[base] ?? []
            var index = groups.firstIndex { $0.members.contains { $0.fingerprint == fingerprint } }
            if index == nil, firing {
                index = groups.lastIndex { group in group.windowEndsAt.map { $0 > now } ?? true }
            }
            if index == nil {
                guard firing else { continue }
                let id = policy.window == nil ? base : "\(base)@\(Int64((now.timeIntervalSince1970 * 1000).rounded()))"
                groups.append(AlertGroup(id: id, integration: integration, key: key, labels: labels, policy: policy, now: now))
                index = groups.count - 1
            }
            var group = groups[index!]
            group.admit(event, firing: firing, now: now, policy: policy, flap: settings.flapDamping)
            if let due = group.nextFlushAt, due <= now {
                if let notice = group.flush(now: now, policy: policy, judge: judge, flap: settings.flapDamping) {
                    // A one-alert group told of the very event being stored reads as that event's notification.
                    let ownEvent =
                        notice.perAlert
                        && (notice.firing + notice.resolved).contains { member in
                            (firing ? member.openEvent.id : member.resolveEvent?.id) == event.id
                        }
                    record(notice.notification(id: ownEvent ? event.id : nil), to: integration)
                    told.append(integration)
                }
            }
            if let member = group.members.first(where: { $0.fingerprint == fingerprint }), let suppression = member.suppression {
                suppressions.append(suppression)
            }
            groups[index!] = group
            groupsByBase[base] = groups
            note(group)
        }
        let suppressedEverywhere = !integrations.isEmpty && suppressions.count == integrations.count && told.isEmpty
        return (told, suppressedEverywhere ? suppressions.first : nil)
    }

    /// Looks at every loaded group that is due at `now`; returns the integrations that got something to send.
    public mutating func flushDue(now: Date, judge: SuppressionJudge) -> Set<String> {
        var told = Set<String>()
        for (base, groups) in groupsByBase {
            var groups = groups
            for index in groups.indices {
                guard let due = groups[index].nextFlushAt, due <= now else { continue }
                let policy = policy(of: groups[index])
                if let notice = groups[index].flush(now: now, policy: policy, judge: judge, flap: settings.flapDamping) {
                    record(notice.notification(), to: groups[index].integration)
                    told.insert(groups[index].integration)
                }
                note(groups[index])
            }
            groupsByBase[base] = groups
        }
        return told
    }

    /// Acknowledges alerts in every loaded group: the members with these fingerprints, or (nil) all members.
    /// Integrations in `forwardTo` whose group became wholly acknowledged get an `acknowledge` notification.
    /// Returns the groups touched and the integrations told.
    public mutating func acknowledge(
        fingerprints: Set<String>?,
        by author: String,
        forwardTo: Set<String>,
        now: Date
    ) -> (groups: [String], told: [String]) {
        var touched: [String] = []
        var told: [String] = []
        for (base, groups) in groupsByBase {
            var groups = groups
            for index in groups.indices {
                let holds = fingerprints.map { wanted in groups[index].members.contains { wanted.contains($0.fingerprint) } } ?? true
                guard holds else { continue }
                let whole = groups[index].acknowledge(fingerprints: fingerprints, by: author)
                touched.append(groups[index].id)
                note(groups[index])
                let integration = groups[index].integration
                if whole, forwardTo.contains(integration) {
                    record(acknowledgement(of: groups[index], now: now), to: integration)
                    told.append(integration)
                }
            }
            groupsByBase[base] = groups
        }
        return (touched, told)
    }

    public var allGroups: [AlertGroup] { groupsByBase.values.flatMap { $0 } }

    public func group(id: String) -> AlertGroup? {
        allGroups.first { $0.id == id }
    }

    private func policy(of group: AlertGroup) -> GroupingPolicy {
        let category = group.members.first?.openEvent.category
        return category.map { settings.route(for: $0).policy } ?? settings.grouping
    }

    private mutating func note(_ group: AlertGroup) {
        if group.isEmpty {
            deletedGroups.insert(group.id)
            changedGroups.remove(group.id)
        } else {
            changedGroups.insert(group.id)
            deletedGroups.remove(group.id)
        }
    }

    private mutating func record(_ notification: NotificationRecord, to integration: String) {
        if let index = deliveryIndex[notification.id] {
            deliveries[index].integrations.append(integration)
        } else {
            deliveryIndex[notification.id] = deliveries.count
            deliveries.append((notification, [integration]))
        }
    }

    /// The notification that passes an acknowledgement on: the group's event (or the alert's), same dedup key.
    private func acknowledgement(of group: AlertGroup, now: Date) -> NotificationRecord {
        let firing = group.members.filter(\.effectivelyFiring)
        let notice = GroupNotice(group: group, firing: firing, resolved: [], isRepeat: false, sequence: group.notificationCount, now: now)
        var notification = notice.notification(id: "\(notice.notificationID)-ack-\(Int64(now.timeIntervalSince1970 * 1000))")
        notification.type = .acknowledge
        return notification
    }
}
