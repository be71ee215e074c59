import Foundation
import Testing
import TocsinCore

@Suite struct DetectorRuleParserTests {
    @Test func builtInPackHasDescriptionsAndDefaultNames() {
        let pack = BuiltInDetectors.pack()
        #expect(pack.rules.map(\.name) == ["CoreLoadHigh", "DiskUsageHigh", "MemoryUsageHigh"])
        for rule in pack.rules {
            #expect(rule.description.count > 40, "\(rule.name) needs a description that says what to do")
            #expect(!rule.summary.isEmpty)
            #expect(rule.category == .cluster)
        }
        #expect(pack.rules.map(\.expression.drivingMetric) == ["load_average_1m", "disk_used_percent", "memory_used_percent"])
        #expect(pack.rules[0].expression == .ratio(numerator: "load_average_1m", denominator: "cpu_physical_cores"))
        #expect(pack.rules.map(\.warning) == [2.0, 80, 90])
        #expect(pack.consensus?.description.isEmpty == false)
        #expect(pack.consensus?.viewMetric == "gossip_view")
    }

    @Test func parsesRulesAndBuiltInOverrides() {
        let value: JSONValue = .object([
            "builtin": .object([
                "disk_used_percent": .number(85),
                "metric_names": .object(["disk_used_percent": .string("node_disk_pct")]),
                "consensus": .object(["enabled": .bool(false)]),
            ]),
            "rules": .array([
                .object([
                    "name": .string("QueueDepth"),
                    "metric": .string("queue_depth"),
                    "comparator": .string(">="),
                    "warning": .number(100),
                    "critical": .number(1000),
                    "for": .string("2m"),
                    "clear": .number(50),
                    "clear_for": .string("30s"),
                    "stale": .object(["after": .string("10m"), "action": .string("no_data")]),
                    "category": .string("metrics"),
                    "group_by": .array([.string("node")]),
                    "description": .string("Drain the queue."),
                ])
            ]),
        ])
        let (settings, problems) = DetectorRuleParser.parseSettings(value, path: "detectors")
        #expect(problems.isEmpty)
        #expect(settings.consensus == nil)
        #expect(settings.rules.count == 4)
        #expect(settings.rules[1].expression == .metric("node_disk_pct"))
        #expect(settings.rules[1].warning == 85)
        let rule = settings.rules[3]
        #expect(rule.comparator == .greaterThanOrEqual)
        #expect(rule.forDuration == .seconds(120))
        #expect(rule.clearLevel == 50)
        #expect(rule.clearFor == .seconds(30))
        #expect(rule.staleness == Staleness(after: .seconds(600), action: .noData))
        #expect(rule.category == .metrics)
        #expect(rule.groupBy == ["node"])
        let disabled = DetectorRuleParser.parse(.object(["builtin": .object(["enabled": .bool(false)])]), path: "detectors")
        #expect(disabled.rules.isEmpty && disabled.problems.isEmpty)
    }

    @Test func reportsEveryProblemWithItsPath() {
        let value: JSONValue = .object([
            "colour": .string("red"),
            "builtin": .object(["disk_used_percent": .number(120), "metric_names": .object(["cpu": .string("x")])]),
            "rules": .array([
                .object([
                    "name": .string("A"),
                    "metric": .string("m"),
                    "comparator": .string("=="),
                    "warning": .number(90),
                    "critical": .number(80),
                    "for": .string("soon"),
                    "stale": .object(["action": .string("panic")]),
                    "threshold": .number(1),
                ]),
                .object(["name": .string("DiskUsageHigh"), "ratio": .object(["numerator": .string("a")]), "warning": .number(1)]),
                .object(["metric": .string("m"), "warning": .number(1), "clear": .number(5)]),
            ]),
        ])
        let (rules, problems) = DetectorRuleParser.parse(value, path: "detectors")
        let paths = Set(problems.map(\.path))
        let expected: Set<String> = [
            "detectors.colour",
            "detectors.builtin.disk_used_percent",
            "detectors.builtin.metric_names.cpu",
            "detectors.rules[0].comparator",
            "detectors.rules[0].critical",
            "detectors.rules[0].for",
            "detectors.rules[0].stale.action",
            "detectors.rules[0].stale.after",
            "detectors.rules[0].threshold",
            "detectors.rules[1].ratio.denominator",
            "detectors.rules[2].name",
            "detectors.rules[2].clear",
        ]
        #expect(paths == expected, "\(problems)")
        #expect(rules.count == 3)
        let duplicate = DetectorRuleParser.parse(
            .object(["rules": .array([.object(["name": .string("DiskUsageHigh"), "metric": .string("m"), "warning": .number(1)])])]),
            path: "detectors"
        )
        #expect(duplicate.problems.map(\.path) == ["detectors.rules[0].name"])
    }
}
