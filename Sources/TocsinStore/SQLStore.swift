import Foundation
import Logging
import SQLKit
import TocsinCore

/// What differs between the databases a `SQLStore` runs on: connections, migrations and how claims are held.
protocol StoreBackend: Sendable {
    var dialect: StoreDialect { get }
    /// Runs `body` on a connection that sees every committed write.
    func read<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result
    func migrate() async throws
    /// The condition (after `AND`) that leaves out deliveries `d` under a live lease at `now`.
    func unleased(at now: Date) -> SQLQueryString
    func claim(integration: String, now: Date, owner: String, leaseFor: Duration, limit: Int) async throws -> [DueDelivery]
    func close() async throws
}

/// The store on a SQL database: SQLite (`SQLiteStore`) or PostgreSQL (`PostgresStore`). Every write goes through
/// one group-commit queue per process; reads go through the backend's read connections.
public class SQLStore: Store, @unchecked Sendable {
    // Unchecked: every stored property is an immutable reference to a Sendable value; subclasses add none.
    let backend: any StoreBackend
    let writer: WriteQueue
    /// Where attempt results are written, when not through `writer` (PostgreSQL: without the fleet-wide lock).
    let attemptWriter: WriteQueue
    let logger: Logger

    init(backend: any StoreBackend, writer: WriteQueue, attemptWriter: WriteQueue? = nil, logger: Logger) {
        self.backend = backend
        self.writer = writer
        self.attemptWriter = attemptWriter ?? writer
        self.logger = logger
    }

    /// Write transactions committed since the store was opened (group commit merges concurrent requests).
    public var committedTransactions: Int { writer.commits }

    private func read<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await backend.read(body)
    }

    public func migrate() async throws {
        try await backend.migrate()
    }

    public func close() async throws {
        try await backend.close()
    }

    // MARK: Writes (through the queue)

    public func ingest(_ events: [Event], planner: @escaping EventPlanner) async throws -> [IngestedEvent] {
        try await ingest(events, records: [], planner: planner).events
    }

    public func ingest(
        _ events: [Event],
        records: [RecordBatchWrite],
        planner: @escaping EventPlanner,
        noise: NoiseSettings
    ) async throws -> (events: [IngestedEvent], newBatches: [Bool]) {
        try await withCheckedThrowingContinuation { continuation in
            writer.submit(.ingest(IngestWrite(events: events, records: records, planner: planner, noise: noise), continuation))
        }
    }

    public func flushDueGroups(now: Date, noise: NoiseSettings, limit: Int) async throws -> Set<String> {
        try await withCheckedThrowingContinuation { continuation in
            writer.submit(.flushGroups(now: now, noise: noise, limit: limit, continuation))
        }
    }

    public func acknowledge(
        _ target: AcknowledgeTarget,
        by author: String,
        now: Date,
        noise: NoiseSettings,
        forwardTo: Set<String>
    ) async throws -> AcknowledgeResult? {
        let request = AcknowledgeRequest(target: target, author: author, now: now, noise: noise, forwardTo: forwardTo)
        return try await withCheckedThrowingContinuation { continuation in
            writer.submit(.acknowledge(request, continuation))
        }
    }

    public func saveSilence(_ silence: Silence, now: Date) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writer.submit(.saveSilence(silence, now: now, continuation))
        }
    }

    @discardableResult
    public func recordAttempts(_ deliveries: [DeliveryRecord]) async throws -> Set<String> {
        guard !deliveries.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            attemptWriter.submit(.attempts(deliveries, continuation))
        }
    }

    public func retryDelivery(id: String, now: Date) async throws -> DeliveryRecord {
        try await withCheckedThrowingContinuation { continuation in
            writer.submit(.retry(id, now, continuation))
        }
    }

    public func setValue(_ value: String, integration: String, key: String, now: Date) async throws {
        try await withCheckedThrowingContinuation { continuation in
            writer.submit(.sinkState(integration: integration, key: key, value: value, now: now, continuation))
        }
    }

    public func removeValue(integration: String, key: String) async throws {
        try await withCheckedThrowingContinuation { continuation in
            writer.submit(.sinkState(integration: integration, key: key, value: nil, now: Date(), continuation))
        }
    }

    public func runDetectors(_ run: DetectorRun, planner: @escaping EventPlanner, noise: NoiseSettings) async throws -> [IngestedEvent] {
        try await withCheckedThrowingContinuation { continuation in
            writer.submit(.detectors(run, planner: planner, noise: noise, continuation))
        }
    }

    public var isShared: Bool { backend.dialect == .postgres }

    public func claimDueDeliveries(integration: String, now: Date, owner: String, leaseFor: Duration, limit: Int) async throws -> [DueDelivery] {
        try await backend.claim(integration: integration, now: now, owner: owner, leaseFor: leaseFor, limit: limit)
    }

    // MARK: Reads

    public func nextGroupLook() async throws -> Date? {
        try await read { database in
            try await database.raw("SELECT MIN(next_flush_at) AS due FROM alert_groups").first()?
                .decode(column: "due", as: Int64?.self).map(Date.init(storedMillis:))
        }
    }

    public func alertGroups(limit: Int) async throws -> [AlertGroup] {
        try await read { database in
            try await database.raw("SELECT body, next_flush_at FROM alert_groups ORDER BY created_at DESC, id LIMIT \(bind: limit)").all()
                .map(WriteTransaction.decodeGroup)
        }
    }

    public func silences(endingAfter now: Date?) async throws -> [Silence] {
        var query = SQLQueryString("SELECT body FROM silences")
        if let now {
            query.appendInterpolation(unsafeRaw: " WHERE ends_at > ")
            query.appendInterpolation(bind: now.storedMillis)
        }
        query.appendInterpolation(unsafeRaw: " ORDER BY created_at DESC, id")
        return try await read { [query] database in
            try await database.raw(query).all().map { try Self.decodeSilence($0) }
        }
    }

    public func silence(id: String) async throws -> Silence? {
        try await read { database in
            try await database.raw("SELECT body FROM silences WHERE id = \(bind: id)").first().map { try Self.decodeSilence($0) }
        }
    }

    private static func decodeSilence(_ row: any SQLRow) throws -> Silence {
        try Silence(stored: JSONParser.parse(Array(try row.decode(column: "body", as: String.self).utf8)))
    }

    public func expiredAlerts(now: Date, limit: Int) async throws -> [AlertRecord] {
        try await read { database in
            try await database.raw(
                """
                SELECT body FROM alerts WHERE status = 'open' AND expires_at IS NOT NULL AND expires_at <= \(bind: now.storedMillis)
                ORDER BY expires_at LIMIT \(bind: limit)
                """
            ).all().map { try StoredJSON.decode(AlertRecord.self, from: $0.decode(column: "body", as: String.self)) }
        }
    }

    public func openAlerts(_ filter: AlertFilter) async throws -> [AlertRecord] {
        var query = SQLQueryString("SELECT body FROM alerts WHERE status = 'open'")
        if let category = filter.category {
            query.appendInterpolation(unsafeRaw: " AND category = ")
            query.appendInterpolation(bind: category.rawValue)
        }
        if let severity = filter.severity {
            query.appendInterpolation(unsafeRaw: " AND severity = ")
            query.appendInterpolation(bind: severity.rawValue)
        }
        query.appendInterpolation(unsafeRaw: " ORDER BY started_at DESC, fingerprint")
        return try await read { [query] database in
            var alerts: [AlertRecord] = []
            for row in try await database.raw(query).all() {
                let alert = try StoredJSON.decode(AlertRecord.self, from: row.decode(column: "body", as: String.self))
                if filter.labels.allSatisfy({ alert.labels[$0.key] == $0.value }) {
                    alerts.append(alert)
                    if alerts.count >= filter.limit { break }
                }
            }
            return alerts
        }
    }

    public func events(before: Int64?, limit: Int) async throws -> [StoredEvent] {
        try await read { database in
            try await database.raw(
                """
                SELECT seq, body, outcome, integrations FROM events WHERE seq < \(bind: before ?? Int64.max)
                ORDER BY seq DESC LIMIT \(bind: limit)
                """
            ).all().map { row in
                StoredEvent(
                    sequence: try row.decode(column: "seq", as: Int64.self),
                    event: try StoredJSON.decode(Event.self, from: row.decode(column: "body", as: String.self)),
                    outcome: EventOutcome(rawValue: try row.decode(column: "outcome", as: String.self)) ?? .ignored,
                    integrations: try StoredJSON.decode([String].self, from: row.decode(column: "integrations", as: String.self))
                )
            }
        }
    }

    public func deliveries(status: DeliveryStatus?, integration: String?, before: Int64?, limit: Int) async throws -> [(Int64, DeliveryRecord)] {
        var query = SQLQueryString("SELECT * FROM deliveries WHERE seq < ")
        query.appendInterpolation(bind: before ?? Int64.max)
        if let status {
            query.appendInterpolation(unsafeRaw: " AND status = ")
            query.appendInterpolation(bind: status.rawValue)
        }
        if let integration {
            query.appendInterpolation(unsafeRaw: " AND integration = ")
            query.appendInterpolation(bind: integration)
        }
        query.appendInterpolation(unsafeRaw: " ORDER BY seq DESC LIMIT ")
        query.appendInterpolation(bind: limit)
        let rows = try await read { [query] database in
            try await database.raw(query).all().map {
                SequencedDelivery(sequence: try $0.decode(column: "seq", as: Int64.self), record: try DeliveryRow.decode($0))
            }
        }
        return rows.map { ($0.sequence, $0.record) }
    }

    private struct SequencedDelivery: Sendable {
        var sequence: Int64
        var record: DeliveryRecord
    }

    public func delivery(id: String) async throws -> DeliveryRecord? {
        try await read { database in
            try await database.raw("SELECT * FROM deliveries WHERE id = \(bind: id)").first().map(DeliveryRow.decode)
        }
    }

    public func dueDeliveries(integration: String, now: Date, limit: Int) async throws -> [DueDelivery] {
        try await read { [query = Self.dueQuery(integration: integration, now: now, unleased: backend.unleased(at: now), limit: limit)] database in
            try await database.raw(query).all().map(Self.decodeDue)
        }
    }

    /// Pending deliveries of `integration` due at `now`, not leased, first of their order key, oldest first.
    static func dueQuery(integration: String, now: Date, unleased: SQLQueryString, limit: Int) -> SQLQueryString {
        var query = SQLQueryString(
            """
            SELECT d.*, n.body AS notification FROM deliveries d JOIN notifications n ON n.id = d.notification_id
            WHERE d.status = 'pending' AND d.integration = \(bind: integration) AND d.next_attempt_at <= \(bind: now.storedMillis)
            AND NOT EXISTS (
                SELECT 1 FROM deliveries e WHERE e.status = 'pending' AND e.integration = d.integration
                AND e.order_key = d.order_key AND e.seq < d.seq
            ) AND 
            """
        )
        query.appendInterpolation(unleased)
        query.appendInterpolation(unsafeRaw: " ORDER BY d.seq LIMIT ")
        query.appendInterpolation(bind: limit)
        return query
    }

    /// A delivery row joined with its notification's body (`notification`).
    static func decodeDue(_ row: any SQLRow) throws -> DueDelivery {
        DueDelivery(
            delivery: try DeliveryRow.decode(row),
            notification: try NotificationRecord(storedForm: JSONParser.parse(Array(row.decode(column: "notification", as: String.self).utf8)))
        )
    }

    public func outbox(integration: String, limit: Int) async throws -> [DueDelivery] {
        try await read { database in
            try await database.raw(
                """
                SELECT d.*, n.body AS notification FROM deliveries d JOIN notifications n ON n.id = d.notification_id
                WHERE d.integration = \(bind: integration) ORDER BY d.seq LIMIT \(bind: limit)
                """
            ).all().map(Self.decodeDue)
        }
    }

    public func nextDueTime(integration: String) async throws -> Date? {
        // A leased delivery is due again when its lease expires (the instance holding it may have died).
        let leaseEnd = backend.dialect == .postgres ? "GREATEST(d.next_attempt_at, COALESCE(d.lease_expires_at, 0))" : "d.next_attempt_at"
        var query = SQLQueryString("SELECT MIN(")
        query.appendInterpolation(unsafeRaw: leaseEnd)
        query.appendInterpolation(
            """
            ) AS due FROM deliveries d WHERE d.status = 'pending' AND d.integration = \(bind: integration)
            AND NOT EXISTS (
                SELECT 1 FROM deliveries e WHERE e.status = 'pending' AND e.integration = d.integration
                AND e.order_key = d.order_key AND e.seq < d.seq
            )
            """ as SQLQueryString
        )
        return try await read { [query] database in
            try await database.raw(query).first()?.decode(column: "due", as: Int64?.self).map(Date.init(storedMillis:))
        }
    }

    public func outboxCounts() async throws -> [String: [DeliveryStatus: Int]] {
        try await read { database in
            var counts: [String: [DeliveryStatus: Int]] = [:]
            for row in try await database.raw("SELECT integration, status, COUNT(*) AS n FROM deliveries GROUP BY integration, status").all() {
                guard let status = DeliveryStatus(rawValue: try row.decode(column: "status", as: String.self)) else { continue }
                counts[try row.decode(column: "integration", as: String.self), default: [:]][status] = try row.decode(column: "n", as: Int.self)
            }
            return counts
        }
    }

    public func counts() async throws -> (events: Int, alerts: Int, deliveries: Int) {
        let counts = try await read { database in
            guard
                let row = try await database.raw(
                    """
                    SELECT (SELECT COUNT(*) FROM events) AS e, (SELECT COUNT(*) FROM alerts) AS a, (SELECT COUNT(*) FROM deliveries) AS d
                    """
                ).first()
            else { return [0, 0, 0] }
            return [try row.decode(column: "e", as: Int.self), try row.decode(column: "a", as: Int.self), try row.decode(column: "d", as: Int.self)]
        }
        return (counts[0], counts[1], counts[2])
    }

    public func value(integration: String, key: String) async throws -> String? {
        try await read { database in
            try await database.raw("SELECT value FROM sink_state WHERE integration = \(bind: integration) AND key = \(bind: key)").first()?
                .decode(column: "value", as: String.self)
        }
    }

    public func ping() async throws {
        _ = try await read { database in try await database.raw("SELECT 1 AS one").first() != nil }
    }

    public func schemaVersion() async throws -> Int {
        try await read { database in
            try await database.raw("SELECT MAX(version) AS version FROM schema_migrations").first()?.decode(column: "version", as: Int?.self) ?? 0
        }
    }
}
