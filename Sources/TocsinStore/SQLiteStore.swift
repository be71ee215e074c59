import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import TocsinCore

/// The embedded store: SQLite in write-ahead-log mode, owned by one process.
///
/// All writes go through one connection and one queue that commits whatever has queued up as a single
/// transaction (group commit): under load many requests share one `fsync`, and each caller is answered only
/// after the transaction holding its writes is durable. Reads use a second connection, which in WAL mode sees
/// only committed data and never waits for the writer. Claims of deliveries are leases held in memory.
public final class SQLiteStore: SQLStore, @unchecked Sendable {
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
            let leases = LeaseBook()
            let backend = SQLiteBackend(writer: writer, reader: reader, leases: leases)
            return SQLiteStore(backend: backend, writer: WriteQueue(connection: backend, leases: leases, logger: logger), logger: logger)
        } catch {
            try? await writer.close()
            throw error
        }
    }
}

/// SQLite's connections: one writer (only the write queue uses it, one transaction at a time) and one reader.
struct SQLiteBackend: StoreBackend, WriteConnection {
    let writer: SQLiteConnection
    let reader: SQLiteConnection
    let leases: LeaseBook

    var dialect: StoreDialect { .sqlite }

    func read<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await body(reader.sql())
    }

    func inTransaction<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        let database = writer.sql()
        try await database.raw("BEGIN IMMEDIATE").run()
        do {
            let result = try await body(database)
            try await database.raw("COMMIT").run()
            return result
        } catch {
            try? await database.raw("ROLLBACK").run()
            throw error
        }
    }

    func migrate() async throws {
        try await SQLiteSchema.migrate(writer.sql())
    }

    func unleased(at now: Date) -> SQLQueryString {
        // In-flight deliveries are left out in SQL, so that only the rows handed out are read and decoded.
        let held = leases.held(at: now)
        guard !held.isEmpty else { return "1 = 1" }
        var condition = SQLQueryString("d.id NOT IN (")
        for (index, id) in held.enumerated() {
            if index > 0 { condition.appendInterpolation(unsafeRaw: ", ") }
            condition.appendInterpolation(bind: id)
        }
        condition.appendInterpolation(unsafeRaw: ")")
        return condition
    }

    func claim(integration: String, now: Date, owner: String, leaseFor: Duration, limit: Int) async throws -> [DueDelivery] {
        let query = SQLStore.dueQuery(integration: integration, now: now, unleased: unleased(at: now), limit: limit)
        let candidates = try await read { database in try await database.raw(query).all().map(SQLStore.decodeDue) }
        return leases.take(candidates, owner: owner, now: now, leaseFor: leaseFor)
    }

    func close() async throws {
        try await reader.close()
        try await writer.close()
    }
}
