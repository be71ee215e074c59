import Foundation
import Testing

@testable import TocsinCore

@Suite("Silences, recurring windows and inhibition")
struct SuppressionTests {
    let policy = NoiseFixture.grouped
    let first = NoiseFixture.firstFlush
    /// 2023-11-15T00:00:00Z, the first midnight after `coreT0`.
    let midnight = noiseAt(6400)

    func alert(_ id: String, node: String, resolved: Bool = false, at instant: Date) -> Event {
        NoiseFixture.alert(id, node: node, resolved: resolved, at: instant)
    }

    // MARK: silences in a group

    @Test("a silence mutes a firing member (recorded, left out) and the look at the silence's end tells it")
    func silenceMutesUntilItsEnd() throws {
        let a = alert("a", node: "n1", at: coreT0)
        let b = alert("b", node: "n2", at: coreT0)
        let silenceEnd = noiseAt(1000)
        var run = GroupRun(for: a, policy: policy)
        run.silences = [NoiseFixture.silence("s1", ["node=\"n2\""], from: noiseAt(-60), to: silenceEnd)]
        run.send(a)
        run.send(b)
        run.advance(to: first)
        try #require(run.notices.count == 1)
        #expect(run.notices[0].notice.firingFingerprints == [NoiseFixture.fingerprint(a)])
        let muted = try #require(run.group.members.first { $0.fingerprint == NoiseFixture.fingerprint(b) })
        #expect(muted.suppression == .silenced(ids: ["s1"], until: silenceEnd))
        #expect(muted.notifiedFiring == false)
        #expect(run.group.hasSuppressedMembers)
        // The next look is the silence's end, off the interval grid.
        #expect(run.group.nextFlushAt == silenceEnd)
        run.advance(to: silenceEnd.addingTimeInterval(-1))
        #expect(run.notices.count == 1)
        run.advance(to: silenceEnd)
        try #require(run.notices.count == 2)
        #expect(run.notices[1].at == silenceEnd)
        #expect(run.notices[1].notice.firingFingerprints == Set([a, b].map(NoiseFixture.fingerprint)))
        #expect(run.group.members.allSatisfy { $0.suppression == nil })
    }

    @Test("a group whose only alert opened during a silence tells nothing until the silence ends, then tells it")
    func alertOpenedDuringSilenceIsToldAtItsEnd() throws {
        let a = alert("a", node: "n1", at: coreT0)
        let silenceEnd = noiseAt(2000)
        var run = GroupRun(for: a, policy: policy)
        run.silences = [NoiseFixture.silence("s1", ["alertname=DiskFull"], from: noiseAt(-60), to: silenceEnd)]
        run.send(a)
        run.advance(to: silenceEnd.addingTimeInterval(-0.001))
        #expect(run.notices.isEmpty)
        #expect(run.looks == [first])
        #expect(run.group.nextFlushAt == silenceEnd)
        run.advance(to: silenceEnd)
        try #require(run.notices.count == 1)
        #expect(run.notices[0].at == silenceEnd)
        #expect(run.notices[0].notice.isRepeat == false)
    }

    @Test("the recovery of an alert told firing is never muted by a silence")
    func recoveryIsNeverMuted() throws {
        let a = alert("a", node: "n1", at: coreT0)
        var run = GroupRun(for: a, policy: policy)
        run.send(a)
        run.advance(to: first)
        run.silences = [NoiseFixture.silence("s1", ["node=n1"], from: first.addingTimeInterval(10), to: noiseAt(86_400))]
        run.send(alert("a-end", node: "n1", resolved: true, at: first.addingTimeInterval(50)), firing: false)
        try #require(run.notices.count == 2)
        #expect(run.notices[1].notice.resolvedFingerprints == [NoiseFixture.fingerprint(a)])
        #expect(run.notices[1].notice.notification().type == .resolve)
    }

    @Test("an alert that opens and resolves inside a silence is never told")
    func openAndResolveInsideSilenceIsNeverTold() {
        let a = alert("a", node: "n1", at: coreT0)
        var run = GroupRun(for: a, policy: policy)
        run.silences = [NoiseFixture.silence("s1", ["node=n1"], from: noiseAt(-60), to: noiseAt(3600))]
        run.send(a)
        run.advance(to: first)
        run.send(alert("a-end", node: "n1", resolved: true, at: noiseAt(600)), firing: false)
        run.advance(to: noiseAt(7200))
        #expect(run.notices.isEmpty)
        #expect(run.group.isEmpty)
    }

    @Test("silences that are pending, expired or not matching mute nothing")
    func inactiveOrNonMatchingSilencesMuteNothing() {
        let now = noiseAt(100)
        let labels = ["alertname": "DiskFull", "node": "n1"]
        let pending = NoiseFixture.silence("later", ["node=n1"], from: noiseAt(200), to: noiseAt(300))
        let expired = NoiseFixture.silence("gone", ["node=n1"], from: noiseAt(0), to: now)
        let other = NoiseFixture.silence("other", ["node=n2"], from: noiseAt(0), to: noiseAt(300))
        let judge = SuppressionJudge(now: now, silences: [pending, expired, other], rules: [], sources: [])
        #expect(judge.suppression(fingerprint: "fp", labels: labels) == nil)
        #expect(pending.state(at: now) == .pending)
        #expect(expired.state(at: now) == .expired)
    }

    @Test("two active silences mute until the earlier end and are both named")
    func overlappingSilencesMuteUntilEarliestEnd() {
        let now = noiseAt(100)
        let long = NoiseFixture.silence("long", ["node=n1"], from: noiseAt(0), to: noiseAt(900))
        let short = NoiseFixture.silence("short", ["alertname=~Disk.*"], from: noiseAt(0), to: noiseAt(400))
        let judge = SuppressionJudge(now: now, silences: [long, short], rules: [], sources: [])
        let labels = ["alertname": "DiskFull", "node": "n1"]
        #expect(judge.suppression(fingerprint: "fp", labels: labels) == .silenced(ids: ["long", "short"], until: noiseAt(400)))
    }

    // MARK: recurring windows

    func nightly(from start: Date, to end: Date) throws -> Silence {
        // Every night 02:00–03:00 UTC.
        let window = RecurringWindow(schedule: try CronSchedule(parsing: "0 2 * * *"), duration: .seconds(3600))
        return NoiseFixture.silence("nightly", ["node=n1"], from: start, to: end, schedule: window)
    }

    @Test("a recurring silence is active only inside its window, and never after endsAt")
    func recurringSilenceActiveOnlyInWindow() throws {
        let twoAM = midnight.addingTimeInterval(2 * 3600)
        let silence = try nightly(from: coreT0, to: twoAM.addingTimeInterval(86_400 + 1800))
        #expect(silence.state(at: twoAM.addingTimeInterval(-1)) == .pending)
        #expect(silence.state(at: twoAM) == .active)
        #expect(silence.state(at: twoAM.addingTimeInterval(3599)) == .active)
        #expect(silence.state(at: twoAM.addingTimeInterval(3600)) == .pending)
        #expect(silence.activeUntil(twoAM.addingTimeInterval(1800)) == twoAM.addingTimeInterval(3600))
        #expect(silence.activeUntil(twoAM.addingTimeInterval(-1)) == nil)
        // The next night's window is cut short by endsAt, and nothing after it is active.
        let nextNight = twoAM.addingTimeInterval(86_400)
        #expect(silence.activeUntil(nextNight.addingTimeInterval(600)) == nextNight.addingTimeInterval(1800))
        #expect(silence.state(at: nextNight.addingTimeInterval(1800)) == .expired)
    }

    @Test("a recurring silence does not mute before startsAt even when its window is open")
    func recurringSilenceWaitsForStartsAt() throws {
        let twoAM = midnight.addingTimeInterval(2 * 3600)
        let silence = try nightly(from: twoAM.addingTimeInterval(1200), to: twoAM.addingTimeInterval(7 * 86_400))
        #expect(silence.state(at: twoAM.addingTimeInterval(600)) == .pending)
        #expect(silence.state(at: twoAM.addingTimeInterval(1200)) == .active)
    }

    @Test("an alert opening inside a recurring window is told when the window closes")
    func alertInRecurringWindowIsToldWhenItCloses() throws {
        let twoAM = midnight.addingTimeInterval(2 * 3600)
        let opened = twoAM.addingTimeInterval(600)
        let a = alert("a", node: "n1", at: opened)
        var run = GroupRun(for: a, policy: policy)
        run.silences = [try nightly(from: coreT0, to: coreT0.addingTimeInterval(30 * 86_400))]
        run.send(a)
        run.advance(to: opened.addingTimeInterval(30))
        #expect(run.notices.isEmpty)
        let closes = twoAM.addingTimeInterval(3600)
        #expect(run.group.members.first?.suppression == .silenced(ids: ["nightly"], until: closes))
        #expect(run.group.nextFlushAt == closes)
        run.advance(to: closes)
        try #require(run.notices.count == 1)
        #expect(run.notices[0].at == closes)
    }

    // MARK: inhibition

    static let clusterDown = ["alertname": "ClusterDown", "cluster": "c1", "severity": "critical"]

    var rule: InhibitRule {
        InhibitRule(
            sourceMatchers: [NoiseFixture.matcher("alertname=ClusterDown")],
            targetMatchers: [NoiseFixture.matcher("severity=~\"warning|error\"")],
            equal: ["cluster"]
        )
    }

    @Test("an open source alert inhibits targets that share its values of the equal labels, and no others")
    func inhibitionRequiresEqualLabels() {
        let source = (fingerprint: Fingerprint.of(labels: Self.clusterDown), labels: Self.clusterDown)
        let judge = SuppressionJudge(now: coreT0, silences: [], rules: [rule], sources: [source])
        let sameCluster = ["alertname": "NodeDown", "cluster": "c1", "severity": "warning"]
        let otherCluster = ["alertname": "NodeDown", "cluster": "c2", "severity": "warning"]
        let notATarget = ["alertname": "NodeDown", "cluster": "c1", "severity": "info"]
        #expect(
            judge.suppression(fingerprint: Fingerprint.of(labels: sameCluster), labels: sameCluster)
                == .inhibited(by: source.fingerprint)
        )
        #expect(judge.suppression(fingerprint: Fingerprint.of(labels: otherCluster), labels: otherCluster) == nil)
        #expect(judge.suppression(fingerprint: Fingerprint.of(labels: notATarget), labels: notATarget) == nil)
        #expect(rule.inhibits(target: sameCluster, source: Self.clusterDown))
        #expect(rule.inhibits(target: otherCluster, source: Self.clusterDown) == false)
        // A source that does not match the source matchers inhibits nothing.
        let notASource = ["alertname": "Other", "cluster": "c1"]
        #expect(rule.inhibits(target: sameCluster, source: notASource) == false)
    }

    @Test("an alert never inhibits itself")
    func noSelfInhibition() {
        let broad = InhibitRule(
            sourceMatchers: [NoiseFixture.matcher("alertname=~.+")],
            targetMatchers: [NoiseFixture.matcher("alertname=~.+")],
            equal: ["cluster"]
        )
        let labels = ["alertname": "NodeDown", "cluster": "c1"]
        let fingerprint = Fingerprint.of(labels: labels)
        #expect(broad.inhibits(target: labels, source: labels) == false)
        let judge = SuppressionJudge(now: coreT0, silences: [], rules: [broad], sources: [(fingerprint, labels)])
        #expect(judge.suppression(fingerprint: fingerprint, labels: labels) == nil)
    }

    @Test("two alerts that each match both sides of a rule do not inhibit each other (Alertmanager's rule)")
    func noMutualInhibition() {
        let rule = InhibitRule(
            sourceMatchers: [NoiseFixture.matcher("severity=critical")],
            targetMatchers: [NoiseFixture.matcher("alertname=~.+")],
            equal: ["cluster"]
        )
        let first = ["alertname": "ClusterDown", "cluster": "c1", "severity": "critical"]
        let second = ["alertname": "QuorumLost", "cluster": "c1", "severity": "critical"]
        let sources = [first, second].map { (fingerprint: Fingerprint.of(labels: $0), labels: $0) }
        let judge = SuppressionJudge(now: coreT0, silences: [], rules: [rule], sources: sources)
        #expect(judge.suppression(fingerprint: sources[0].fingerprint, labels: first) == nil)
        #expect(judge.suppression(fingerprint: sources[1].fingerprint, labels: second) == nil)
    }

    @Test("an inhibited member is left out, and told once its inhibitor is gone and the group is looked at again")
    func inhibitedMemberIsToldAfterInhibitorResolves() throws {
        let target = NoiseFixture.alert(
            "t",
            node: "n1",
            alertname: "NodeDown",
            extraLabels: ["cluster": "c1", "severity": "warning"],
            at: coreT0
        )
        let source = (fingerprint: Fingerprint.of(labels: Self.clusterDown), labels: Self.clusterDown)
        var run = GroupRun(for: target, policy: policy)
        run.rules = [rule]
        run.sources = [source]
        run.send(target)
        run.advance(to: first)
        #expect(run.notices.isEmpty)
        #expect(run.group.members.first?.suppression == .inhibited(by: source.fingerprint))
        // Fallback look a group_interval later, on the tick grid.
        #expect(run.group.nextFlushAt == first.addingTimeInterval(300))
        // The inhibitor resolves; the store brings the look forward.
        run.sources = []
        let resolvedAt = first.addingTimeInterval(100)
        run.group.nextFlushAt = resolvedAt
        run.advance(to: resolvedAt)
        try #require(run.notices.count == 1)
        #expect(run.notices[0].notice.firingFingerprints == [NoiseFixture.fingerprint(target)])
    }
}
