import Foundation
import Testing

@testable import TocsinCore

@Suite("AlertGroup timers: group_wait, group_interval ticks, repeat, acknowledgement, recovery")
struct AlertGroupTimingTests {
    let policy = NoiseFixture.grouped
    let first = NoiseFixture.firstFlush

    func alert(_ id: String, node: String, severity: Severity = .warning, resolved: Bool = false, at seconds: Double) -> Event {
        NoiseFixture.alert(id, node: node, severity: severity, resolved: resolved, at: noiseAt(seconds))
    }

    @Test("group_wait collects three alerts into one notice at exactly created + group_wait, and tells nothing before")
    func groupWaitCollectsThreeAlerts() throws {
        let a = alert("a", node: "n1", at: 0)
        let b = alert("b", node: "n2", at: 10)
        let c = alert("c", node: "n3", at: 20)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.send(b)
        run.send(c)
        #expect(run.group.firstFlushAt == first)
        #expect(run.group.nextFlushAt == first)
        run.advance(to: first.addingTimeInterval(-0.001))
        #expect(run.notices.isEmpty)
        #expect(run.looks.isEmpty)
        run.advance(to: first)
        try #require(run.notices.count == 1)
        let (at, notice) = run.notices[0]
        #expect(at == first)
        #expect(notice.firingFingerprints == Set([a, b, c].map(NoiseFixture.fingerprint)))
        #expect(notice.resolved.isEmpty)
        #expect(notice.isRepeat == false)
        #expect(notice.sequence == 1)
        #expect(run.group.lastNotifiedAt == first)
        #expect(run.group.members.allSatisfy { $0.notifiedFiring && $0.notifiedSeverity == .warning })
    }

    @Test("the interval ticks sit on firstFlushAt + k × group_interval")
    func tickGrid() {
        let group = AlertGroup(id: "chat|k", integration: "chat", key: "k", labels: [:], policy: policy, now: coreT0)
        #expect(group.tick(atOrAfter: noiseAt(5), policy: policy) == first)
        #expect(group.tick(atOrAfter: first, policy: policy) == first)
        #expect(group.tick(atOrAfter: first.addingTimeInterval(1), policy: policy) == first.addingTimeInterval(300))
        #expect(group.tick(atOrAfter: first.addingTimeInterval(300), policy: policy) == first.addingTimeInterval(300))
        #expect(group.tick(atOrAfter: first.addingTimeInterval(301), policy: policy) == first.addingTimeInterval(600))
        var everyInstant = policy
        everyInstant.groupInterval = .zero
        #expect(group.tick(atOrAfter: first.addingTimeInterval(7), policy: everyInstant) == first.addingTimeInterval(7))
    }

    @Test("a change after the first notice waits for the next group_interval tick, not a full interval from the change")
    func changeWaitsForNextTick() throws {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first)
        #expect(run.notices.count == 1)
        // B opens 60 s after the first notice: told at first + 300 s.
        run.send(alert("b", node: "n2", at: 90))
        #expect(run.group.nextFlushAt == first.addingTimeInterval(300))
        run.advance(to: first.addingTimeInterval(299))
        #expect(run.notices.count == 1)
        run.advance(to: first.addingTimeInterval(300))
        try #require(run.notices.count == 2)
        #expect(run.notices[1].at == first.addingTimeInterval(300))
        #expect(run.notices[1].notice.firing.count == 2)
        #expect(run.notices[1].notice.isRepeat == false)
        // C opens 1 s after that tick: told at the following tick, not 300 s after its arrival.
        run.send(alert("c", node: "n3", at: 331))
        #expect(run.group.nextFlushAt == first.addingTimeInterval(600))
        run.advance(to: first.addingTimeInterval(600))
        #expect(run.notices.count == 3)
        #expect(run.notices.last?.at == first.addingTimeInterval(600))
    }

    @Test("a change arriving at the very instant of a look that already told the group waits for the next tick")
    func changeAtTheInstantOfALookWaitsForTheNextTick() {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first)
        #expect(run.notices.count == 1)
        run.group.admit(alert("b", node: "n2", at: 30), firing: true, now: first, policy: policy, flap: nil)
        #expect(run.group.nextFlushAt == first.addingTimeInterval(300))
    }

    @Test("an unchanged firing group repeats at the first tick at or after last notice + repeat_interval")
    func repeatAtTheTickAfterRepeatInterval() throws {
        var repeating = policy
        repeating.repeatInterval = .seconds(62 * 60)
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: repeating)
        run.send(a)
        run.advance(to: first)
        // last + 62 min falls between ticks: the repeat waits for the tick at 65 min.
        #expect(run.group.nextFlushAt == first.addingTimeInterval(65 * 60))
        run.advance(to: first.addingTimeInterval(65 * 60 - 1))
        #expect(run.notices.count == 1)
        run.advance(to: first.addingTimeInterval(65 * 60))
        try #require(run.notices.count == 2)
        let repeated = run.notices[1]
        #expect(repeated.at == first.addingTimeInterval(65 * 60))
        #expect(repeated.notice.isRepeat)
        #expect(repeated.notice.sequence == 2)
        #expect(repeated.notice.firingFingerprints == [NoiseFixture.fingerprint(a)])
        #expect(repeated.notice.notification().group?.isRepeat == true)
        #expect(run.group.nextFlushAt == first.addingTimeInterval(130 * 60))
    }

    @Test("no repeat is told before repeat_interval has passed, even at interval ticks")
    func noRepeatBeforeRepeatInterval() {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first)
        // Force looks at every tick of the first hour: nothing changed, so nothing is told.
        for k in 1..<12 {
            let tick = first.addingTimeInterval(Double(k) * 300)
            let notice = run.group.flush(now: tick, policy: policy, judge: .none(now: tick))
            #expect(notice == nil)
        }
        #expect(run.group.notificationCount == 1)
    }

    @Test("acknowledging every firing member stops the repeat; a severity rise is told and voids the acknowledgement")
    func acknowledgementStopsRepeatUntilSeverityRises() throws {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first)
        let whole = run.group.acknowledge(fingerprints: nil, by: "alice")
        #expect(whole)
        #expect(run.group.members[0].acknowledgedBy == "alice")
        #expect(run.group.members[0].isAcknowledged)
        run.advance(to: first.addingTimeInterval(4 * 3600))
        #expect(run.notices.count == 1, "an acknowledged group is not repeated")
        // Escalation: told at the next tick, and no longer acknowledged.
        let risen = alert("a2", node: "n1", severity: .error, at: 4 * 3600 + 100)
        run.send(risen)
        #expect(run.group.members[0].isAcknowledged == false)
        let tick = first.addingTimeInterval(4 * 3600 + 300)
        run.advance(to: tick)
        try #require(run.notices.count == 2)
        #expect(run.notices[1].at == tick)
        #expect(run.notices[1].notice.isRepeat == false)
        #expect(run.notices[1].notice.firing.first?.openEvent.severity == .error)
        #expect(run.notices[1].notice.notification().event.severity == .error)
        // Repeats resume an hour later.
        run.advance(to: tick.addingTimeInterval(3600))
        #expect(run.notices.count == 3)
        #expect(run.notices[2].notice.isRepeat)
    }

    @Test("acknowledging only some firing members does not stop the repeat")
    func partialAcknowledgementKeepsRepeating() {
        let a = alert("a", node: "n1", at: 0)
        let b = alert("b", node: "n2", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.send(b)
        run.advance(to: first)
        let whole = run.group.acknowledge(fingerprints: [NoiseFixture.fingerprint(a)], by: "alice")
        #expect(whole == false)
        run.advance(to: first.addingTimeInterval(3600))
        #expect(run.notices.count == 2)
        #expect(run.notices.last?.notice.isRepeat == true)
    }

    @Test("acknowledging before the integration was told the group fires does not count as a whole acknowledgement")
    func acknowledgementBeforeFirstNoticeIsNotForwarded() {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        let whole = run.group.acknowledge(fingerprints: nil, by: "alice")
        #expect(whole == false)
        #expect(run.group.members[0].acknowledgedSeverity == .warning)
    }

    @Test("after a look finds every firing member acknowledged, the next look is not already due")
    func acknowledgedGroupIsNotLeftDue() throws {
        let a = alert("a", node: "n1", at: 0)
        var group = GroupRun(for: a, policy: policy).group
        group.admit(a, firing: true, now: coreT0, policy: policy, flap: nil)
        let told = group.flush(now: first, policy: policy, judge: .none(now: first))
        #expect(told != nil)
        let whole = group.acknowledge(fingerprints: nil, by: "alice")
        #expect(whole)
        let repeatTick = try #require(group.nextFlushAt)
        #expect(repeatTick == first.addingTimeInterval(3600))
        let repeated = group.flush(now: repeatTick, policy: policy, judge: .none(now: repeatTick))
        #expect(repeated == nil)
        #expect(group.nextFlushAt.map { $0 > repeatTick } ?? true)
    }

    @Test("prompt recovery: a group whose alerts all resolved is told at once, between ticks")
    func promptRecovery() throws {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first)
        let resolvedAt = first.addingTimeInterval(100)
        run.group.admit(alert("a-end", node: "n1", resolved: true, at: 130), firing: false, now: resolvedAt, policy: policy, flap: nil)
        #expect(run.group.nextFlushAt == resolvedAt)
        run.advance(to: resolvedAt)
        try #require(run.notices.count == 2)
        let notice = run.notices[1]
        #expect(notice.at == resolvedAt)
        #expect(notice.notice.firing.isEmpty)
        #expect(notice.notice.resolvedFingerprints == [NoiseFixture.fingerprint(a)])
        #expect(notice.notice.notification().type == .resolve)
        #expect(run.group.isEmpty)
        #expect(run.group.nextFlushAt == nil)
    }

    @Test("a resolve while other alerts still fire waits for the next tick and is told once, then dropped")
    func resolveAmongFiringWaitsForTickAndIsToldOnce() throws {
        let a = alert("a", node: "n1", at: 0)
        let b = alert("b", node: "n2", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.send(b)
        run.advance(to: first)
        run.send(alert("a-end", node: "n1", resolved: true, at: 130))
        #expect(run.group.nextFlushAt == first.addingTimeInterval(300))
        run.advance(to: first.addingTimeInterval(300))
        try #require(run.notices.count == 2)
        #expect(run.notices[1].notice.firingFingerprints == [NoiseFixture.fingerprint(b)])
        #expect(run.notices[1].notice.resolvedFingerprints == [NoiseFixture.fingerprint(a)])
        #expect(run.group.members.map(\.fingerprint) == [NoiseFixture.fingerprint(b)])
        // The repeat an hour later tells B only.
        run.advance(to: first.addingTimeInterval(300 + 3600))
        try #require(run.notices.count == 3)
        #expect(run.notices[2].notice.isRepeat)
        #expect(run.notices[2].notice.resolved.isEmpty)
        #expect(run.notices[2].notice.firingFingerprints == [NoiseFixture.fingerprint(b)])
    }

    @Test("an alert that resolves before it was ever told is dropped silently")
    func resolvedBeforeToldIsDroppedSilently() {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.send(alert("a-end", node: "n1", resolved: true, at: 10))
        #expect(run.looks == [noiseAt(10)], "a group with nothing firing is looked at at once")
        #expect(run.notices.isEmpty)
        #expect(run.group.isEmpty)
        run.advance(to: noiseAt(7200))
        #expect(run.notices.isEmpty)
    }

    @Test("an alert that resolves unseen next to a firing one is left out of the first notice")
    func unseenResolveIsLeftOutOfTheFirstNotice() throws {
        let a = alert("a", node: "n1", at: 0)
        let b = alert("b", node: "n2", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.send(b)
        run.send(alert("a-end", node: "n1", resolved: true, at: 10))
        run.advance(to: first)
        try #require(run.notices.count == 1)
        #expect(run.notices[0].notice.firingFingerprints == [NoiseFixture.fingerprint(b)])
        #expect(run.notices[0].notice.resolved.isEmpty)
    }

    @Test("a resolve of an alert the group does not hold changes nothing")
    func resolveOfUnknownAlertIsIgnored() {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        let before = run.group
        run.group.admit(alert("x-end", node: "n9", resolved: true, at: 5), firing: false, now: noiseAt(5), policy: policy, flap: nil)
        #expect(run.group == before)
    }

    @Test("a severity fall is not a change: nothing is told at the next tick")
    func severityFallIsNotAChange() {
        let a = alert("a", node: "n1", severity: .error, at: 0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first)
        run.send(alert("a2", node: "n1", severity: .info, at: 100))
        run.advance(to: first.addingTimeInterval(600))
        #expect(run.notices.count == 1)
        #expect(run.group.members[0].notifiedSeverity == .error)
    }

    @Test("a one-alert group with no wait is due the instant its alert opens")
    func ungroupedIsDueAtOnce() {
        let a = alert("a", node: "n1", at: 0)
        var run = GroupRun(for: a, policy: .ungrouped)
        run.send(a)
        #expect(run.notices.count == 1)
        #expect(run.notices.first?.at == coreT0)
        #expect(run.group.perAlert)
        #expect(run.group.dedupKey == NoiseFixture.fingerprint(a))
    }
}
