import Foundation
import Testing

@testable import TocsinCore

@Suite("GroupBook: admitting, flushing and acknowledging across integrations")
struct GroupBookTests {
    let grouped = NoiseSettings(grouping: NoiseFixture.grouped)
    let first = NoiseFixture.firstFlush

    func alert(_ id: String, node: String, resolved: Bool = false, at instant: Date) -> Event {
        NoiseFixture.alert(id, node: node, resolved: resolved, at: instant)
    }

    /// The groups a store would keep after the book's transaction.
    func kept(_ book: GroupBook) -> [AlertGroup] {
        book.allGroups.filter { !book.deletedGroups.contains($0.id) }
    }

    @Test("ungrouped: one alert on two integrations is one notification row shared by both, with the event's id")
    func ungroupedAlertOnTwoIntegrationsSharesOneNotification() throws {
        var book = GroupBook(settings: .standard, groups: [])
        let event = alert("evt-1", node: "n1", at: coreT0)
        let result = book.admit(event, firing: true, integrations: ["chat", "pager"], now: coreT0, judge: .none(now: coreT0))
        #expect(result.told == ["chat", "pager"])
        #expect(result.suppression == nil)
        try #require(book.deliveries.count == 1)
        let delivery = book.deliveries[0]
        #expect(delivery.integrations == ["chat", "pager"])
        #expect(delivery.notification.id == event.id)
        #expect(delivery.notification.type == .open)
        #expect(delivery.notification.group == nil)
        #expect(delivery.notification.event == event)
        #expect(delivery.notification.alertStartsAt == event.startsAt)
        #expect(book.changedGroups.count == 2)
        #expect(book.allGroups.allSatisfy { $0.dedupKey == event.fingerprint })
    }

    @Test("ungrouped: the resolve on two integrations is one resolve row with the resolve event's id, and the groups go")
    func ungroupedResolveSharesOneNotificationAndDeletesGroups() throws {
        var opening = GroupBook(settings: .standard, groups: [])
        _ = opening.admit(
            alert("o", node: "n1", at: coreT0),
            firing: true,
            integrations: ["chat", "pager"],
            now: coreT0,
            judge: .none(now: coreT0)
        )
        var book = GroupBook(settings: .standard, groups: kept(opening))
        let resolve = alert("r", node: "n1", resolved: true, at: noiseAt(60))
        let result = book.admit(resolve, firing: false, integrations: ["chat", "pager"], now: noiseAt(60), judge: .none(now: noiseAt(60)))
        #expect(result.told == ["chat", "pager"])
        try #require(book.deliveries.count == 1)
        #expect(book.deliveries[0].notification.id == "r")
        #expect(book.deliveries[0].notification.type == .resolve)
        #expect(book.deliveries[0].notification.event.status == .resolved)
        #expect(book.deliveries[0].integrations == ["chat", "pager"])
        #expect(book.deletedGroups == Set(opening.allGroups.map(\.id)))
        #expect(book.changedGroups.isEmpty)
    }

    @Test("grouped: the same group on two integrations shares one dedup key, but each integration gets its own notification")
    func groupedDedupKeyIsSharedAcrossIntegrations() throws {
        var book = GroupBook(settings: grouped, groups: [])
        let result = book.admit(
            alert("a", node: "n1", at: coreT0),
            firing: true,
            integrations: ["chat", "pager"],
            now: coreT0,
            judge: .none(now: coreT0)
        )
        #expect(result.told.isEmpty, "nothing is told before group_wait")
        #expect(book.deliveries.isEmpty)
        let groups = book.allGroups.sorted { $0.integration < $1.integration }
        try #require(groups.count == 2)
        #expect(groups[0].id == "chat|global:{alertname=\"DiskFull\"}")
        #expect(groups[0].dedupKey == groups[1].dedupKey)
        #expect(groups[0].dedupKey.hasPrefix("tocsin-group-"))
        #expect(groups[0].dedupKey.count == "tocsin-group-".count + 32)
        #expect(groups[0].perAlert == false)
        let early = book.flushDue(now: first.addingTimeInterval(-1), judge: .none(now: first))
        #expect(early.isEmpty)
        let due = book.flushDue(now: first, judge: .none(now: first))
        #expect(due == ["chat", "pager"])
        try #require(book.deliveries.count == 2)
        #expect(Set(book.deliveries.map(\.integrations)) == [["chat"], ["pager"]])
        #expect(book.deliveries[0].notification.id != book.deliveries[1].notification.id)
        for delivery in book.deliveries {
            #expect(delivery.notification.event.fingerprint == groups[0].dedupKey)
            #expect(delivery.notification.group?.dedupKey == groups[0].dedupKey)
        }
    }

    @Test("different group keys get different dedup keys")
    func differentGroupsGetDifferentDedupKeys() {
        var book = GroupBook(settings: grouped, groups: [])
        let disk = alert("a", node: "n1", at: coreT0)
        let load = NoiseFixture.alert("b", node: "n1", alertname: "HighLoad", at: coreT0)
        _ = book.admit(disk, firing: true, integrations: ["chat"], now: coreT0, judge: .none(now: coreT0))
        _ = book.admit(load, firing: true, integrations: ["chat"], now: coreT0, judge: .none(now: coreT0))
        #expect(Set(book.allGroups.map(\.dedupKey)).count == 2)
    }

    @Test("time-window grouping: alerts join the open window's group; after the window a new group starts; a resolve follows its alert")
    func windowGroupingStartsNewGroupAfterWindow() throws {
        var policy = NoiseFixture.grouped
        policy.window = .seconds(600)
        let settings = NoiseSettings(grouping: policy)
        let base = "chat|global:{alertname=\"DiskFull\"}"
        var book = GroupBook(settings: settings, groups: [])
        func admit(_ event: Event, firing: Bool = true) {
            _ = book.admit(event, firing: firing, integrations: ["chat"], now: event.receivedAt, judge: .none(now: event.receivedAt))
        }
        admit(alert("a", node: "n1", at: coreT0))
        admit(alert("b", node: "n2", at: noiseAt(300)))
        try #require(book.allGroups.count == 1)
        let firstID = "\(base)@\(Int64(coreT0.timeIntervalSince1970 * 1000))"
        #expect(book.allGroups[0].id == firstID)
        #expect(book.allGroups[0].windowEndsAt == noiseAt(600))
        #expect(book.allGroups[0].members.count == 2)
        #expect(book.allGroups[0].perAlert == false)
        // After the window: a new incident.
        let late = noiseAt(660)
        admit(alert("c", node: "n3", at: late))
        try #require(book.allGroups.count == 2)
        let secondID = "\(base)@\(Int64(late.timeIntervalSince1970 * 1000))"
        let second = try #require(book.group(id: secondID))
        #expect(second.members.map(\.fingerprint) == [NoiseFixture.fingerprint(alert("c", node: "n3", at: late))])
        #expect(second.dedupKey != book.group(id: firstID)?.dedupKey)
        // A's resolve goes to the group holding A, not the newest one.
        admit(alert("a-end", node: "n1", resolved: true, at: noiseAt(700)), firing: false)
        let held = try #require(
            book.group(id: firstID)?.members.first { $0.fingerprint == NoiseFixture.fingerprint(alert("a", node: "n1", at: coreT0)) }
        )
        #expect(held.firing == false)
        #expect(held.resolveEvent?.id == "a-end")
        #expect(book.group(id: secondID)?.members.count == 1)
    }

    @Test("acknowledge forwards only to integrations in forwardTo, and only once the whole group is acknowledged")
    func acknowledgeForwardsOnlyWholeGroupsToForwardTo() throws {
        let a = alert("a", node: "n1", at: coreT0)
        let b = alert("b", node: "n2", at: coreT0)
        var opening = GroupBook(settings: grouped, groups: [])
        for event in [a, b] {
            _ = opening.admit(event, firing: true, integrations: ["chat", "pager"], now: coreT0, judge: .none(now: coreT0))
        }
        _ = opening.flushDue(now: first, judge: .none(now: first))
        var book = GroupBook(settings: grouped, groups: kept(opening))
        let now = first.addingTimeInterval(60)
        let partial = book.acknowledge(fingerprints: [NoiseFixture.fingerprint(a)], by: "alice", forwardTo: ["pager"], now: now)
        #expect(partial.groups.count == 2)
        #expect(partial.told.isEmpty)
        #expect(book.deliveries.isEmpty)
        let whole = book.acknowledge(fingerprints: [NoiseFixture.fingerprint(b)], by: "alice", forwardTo: ["pager"], now: now)
        #expect(whole.told == ["pager"])
        try #require(book.deliveries.count == 1)
        let ack = book.deliveries[0]
        #expect(ack.integrations == ["pager"])
        #expect(ack.notification.type == .acknowledge)
        let pagerGroup = try #require(book.allGroups.first { $0.integration == "pager" })
        #expect(ack.notification.event.fingerprint == pagerGroup.dedupKey)
        #expect(ack.notification.group?.alerts.count == 2)
        #expect(pagerGroup.members.allSatisfy { $0.acknowledgedBy == "alice" })
        #expect(book.changedGroups.count == 2)
        let again = book.acknowledge(fingerprints: nil, by: "bob", forwardTo: ["pager"], now: now.addingTimeInterval(60))
        #expect(again.told.isEmpty, "a group already acknowledged is not acknowledged on the platform twice")
        #expect(book.deliveries.count == 1)
    }

    @Test("acknowledge of an alert the loaded groups do not hold touches nothing")
    func acknowledgeOfUnknownAlertTouchesNothing() {
        var book = GroupBook(settings: grouped, groups: [])
        _ = book.admit(alert("a", node: "n1", at: coreT0), firing: true, integrations: ["chat"], now: coreT0, judge: .none(now: coreT0))
        let result = book.acknowledge(fingerprints: ["nope"], by: "alice", forwardTo: ["chat"], now: noiseAt(60))
        #expect(result.groups.isEmpty)
        #expect(result.told.isEmpty)
    }

    @Test("admit reports the silence when the alert is muted on every integration")
    func admitReportsSuppressionWhenMutedEverywhere() {
        var book = GroupBook(settings: .standard, groups: [])
        let silence = NoiseFixture.silence("s1", ["node=n1"], from: noiseAt(-60), to: noiseAt(600))
        let judge = SuppressionJudge(now: coreT0, silences: [silence], rules: [], sources: [])
        let result = book.admit(
            alert("a", node: "n1", at: coreT0),
            firing: true,
            integrations: ["chat", "pager"],
            now: coreT0,
            judge: judge
        )
        #expect(result.told.isEmpty)
        #expect(result.suppression == .silenced(ids: ["s1"], until: noiseAt(600)))
        #expect(book.deliveries.isEmpty)
        #expect(book.allGroups.allSatisfy { $0.nextFlushAt == noiseAt(600) })
    }

    @Test("flushDue tells repeats of one-alert groups as their own rows with the group's notification id")
    func flushDueRepeatOfUngroupedAlert() throws {
        var opening = GroupBook(settings: .standard, groups: [])
        let event = alert("a", node: "n1", at: coreT0)
        _ = opening.admit(event, firing: true, integrations: ["chat"], now: coreT0, judge: .none(now: coreT0))
        var book = GroupBook(settings: .standard, groups: kept(opening))
        let repeatAt = noiseAt(3 * 3600)
        let early = book.flushDue(now: repeatAt.addingTimeInterval(-1), judge: .none(now: repeatAt))
        #expect(early.isEmpty)
        let due = book.flushDue(now: repeatAt, judge: .none(now: repeatAt))
        #expect(due == ["chat"])
        let repeated = try #require(book.deliveries.first?.notification)
        #expect(repeated.type == .open)
        #expect(repeated.id != event.id)
        #expect(repeated.event.id == event.id)
        #expect(repeated.createdAt == repeatAt)
    }

    @Test("bases names one base per integration: what the store loads first")
    func basesPerIntegration() {
        let event = alert("a", node: "n1", at: coreT0)
        #expect(
            GroupBook.bases(of: event, integrations: ["chat", "pager"], settings: grouped) == [
                "chat|global:{alertname=\"DiskFull\"}", "pager|global:{alertname=\"DiskFull\"}",
            ]
        )
        let fingerprint = NoiseFixture.fingerprint(event)
        #expect(GroupBook.bases(of: event, integrations: ["chat"], settings: .standard) == ["chat|global:\(fingerprint)"])
    }

    @Test("a category with its own grouping has its own groups, scoped by the category")
    func categoryGroupingHasItsOwnScope() {
        let settings = NoiseSettings(grouping: NoiseFixture.grouped, categoryGrouping: [.backups: .ungrouped])
        let metric = alert("a", node: "n1", at: coreT0)
        let backup = NoiseFixture.alert("b", node: "n1", category: .backups, at: coreT0)
        #expect(settings.route(for: .metrics).scope == "global")
        #expect(settings.route(for: .backups).scope == "backups")
        #expect(settings.route(for: .backups).policy == .ungrouped)
        #expect(settings.groupIdentity(integration: "chat", alert: metric).key == "global:{alertname=\"DiskFull\"}")
        #expect(settings.groupIdentity(integration: "chat", alert: backup).key == "backups:\(NoiseFixture.fingerprint(backup))")
        #expect(settings.groupIdentity(integration: "chat", alert: backup).labels == backup.labels)
    }

    @Test("group_by on several labels renders a sorted key and takes missing labels as empty")
    func groupKeyIsSortedAndFillsMissingLabels() {
        let policy = GroupingPolicy(
            groupBy: .labels(["node", "cluster"]),
            groupWait: .zero,
            groupInterval: .zero,
            repeatInterval: .seconds(60)
        )
        let settings = NoiseSettings(grouping: policy)
        let identity = settings.groupIdentity(integration: "chat", alert: alert("a", node: "n1", at: coreT0))
        #expect(identity.key == "global:{cluster=\"\",node=\"n1\"}")
        #expect(identity.labels == ["node": "n1", "cluster": ""])
        #expect(identity.base == "chat|" + identity.key)
    }
}
