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

// MARK: Store kinds

/// The databases every conformance test runs against. SQLite always; PostgreSQL at `TOCSIN_TEST_POSTGRES`, which
/// scripts/test.sh sets to a private cluster it starts. Without it the PostgreSQL cases fail: a test never passes
/// because its database was absent.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// The environment variable naming the PostgreSQL database the tests use.
let postgresURLVariable = "TOCSIN_TEST_POSTGRES"

/// Why a PostgreSQL case cannot run: it fails with this rather than being skipped.
struct PostgresTestDatabaseMissing: Error, CustomStringConvertible {
    var description: String {
        "\(postgresURLVariable) is not set: run scripts/test.sh (it starts a private PostgreSQL cluster and sets it), or set "
            + "\(postgresURLVariable)=postgres://tocsin@127.0.0.1:PORT/tocsin?sslmode=disable to a database the tests may use"
    }
}

/// The test database's settings with a schema of its own (`t_` and random hex), so tests running in parallel never
/// see each other's rows. The store creates the schema when it migrates. Schemas are left behind: the tests have
/// no SQL access of their own (the store offers none), and the cluster is a throw-away one.
func postgresTestSettings() throws -> PostgresSettings {
    guard let url = ProcessInfo.processInfo.environment[postgresURLVariable], !url.isEmpty else {
        throw PostgresTestDatabaseMissing()
    }
    var settings = try PostgresSettings(url: url)
    settings.schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    // Many cases run at once, each with its own pool: a small one keeps the cluster under its connection limit.
    settings.poolSize = 4
    return settings
}

let storeTestLogger = Logger(label: "tocsin.store.tests")

/// Where one test's database lives: a SQLite file or a PostgreSQL schema. Opening it again gives another store on
/// the same data, as a restarted process (SQLite) or a second instance (PostgreSQL) would see it.
struct StoreLocation: Sendable {
    let kind: StoreKind
    let sqlitePath: String
    let postgres: PostgresSettings?

    /// Opens a store here, migrated unless told otherwise.
    func open(migrate: Bool = true, synchronousFull: Bool = false, instanceID: String = "test-a") async throws -> any Store {
        let store: any Store
        switch kind {
        case .sqlite:
            store = try await SQLiteStore.open(path: sqlitePath, synchronousFull: synchronousFull, logger: storeTestLogger)
        case .postgres:
            guard let postgres else { throw PostgresTestDatabaseMissing() }
            store = try await PostgresStore.open(settings: postgres, instanceID: instanceID, logger: storeTestLogger)
        }
        guard migrate else { return store }
        do {
            try await store.migrate()
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }
}

/// Runs `body` with a fresh location of this kind (a new temporary directory, or a new PostgreSQL schema).
func withStoreLocation(_ kind: StoreKind, _ body: (StoreLocation) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        let postgres = kind == .postgres ? try postgresTestSettings() : nil
        try await body(StoreLocation(kind: kind, sqlitePath: directory.appendingPathComponent("data/tocsin.db").path, postgres: postgres))
    }
}

/// Runs `body` with a store opened at `location`, closing it afterwards whatever happens.
func withOpenStore(
    _ location: StoreLocation,
    migrate: Bool = true,
    synchronousFull: Bool = false,
    instanceID: String = "test-a",
    _ body: (any Store) async throws -> Void
) async throws {
    let store = try await location.open(migrate: migrate, synchronousFull: synchronousFull, instanceID: instanceID)
    do {
        try await body(store)
    } catch {
        try? await store.close()
        throw error
    }
    try await store.close()
}

/// Runs `body` against a migrated store of this kind on a fresh database, closing the store afterwards.
func withStore(_ kind: StoreKind, synchronousFull: Bool = false, _ body: (any Store) async throws -> Void) async throws {
    try await withStoreLocation(kind) { location in
        try await withOpenStore(location, synchronousFull: synchronousFull, body)
    }
}

/// Runs `body` with two PostgreSQL stores on one fresh schema, as two Tocsin instances sharing a database see it.
/// Both are migrated unless `migrate` is false (the schema then does not exist yet).
func withTwoInstances(migrate: Bool = true, _ body: (any Store, any Store) async throws -> Void) async throws {
    try await withStoreLocation(.postgres) { location in
        try await withOpenStore(location, migrate: migrate, instanceID: "instance-a") { first in
            try await withOpenStore(location, migrate: false, instanceID: "instance-b") { second in
                try await body(first, second)
            }
        }
    }
}

// MARK: SQLite files

/// A fresh directory under the system temporary directory, removed afterwards.
func withTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tocsin-store-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try await body(directory)
}

func openStore(path: String, synchronousFull: Bool = false) async throws -> SQLiteStore {
    let store = try await SQLiteStore.open(path: path, synchronousFull: synchronousFull, logger: storeTestLogger)
    do {
        try await store.migrate()
    } catch {
        try? await store.close()
        throw error
    }
    return store
}

// MARK: Events and deliveries

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
    _ store: any Store,
    notification: String,
    integration: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> DeliveryRecord {
    let id = DeliveryRecord.deliveryID(notificationID: notification, integration: integration)
    return try #require(try await store.delivery(id: id), sourceLocation: sourceLocation)
}

/// The id of the delivery of `notification` to `integration`.
func deliveryID(_ notification: String, _ integration: String = "alert-log") -> String {
    DeliveryRecord.deliveryID(notificationID: notification, integration: integration)
}

/// The notification ids of an integration's due deliveries (an hour after `storeT0` unless told).
func dueIDs(
    _ store: any Store,
    _ integration: String,
    now: Date = storeT0.addingTimeInterval(3_600),
    limit: Int = 100
) async throws -> [String] {
    try await store.dueDeliveries(integration: integration, now: now, limit: limit).map(\.notification.id)
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

    /// This delivery after a refusal worth retrying at `now`, the peer asking for `retryAfter`.
    func markedRetrying(at now: Date, after retryAfter: Duration) -> DeliveryRecord {
        after(
            outcome: .retryable(retryAfter: retryAfter),
            statusCode: 503,
            error: "unavailable",
            latency: .milliseconds(5),
            now: now,
            policy: DeliveryPolicy(),
            random: 0
        )
    }

    /// The row as it reads once no claim holds it: what a recorded attempt leaves.
    var released: DeliveryRecord {
        var record = self
        record.lease = nil
        return record
    }
}

/// The newest migration of each kind of store: what `schemaVersion()` answers once migrated.
func expectedSchemaVersion(_ kind: StoreKind) -> Int {
    switch kind {
    case .sqlite: 5
    case .postgres: 2
    }
}

/// One claim with the owner that made it.
typealias OwnedClaim = (owner: String, due: DueDelivery)

/// Runs every claimer at once, each claiming batches of `limit` alert-log deliveries (10-minute leases) until none
/// is left, and returns every claim made. A claimer that takes more than `total` stops: the same deliveries are being
/// handed out again and again (the caller's checks say so), and it must not loop for ever.
func claimConcurrently(_ claimers: [(store: any Store, owner: String)], total: Int, now: Date, limit: Int) async throws -> [OwnedClaim] {
    try await withThrowingTaskGroup(of: [OwnedClaim].self) { group in
        for claimer in claimers {
            group.addTask {
                var taken: [OwnedClaim] = []
                while true {
                    let batch = try await claimer.store.claimDueDeliveries(
                        integration: "alert-log",
                        now: now,
                        owner: claimer.owner,
                        leaseFor: .seconds(600),
                        limit: limit
                    )
                    if batch.isEmpty { return taken }
                    taken += batch.map { (claimer.owner, $0) }
                    if taken.count > total { return taken }
                }
            }
        }
        var all: [OwnedClaim] = []
        for try await taken in group { all += taken }
        return all
    }
}
