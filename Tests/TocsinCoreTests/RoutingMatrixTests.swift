import Foundation
import Testing
import TocsinCore

@Suite("Routing matrix")
struct RoutingMatrixTests {
    static let yaml = """
        integrations:
          - {name: ops-hook, type: webhook, url: "http://127.0.0.1:9099/webhook"}
          - {name: alert-log, type: log_file, path: /tmp/x.log}
        routing:
          global:
            warning: [ops-hook]
            error: [ops-hook, alert-log]
          backups:
            info: [alert-log]
            warning: { integrations: [alert-log], override: true }
          default: [alert-log]
        """

    static func matrix(_ yaml: String = yaml) throws -> RoutingMatrix {
        try makeLoader().load(yaml: yaml).routing
    }

    @Test("the configuration parses into the expected cells")
    func parsedCells() throws {
        let routing = try Self.matrix()
        #expect(routing.global[.warning] == RoutingCell(integrations: ["ops-hook"]))
        #expect(routing.global[.error] == RoutingCell(integrations: ["ops-hook", "alert-log"]))
        #expect(routing.global[.info] == nil)
        #expect(routing.categories[.backups]?[.info] == RoutingCell(integrations: ["alert-log"]))
        #expect(routing.categories[.backups]?[.warning] == RoutingCell(integrations: ["alert-log"], override: true))
        #expect(routing.defaultRoute == ["alert-log"])
    }

    @Test("backups/info goes to alert-log through backups.info")
    func categoryCellWithoutGlobal() throws {
        let decision = try Self.matrix().route(category: .backups, severity: .info)
        #expect(decision.targets == [RouteTarget(integration: "alert-log", cell: "backups.info")])
        #expect(!decision.isUnrouted)
    }

    @Test("backups/warning overrides global: only alert-log")
    func overrideReplacesGlobal() throws {
        let decision = try Self.matrix().route(category: .backups, severity: .warning)
        #expect(decision.integrations == ["alert-log"])
        #expect(!decision.integrations.contains("ops-hook"))
        #expect(decision.targets.first?.cell == "backups.warning (override)")
    }

    @Test("backups/error falls back to global.error without duplicates")
    func fallsBackToGlobal() throws {
        let decision = try Self.matrix().route(category: .backups, severity: .error)
        #expect(
            decision.targets == [
                RouteTarget(integration: "ops-hook", cell: "global.error"),
                RouteTarget(integration: "alert-log", cell: "global.error"),
            ]
        )
        #expect(Set(decision.integrations).count == decision.integrations.count)
    }

    @Test("a category cell without override adds to global, and an integration named twice is listed once")
    func nonOverrideCellAddsToGlobal() {
        let routing = RoutingMatrix(
            global: [.warning: RoutingCell(integrations: ["a", "b"])],
            categories: [.nodes: [.warning: RoutingCell(integrations: ["b", "c"])]],
            defaultRoute: ["fallback"]
        )
        let decision = routing.route(category: .nodes, severity: .warning)
        #expect(
            decision.targets == [
                RouteTarget(integration: "a", cell: "global.warning"),
                RouteTarget(integration: "b", cell: "global.warning"),
                RouteTarget(integration: "c", cell: "nodes.warning"),
            ]
        )
    }

    @Test("metrics/critical uses the error cell when there is no critical cell")
    func criticalUsesErrorCell() throws {
        let decision = try Self.matrix().route(category: .metrics, severity: .critical)
        #expect(decision.integrations == ["ops-hook", "alert-log"])
        #expect(decision.targets.allSatisfy { $0.cell == "global.error" })
    }

    @Test("a critical cell, when present, wins over the error cell")
    func criticalCellWins() throws {
        let yaml = Self.yaml.replacingOccurrences(
            of: "    error: [ops-hook, alert-log]\n",
            with: "    error: [ops-hook, alert-log]\n    critical: [alert-log]\n"
        )
        let routing = try Self.matrix(yaml)
        #expect(routing.global[.critical] == RoutingCell(integrations: ["alert-log"]))
        let critical = routing.route(category: .metrics, severity: .critical)
        #expect(critical.targets == [RouteTarget(integration: "alert-log", cell: "global.critical")])
        let error = routing.route(category: .metrics, severity: .error)
        #expect(error.integrations == ["ops-hook", "alert-log"])
    }

    @Test("a category's critical falls back to that category's error cell, override included")
    func categoryCriticalFallback() {
        let routing = RoutingMatrix(
            global: [.error: RoutingCell(integrations: ["pager"])],
            categories: [.repairs: [.error: RoutingCell(integrations: ["repair-chat"], override: true)]]
        )
        let decision = routing.route(category: .repairs, severity: .critical)
        #expect(decision.targets == [RouteTarget(integration: "repair-chat", cell: "repairs.error (override)")])
    }

    @Test("metrics/info reaches only the default route")
    func defaultRoute() throws {
        let decision = try Self.matrix().route(category: .metrics, severity: .info)
        #expect(decision.targets == [RouteTarget(integration: "alert-log", cell: "default")])
    }

    @Test("the default route is not added when a cell routes the event")
    func defaultNotAddedWhenRouted() throws {
        let routing = RoutingMatrix(global: [.warning: RoutingCell(integrations: ["ops-hook"])], defaultRoute: ["alert-log"])
        let decision = routing.route(category: .metrics, severity: .warning)
        #expect(decision.integrations == ["ops-hook"])
    }

    @Test("without a default route, an event nothing takes is unrouted")
    func unroutedWithoutDefault() throws {
        let yaml = Self.yaml.replacingOccurrences(of: "  default: [alert-log]", with: "")
        let routing = try Self.matrix(yaml)
        #expect(routing.defaultRoute.isEmpty)
        let decision = routing.route(category: .metrics, severity: .info)
        #expect(decision.isUnrouted)
        #expect(decision.targets.isEmpty)
        #expect(!routing.route(category: .metrics, severity: .warning).isUnrouted)
    }

    @Test("an empty override cell keeps global out; the default route catches the event")
    func emptyOverrideFallsToDefault() {
        let routing = RoutingMatrix(
            global: [.info: RoutingCell(integrations: ["chat"])],
            categories: [.commands: [.info: RoutingCell(integrations: [], override: true)]],
            defaultRoute: ["alert-log"]
        )
        let decision = routing.route(category: .commands, severity: .info)
        #expect(decision.targets == [RouteTarget(integration: "alert-log", cell: "default")])
    }

    @Test("references name every integration with its place in the matrix")
    func references() throws {
        let references = try Self.matrix().references.map { "\($0.path)=\($0.integration)" }
        #expect(
            Set(references) == [
                "routing.global.warning=ops-hook",
                "routing.global.error=ops-hook",
                "routing.global.error=alert-log",
                "routing.backups.info=alert-log",
                "routing.backups.warning=alert-log",
                "routing.default=alert-log",
            ]
        )
    }
}
