import Foundation
import Testing
import TocsinCore
import TocsinStore

@Suite("Store: upgrading a database made by an earlier version")
struct SchemaUpgradeTests {
    /// Turns a current SQLite file into what a version before access control (schema 4) left: the tables of
    /// migration 5 dropped (their indexes go with them) and its record removed. Python's sqlite3 module does it, so
    /// that the test goes around the store it checks.
    static let downgradeToSchema4 = """
        import sqlite3, sys
        database = sqlite3.connect(sys.argv[1])
        for table in ["users", "api_tokens", "sessions", "audit_log", "managed_integrations", "managed_routing", "config_version"]:
            database.execute("DROP TABLE " + table)
        database.execute("DELETE FROM schema_migrations WHERE version = 5")
        database.commit()
        left = {row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "users" not in left and "schema_migrations" in left, left
        """

    /// Runs a Python script to its end. Its output goes to a file, not a pipe: reading a pipe to its end can be
    /// interrupted by another child's exit signal.
    static func python(_ script: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("python-\(UUID().uuidString).out").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try #require(FileHandle(forWritingAtPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        process.standardOutput = output
        process.standardError = output
        // Waits for the exit without holding a thread of the test's concurrency pool.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try output.close()
        return (process.terminationStatus, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    @Test("a schema-4 SQLite file gets the access-control tables at open, and keeps what it held")
    func sqliteFromSchema4() async throws {
        try await withStoreLocation(.sqlite) { location in
            try await withOpenStore(location) { store in
                try await store.setValue("C123/1503435956.000247", integration: "slack-bot", key: "alert/fp-1", now: storeT0)
            }
            let downgrade = try await Self.python(Self.downgradeToSchema4, [location.sqlitePath])
            try #require(downgrade.status == 0, "python3 could not make a schema-4 file: \(downgrade.output)")
            try await withOpenStore(location, migrate: false) { old in
                let version = try await old.schemaVersion()
                #expect(version == 4)
            }

            try await withOpenStore(location) { upgraded in
                #expect(try await upgraded.schemaVersion() == expectedSchemaVersion(.sqlite))
                #expect(try await upgraded.value(integration: "slack-bot", key: "alert/fp-1") == "C123/1503435956.000247")
                #expect(try await upgraded.userCount() == 0)
                #expect(try await upgraded.configurationVersion() == 0)
                try await upgraded.createUser(
                    StoredUser(name: "alice", passwordHash: "h", role: .admin, createdAt: storeT0),
                    audit: AuditEntry(at: storeT0, actor: "cli", action: "user.create", target: "alice", detail: "role admin")
                )
                #expect(try await upgraded.user(named: "alice")?.role == .admin)
                #expect(try await upgraded.auditLog(before: nil, limit: 10).map(\.action) == ["user.create"])
            }
        }
    }
}
