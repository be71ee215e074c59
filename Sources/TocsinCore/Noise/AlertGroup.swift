import Crypto
import Foundation

/// One alert inside a group, and what the group's integration was last told about it.
public struct GroupMember: Sendable, Hashable {
    public var fingerprint: String
    /// The alert's latest firing event (with its fingerprint): what a notification shows while it fires.
    public var openEvent: Event
    /// Its resolve event once it resolved (what a recovery shows); nil while it fires.
    public var resolveEvent: Event?
    /// Whether the alert itself fires (a flapping alert is shown firing whatever this says).
    public var firing: Bool
    /// Whether the integration was last told that it fires: its recovery is told only then.
    public var notifiedFiring: Bool
    public var notifiedSeverity: Severity?
    /// Acknowledged at this severity: repeats stop until it resolves or its severity rises above it.
    public var acknowledgedSeverity: Severity?
    public var acknowledgedBy: String?
    /// Why it was left out of the group's last look, if it was.
    public var suppression: Suppression?
    /// Its state changes within the flap window, oldest first.
    public var changes: [Date]
    public var flapping: Bool
    /// While flapping: when it counts as settled if it does not change again.
    public var settlesAt: Date?

    /// Shown as firing: it fires, or it flaps and is held as firing.
    public var effectivelyFiring: Bool { firing || flapping }

    public var isAcknowledged: Bool {
        guard let acknowledged = acknowledgedSeverity else { return false }
        return openEvent.severity <= acknowledged
    }
}

/// A group of alerts on one integration (Alertmanager's aggregation group), with its timers. Pure state: the
/// store keeps it (in `storedForm`) between events and restarts; `admit` and `flush` move it.
public struct AlertGroup: Sendable, Hashable {
    /// `integration|key`, plus `@start` for a time-window group: the store's primary key.
    public var id: String
    public var integration: String
    /// The readable group key (`scope:{label="value",…}`), shown to webhooks as `groupKey`.
    public var key: String
    /// What the incident platform deduplicates on: the alert's fingerprint for a one-alert group, else a digest.
    public var dedupKey: String
    public var groupLabels: [String: String]
    public var perAlert: Bool
    public var members: [GroupMember]
    public var createdAt: Date
    /// When the first notification is due (created + group_wait): the anchor of the group_interval ticks.
    public var firstFlushAt: Date
    /// When the group must next be looked at; nil when nothing is scheduled.
    public var nextFlushAt: Date?
    public var lastNotifiedAt: Date?
    public var notificationCount: Int
    /// Time-window groups: new alerts join only before this instant.
    public var windowEndsAt: Date?

    public init(id: String, integration: String, key: String, labels: [String: String], policy: GroupingPolicy, now: Date) {
        self.id = id
        self.integration = integration
        self.key = key
        self.groupLabels = labels
        self.perAlert = policy.isPerAlert
        self.dedupKey = ""
        self.members = []
        self.createdAt = now
        self.firstFlushAt = now.addingTimeInterval(policy.groupWait.seconds)
        self.nextFlushAt = firstFlushAt
        self.lastNotifiedAt = nil
        self.notificationCount = 0
        self.windowEndsAt = policy.window.map { now.addingTimeInterval($0.seconds) }
        if !perAlert {
            // The same group on several integrations shares its dedup key (an acknowledgement names all of them).
            let withoutIntegration = id.dropFirst(integration.count + 1)
            dedupKey = "tocsin-group-" + Fingerprint.hex(SHA256.hash(data: Array(withoutIntegration.utf8))).prefix(32)
        }
    }

    public var isEmpty: Bool { members.isEmpty }

    /// Whether any member is left out right now (silenced or inhibited): the group must be looked at again when
    /// that may have changed.
    public var hasSuppressedMembers: Bool { members.contains { $0.suppression != nil } }

    /// Takes an alert's change: it opened or escalated (`event` fires) or resolved (`event` is its resolve).
    public mutating func admit(_ event: Event, firing: Bool, now: Date, policy: GroupingPolicy, flap: FlapDamping?) {
        let fingerprint = event.fingerprint ?? Fingerprint.of(labels: event.labels)
        let index: Int
        if let found = members.firstIndex(where: { $0.fingerprint == fingerprint }) {
            index = found
        } else {
            // A resolve of an alert this group no longer holds has nothing to tell.
            guard firing else { return }
            members.append(
                GroupMember(
                    fingerprint: fingerprint,
                    openEvent: event,
                    resolveEvent: nil,
                    firing: true,
                    notifiedFiring: false,
                    notifiedSeverity: nil,
                    acknowledgedSeverity: nil,
                    acknowledgedBy: nil,
                    suppression: nil,
                    changes: [now],
                    flapping: false,
                    settlesAt: nil
                )
            )
            if perAlert { dedupKey = fingerprint }
            schedule(afterChangeAt: now, policy: policy)
            return
        }
        var member = members[index]
        if member.firing != firing {
            member.changes.append(now)
        }
        member.firing = firing
        if firing {
            member.openEvent = event
            member.resolveEvent = nil
        } else {
            member.resolveEvent = event
        }
        if let flap {
            let horizon = now.addingTimeInterval(-flap.window.seconds)
            member.changes.removeAll { $0 < horizon }
            if member.changes.count > flap.maxChanges { member.flapping = true }
            if member.flapping { member.settlesAt = now.addingTimeInterval(flap.settle.seconds) }
        }
        members[index] = member
        schedule(afterChangeAt: now, policy: policy)
    }

    /// The first group_interval tick at or after `instant` (every instant, when the interval is zero).
    func tick(atOrAfter instant: Date, policy: GroupingPolicy) -> Date {
        guard instant > firstFlushAt else { return firstFlushAt }
        let interval = policy.groupInterval.seconds
        guard interval > 0 else { return instant }
        let elapsed = instant.timeIntervalSince(firstFlushAt)
        return firstFlushAt.addingTimeInterval((elapsed / interval).rounded(.up) * interval)
    }

    private mutating func schedule(afterChangeAt now: Date, policy: GroupingPolicy) {
        var due = lastNotifiedAt == nil ? firstFlushAt : tick(atOrAfter: now, policy: policy)
        // A change at the very tick that was just told waits for the next tick, not a second look at the same instant.
        if let last = lastNotifiedAt, policy.groupInterval > .zero, due <= last {
            due = last.addingTimeInterval(policy.groupInterval.seconds)
        }
        // Prompt recovery: once nothing fires, the group is told at once rather than at its next tick.
        if !members.contains(where: \.effectivelyFiring) { due = now }
        nextFlushAt = nextFlushAt.map { min($0, due) } ?? due
    }

    /// Looks at the group at `now`: settles flapping alerts, leaves out muted ones, and returns what to tell the
    /// integration (nil when nothing changed and no repeat is due). Schedules its next look; drops resolved members.
    /// - Parameter flap: with flap damping, resolved alerts stay (untold, as history) while they have state changes
    ///   within its window, so that an alert flapping open and closed is recognised across its resolves.
    public mutating func flush(now: Date, policy: GroupingPolicy, judge: SuppressionJudge, flap: FlapDamping? = nil) -> GroupNotice? {
        for index in members.indices where members[index].flapping {
            if let settles = members[index].settlesAt, settles <= now {
                members[index].flapping = false
                members[index].settlesAt = nil
                members[index].changes = []
            }
        }
        if let flap {
            let horizon = now.addingTimeInterval(-flap.window.seconds)
            // A change exactly one window old has left it (the look scheduled for then must be able to drop it).
            for index in members.indices { members[index].changes.removeAll { $0 <= horizon } }
        }
        var firing: [Int] = []
        var resolvedToTell: [Int] = []
        for index in members.indices {
            let member = members[index]
            if member.effectivelyFiring {
                members[index].suppression = judge.suppression(fingerprint: member.fingerprint, labels: member.openEvent.labels)
                if members[index].suppression == nil { firing.append(index) }
            } else {
                // A recovery is never muted: whoever was told an alert fires is told it ended.
                members[index].suppression = nil
                if member.notifiedFiring { resolvedToTell.append(index) }
            }
        }
        let changed =
            !resolvedToTell.isEmpty
            || firing.contains { index in
                let member = members[index]
                return !member.notifiedFiring || member.openEvent.severity > (member.notifiedSeverity ?? .info)
            }
        let repeatDue =
            !firing.isEmpty && !changed
            && lastNotifiedAt.map { now.timeIntervalSince($0) >= policy.repeatInterval.seconds } == true
            && !firing.allSatisfy { members[$0].isAcknowledged }
        var notice: GroupNotice?
        if changed || repeatDue {
            notice = GroupNotice(
                group: self,
                firing: firing.map { members[$0] },
                resolved: resolvedToTell.map { members[$0] },
                isRepeat: !changed,
                sequence: notificationCount + 1,
                now: now
            )
            for index in firing {
                members[index].notifiedFiring = true
                members[index].notifiedSeverity = members[index].openEvent.severity
            }
            for index in resolvedToTell {
                members[index].notifiedFiring = false
                members[index].notifiedSeverity = nil
            }
            lastNotifiedAt = now
            notificationCount += 1
        }
        members.removeAll { !$0.effectivelyFiring && (flap == nil || $0.changes.isEmpty) }
        nextFlushAt = nextLook(after: now, policy: policy, flap: flap)
        return notice
    }

    private func nextLook(after now: Date, policy: GroupingPolicy, flap: FlapDamping?) -> Date? {
        var candidates: [Date] = []
        // A resolved alert kept as flap history leaves once its last change is older than the window.
        if let flap {
            for member in members where !member.effectivelyFiring {
                if let last = member.changes.last { candidates.append(last.addingTimeInterval(flap.window.seconds)) }
            }
        }
        // A repeat is due only for told alerts that are not muted, and not while all of them are acknowledged
        // (an acknowledgement ends with a rise in severity, which is a change and schedules its own look).
        let repeatable = members.filter { $0.notifiedFiring && $0.suppression == nil }
        if let last = lastNotifiedAt, !repeatable.isEmpty, !repeatable.allSatisfy(\.isAcknowledged) {
            candidates.append(tick(atOrAfter: last.addingTimeInterval(policy.repeatInterval.seconds), policy: policy))
        }
        for member in members {
            if let settles = member.settlesAt { candidates.append(settles) }
            switch member.suppression {
            case .silenced(_, let until)?: candidates.append(until)
            // An inhibiting alert's resolve brings the look forward (the store does that); this is the fallback.
            case .inhibited?: candidates.append(tick(atOrAfter: now.addingTimeInterval(max(policy.groupInterval.seconds, 60)), policy: policy))
            case nil: break
            }
        }
        // Only a later instant: a look that schedules itself for now would never let time move on.
        return candidates.filter { $0 > now }.min()
    }

    /// Acknowledges the members with these fingerprints (all when nil) at their current severity. Returns whether
    /// every member that fires is now acknowledged and the integration was told the group fires: then the
    /// incident platform is told too.
    public mutating func acknowledge(fingerprints: Set<String>?, by author: String) -> Bool {
        let wasWhole = isWhollyAcknowledged
        var touched = false
        for index in members.indices where members[index].effectivelyFiring {
            guard fingerprints?.contains(members[index].fingerprint) ?? true else { continue }
            members[index].acknowledgedSeverity = members[index].openEvent.severity
            members[index].acknowledgedBy = author
            touched = true
        }
        // Told once: acknowledging a group that already was changes nothing on the incident platform.
        return touched && !wasWhole && isWhollyAcknowledged
    }

    /// Every alert shown firing is acknowledged, and the integration was told the group fires.
    var isWhollyAcknowledged: Bool {
        let firing = members.filter(\.effectivelyFiring)
        return !firing.isEmpty && firing.allSatisfy(\.isAcknowledged) && firing.contains(where: \.notifiedFiring)
    }
}

/// What one look at a group tells its integration: the alerts that fire and those that resolved since.
public struct GroupNotice: Sendable, Hashable {
    public var groupID: String
    public var integration: String
    public var key: String
    public var dedupKey: String
    public var groupLabels: [String: String]
    public var perAlert: Bool
    public var firing: [GroupMember]
    public var resolved: [GroupMember]
    public var isRepeat: Bool
    public var sequence: Int
    public var groupCreatedAt: Date
    public var now: Date

    init(group: AlertGroup, firing: [GroupMember], resolved: [GroupMember], isRepeat: Bool, sequence: Int, now: Date) {
        self.groupID = group.id
        self.integration = group.integration
        self.key = group.key
        self.dedupKey = group.dedupKey
        self.groupLabels = group.groupLabels
        self.perAlert = group.perAlert
        self.firing = firing
        self.resolved = resolved
        self.isRepeat = isRepeat
        self.sequence = sequence
        self.groupCreatedAt = group.createdAt
        self.now = now
    }

    /// An id no other look at any group can have: the group, its incarnation (a group made again after it emptied
    /// is a new one) and the look's sequence number.
    public var notificationID: String {
        let digest = SHA256.hash(data: Array("\(groupID)\u{0}\(groupCreatedAt.timeIntervalSince1970)".utf8))
        return "g" + Fingerprint.hex(digest).prefix(20) + "-\(sequence)"
    }
}
