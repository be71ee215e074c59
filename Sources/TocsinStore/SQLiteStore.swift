import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import TocsinCore

/// The embedded store: SQLite in write-ahead-log mode.
///
/// All writes go through one connection and one queue that commits whatever has queued up as a single
/// transaction (group commit): under load many requests share one `fsync`, and each caller is answered only
/// after the transaction holding its writes is durable. Reads use a second connection, which in WAL mode sees
/// only committed data and never waits for the writer.
public final class SQLiteStore: Store {
    private let writerConnection: SQLiteConnection
    private let readerConnection: SQLiteConnection
    private let writer: SQLiteWriteQueue
    private let reader: any SQLDatabase
    private let logger: Logger

    private init(writer: SQLiteConnection, reader: SQLiteConnection, logger: Logger) {
        self.writerConnection = writer
        self.readerConnection = reader
        self.writer = SQLiteWriteQueue(database: writer.sql(), logger: logger)
        self.reader = reader.sql()
        self.logger = logger
    }

    /// Opens (creating when missing) the database at `path`, and its directory.
    public static func open(path: String, synchronousFull: Bool = true, logger: Logger) async throws -> SQLiteStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            _ = try await writer.query("PRAGMA journal_mode=WAL", [])
            _ = try await writer.query("PRAGMA synchronous=\(synchronousFull ? "FULL" : "NORMAL")", [])
            _ = try await writer.query("PRAGMA busy_timeout=10000", [])
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.query("PRAGMA busy_timeout=10000", [])
            return SQLiteStore(writer: writer, reader: reader, logger: logger)
        } catch {
            try? await writer.close()
            throw error
        }
    }

    /// Write transactions committed since the store was opened (group commit merges concurrent requests).
    public var committedTransactions: Int { writer.commits }

    public func migrate() async throws {
        try await SQLiteSchema.migrate(writerConnection.sql())
    }

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

    public func nextGroupLook() async throws -> Date? {
        let row = try await reader.raw("SELECT MIN(next_flush_at) AS due FROM alert_groups").first()
        return try row?.decode(column: "due", as: Int64?.self).map(Date.init(storedMillis:))
    }

    public func alertGroups(limit: Int) async throws -> [AlertGroup] {
        try await reader.raw("SELECT body, next_flush_at FROM alert_groups ORDER BY created_at DESC, id LIMIT \(bind: limit)").all()
            .map(SQLiteWriteQueue.decodeGroup)
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

    public func silences(endingAfter now: Date?) async throws -> [Silence] {
        let rows =
            if let now {
                try await reader.raw("SELECT body FROM silences WHERE ends_at > \(bind: now.storedMillis) ORDER BY created_at DESC, id").all()
            } else {
                try await reader.raw("SELECT body FROM silences ORDER BY created_at DESC, id").all()
            }
        return try rows.map { try Silence(stored: JSONParser.parse(Array(try $0.decode(column: "body", as: String.self).utf8))) }
    }

    public func silence(id: String) async throws -> Silence? {
        guard let row = try await reader.raw("SELECT body FROM silences WHERE id = \(bind: id)").first() else { return nil }
        return try Silence(stored: JSONParser.parse(Array(try row.decode(column: "body", as: String.self).utf8)))
    }

    public func recordAttempts(_ deliveries: [DeliveryRecord]) async throws {
        guard !deliveries.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writer.submit(.attempts(deliveries, continuation))
        }
    }

    public func retryDelivery(id: String, now: Date) async throws -> DeliveryRecord {
        try await withCheckedThrowingContinuation { continuation in
            writer.submit(.retry(id, now, continuation))
        }
    }

    public func expiredAlerts(now: Date, limit: Int) async throws -> [AlertRecord] {
        try await reader.raw(
            """
            SELECT body FROM alerts WHERE status = 'open' AND expires_at IS NOT NULL AND expires_at <= \(bind: now.storedMillis)
            ORDER BY expires_at LIMIT \(bind: limit)
            """
        ).all().map { try StoredJSON.decode(AlertRecord.self, from: $0.decode(column: "body", as: String.self)) }
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
        query.appendInterpolation(unsafeRaw: " ORDER BY started_at DESC")
        let rows = try await reader.raw(query).all()
        var alerts: [AlertRecord] = []
        for row in rows {
            let alert = try StoredJSON.decode(AlertRecord.self, from: row.decode(column: "body", as: String.self))
            if filter.labels.allSatisfy({ alert.labels[$0.key] == $0.value }) {
                alerts.append(alert)
                if alerts.count >= filter.limit { break }
            }
        }
        return alerts
    }

    public func events(before: Int64?, limit: Int) async throws -> [StoredEvent] {
        let rows = try await reader.raw(
            """
            SELECT seq, body, outcome, integrations FROM events WHERE seq < \(bind: before ?? Int64.max)
            ORDER BY seq DESC LIMIT \(bind: limit)
            """
        ).all()
        return try rows.map { row in
            StoredEvent(
                sequence: try row.decode(column: "seq", as: Int64.self),
                event: try StoredJSON.decode(Event.self, from: row.decode(column: "body", as: String.self)),
                outcome: EventOutcome(rawValue: try row.decode(column: "outcome", as: String.self)) ?? .ignored,
                integrations: try StoredJSON.decode([String].self, from: row.decode(column: "integrations", as: String.self))
            )
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
        return try await reader.raw(query).all().map { (try $0.decode(column: "seq", as: Int64.self), try DeliveryRow.decode($0)) }
    }

    public func delivery(id: String) async throws -> DeliveryRecord? {
        try await reader.raw("SELECT * FROM deliveries WHERE id = \(bind: id)").first().map(DeliveryRow.decode)
    }

    public func dueDeliveries(integration: String, now: Date, excluding: Set<String>, limit: Int) async throws -> [DueDelivery] {
        var query = SQLQueryString(
            """
            SELECT d.*, n.body AS notification FROM deliveries d JOIN notifications n ON n.id = d.notification_id
            WHERE d.status = 'pending' AND d.integration = \(bind: integration) AND d.next_attempt_at <= \(bind: now.storedMillis)
            AND NOT EXISTS (
                SELECT 1 FROM deliveries e WHERE e.status = 'pending' AND e.integration = d.integration
                AND e.order_key = d.order_key AND e.seq < d.seq
            )
            """
        )
        // In-flight deliveries are left out in SQL, so that only the rows handed out are read and decoded.
        if !excluding.isEmpty {
            query.appendInterpolation(unsafeRaw: " AND d.id NOT IN (")
            for (index, id) in excluding.enumerated() {
                if index > 0 { query.appendInterpolation(unsafeRaw: ", ") }
                query.appendInterpolation(bind: id)
            }
            query.appendInterpolation(unsafeRaw: ")")
        }
        query.appendInterpolation(unsafeRaw: " ORDER BY d.seq LIMIT ")
        query.appendInterpolation(bind: limit)
        return try await reader.raw(query).all().map { row in
            DueDelivery(
                delivery: try DeliveryRow.decode(row),
                notification: try NotificationRecord(
                    storedForm: JSONParser.parse(Array(row.decode(column: "notification", as: String.self).utf8))
                )
            )
        }
    }

    public func outbox(integration: String, limit: Int) async throws -> [DueDelivery] {
        try await reader.raw(
            """
            SELECT d.*, n.body AS notification FROM deliveries d JOIN notifications n ON n.id = d.notification_id
            WHERE d.integration = \(bind: integration) ORDER BY d.seq LIMIT \(bind: limit)
            """
        ).all().map { row in
            DueDelivery(
                delivery: try DeliveryRow.decode(row),
                notification: try NotificationRecord(
                    storedForm: JSONParser.parse(Array(row.decode(column: "notification", as: String.self).utf8))
                )
            )
        }
    }

    public func nextDueTime(integration: String) async throws -> Date? {
        let row = try await reader.raw(
            """
            SELECT MIN(d.next_attempt_at) AS due FROM deliveries d WHERE d.status = 'pending' AND d.integration = \(bind: integration)
            AND NOT EXISTS (
                SELECT 1 FROM deliveries e WHERE e.status = 'pending' AND e.integration = d.integration
                AND e.order_key = d.order_key AND e.seq < d.seq
            )
            """
        ).first()
        return try row?.decodeNil(column: "due") == false ? Date(storedMillis: try row!.decode(column: "due", as: Int64.self)) : nil
    }

    public func outboxCounts() async throws -> [String: [DeliveryStatus: Int]] {
        let rows = try await reader.raw("SELECT integration, status, COUNT(*) AS n FROM deliveries GROUP BY integration, status").all()
        var counts: [String: [DeliveryStatus: Int]] = [:]
        for row in rows {
            guard let status = DeliveryStatus(rawValue: try row.decode(column: "status", as: String.self)) else { continue }
            counts[try row.decode(column: "integration", as: String.self), default: [:]][status] = try row.decode(column: "n", as: Int.self)
        }
        return counts
    }

    public func counts() async throws -> (events: Int, alerts: Int, deliveries: Int) {
        let row = try await reader.raw(
            """
            SELECT (SELECT COUNT(*) FROM events) AS e, (SELECT COUNT(*) FROM alerts) AS a, (SELECT COUNT(*) FROM deliveries) AS d
            """
        ).first()
        guard let row else { return (0, 0, 0) }
        return (try row.decode(column: "e", as: Int.self), try row.decode(column: "a", as: Int.self), try row.decode(column: "d", as: Int.self))
    }

    public func value(integration: String, key: String) async throws -> String? {
        try await reader.raw("SELECT value FROM sink_state WHERE integration = \(bind: integration) AND key = \(bind: key)").first()?
            .decode(column: "value", as: String.self)
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

    public func ping() async throws {
        _ = try await reader.raw("SELECT 1 AS one").first()
    }

    public func schemaVersion() async throws -> Int {
        try await reader.raw("SELECT MAX(version) AS version FROM schema_migrations").first()?.decode(column: "version", as: Int?.self) ?? 0
    }

    public func close() async throws {
        try await readerConnection.close()
        try await writerConnection.close()
    }
}
