import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinStore
import TocsinTestSupport

/// Two runtimes on one PostgreSQL schema, as two instances behind a load balancer: metric samples of one series
/// arrive at either, and the detectors judge the series on one shared state.
@Suite("Detectors shared by two instances on PostgreSQL, on simulated time")
struct FleetDetectorTests {
    static func yaml(url: String) -> String {
        """
        storage:
          postgres: "\(url)"
        integrations:
          - {name: ops, type: log_file, path: "{DATA}/ops.log"}
        routing:
          cluster:
            warning: [ops]
            critical: [ops]
        detectors: {}
        """
    }

    static func disk(_ value: Double, at time: Date) -> String {
        DetectorIngestTests.sample("disk_used_percent", value, node: "n1", at: time)
    }

    @Test("a series whose samples alternate between instances is judged as one: a drop seen by one resets the other's wait")
    func testSharedSeries() async throws {
        let url = try TestPostgres.freshSchemaURL(prefix: "fleet_detectors")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_767_225_600))
        let (first, _) = try await makeRuntime(yaml: Self.yaml(url: url), clock: clock, name: "instance-a")
        let (second, _) = try await makeRuntime(yaml: Self.yaml(url: url), clock: clock, name: "instance-b")
        defer {
            Task {
                await first.shutdown()
                await second.shutdown()
            }
        }
        let start = clock.now
        try await first.application().test(.router) { a in
            try await second.application().test(.router) { b in
                // Samples stay under 5 minutes apart: a longer gap makes the series stale (the rule's staleness).
                _ = try await a.post("/api/v1/metrics", Self.disk(91, at: start))
                clock.set(start.addingTimeInterval(200))
                _ = try await a.post("/api/v1/metrics", Self.disk(92, at: clock.now))
                clock.set(start.addingTimeInterval(240))
                // Below the level, seen by the other instance only: the wait for "held for 5 minutes" starts again.
                _ = try await b.post("/api/v1/metrics", Self.disk(40, at: clock.now))
                clock.set(start.addingTimeInterval(300))
                _ = try await a.post("/api/v1/metrics", Self.disk(93, at: clock.now))
                #expect(
                    try await first.store.openAlerts(AlertFilter()).isEmpty,
                    "instance a alone saw 91, 92 and 93 from 0 s to 300 s; the drop at 240 s, posted to b, must reset the wait"
                )

                clock.set(start.addingTimeInterval(480))
                _ = try await b.post("/api/v1/metrics", Self.disk(94, at: clock.now))
                #expect(try await first.store.openAlerts(AlertFilter()).isEmpty, "above since 300 s: 3 minutes")
                clock.set(start.addingTimeInterval(600))
                _ = try await a.post("/api/v1/metrics", Self.disk(95, at: clock.now))
                let open = try await second.store.openAlerts(AlertFilter())
                #expect(
                    open.map { $0.labels["alertname"] } == ["DiskUsageHigh"],
                    "above since 300 s (seen by a), through 480 s (b), held at 600 s (a)"
                )

                // Both instances tick; the series is stale once, and one resolve is stored.
                let tickers = [first, second].map { runtime in
                    DetectorTicker(detectors: runtime.detectors!, ingestor: runtime.ingestor, logger: runtime.logger, clock: { clock.now })
                }
                clock.set(start.addingTimeInterval(600 + 301))
                let raised = try await tickers[0].tick() + tickers[1].tick()
                #expect(raised == 1, "one instance judges the series stale; the other sees it already judged")
                #expect(try await first.store.openAlerts(AlertFilter()).isEmpty)
                let history = try await first.store.events(before: nil, limit: 20).filter { $0.event.kind == .alert }
                #expect(history.map(\.outcome) == [.resolved, .opened])
                let told = try await first.store.outbox(integration: "ops", limit: 10).map(\.notification.type)
                #expect(told == [.open, .resolve])
            }
        }
    }
}
