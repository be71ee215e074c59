import SQLKit

/// Versioned schema of the PostgreSQL store: the SQLite store's tables with PostgreSQL's types (64-bit integers
/// for times in milliseconds, identity columns for sequence numbers) and the lease columns of `deliveries`.
/// Migrations run under a session advisory lock, so instances starting together apply each one once.
enum PostgresSchema {
    static let migrations: [(version: Int, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE events (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    category TEXT NOT NULL,
                    fingerprint TEXT,
                    outcome TEXT NOT NULL,
                    integrations TEXT NOT NULL,
                    received_at BIGINT NOT NULL,
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
                    started_at BIGINT NOT NULL,
                    expires_at BIGINT,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX alerts_open_expiry ON alerts (status, expires_at)",
                """
                CREATE TABLE notifications (
                    id TEXT PRIMARY KEY,
                    type TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    body TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE deliveries (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    notification_id TEXT NOT NULL REFERENCES notifications (id),
                    integration TEXT NOT NULL,
                    order_key TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    age_start BIGINT NOT NULL,
                    next_attempt_at BIGINT NOT NULL,
                    last_attempt_at BIGINT,
                    last_status_code BIGINT,
                    last_error TEXT,
                    latency_ms BIGINT,
                    delivered_at BIGINT,
                    lease_owner TEXT,
                    lease_expires_at BIGINT,
                    lease_token BIGINT NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX deliveries_due ON deliveries (status, integration, seq)",
                "CREATE INDEX deliveries_order ON deliveries (integration, order_key, status, seq)",
                """
                CREATE TABLE sink_state (
                    integration TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (integration, key)
                )
                """,
                """
                CREATE TABLE alert_groups (
                    id TEXT PRIMARY KEY,
                    base TEXT NOT NULL,
                    integration TEXT NOT NULL,
                    dedup_key TEXT NOT NULL,
                    next_flush_at BIGINT,
                    suppressed BIGINT NOT NULL,
                    fingerprints TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX alert_groups_base ON alert_groups (base)",
                "CREATE INDEX alert_groups_due ON alert_groups (next_flush_at)",
                "CREATE INDEX alert_groups_dedup ON alert_groups (dedup_key)",
                // The detectors' state, one row: instances on one database judge every series together.
                "CREATE TABLE detector_state (id TEXT PRIMARY KEY, version BIGINT NOT NULL, body TEXT NOT NULL)",
                """
                CREATE TABLE silences (
                    id TEXT PRIMARY KEY,
                    starts_at BIGINT NOT NULL,
                    ends_at BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    body TEXT NOT NULL
                )
                """,
            ]
        ),
        (2, AdminSchema.statements(integer: "BIGINT", sequence: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")),
    ]

    /// `name` as a quoted identifier.
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Applies the migrations not yet applied. The connection's `search_path` names `schema` (when given), which is
    /// created first.
    static func migrate(_ database: any SQLDatabase, schema: String?) async throws {
        // A session lock, held across the migrations' own transactions; every instance waits here for the first.
        try await database.raw("SELECT pg_advisory_lock(hashtext('tocsin-migrate')) AS locked").run()
        do {
            if let schema {
                try await database.raw("CREATE SCHEMA IF NOT EXISTS \(unsafeRaw: quoted(schema))").run()
            }
            try await applyMigrations(migrations, to: database, begin: "BEGIN", now: "now()::text")
        } catch {
            _ = try? await database.raw("SELECT pg_advisory_unlock(hashtext('tocsin-migrate')) AS unlocked").run()
            throw error
        }
        try await database.raw("SELECT pg_advisory_unlock(hashtext('tocsin-migrate')) AS unlocked").run()
    }
}
