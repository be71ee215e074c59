import Foundation
import Testing

@testable import TocsinCore

@Suite("NoiseSettingsParser: routing.grouping, category grouping, flap_damping, inhibit_rules")
struct NoiseSettingsParserTests {
    func routing(_ json: String) throws -> JSONValue {
        try JSONParser.parse(Array(json.utf8))
    }

    func parse(_ json: String) throws -> (settings: NoiseSettings, problems: [ConfigProblem]) {
        var problems: [ConfigProblem] = []
        let settings = NoiseSettingsParser.parse(routing: try routing(json), problems: &problems)
        return (settings, problems)
    }

    static let fullExample = """
        {
          "default": ["chat"],
          "grouping": {
            "group_by": ["alertname", "cluster"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "window": "1h"
          },
          "backups": {
            "error": ["pager"],
            "grouping": {"group_wait": "2m", "group_by": ["backup_id"]}
          },
          "nodes": {"grouping": {"group_by": "...", "repeat_interval": 7200}},
          "flap_damping": {"window": "10m", "max_changes": 3, "settle": "15m"},
          "inhibit_rules": [
            {
              "source_matchers": ["alertname=\\"ClusterDown\\""],
              "target_matchers": ["severity=~\\"warning|error\\"", "alertname!=Watchdog"],
              "equal": ["cluster"]
            }
          ]
        }
        """

    @Test("a full example is read into the settings it describes, without problems")
    func fullExampleIsAccepted() throws {
        let (settings, problems) = try parse(Self.fullExample)
        #expect(problems.isEmpty, "\(problems)")
        let global = GroupingPolicy(
            groupBy: .labels(["alertname", "cluster"]),
            groupWait: .seconds(30),
            groupInterval: .seconds(300),
            repeatInterval: .seconds(4 * 3600),
            window: .seconds(3600)
        )
        #expect(settings.grouping == global)
        var backups = global
        backups.groupWait = .seconds(120)
        backups.groupBy = .labels(["backup_id"])
        var nodes = global
        nodes.groupBy = .everyLabel
        nodes.repeatInterval = .seconds(7200)
        #expect(settings.categoryGrouping == [.backups: backups, .nodes: nodes])
        #expect(settings.flapDamping == FlapDamping(window: .seconds(600), maxChanges: 3, settle: .seconds(900)))
        let expectedRule = InhibitRule(
            sourceMatchers: [try LabelMatcher(name: "alertname", operation: .equal, value: "ClusterDown")],
            targetMatchers: [
                try LabelMatcher(name: "severity", operation: .matchesRegex, value: "warning|error"),
                try LabelMatcher(name: "alertname", operation: .notEqual, value: "Watchdog"),
            ],
            equal: ["cluster"]
        )
        #expect(settings.inhibitRules == [expectedRule])
    }

    @Test("a category's grouping inherits routing.grouping's values for the keys it leaves out")
    func categoryInheritsGlobalGrouping() throws {
        let (settings, problems) = try parse(
            #"{"grouping": {"group_by": ["alertname"], "group_interval": "10m"}, "repairs": {"grouping": {"group_wait": "1m"}}}"#
        )
        #expect(problems.isEmpty)
        let repairs = try #require(settings.categoryGrouping[.repairs])
        #expect(repairs.groupBy == .labels(["alertname"]))
        #expect(repairs.groupInterval == .seconds(600))
        #expect(repairs.groupWait == .seconds(60))
        #expect(repairs.repeatInterval == GroupingPolicy.ungrouped.repeatInterval)
        #expect(settings.categoryGrouping[.metrics] == nil)
    }

    @Test("keys left out of routing.grouping keep the ungrouped defaults; no noise keys gives the standard settings")
    func defaults() throws {
        let (partial, problems) = try parse(#"{"grouping": {"group_wait": "45s"}}"#)
        #expect(problems.isEmpty)
        #expect(partial.grouping.groupBy == .everyLabel)
        #expect(partial.grouping.groupWait == .seconds(45))
        #expect(partial.grouping.repeatInterval == .seconds(3 * 3600))
        #expect(partial.flapDamping == nil)
        let (none, noProblems) = try parse(#"{"global": {"info": ["chat"]}}"#)
        #expect(noProblems.isEmpty)
        #expect(none == .standard)
        var nothing: [ConfigProblem] = []
        #expect(NoiseSettingsParser.parse(routing: nil, problems: &nothing) == .standard)
        #expect(nothing.isEmpty)
    }

    @Test("flap_damping keys left out take the defaults: 10 minutes, 4 changes, 10 minutes")
    func flapDampingDefaults() throws {
        let (settings, problems) = try parse(#"{"flap_damping": {"max_changes": 2}}"#)
        #expect(problems.isEmpty)
        #expect(settings.flapDamping == FlapDamping(window: .seconds(600), maxChanges: 2, settle: .seconds(600)))
    }

    @Test("every bad key and value is reported at its path, all at once")
    func badKeysAndValuesAreReportedWithPaths() throws {
        let json = """
            {
              "grouping": {
                "group_by": ["alertname", 3, "", "..."],
                "group_wait": "soon",
                "group_interval": true,
                "repeat_interval": "0s",
                "window": 0,
                "colour": "red"
              },
              "backups": {"grouping": {"group_by": "backup_id"}},
              "nodes": {"grouping": ["group_wait"]},
              "flap_damping": {"window": "often", "max_changes": 2.5, "settle": [], "jitter": 1},
              "inhibit_rules": [
                null,
                {"source_matchers": ["no operator"], "target_matchers": [7]},
                {"source_matchers": ["alertname=A"]},
                {"source_matchers": "alertname=A", "target_matchers": ["x=y"], "equal": "cluster", "when": "always"},
                "rule"
              ]
            }
            """
        let (_, problems) = try parse(json)
        let expected: [String] = [
            "routing.grouping.group_by[1]",
            "routing.grouping.group_by[2]",
            "routing.grouping.group_by",
            "routing.grouping.group_wait",
            "routing.grouping.group_interval",
            "routing.grouping.repeat_interval",
            "routing.grouping.window",
            "routing.grouping.colour",
            "routing.backups.grouping.group_by",
            "routing.nodes.grouping",
            "routing.flap_damping.window",
            "routing.flap_damping.max_changes",
            "routing.flap_damping.settle",
            "routing.flap_damping.jitter",
            "routing.inhibit_rules[0]",
            "routing.inhibit_rules[1].source_matchers[0]",
            "routing.inhibit_rules[1].target_matchers[0]",
            "routing.inhibit_rules[1]",
            "routing.inhibit_rules[2]",
            "routing.inhibit_rules[3].source_matchers",
            "routing.inhibit_rules[3].equal",
            "routing.inhibit_rules[3].when",
            "routing.inhibit_rules[3]",
            "routing.inhibit_rules[4]",
        ]
        for path in expected {
            #expect(problems.at(path) != nil, "no problem at \(path): \(problems)")
        }
        #expect(Set(problems.map(\.path)) == Set(expected), "\(problems)")
        #expect(problems.at("routing.grouping.repeat_interval")?.message == "must be more than zero")
        #expect(problems.at("routing.grouping.colour")?.message.hasPrefix("unknown key") == true)
        #expect(problems.at("routing.grouping.group_by")?.message.contains("'...' stands alone") == true)
        #expect(problems.at("routing.nodes.grouping")?.message.contains("expected a mapping") == true)
        #expect(problems.at("routing.inhibit_rules[2]")?.message.contains("needs source_matchers and target_matchers") == true)
    }

    @Test("non-list inhibit_rules and a non-mapping flap_damping are reported")
    func wrongShapesAreReported() throws {
        let (settings, problems) = try parse(#"{"inhibit_rules": {"source_matchers": []}, "flap_damping": "on"}"#)
        #expect(problems.at("routing.inhibit_rules")?.message.contains("expected a list") == true)
        #expect(problems.at("routing.flap_damping")?.message.contains("expected a mapping") == true)
        #expect(settings.inhibitRules.isEmpty)
        #expect(settings.flapDamping == nil)
    }

    @Test("max_changes must be a whole number of at least 1")
    func maxChangesMustBeAWholeNumber() throws {
        for bad in ["0", "-1", "1.5", "\"3\"", "1e7"] {
            let (_, problems) = try parse(#"{"flap_damping": {"max_changes": \#(bad)}}"#)
            #expect(problems.at("routing.flap_damping.max_changes") != nil, "max_changes: \(bad)")
        }
    }

    @Test("a non-text label name in an inhibit rule's equal list is reported, not silently dropped")
    func nonTextEqualLabelIsReported() throws {
        let json = #"{"inhibit_rules": [{"source_matchers": ["a=b"], "target_matchers": ["c=d"], "equal": ["cluster", 5]}]}"#
        let (settings, problems) = try parse(json)
        #expect(problems.at("routing.inhibit_rules[0].equal[1]") != nil)
        #expect(settings.inhibitRules.first?.equal.contains("cluster") == true)
    }

    @Test("the configuration loader reads grouping next to a category's routing cells")
    func loaderReadsGroupingInCategoryRows() throws {
        let yaml = """
            integrations:
              - {name: chat, type: webhook, url: "http://chat.example/hook"}
            routing:
              grouping: {group_by: [alertname], group_wait: 30s, group_interval: 5m, repeat_interval: 4h}
              backups:
                error: [chat]
                grouping: {group_wait: 1m}
              flap_damping: {window: 10m, max_changes: 4, settle: 10m}
            """
        let config = try makeLoader().load(yaml: yaml)
        #expect(config.noise.grouping.groupBy == .labels(["alertname"]))
        #expect(config.noise.grouping.repeatInterval == .seconds(4 * 3600))
        #expect(config.noise.categoryGrouping[.backups]?.groupWait == .seconds(60))
        #expect(config.noise.categoryGrouping[.backups]?.groupInterval == .seconds(300))
        #expect(config.noise.flapDamping?.maxChanges == 4)
        #expect(config.routing.categories[.backups]?[.error]?.integrations == ["chat"])
    }

    @Test("the loader reports bad grouping values with their routing path")
    func loaderReportsGroupingProblems() {
        let yaml = """
            routing:
              grouping: {group_wait: later}
              nodes:
                grouping: {repeat_interval: 0}
            """
        let problems = configProblems(yaml)
        #expect(problems.at("routing.grouping.group_wait") != nil, "\(problems)")
        #expect(problems.at("routing.nodes.grouping.repeat_interval") != nil, "\(problems)")
    }

    @Test("grouping written under routing.global is either applied or reported, not silently ignored")
    func groupingUnderGlobalIsNotSilentlyIgnored() {
        let yaml = """
            routing:
              global:
                grouping: {group_by: [alertname], group_wait: 45s}
            """
        let config = try? makeLoader().load(yaml: yaml)
        #expect(config == nil, "reported rather than ignored")
    }
}
