import SQLKit

/// Versioned schema of the SQLite store. Each migration runs once, in order, inside one transaction.
enum SQLiteSchema {
    static let migrations: [(version: Int, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    category TEXT NOT NULL,
                    fingerprint TEXT,
                    outcome TEXT NOT NULL,
                    integrations TEXT NOT NULL,
                    received_at INTEGER NOT NULL,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX events_fingerprint ON events (fingerprint)",
                """
                CREATE TABLE alerts (
                    fingerprint TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    category TEXT NOT NULL,
                    started_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX alerts_open_expiry ON alerts (status, expires_at)",
                """
                CREATE TABLE notifications (
                    id TEXT PRIMARY KEY,
                    type TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    body TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE deliveries (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    notification_id TEXT NOT NULL REFERENCES notifications (id),
                    integration TEXT NOT NULL,
                    order_key TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    age_start INTEGER NOT NULL,
                    next_attempt_at INTEGER NOT NULL,
                    last_attempt_at INTEGER,
                    last_status_code INTEGER,
                    last_error TEXT,
                    latency_ms INTEGER,
                    delivered_at INTEGER
                )
                """,
                "CREATE INDEX deliveries_due ON deliveries (status, integration, seq)",
                "CREATE INDEX deliveries_order ON deliveries (integration, order_key, status, seq)",
            ]
        ),
        (
            2,
            [
                """
                CREATE TABLE sink_state (
                    integration TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (integration, key)
                )
                """
            ]
        ),
        (
            3,
            [
                // Alert groups with their timers (`next_flush_at`), so that grouping survives a restart.
                """
                CREATE TABLE alert_groups (
                    id TEXT PRIMARY KEY,
                    base TEXT NOT NULL,
                    integration TEXT NOT NULL,
                    dedup_key TEXT NOT NULL,
                    next_flush_at INTEGER,
                    suppressed INTEGER NOT NULL,
                    fingerprints TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX alert_groups_base ON alert_groups (base)",
                "CREATE INDEX alert_groups_due ON alert_groups (next_flush_at)",
                "CREATE INDEX alert_groups_dedup ON alert_groups (dedup_key)",
                """
                CREATE TABLE silences (
                    id TEXT PRIMARY KEY,
                    starts_at INTEGER NOT NULL,
                    ends_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    body TEXT NOT NULL
                )
                """,
            ]
        ),
        (
            4,
            [
                // The detectors' state when it is kept in the store (`Store.runDetectors`).
                "CREATE TABLE detector_state (id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL)"
            ]
        ),
        (5, AdminSchema.statements(integer: "INTEGER", sequence: "INTEGER PRIMARY KEY AUTOINCREMENT")),
    ]

    static func migrate(_ database: any SQLDatabase) async throws {
        try await applyMigrations(migrations, to: database, begin: "BEGIN IMMEDIATE", now: "datetime('now')")
    }
}

/// Creates `schema_migrations` when missing and applies each migration not recorded there, in order, each in its own
/// transaction (`begin` opens it) with its record (`now` is the database's expression for the current time).
func applyMigrations(
    _ migrations: [(version: Int, statements: [String])],
    to database: any SQLDatabase,
    begin: String,
    now: String
) async throws {
    try await database.raw("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)").run()
    let applied = Set(try await database.raw("SELECT version FROM schema_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
    for migration in migrations where !applied.contains(migration.version) {
        try await database.raw(SQLQueryString(begin)).run()
        do {
            for statement in migration.statements {
                try await database.raw(SQLQueryString(statement)).run()
            }
            try await database.raw("INSERT INTO schema_migrations (version, applied_at) VALUES (\(bind: migration.version), \(unsafeRaw: now))").run()
            try await database.raw("COMMIT").run()
        } catch {
            try? await database.raw("ROLLBACK").run()
            throw error
        }
    }
}

/// The tables of access control and of the configuration managed in the console (SQLite migration 5, PostgreSQL
/// migration 2), with each database's 64-bit integer type (`integer`) and auto-numbered key (`sequence`). Times are
/// milliseconds since 1970, as in the other tables.
enum AdminSchema {
    static func statements(integer: String, sequence: String) -> [String] {
        [
            """
            CREATE TABLE users (
                name TEXT PRIMARY KEY,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at \(integer) NOT NULL
            )
            """,
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                created_at \(integer) NOT NULL,
                created_by TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE sessions (
                id_hash TEXT PRIMARY KEY,
                subject TEXT NOT NULL,
                role TEXT NOT NULL,
                csrf_token TEXT NOT NULL,
                created_at \(integer) NOT NULL,
                expires_at \(integer) NOT NULL
            )
            """,
            "CREATE INDEX sessions_subject ON sessions (subject)",
            "CREATE INDEX sessions_expiry ON sessions (expires_at)",
            """
            CREATE TABLE audit_log (
                seq \(sequence),
                changed_at \(integer) NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                detail TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE managed_integrations (
                name TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                body TEXT NOT NULL,
                updated_at \(integer) NOT NULL,
                updated_by TEXT NOT NULL
            )
            """,
            // `integrations` is a JSON array of names.
            """
            CREATE TABLE managed_routing (
                scope TEXT NOT NULL,
                severity TEXT NOT NULL,
                integrations TEXT NOT NULL,
                overrides_global \(integer) NOT NULL,
                PRIMARY KEY (scope, severity)
            )
            """,
            // One row, bumped with every change of managed integrations or routing: instances poll it to reload.
            "CREATE TABLE config_version (id \(integer) PRIMARY KEY, version \(integer) NOT NULL)",
            "INSERT INTO config_version (id, version) VALUES (1, 0)",
        ]
    }
}
