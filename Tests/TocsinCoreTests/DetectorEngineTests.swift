import Foundation
import Testing
import TocsinCore

private func at(_ seconds: Double) -> Date { coreT0.addingTimeInterval(seconds) }

private func sample(_ name: String, _ value: Double, node: String = "n1", at seconds: Double) -> MetricSample {
    MetricSample(name: name, value: value, labels: ["cluster": "c1", "node": node], timestamp: at(seconds))
}

/// Feeds one sample per step and returns the events of each step.
private func feed(_ engine: inout DetectorEngine, _ metric: String, _ points: [(Double, Double)], node: String = "n1") -> [Event] {
    var events: [Event] = []
    for (seconds, value) in points {
        events += engine.ingest([sample(metric, value, node: node, at: seconds)], now: at(seconds))
    }
    return events
}

private let diskRule = ThresholdRule(
    name: "Disk",
    expression: .metric("disk"),
    warning: 80,
    critical: 90,
    forDuration: .seconds(60),
    summary: "Disk high",
    description: "Free space."
)

@Suite struct DetectorThresholdTests {
    @Test func opensOnlyAfterConditionHeldForTheForDuration() {
        var engine = DetectorEngine(rules: [diskRule])
        #expect(feed(&engine, "disk", [(0, 85), (30, 85)]).isEmpty)
        // A dip below the level restarts the `for` clock.
        #expect(feed(&engine, "disk", [(45, 70), (60, 85), (100, 85)]).isEmpty)
        let opened = feed(&engine, "disk", [(120, 85)])
        #expect(opened.count == 1)
        #expect(opened.first?.status == .firing)
        #expect(opened.first?.severity == .warning)
        #expect(opened.first?.kind == .alert)
        #expect(opened.first?.category == .cluster)
        #expect(opened.first?.labels == ["cluster": "c1", "node": "n1", "alertname": "Disk", "detector": "tocsin"])
        #expect(opened.first?.startsAt == at(120))
        // Never repeats while the state is unchanged.
        #expect(feed(&engine, "disk", [(140, 86), (160, 87)]).isEmpty)
        let resolved = feed(&engine, "disk", [(180, 79)])
        #expect(resolved.map(\.status) == [.resolved])
        #expect(resolved.first?.endsAt == at(180))
        #expect(resolved.first?.fingerprint == opened.first?.fingerprint)
        #expect(resolved.first?.id != opened.first?.id)
    }

    @Test func hysteresisResolvesOnlyPastClearLevelForClearDuration() {
        var rule = diskRule
        rule.forDuration = .zero
        rule.clearLevel = 70
        rule.clearFor = .seconds(60)
        var engine = DetectorEngine(rules: [rule])
        #expect(feed(&engine, "disk", [(0, 85)]).count == 1)
        // Between the clear level and the warning level: still firing.
        #expect(feed(&engine, "disk", [(10, 75), (100, 75)]).isEmpty)
        // Past the clear level, but not for long enough, then back above it: the clear clock restarts.
        #expect(feed(&engine, "disk", [(110, 60), (150, 72), (160, 60), (200, 60)]).isEmpty)
        let resolved = feed(&engine, "disk", [(220, 60)])
        #expect(resolved.map(\.status) == [.resolved])
    }

    @Test func escalatesToCriticalAndStepsBackDown() {
        var rule = diskRule
        rule.forDuration = .seconds(30)
        var engine = DetectorEngine(rules: [rule])
        let events = feed(&engine, "disk", [(0, 95), (30, 95), (40, 85), (50, 95), (80, 95), (90, 85), (100, 50)])
        #expect(events.map(\.severity) == [.critical, .warning, .critical, .warning, .warning])
        #expect(events.map(\.status) == [.firing, .firing, .firing, .firing, .resolved])
        #expect(Set(events.map(\.id)).count == events.count)
        #expect(Set(events.compactMap(\.fingerprint)).count == 1)
        // Warning first, then critical once critical has held for `for`.
        var second = DetectorEngine(rules: [rule])
        let climb = feed(&second, "disk", [(0, 85), (30, 85), (40, 95), (60, 95), (70, 95)])
        #expect(climb.map(\.severity) == [.warning, .critical])
    }

    @Test func seriesAreIndependent() {
        var rule = diskRule
        rule.forDuration = .zero
        var engine = DetectorEngine(rules: [rule])
        let nodes = (1...12).map { "n\($0)" }
        let batch = nodes.enumerated().map { index, node in sample("disk", index % 3 == 0 ? 85 : 50, node: node, at: 0) }
        let opened = engine.ingest(batch, now: at(0))
        #expect(Set(opened.compactMap { $0.labels["node"] }) == ["n1", "n4", "n7", "n10"])
        // One node recovering resolves only its own alert.
        let resolved = engine.ingest([sample("disk", 10, node: "n4", at: 10)] + nodes.map { sample("disk", 50, node: $0, at: 5) }, now: at(10))
        #expect(resolved.map(\.status) == Array(repeating: .resolved, count: 4))
        let more = engine.ingest([sample("disk", 99, node: "n2", at: 20)], now: at(20))
        #expect(more.map { $0.labels["node"] } == ["n2"])
        #expect(more.first?.severity == .critical)
    }

    @Test func ratioRuleDividesByLatestDenominatorOfTheSameSeries() {
        let settings = BuiltInDetectors.pack()
        var engine = DetectorEngine(settings: settings)
        // Without cores known, load cannot be judged.
        #expect(engine.ingest([sample("load_average_1m", 9, at: 0)], now: at(0)).isEmpty)
        let opened = engine.ingest([sample("load_average_1m", 9, at: 10), sample("cpu_physical_cores", 4, at: 10)], now: at(10))
        #expect(opened.count == 1)
        #expect(opened.first?.labels["alertname"] == "CoreLoadHigh")
        if case .object(let details)? = opened.first?.details { #expect(details["value"] == .number(2.25)) } else { Issue.record("no details") }
        // 7 / 4 = 1.75: below 2.0, resolves once it has stayed below for clear_for (5 minutes).
        #expect(engine.ingest([sample("load_average_1m", 7, at: 20)], now: at(20)).isEmpty)
        #expect(engine.ingest([sample("load_average_1m", 7, at: 319)], now: at(319)).isEmpty)
        let resolved = engine.ingest([sample("load_average_1m", 7, at: 320)], now: at(320))
        #expect(resolved.map(\.status) == [.resolved])
        // Another node's cores do not apply to n1.
        var other = DetectorEngine(settings: settings)
        _ = other.ingest([sample("cpu_physical_cores", 8, node: "n2", at: 0), sample("load_average_1m", 9, at: 1)], now: at(1))
        #expect(other.ingest([sample("load_average_1m", 9, node: "n2", at: 2)], now: at(2)).isEmpty)
    }

    @Test func nonFiniteSamplesAreIgnored() {
        var rule = diskRule
        rule.forDuration = .zero
        var engine = DetectorEngine(rules: [rule])
        #expect(feed(&engine, "disk", [(0, .nan), (1, .infinity)]).isEmpty)
        #expect(feed(&engine, "disk", [(2, 85)]).count == 1)
        #expect(feed(&engine, "disk", [(3, .nan), (4, -.infinity)]).isEmpty)
        // Out-of-order samples are ignored too.
        #expect(engine.ingest([sample("disk", 10, at: 1)], now: at(5)).isEmpty)
    }

    @Test func stalenessResolves() {
        var rule = diskRule
        rule.forDuration = .zero
        rule.staleness = Staleness(after: .seconds(300), action: .resolve)
        var engine = DetectorEngine(rules: [rule])
        #expect(feed(&engine, "disk", [(0, 85)]).count == 1)
        #expect(engine.tick(now: at(299)).isEmpty)
        let stale = engine.tick(now: at(400))
        #expect(stale.map(\.status) == [.resolved])
        #expect(stale.first?.endsAt == at(300))
        #expect(engine.tick(now: at(500)).isEmpty)
        // Data returns and is judged afresh.
        #expect(feed(&engine, "disk", [(600, 85)]).map(\.status) == [.firing])
    }

    @Test func stalenessRaisesNoData() {
        var rule = diskRule
        rule.staleness = Staleness(after: .seconds(120), action: .noData)
        var engine = DetectorEngine(rules: [rule])
        #expect(feed(&engine, "disk", [(0, 50)]).isEmpty)
        let noData = engine.tick(now: at(130))
        #expect(noData.count == 1)
        #expect(noData.first?.status == .firing)
        #expect(noData.first?.labels["condition"] == "no_data")
        #expect(noData.first?.summary.contains("No data") == true)
        #expect(engine.tick(now: at(200)).isEmpty)
        let back = feed(&engine, "disk", [(300, 50)])
        #expect(back.map(\.status) == [.resolved])
        #expect(back.first?.fingerprint == noData.first?.fingerprint)
    }
}

@Suite struct DetectorConsensusTests {
    private func view(_ node: String, _ view: String, cluster: String = "c1", at seconds: Double) -> MetricSample {
        MetricSample(name: "gossip_view", value: 1, labels: ["cluster": cluster, "node": node, "view": view], timestamp: at(seconds))
    }

    private func failed(_ node: String, _ value: Double = 1, at seconds: Double) -> MetricSample {
        MetricSample(name: "gossip_query_failed", value: value, labels: ["cluster": "c1", "node": node], timestamp: at(seconds))
    }

    @Test func differingViewsOpenAndIdenticalViewsResolve() {
        var engine = DetectorEngine(rules: [], consensus: GossipConsensusRule())
        #expect(engine.ingest([view("a", "h1", at: 0), view("b", "h1", at: 0), view("c", "h1", at: 0)], now: at(0)).isEmpty)
        let opened = engine.ingest([view("a", "h1", at: 30), view("b", "h2", at: 30), view("c", "h1", at: 30)], now: at(30))
        #expect(opened.count == 1)
        #expect(opened.first?.labels == ["cluster": "c1", "alertname": "ClusterConsensus", "detector": "tocsin"])
        #expect(opened.first?.severity == .critical)
        #expect(opened.first?.summary.contains("differing") == true)
        #expect(engine.ingest([view("b", "h2", at: 45)], now: at(45)).isEmpty)
        let resolved = engine.ingest([view("a", "h1", at: 60), view("b", "h1", at: 60), view("c", "h1", at: 60)], now: at(60))
        #expect(resolved.map(\.status) == [.resolved])
        // Another cluster is independent.
        #expect(engine.ingest([view("x", "h9", cluster: "c2", at: 70), view("y", "h1", cluster: "c2", at: 70)], now: at(70)).count == 1)
    }

    @Test func failedQueryOpensAndSuccessResolves() {
        var engine = DetectorEngine(rules: [], consensus: GossipConsensusRule())
        #expect(engine.ingest([view("a", "h1", at: 0), view("b", "h1", at: 0)], now: at(0)).isEmpty)
        let opened = engine.ingest([failed("b", at: 30)], now: at(30))
        #expect(opened.map(\.status) == [.firing])
        #expect(opened.first?.summary.contains("failed on b") == true)
        let resolved = engine.ingest([failed("b", 0, at: 40), view("b", "h1", at: 40)], now: at(40))
        #expect(resolved.map(\.status) == [.resolved])
    }

    @Test func nodesOutsideTheWindowDropOut() {
        var engine = DetectorEngine(rules: [], consensus: GossipConsensusRule(window: .seconds(60)))
        #expect(engine.ingest([view("a", "h1", at: 0), view("b", "h2", at: 0)], now: at(0)).count == 1)
        // b stops reporting; once its view is older than the window, a alone agrees with itself.
        #expect(engine.ingest([view("a", "h1", at: 30)], now: at(30)).isEmpty)
        #expect(engine.tick(now: at(61)).map(\.status) == [.resolved])
    }
}
