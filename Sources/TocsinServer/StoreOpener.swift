import Foundation
import Logging
import TocsinCore
import TocsinStore

/// Opens the store a configuration names: PostgreSQL when `storage.postgres` is set, SQLite otherwise.
public enum StoreOpener {
    /// Opens the store without migrating it.
    public static func open(_ storage: StorageSettings, instanceID: String, logger: Logger) async throws -> any Store {
        if let postgres = storage.postgres {
            return try await PostgresStore.open(settings: postgres, instanceID: instanceID, logger: logger)
        }
        return try await SQLiteStore.open(path: storage.sqlitePath, synchronousFull: storage.synchronousFull, logger: logger)
    }

    /// Which store, for people: the SQLite file, or PostgreSQL's address, database and schema (never the password).
    public static func describe(_ storage: StorageSettings) -> String {
        guard let postgres = storage.postgres else { return "SQLite \(storage.sqlitePath)" }
        let host = postgres.host.contains(":") && !postgres.host.hasPrefix("[") ? "[\(postgres.host)]" : postgres.host
        let schema = postgres.schema.map { " (schema \($0))" } ?? ""
        return "PostgreSQL \(postgres.user)@\(host):\(postgres.port)/\(postgres.database)\(schema)"
    }

    /// This process's name among instances sharing a database: `server.instance_id`, or the host name and process id.
    public static func instanceID(_ server: ServerSettings) -> String {
        server.instanceID ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
