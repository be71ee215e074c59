import Foundation
import Testing

@testable import TocsinCore

@Suite("Group notifications, payloads and stored forms")
struct GroupNotificationTests {
    let policy = NoiseFixture.grouped
    let first = NoiseFixture.firstFlush

    func alert(_ id: String, node: String, severity: Severity = .warning, resolved: Bool = false, at instant: Date) -> Event {
        NoiseFixture.alert(id, node: node, severity: severity, resolved: resolved, at: instant)
    }

    /// A group of `count` DiskFull alerts (nodes n0…), told once at group_wait.
    func toldGroup(count: Int, severities: [Severity] = []) throws -> (run: GroupRun, notice: GroupNotice) {
        let events = (0..<count).map { index in
            alert("e\(index)", node: "n\(index)", severity: index < severities.count ? severities[index] : .warning, at: coreT0)
        }
        var run = GroupRun(for: events[0], policy: policy)
        for event in events { run.send(event) }
        run.advance(to: first)
        return (run, try #require(run.lastNotice))
    }

    @Test("a grouped notification stands for the group: synthesized event, FIRING count, highest severity, payload")
    func groupedNotificationHasSynthesizedEvent() throws {
        let (run, notice) = try toldGroup(count: 3, severities: [.warning, .critical, .info])
        let notification = notice.notification()
        #expect(notification.id == notice.notificationID)
        #expect(notification.type == .open)
        #expect(notification.createdAt == first)
        #expect(notification.alertStartsAt == coreT0)
        let event = notification.event
        #expect(event.id == notification.id)
        #expect(event.summary == "[FIRING:3] DiskFull (alertname=DiskFull)")
        #expect(event.severity == .critical)
        #expect(event.status == .firing)
        #expect(event.endsAt == nil)
        #expect(event.fingerprint == run.group.dedupKey)
        #expect(event.labels == ["alertname": "DiskFull"])
        let payload = try #require(notification.group)
        #expect(payload.key == run.group.key)
        #expect(payload.dedupKey == run.group.dedupKey)
        #expect(payload.groupLabels == ["alertname": "DiskFull"])
        #expect(payload.commonLabels == ["alertname": "DiskFull"])
        #expect(payload.firingCount == 3)
        #expect(payload.resolvedCount == 0)
        #expect(payload.isRepeat == false)
        #expect(payload.alerts.allSatisfy { $0.status == .firing && $0.endsAt == nil && $0.fingerprint != nil })
        #expect(event.description?.contains("- [CRITICAL] node=n1: DiskFull on n1") == true)
    }

    @Test("the description lists at most 10 alerts, then '… and N more'")
    func descriptionListsAtMostTenAlerts() throws {
        let (_, notice) = try toldGroup(count: 12)
        let description = try #require(notice.notification().event.description)
        let lines = description.split(separator: "\n")
        #expect(lines.count == 11)
        #expect(lines.prefix(10).allSatisfy { $0.hasPrefix("- [WARNING] node=n") })
        #expect(lines.last == "… and 2 more")
        #expect(notice.notification().event.summary.hasPrefix("[FIRING:12] "))
    }

    @Test("exactly 10 alerts are all listed with no 'more' line")
    func tenAlertsHaveNoMoreLine() throws {
        let (_, notice) = try toldGroup(count: 10)
        let description = try #require(notice.notification().event.description)
        #expect(description.split(separator: "\n").count == 10)
        #expect(description.contains("more") == false)
    }

    @Test("a mixed notice counts firing and resolved; an all-resolved one is a resolve with the resolve's end")
    func resolvedCountsAndResolveType() throws {
        var (run, _) = try toldGroup(count: 2)
        run.send(alert("e0-end", node: "n0", resolved: true, at: first.addingTimeInterval(100)), firing: false)
        run.advance(to: first.addingTimeInterval(300))
        let mixed = try #require(run.lastNotice).notification()
        #expect(mixed.type == .open)
        #expect(mixed.event.summary == "[FIRING:1][RESOLVED:1] DiskFull (alertname=DiskFull)")
        #expect(mixed.group?.alerts.map(\.status) == [.firing, .resolved])
        #expect(mixed.group?.alerts.last?.id == "e0-end")
        let ended = first.addingTimeInterval(400)
        run.send(alert("e1-end", node: "n1", resolved: true, at: ended), firing: false)
        let resolved = try #require(run.lastNotice).notification()
        #expect(resolved.type == .resolve)
        #expect(resolved.event.status == .resolved)
        #expect(resolved.event.summary == "[RESOLVED:1] DiskFull (alertname=DiskFull)")
        #expect(resolved.event.endsAt == ended)
        #expect(resolved.event.severity == .warning)
    }

    @Test("without a shared alertname the title is the shared summary, else the count of alerts")
    func titleFallsBackToSummaryOrCount() throws {
        let everything = GroupingPolicy(
            groupBy: .labels([]),
            groupWait: .seconds(30),
            groupInterval: .seconds(300),
            repeatInterval: .seconds(3600)
        )
        let disk = NoiseFixture.alert("a", node: "n1", alertname: "DiskFull", at: coreT0)
        let load = NoiseFixture.alert("b", node: "n1", alertname: "HighLoad", at: coreT0)
        var run = GroupRun(for: disk, policy: everything)
        run.send(disk)
        run.send(load)
        run.advance(to: first)
        let summary = try #require(run.lastNotice).notification().event.summary
        #expect(summary == "[FIRING:2] 2 alerts")
    }

    @Test("a per-alert notice is the alert's own notification: no group, open then resolve, the alert's event")
    func perAlertNotificationIsTheAlertsOwn() throws {
        let a = alert("a", node: "n1", at: coreT0)
        var run = GroupRun(for: a, policy: .ungrouped)
        run.send(a)
        let opened = try #require(run.lastNotice).notification()
        #expect(opened.group == nil)
        #expect(opened.type == .open)
        #expect(opened.event == a)
        #expect(opened.alertStartsAt == coreT0)
        let end = alert("a-end", node: "n1", resolved: true, at: noiseAt(90))
        run.send(end, firing: false)
        let resolved = try #require(run.lastNotice).notification(id: "a-end")
        #expect(resolved.id == "a-end")
        #expect(resolved.group == nil)
        #expect(resolved.type == .resolve)
        #expect(resolved.event == end)
        #expect(resolved.alertStartsAt == coreT0)
    }

    @Test("notification ids differ per look and per incarnation of a group")
    func notificationIDsAreUnique() throws {
        let a = alert("a", node: "n1", at: coreT0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first.addingTimeInterval(3600))
        try #require(run.notices.count == 2)
        let ids = run.notices.map { $0.notice.notificationID }
        #expect(ids[0] != ids[1])
        #expect(ids[0].hasSuffix("-1"))
        #expect(ids[1].hasSuffix("-2"))
        // The same group made again later (after it emptied) is a new incarnation.
        let later = alert("a2", node: "n1", at: noiseAt(86_400))
        var again = GroupRun(for: later, policy: policy)
        again.send(later)
        again.advance(to: noiseAt(86_400 + 30))
        #expect(again.group.id == run.group.id)
        #expect(again.lastNotice?.notificationID != ids[0])
    }

    // MARK: stored forms

    @Test("a grouped NotificationRecord round-trips through its stored form")
    func groupedNotificationStoredFormRoundTrips() throws {
        var (run, _) = try toldGroup(count: 3)
        run.send(alert("e0-end", node: "n0", resolved: true, at: first.addingTimeInterval(100)), firing: false)
        run.advance(to: first.addingTimeInterval(300))
        let notification = try #require(run.lastNotice).notification()
        try #require(notification.group != nil)
        #expect(try NotificationRecord(storedForm: notification.storedForm) == notification)
        let payload = try #require(notification.group)
        #expect(try GroupPayload(storedForm: payload.storedForm) == payload)
    }

    @Test("a GroupPayload with flapping alerts and a repeat flag round-trips through its stored form and Codable")
    func payloadWithFlappingAndRepeatRoundTrips() throws {
        let firing = alert("a", node: "n1", at: coreT0)
        var resolved = alert("b-end", node: "n2", resolved: true, at: noiseAt(60))
        resolved.description = "cleared"
        resolved.links = [Link(href: "https://runbooks.example/disk", text: "runbook")]
        let payload = GroupPayload(
            key: "global:{alertname=\"DiskFull\"}",
            dedupKey: "tocsin-group-0123456789abcdef0123456789abcdef",
            groupLabels: ["alertname": "DiskFull"],
            commonLabels: ["alertname": "DiskFull"],
            alerts: [firing, resolved],
            flapping: [NoiseFixture.fingerprint(firing)],
            isRepeat: true
        )
        #expect(try GroupPayload(storedForm: payload.storedForm) == payload)
        let data = try JSONEncoder().encode(payload)
        #expect(try JSONDecoder().decode(GroupPayload.self, from: data) == payload)
    }

    @Test("a stored form without a key is refused")
    func payloadWithoutKeyIsRefused() {
        #expect(throws: StoredFormError.self) {
            try GroupPayload(storedForm: .object(["dedupKey": .string("x")]))
        }
    }

    @Test("an AlertGroup round-trips through its stored form as text, every optional field included")
    func alertGroupCodableRoundTrips() throws {
        let flap = FlapDamping(window: .seconds(600), maxChanges: 1, settle: .seconds(600))
        let a = alert("a", node: "n1", at: coreT0)
        var run = GroupRun(for: a, policy: policy, flap: flap)
        run.silences = [NoiseFixture.silence("s1", ["node=n3"], from: noiseAt(-60), to: noiseAt(900))]
        run.rules = [
            InhibitRule(sourceMatchers: [NoiseFixture.matcher("node=n9")], targetMatchers: [NoiseFixture.matcher("node=n2")], equal: [])
        ]
        run.sources = [(fingerprint: "src-fp", labels: ["node": "n9", "alertname": "X"])]
        run.send(a)
        run.send(alert("b", node: "n2", severity: .error, at: noiseAt(5)))
        run.send(alert("c", node: "n3", at: noiseAt(6)))
        run.advance(to: first)
        let whole = run.group.acknowledge(fingerprints: [NoiseFixture.fingerprint(a)], by: "alice")
        #expect(whole == false)
        run.send(alert("a-end", node: "n1", resolved: true, at: noiseAt(40)), firing: false)
        var group = run.group
        group.windowEndsAt = noiseAt(600)
        // Every optional field and both kinds of suppression are present.
        #expect(group.members.contains { $0.flapping && $0.settlesAt != nil && $0.acknowledgedBy == "alice" })
        #expect(group.members.contains { $0.suppression == .silenced(ids: ["s1"], until: noiseAt(900)) })
        #expect(group.members.contains { $0.suppression == .inhibited(by: "src-fp") })
        #expect(group.lastNotifiedAt != nil)
        // Through text, as the store keeps it.
        let text = JSONWriter.string(group.storedForm)
        let decoded = try AlertGroup(storedForm: JSONParser.parse(Array(text.utf8)))
        #expect(decoded == group)
    }
}
