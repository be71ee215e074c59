import Foundation
import Testing

@testable import TocsinCore

@Suite("Flap damping")
struct FlapDampingTests {
    let policy = NoiseFixture.grouped
    let first = NoiseFixture.firstFlush
    /// More than 4 changes within 10 minutes flaps; settled after 10 minutes without a change.
    let flap = FlapDamping(window: .seconds(600), maxChanges: 4, settle: .seconds(600))

    func alert(_ id: String, node: String, resolved: Bool = false, at instant: Date) -> Event {
        NoiseFixture.alert(id, node: node, resolved: resolved, at: instant)
    }

    @Test("a flapping alert is held firing without open/resolve churn, then told resolved once after settle")
    func flappingHeldThenOneResolveAfterSettle() throws {
        let a = alert("a", node: "n1", at: coreT0)
        let b = alert("b", node: "n2", at: coreT0)
        var run = GroupRun(for: a, policy: policy, flap: flap)
        run.send(a)
        run.send(b)
        run.advance(to: first)
        #expect(run.notices.count == 1)
        // A: open (t0), resolve, open, resolve, open → 5 changes in 130 s: flapping from the fifth.
        run.send(alert("a-r1", node: "n1", resolved: true, at: first.addingTimeInterval(40)), firing: false)
        run.send(alert("a-o2", node: "n1", at: first.addingTimeInterval(60)))
        run.send(alert("a-r2", node: "n1", resolved: true, at: first.addingTimeInterval(80)), firing: false)
        #expect(run.group.members[0].flapping == false)
        run.send(alert("a-o3", node: "n1", at: first.addingTimeInterval(100)))
        #expect(run.group.members[0].flapping)
        // It ends resolved while flapping: still held firing.
        let lastChange = first.addingTimeInterval(120)
        run.send(alert("a-r3", node: "n1", resolved: true, at: lastChange), firing: false)
        let member = try #require(run.group.members.first { $0.fingerprint == NoiseFixture.fingerprint(a) })
        #expect(member.firing == false)
        #expect(member.effectivelyFiring)
        #expect(member.settlesAt == lastChange.addingTimeInterval(600))
        // The tick at +300 s has nothing to tell: no churn.
        run.advance(to: lastChange.addingTimeInterval(599))
        #expect(run.notices.count == 1)
        #expect(run.looks.contains(first.addingTimeInterval(300)))
        // Settled: told as it is, one resolve.
        run.advance(to: lastChange.addingTimeInterval(600))
        try #require(run.notices.count == 2)
        let settled = run.notices[1]
        #expect(settled.at == lastChange.addingTimeInterval(600))
        #expect(settled.notice.resolvedFingerprints == [NoiseFixture.fingerprint(a)])
        #expect(settled.notice.firingFingerprints == [NoiseFixture.fingerprint(b)])
        #expect(settled.notice.payload.flapping.isEmpty)
        #expect(run.group.members.map(\.fingerprint) == [NoiseFixture.fingerprint(b)])
        run.advance(to: lastChange.addingTimeInterval(1800))
        #expect(run.notices.count == 2, "the resolve is told once")
    }

    @Test("a notice told while an alert flaps shows it firing and marked flapping, whatever its state")
    func flappingAlertIsShownFiringAndMarked() throws {
        let a = alert("a", node: "n1", at: coreT0)
        var run = GroupRun(for: a, policy: policy, flap: flap)
        run.send(a)
        run.send(alert("b", node: "n2", at: coreT0))
        run.advance(to: first)
        for (offset, resolved) in [(40.0, true), (60, false), (80, true), (100, false), (120, true)] {
            let id = "a-\(Int(offset))"
            run.send(alert(id, node: "n1", resolved: resolved, at: first.addingTimeInterval(offset)), firing: !resolved)
        }
        // A new alert makes the tick at +300 s tell the group.
        run.send(alert("c", node: "n3", at: first.addingTimeInterval(200)))
        run.advance(to: first.addingTimeInterval(300))
        try #require(run.notices.count == 2)
        let notice = run.notices[1].notice
        #expect(notice.firingFingerprints.contains(NoiseFixture.fingerprint(a)))
        #expect(notice.resolved.isEmpty)
        let payload = notice.payload
        #expect(payload.flapping == [NoiseFixture.fingerprint(a)])
        let shown = try #require(payload.alerts.first { $0.fingerprint == NoiseFixture.fingerprint(a) })
        #expect(shown.status == .firing)
        #expect(payload.alertList().contains("(flapping)"))
    }

    @Test("changes older than the flap window do not count")
    func changesOutsideWindowDoNotCount() {
        let a = alert("a", node: "n1", at: coreT0)
        var group = GroupRun(for: a, policy: policy, flap: flap).group
        group.admit(a, firing: true, now: coreT0, policy: policy, flap: flap)
        // Five changes, but spread over 40 minutes: never more than two within 10 minutes.
        for k in 1...4 {
            let instant = noiseAt(Double(k) * 600)
            let firing = k.isMultiple(of: 2)
            group.admit(
                alert("a\(k)", node: "n1", resolved: !firing, at: instant),
                firing: firing,
                now: instant,
                policy: policy,
                flap: flap
            )
        }
        #expect(group.members[0].flapping == false)
        #expect(group.members[0].changes.count <= 2)
    }

    @Test("per-alert policy: a flapping alert is held firing and its resolve is told once after settle")
    func perAlertFlappingSettles() throws {
        let quick = FlapDamping(window: .seconds(600), maxChanges: 1, settle: .seconds(300))
        let settings = NoiseSettings(flapDamping: quick)
        let a = alert("a", node: "n1", at: coreT0)
        var stored: [AlertGroup] = []
        var told: [NotificationRecord] = []
        func admit(_ event: Event, firing: Bool) {
            var book = GroupBook(settings: settings, groups: stored)
            _ = book.admit(event, firing: firing, integrations: ["chat"], now: event.receivedAt, judge: .none(now: event.receivedAt))
            told += book.deliveries.map(\.notification)
            stored = book.allGroups.filter { !book.deletedGroups.contains($0.id) }
        }
        admit(a, firing: true)
        admit(alert("a-r", node: "n1", resolved: true, at: noiseAt(60)), firing: false)
        admit(alert("a-o", node: "n1", at: noiseAt(120)), firing: true)
        admit(alert("a-r2", node: "n1", resolved: true, at: noiseAt(180)), firing: false)
        #expect(told.map(\.type) == [.open], "only the first open is told while it flaps")
        let group = try #require(stored.first)
        #expect(group.members.first?.flapping == true)
        let settle = noiseAt(180 + 300)
        #expect(group.nextFlushAt == settle)
        var book = GroupBook(settings: settings, groups: stored)
        let early = book.flushDue(now: settle.addingTimeInterval(-1), judge: .none(now: settle.addingTimeInterval(-1)))
        #expect(early.isEmpty)
        let settled = book.flushDue(now: settle, judge: .none(now: settle))
        #expect(settled == ["chat"])
        let resolve = try #require(book.deliveries.first?.notification)
        #expect(resolve.type == .resolve)
        #expect(resolve.event.id == "a-r2")
        #expect(resolve.group == nil)
        #expect(book.deletedGroups.contains(group.id))
    }

    @Test("per-alert policy: an alert changing state more than max_changes times within the window is damped")
    func perAlertFlapDetectionSurvivesPromptRecovery() throws {
        // The default policy tells every change at once: the change history must outlive each told resolve.
        let damping = FlapDamping(window: .seconds(600), maxChanges: 3, settle: .seconds(600))
        let settings = NoiseSettings(flapDamping: damping)
        var stored: [AlertGroup] = []
        var told: [NotificationType] = []
        for k in 0..<6 {
            let instant = noiseAt(Double(k) * 60)
            let firing = k.isMultiple(of: 2)
            let event = alert("a\(k)", node: "n1", resolved: !firing, at: instant)
            var book = GroupBook(settings: settings, groups: stored)
            _ = book.admit(event, firing: firing, integrations: ["chat"], now: instant, judge: .none(now: instant))
            told += book.deliveries.map(\.notification.type)
            stored = book.allGroups.filter { !book.deletedGroups.contains($0.id) }
        }
        // Changes 1–3 (open, resolve, open) are told; from the fourth the alert flaps and is held firing.
        #expect(told == [.open, .resolve, .open])
        let group = try #require(stored.first)
        #expect(group.members.first?.flapping == true)
    }

    /// Opens and resolves one ungrouped alert with flap damping on, as two store transactions; returns the kept groups.
    func openedAndResolved(settings: NoiseSettings) -> (groups: [AlertGroup], resolveTold: Bool) {
        var opening = GroupBook(settings: settings, groups: [])
        _ = opening.admit(alert("a", node: "n1", at: coreT0), firing: true, integrations: ["chat"], now: coreT0, judge: .none(now: coreT0))
        var book = GroupBook(settings: settings, groups: opening.allGroups)
        let resolve = alert("a-end", node: "n1", resolved: true, at: noiseAt(60))
        let result = book.admit(resolve, firing: false, integrations: ["chat"], now: noiseAt(60), judge: .none(now: noiseAt(60)))
        #expect(book.deletedGroups.isEmpty, "the resolved alert stays as flap history")
        return (book.allGroups.filter { !book.deletedGroups.contains($0.id) }, result.told == ["chat"])
    }

    @Test("with flap damping a told resolve stays as untold history, and the group goes once the window has passed")
    func resolvedHistoryLeavesAfterWindow() throws {
        let settings = NoiseSettings(flapDamping: flap)
        let (groups, resolveTold) = openedAndResolved(settings: settings)
        #expect(resolveTold)
        let group = try #require(groups.first)
        let member = try #require(group.members.first)
        #expect(member.firing == false)
        #expect(member.notifiedFiring == false, "a told resolve is not told again")
        #expect(group.nextFlushAt == noiseAt(660))
        // The flusher's clock is a little past the due instant.
        let later = noiseAt(660.5)
        var book = GroupBook(settings: settings, groups: groups)
        let told = book.flushDue(now: later, judge: .none(now: later))
        #expect(told.isEmpty)
        #expect(book.deletedGroups == [group.id])
    }

    @Test("a flap-history group looked at exactly when its window passes is still removed or looked at again")
    func resolvedHistoryLookAtTheDueInstant() throws {
        let settings = NoiseSettings(flapDamping: flap)
        let (groups, _) = openedAndResolved(settings: settings)
        let group = try #require(groups.first)
        let due = try #require(group.nextFlushAt)
        var book = GroupBook(settings: settings, groups: groups)
        let told = book.flushDue(now: due, judge: .none(now: due))
        #expect(told.isEmpty)
        #expect(book.group(id: group.id)?.isEmpty == true, "its last member left")
        #expect(book.deletedGroups.contains(group.id), "the history left the window: the group is gone")
    }
}
