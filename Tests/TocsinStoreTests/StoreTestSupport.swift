import Foundation
import Logging
import Testing
import TocsinCore
import TocsinStore

/// A fixed instant the store tests measure from (2023-11-14T22:13:20Z); whole seconds survive storage exactly.
let storeT0 = Date(timeIntervalSince1970: 1_700_000_000)

/// warning → ops-hook; error (and critical) → ops-hook + alert-log; anything else → alert-log.
let storeRouting = RoutingMatrix(
    global: [
        .warning: RoutingCell(integrations: ["ops-hook"]),
        .error: RoutingCell(integrations: ["ops-hook", "alert-log"]),
    ],
    defaultRoute: ["alert-log"]
)

func makePlanner(routing: RoutingMatrix = storeRouting, now: Date = storeT0) -> EventPlanner {
    { event, current in EventProcessor.plan(event: event, current: current, routing: routing, now: now) }
}

/// A fresh directory under the system temporary directory, removed afterwards.
func withTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tocsin-store-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try await body(directory)
}

func openStore(path: String, synchronousFull: Bool = false) async throws -> SQLiteStore {
    let store = try await SQLiteStore.open(path: path, synchronousFull: synchronousFull, logger: Logger(label: "tocsin.store.tests"))
    do {
        try await store.migrate()
    } catch {
        try? await store.close()
        throw error
    }
    return store
}

/// Runs `body` against a migrated store in a fresh temporary directory, closing the store afterwards.
func withStore(synchronousFull: Bool = false, _ body: (SQLiteStore) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        let store = try await openStore(path: directory.appendingPathComponent("tocsin.db").path, synchronousFull: synchronousFull)
        do {
            try await body(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}

func storeAlert(
    id: String,
    severity: Severity,
    status: AlertEventStatus = .firing,
    node: String = "n1",
    alertname: String = "DiskFull",
    category: TocsinCore.Category = .metrics,
    at received: Date = storeT0,
    endsAt: Date? = nil
) -> Event {
    let labels = ["alertname": alertname, "node": node]
    return Event(
        id: id,
        kind: .alert,
        severity: severity,
        category: category,
        status: status,
        labels: labels,
        summary: "\(alertname) on \(node)",
        startsAt: received,
        endsAt: endsAt,
        receivedAt: received,
        fingerprint: Fingerprint.of(labels: labels)
    )
}

func storeNotification(id: String, severity: Severity = .info, at received: Date = storeT0) -> Event {
    Event(
        id: id,
        kind: .notification,
        severity: severity,
        category: .backups,
        summary: "Local backup created successfully",
        startsAt: received,
        receivedAt: received
    )
}

/// The stored delivery of one notification to one integration.
func requireDelivery(
    _ store: SQLiteStore,
    notification: String,
    integration: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> DeliveryRecord {
    let id = DeliveryRecord.deliveryID(notificationID: notification, integration: integration)
    return try #require(try await store.delivery(id: id), sourceLocation: sourceLocation)
}

extension DeliveryRecord {
    /// This delivery after a successful attempt at `now`.
    func markedDelivered(at now: Date) -> DeliveryRecord {
        after(outcome: .delivered, statusCode: 200, error: nil, latency: .milliseconds(5), now: now, policy: DeliveryPolicy(), random: 0)
    }

    /// This delivery after a permanent refusal at `now`.
    func markedFailed(at now: Date) -> DeliveryRecord {
        after(outcome: .permanent, statusCode: 400, error: "bad request", latency: .milliseconds(5), now: now, policy: DeliveryPolicy(), random: 0)
    }
}
