import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinStore
import TocsinTestSupport

/// Simulated time for noise-control acceptance tests, in the spirit of Alertmanager's: push alerts at t seconds,
/// run the group timers to t, and read what each integration was told and when. The runtime's background services
/// are not started; the harness itself is the only thing that moves time and looks at due groups, each at the exact
/// instant it falls due.
final class NoiseHarness: Sendable {
    let runtime: TocsinRuntime
    let clock: ManualClock
    let start: Date
    let directory: String

    static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    init(yaml: String, directory: String? = nil, start: Date = NoiseHarness.epoch, clock: ManualClock? = nil) async throws {
        let clock = clock ?? ManualClock(start)
        let (runtime, directory) = try await makeRuntime(yaml: yaml, clock: clock, name: "tocsin-noise", directory: directory)
        self.runtime = runtime
        self.clock = clock
        self.start = start
        self.directory = directory
    }

    func shutdown() async { await runtime.shutdown() }

    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    /// Seconds since the start of the scenario.
    func seconds(_ date: Date) -> Double { date.timeIntervalSince(start) }

    /// Moves simulated time to `seconds`, looking at every group whose timer falls due on the way, at its instant.
    func run(until seconds: Double) async throws {
        let target = at(seconds)
        var looks = 0
        while let next = try await runtime.store.nextGroupLook(), next <= target {
            clock.set(max(clock.now, next))
            try await runtime.groups.flush()
            looks += 1
            try #require(looks < 10_000, "a group timer does not move on: \(next)")
        }
        clock.set(max(clock.now, target))
    }

    /// Runs the timers to `seconds`, then pushes one alert event there.
    @discardableResult
    func push(
        _ labels: [String: String],
        firing: Bool = true,
        severity: Severity = .warning,
        category: Category = .nodes,
        summary: String? = nil,
        at seconds: Double
    ) async throws -> IngestedEvent {
        try await run(until: seconds)
        let now = clock.now
        let event = Event(
            id: "e-\(UUID().uuidString)",
            kind: .alert,
            severity: severity,
            category: category,
            status: firing ? .firing : .resolved,
            labels: labels,
            summary: summary ?? "\(labels["alertname"] ?? "Alert") on \(labels["node"] ?? "?")",
            startsAt: now,
            endsAt: firing ? nil : now,
            receivedAt: now,
            fingerprint: Fingerprint.of(labels: labels)
        )
        let results = try await runtime.ingestor.ingest([event])
        return try #require(results.first)
    }

    func resolve(_ labels: [String: String], category: Category = .nodes, at seconds: Double) async throws {
        try await push(labels, firing: false, category: category, at: seconds)
    }

    /// What an integration was told, in order: the notifications of its outbox rows.
    func told(_ integration: String) async throws -> [NotificationRecord] {
        try await runtime.store.outbox(integration: integration, limit: 10_000).map(\.notification)
    }

    /// The fingerprint an alert with these labels gets.
    func fingerprint(_ labels: [String: String]) -> String { Fingerprint.of(labels: labels) }

    /// Calls the HTTP API (no background services run).
    func api<Value: Sendable>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await Application(router: runtime.router()).test(.router) { client in try await body(client) }
    }
}

/// The labels of one node's alert.
func nodeAlert(_ alertname: String, node: Int, cluster: String = "prod", extra: [String: String] = [:]) -> [String: String] {
    var labels = ["alertname": alertname, "cluster": cluster, "node": String(format: "n%02d", node)]
    for (key, value) in extra { labels[key] = value }
    return labels
}

extension NotificationRecord {
    /// The alerts a notification names: the group's, or the one alert's.
    var alertLabels: [[String: String]] {
        group?.alerts.map(\.labels) ?? [event.labels]
    }

    var nodes: [String] { alertLabels.compactMap { $0["node"] }.sorted() }
}
