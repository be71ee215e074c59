import Foundation
import Testing
import TocsinCore

private func at(_ seconds: Double) -> Date { coreT0.addingTimeInterval(seconds) }

private func sample(_ name: String, _ value: Double, node: String = "n1", at seconds: Double) -> MetricSample {
    MetricSample(name: name, value: value, labels: ["cluster": "c1", "node": node], timestamp: at(seconds))
}

private func view(_ node: String, _ view: String, cluster: String = "c1", at seconds: Double) -> MetricSample {
    MetricSample(name: "gossip_view", value: 1, labels: ["cluster": cluster, "node": node, "view": view], timestamp: at(seconds))
}

private func failed(_ node: String, cluster: String = "c1", at seconds: Double) -> MetricSample {
    MetricSample(name: "gossip_query_failed", value: 1, labels: ["cluster": cluster, "node": node], timestamp: at(seconds))
}

/// One step of a simulated run: samples arriving at `now`, or a tick at `now`.
private enum Step {
    case samples(Double, [MetricSample])
    case tick(Double)
}

/// Runs the steps in order; `now` carries a fraction of a millisecond, as a real clock does.
private func run(_ engine: inout DetectorEngine, _ steps: [Step]) -> [Event] {
    var events: [Event] = []
    for step in steps {
        switch step {
        case .samples(let seconds, let samples): events += engine.ingest(samples, now: at(seconds + 0.000_123_4))
        case .tick(let seconds): events += engine.tick(now: at(seconds + 0.000_123_4))
        }
    }
    return events
}

/// `rule/node-or-cluster/transition` of an event, to say which transitions a run produced.
private func transition(_ event: Event) -> String {
    let rule = event.labels["alertname"] ?? "?"
    let place = event.labels["node"] ?? event.labels["cluster"] ?? "?"
    if event.labels["condition"] == "no_data" { return "\(rule)/\(place)/no_data-\(event.status?.rawValue ?? "?")" }
    let name = event.details?.objectValue?["transition"]?.stringValue ?? event.status?.rawValue ?? "?"
    return "\(rule)/\(place)/\(name)"
}

private let seriesFields =
    #"["labels", "lastSampleAt", "lastValue", "clearSince", "criticalClearSince", "warningSince", "criticalSince", "firing", "firingSince", "#
    + #""stale", "noDataSince"]"#

private func text(_ engine: DetectorEngine) -> String { JSONWriter.string(engine.storedForm) }

private func restored(_ settings: DetectorSettings, from text: String) throws -> DetectorEngine {
    try DetectorEngine(settings: settings, restoring: JSONParser.parse(Array(text.utf8)))
}

private let disk = ThresholdRule(
    name: "Disk",
    expression: .metric("disk"),
    warning: 80,
    critical: 90,
    forDuration: .seconds(60),
    staleness: Staleness(after: .seconds(300))
)
/// Hysteresis: opens above 90, resolves once at or below 70 for a minute.
private let memory = ThresholdRule(name: "Memory", expression: .metric("mem"), warning: 90, clearLevel: 70, clearFor: .seconds(60))
/// No data: a silent series raises its own alert.
private let queue = ThresholdRule(
    name: "Queue",
    expression: .metric("queue"),
    warning: 100,
    staleness: Staleness(after: .seconds(120), action: .noData)
)
private let load = ThresholdRule(
    name: "Load",
    expression: .ratio(numerator: "load", denominator: "cores"),
    warning: 2,
    clearFor: .seconds(300),
    staleness: Staleness(after: .seconds(300))
)
private let consensusRule = GossipConsensusRule(window: .seconds(90), forDuration: .seconds(30), clearFor: .seconds(20))
private let settings = DetectorSettings(rules: [disk, memory, queue, load], consensus: consensusRule)

@Suite("Detector stored form")
struct DetectorStoredFormTests {
    /// Up to t = 200: pending `for` clocks, firing alerts, a clearing hysteresis, a series gone stale into no data,
    /// ratio denominators, a consensus disagreement not yet held long enough and an open consensus alert.
    private static let before: [Step] = [
        .samples(
            0,
            [
                sample("disk", 95, node: "n2", at: 0), sample("mem", 95, at: 0), sample("queue", 50, at: 0),
                sample("cores", 4, at: 0), sample("load", 9, at: 0),
                view("x", "h1", cluster: "c2", at: 0), failed("y", cluster: "c2", at: 0),
            ]
        ),
        .tick(10), .tick(40),
        .samples(50, [sample("cores", 2, node: "n2", at: 50)]),
        .samples(60, [sample("disk", 95, node: "n2", at: 60)]),
        .samples(100, [sample("disk", 85, node: "n2", at: 100), sample("load", 7, at: 100), view("x", "h1", cluster: "c2", at: 100)]),
        .samples(101, [failed("y", cluster: "c2", at: 101)]),
        .tick(130),
        .samples(
            150,
            [
                sample("disk", 85, at: 150), sample("disk", 95, node: "n2", at: 150), sample("mem", 65, at: 150),
                MetricSample(name: "disk", value: 85, labels: ["cluster": "c1", "node": "n3"], timestamp: at(150.000_123_456)),
            ]
        ),
        .samples(180, [view("a", "h1", at: 180), view("b", "h2", at: 180)]),
        .samples(
            190,
            [
                sample("disk", 85, at: 190), sample("load", 7, at: 190), sample("queue", 150, node: "n2", at: 190),
                view("x", "h1", cluster: "c2", at: 190), failed("y", cluster: "c2", at: 190),
            ]
        ),
        .tick(200),
    ]

    /// From t = 210: every pending clock comes due, alerts escalate, clear, go stale and come back.
    private static let after: [Step] = {
        var steps: [Step] = [
            .samples(
                210,
                [
                    sample("disk", 85, at: 210),
                    MetricSample(name: "disk", value: 85, labels: ["cluster": "c1", "node": "n3"], timestamp: at(210.000_123_456)),
                ]
            ),
            .samples(215, [sample("disk", 95, node: "n2", at: 215), sample("mem", 65, at: 215), view("a", "h1", at: 215), view("b", "h2", at: 215)]),
            .samples(240, [view("a", "h1", at: 240), view("b", "h1", at: 240)]),
            .samples(250, [sample("queue", 150, at: 250), sample("load", 5, node: "n2", at: 250)]),
            .samples(265, [view("a", "h1", at: 265), view("b", "h1", at: 265)]),
            .samples(300, [sample("load", 7, at: 300)]),
            .samples(400, [sample("load", 7, at: 400)]),
        ]
        steps += stride(from: 210.0, through: 800, by: 10).map { Step.tick($0) }
        return steps.sorted { time(of: $0) < time(of: $1) }
    }()

    private static func time(of step: Step) -> Double {
        switch step {
        case .samples(let seconds, _): seconds
        case .tick(let seconds): seconds + 0.5
        }
    }

    @Test("a restored engine goes on exactly as the engine it was taken from")
    func roundTrip() throws {
        var original = DetectorEngine(settings: settings)
        let earlier = run(&original, Self.before)
        #expect(earlier.map(transition).contains("Queue/n1/no_data-firing"))
        #expect(earlier.map(transition).contains("ClusterConsensus/c2/firing"))
        let stored = text(original)
        var copy = try restored(settings, from: stored)
        // Read back, the state is written as the very same text.
        #expect(text(copy) == stored)

        let expected = run(&original, Self.after)
        let events = run(&copy, Self.after)
        #expect(events == expected)
        #expect(text(copy) == text(original))
        // What carried over is what the later events depend on: pending `for`, a firing alert escalating, the
        // hysteresis clear, no data ending, denominators, the consensus clock and its open alert.
        let transitions = Set(expected.map(transition))
        for needed in [
            "Disk/n1/open", "Disk/n3/open", "Disk/n2/critical", "Disk/n2/stale", "Memory/n1/resolve", "Queue/n1/no_data-resolved",
            "Queue/n1/open", "Queue/n2/stale", "Queue/n2/no_data-firing", "Load/n1/resolve", "Load/n2/open",
            "ClusterConsensus/c1/firing", "ClusterConsensus/c1/resolved", "ClusterConsensus/c2/resolved",
        ] {
            #expect(transitions.contains(needed), "missing \(needed)")
        }
        // An engine starting afresh does not: the state mattered.
        var fresh = DetectorEngine(settings: settings)
        #expect(run(&fresh, Self.after) != expected)
    }

    @Test("restoring under another configuration keeps the state of rules still configured and drops the rest")
    func configurationChange() throws {
        var original = DetectorEngine(settings: settings)
        _ = run(&original, Self.before)
        let stored = text(original)

        // Memory's levels changed, Load divides by another metric, Disk, Queue and consensus are gone, Net is new.
        var changedMemory = memory
        changedMemory.warning = 92
        changedMemory.clearFor = .zero
        var changedLoad = load
        changedLoad.expression = .ratio(numerator: "load", denominator: "vcpus")
        changedLoad.clearFor = .zero
        let net = ThresholdRule(name: "Net", expression: .metric("net"), warning: 10)
        let changed = DetectorSettings(rules: [net, changedLoad, changedMemory])
        var engine = try restored(changed, from: stored)

        guard case .object(let form) = engine.storedForm, case .object(let rules)? = form["rules"] else {
            Issue.record("no rules in \(text(engine))")
            return
        }
        #expect(Set(rules.keys) == ["Memory", "Load"])
        #expect(form["consensus"] == nil)
        #expect(rules["Load"]?.objectValue?["denominators"] == nil)
        #expect(rules["Load"]?.objectValue?["series"]?.objectValue?["rows"]?.arrayValue?.count == 1)

        // Memory still fires on n1: the first sample on the clear side resolves it.
        #expect(engine.ingest([sample("mem", 50, at: 210)], now: at(210)).map(transition) == ["Memory/n1/resolve"])
        // Load's old denominators are gone: a load sample alone is not judged; with its new denominator it is, and
        // the alert it had open resolves.
        #expect(engine.ingest([sample("load", 9, at: 220)], now: at(220)).isEmpty)
        #expect(engine.ingest([sample("vcpus", 100, at: 230), sample("load", 9, at: 230)], now: at(230)).map(transition) == ["Load/n1/resolve"])
        // Net starts afresh.
        #expect(engine.ingest([sample("net", 20, at: 240)], now: at(240)).map(transition) == ["Net/n1/open"])
        // Disk's series were dropped: no staleness comes from them.
        #expect(engine.tick(now: at(2000)).map(transition).allSatisfy { !$0.hasPrefix("Disk/") })

        // The same configuration keeps everything.
        #expect(text(try restored(settings, from: stored)) == stored)
    }

    @Test(
        "a stored form that cannot be read throws naming the field at fault, and leaves the engine as it was",
        arguments: [
            ("[]", "detectorState"),
            (#"{"rules": {}}"#, "version"),
            (#"{"version": 2, "rules": {}}"#, "version"),
            (#"{"version": 1, "rules": []}"#, "rules"),
            (#"{"version": 1, "rules": {"Disk": []}}"#, "rules.Disk"),
            (#"{"version": 1, "rules": {"Disk": {"series": []}}}"#, "rules.Disk.series"),
            (#"{"version": 1, "rules": {"Disk": {"series": {"fields": ["labels"], "rows": []}}}}"#, "rules.Disk.series.fields"),
            (#"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": {}}}}}"#, "rules.Disk.series.rows"),
            (#"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [3]}}}}"#, "rules.Disk.series.rows[0]"),
            (
                #"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[{}, 1, 2, 3, 4, 5, 6, "warning", 8, true, 10, 11]]}}}}"#,
                "rules.Disk.series.rows[0]"
            ),
            (#"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[]]}}}}"#, "rules.Disk.series.rows[0].labels"),
            (
                #"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[{"node": 1}]]}}}}"#,
                "rules.Disk.series.rows[0].labels.node"
            ),
            (
                #"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[{}], [{"node": "n1"}, "noon"]]}}}}"#,
                "rules.Disk.series.rows[1].lastSampleAt"
            ),
            (
                #"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[{}, 1, 2, 3, true]]}}}}"#,
                "rules.Disk.series.rows[0].criticalClearSince"
            ),
            (
                #"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[{}, 1, 2, 3, 4, 5, 6, "severe"]]}}}}"#,
                "rules.Disk.series.rows[0].firing"
            ),
            (
                #"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[{}, 1, 2, 3, 4, 5, 6, "warning", 8, 1]]}}}}"#,
                "rules.Disk.series.rows[0].stale"
            ),
            (
                #"{"version": 1, "rules": {"Disk": {"series": {"fields": \#(seriesFields), "rows": [[{"node": "n1"}], [{"node": "n1"}]]}}}}"#,
                "rules.Disk.series.rows[1].labels"
            ),
            (
                #"{"version": 1, "rules": {"Load": {"denominators": {"fields": ["labels", "value", "at"], "rows": []}}}}"#,
                "rules.Load.denominators.metric"
            ),
            (
                #"{"version": 1, "rules": {"Load": {"denominators": {"metric": "cores", "fields": ["labels", "value", "at"], "rows": [[{}, null, 0]]}}}}"#,
                "rules.Load.denominators.rows[0].value"
            ),
            (#"{"version": 1, "rules": {}, "consensus": {"clusters": {}}}"#, "consensus.rule"),
            (
                #"{"version": 1, "rules": {}, "consensus": {"rule": "ClusterConsensus", "clusters": {"c1": {"nodes": {"a": {"viewAt": "x"}}}}}}"#,
                "consensus.clusters.c1.nodes.a.viewAt"
            ),
            (
                #"{"version": 1, "rules": {}, "consensus": {"rule": "ClusterConsensus", "clusters": {"c1": {"openedAt": true}}}}"#,
                "consensus.clusters.c1.openedAt"
            ),
        ]
    )
    func corruptStoredForm(stored: String, field: String) throws {
        var engine = DetectorEngine(settings: settings)
        _ = run(&engine, Self.before)
        let before = text(engine)
        #expect(throws: StoredFormError(field: field)) {
            try engine.restore(from: JSONParser.parse(Array(stored.utf8)))
        }
        #expect(text(engine) == before)
    }

    @Test("state of a rule no longer configured is not read, so it cannot make the rest unreadable")
    func droppedStateIsNotRead() throws {
        let stored = #"{"version": 1, "rules": {"Gone": {"series": [3]}}, "consensus": {"rule": "Other", "clusters": 5}}"#
        let engine = try restored(settings, from: stored)
        #expect(text(engine) == #"{"rules":{},"version":1}"#)
    }

    @Test("one state is always the same text: keys sorted, rows in the order of their labels, times exact")
    func stableText() throws {
        var engine = DetectorEngine(rules: [disk], consensus: GossipConsensusRule())
        _ = engine.ingest([sample("disk", 85, at: 0), view("a", "h1", at: 0)], now: at(0.5))
        // Times are milliseconds since 1970 when they read back exactly; a series is one row under its table's fields.
        #expect(
            text(engine)
                == #"{"consensus":{"clusters":{"c1":{"goodSince":1700000000500,"nodes":{"a":{"view":"h1","viewAt":1700000000000}}}},"#
                + #""rule":"ClusterConsensus"},"rules":{"Disk":{"series":{"fields":\#(seriesFields.filter { $0 != " " }),"#
                + #""rows":[[{"cluster":"c1","node":"n1"},1700000000000,85,null,1700000000000,1700000000000]]}}},"version":1}"#
        )
        // A time milliseconds cannot hold exactly is `Date`'s own number (seconds since 2001), as text.
        let precise = at(60.000_123_4)
        _ = engine.ingest([MetricSample(name: "disk", value: 85, labels: ["node": "n2"], timestamp: precise)], now: precise)
        let row = engine.storedForm.objectValue?["rules"]?.objectValue?["Disk"]?.objectValue?["series"]?.objectValue?["rows"]?.arrayValue?
            .first { $0.arrayValue?.first == .object(["node": .string("n2")]) }
        #expect(row?.arrayValue?[1] == .string("\(precise.timeIntervalSinceReferenceDate)"))
        #expect(text(try restored(engine.settings, from: text(engine))) == text(engine))

        // The same samples in another order and other batches leave the same state, written the same.
        let perNode = (1...40).map { number in
            let node = "n\(number)"
            return [sample("disk", 85, node: node, at: 0), sample("mem", 95, node: node, at: 0), sample("cores", 4, node: node, at: 0)]
                + [sample("load", 9, node: node, at: 1), view(node, number % 2 == 0 ? "h1" : "h2", cluster: "c\(number % 3)", at: 1)]
        }
        var one = DetectorEngine(settings: settings)
        _ = one.ingest(perNode.flatMap { $0 }, now: at(2))
        var other = DetectorEngine(settings: settings)
        for samples in perNode.reversed() {
            for sample in samples { _ = other.ingest([sample], now: at(2)) }
        }
        // The consensus clocks start at `now`; the last batch's `now` is the same for both.
        _ = one.tick(now: at(3))
        _ = other.tick(now: at(3))
        #expect(text(one) == text(other))
        #expect(text(one) == text(one))
        // Read back and written again, the text is the same.
        #expect(text(try restored(settings, from: text(one))) == text(one))
    }
}
