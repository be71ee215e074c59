import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import TocsinCore

/// The shared store: PostgreSQL, which several Tocsin instances may use at once.
///
/// Each instance commits its writes in groups as the SQLite store does, on a pooled connection, under a
/// transaction-scoped advisory lock that every instance takes: alert state, groups, their timers and silences
/// change one transaction at a time across the fleet, so one alert posted to two instances at once is one alert
/// and one notification, and each group timer fires once. Deliveries are claimed with `FOR UPDATE SKIP LOCKED`
/// under a lease kept in their rows (owner, expiry, token); the lease's token fences late results.
public final class PostgresStore: SQLStore, @unchecked Sendable {
    /// Connects (checking that the server answers and the credentials work) without migrating.
    public static func open(settings: PostgresSettings, instanceID: String, logger: Logger) async throws -> PostgresStore {
        let backend = try await PostgresBackend.connect(settings: settings, logger: logger)
        return PostgresStore(
            backend: backend,
            writer: WriteQueue(connection: backend, leases: nil, logger: logger),
            attemptWriter: WriteQueue(connection: AttemptConnection(backend: backend), leases: nil, logger: logger),
            logger: logger
        )
    }
}

/// The transactions that record attempt results: without the fleet-wide write lock (see `inTransaction(fleetLock:)`).
private struct AttemptConnection: WriteConnection {
    let backend: PostgresBackend

    var dialect: StoreDialect { .postgres }

    func inTransaction<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await backend.inTransaction(fleetLock: false, body)
    }
}

/// Why the PostgreSQL store could not do something, in words that name the server but never the password.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public var description: String

    init(_ action: String, settings: PostgresSettings, error: any Error) {
        let place = "\(settings.host):\(settings.port)/\(settings.database)"
        description = "\(action) PostgreSQL at \(place): \(Self.reason(error, password: settings.password))"
    }

    /// postgres-nio's errors print a generic text on purpose; their server message and code say what went wrong.
    static func reason(_ error: any Error, password: Secret?) -> String {
        let text: String
        if let error = error as? PSQLError {
            var parts: [String] = []
            if let message = error.serverInfo?[.message] { parts.append(message) }
            if let code = error.serverInfo?[.sqlState] { parts.append("SQLSTATE \(code)") }
            if parts.isEmpty { parts.append("\(error.code)") }
            if let underlying = error.underlying { parts.append("\(underlying)") }
            text = parts.joined(separator: "; ")
        } else {
            text = "\(error)"
        }
        return password?.redact(text) ?? text
    }
}

final class PostgresBackend: StoreBackend, WriteConnection {
    let client: PostgresClient
    let settings: PostgresSettings
    private let runner: Task<Void, Never>

    var dialect: StoreDialect { .postgres }

    private init(client: PostgresClient, settings: PostgresSettings) {
        self.client = client
        self.settings = settings
        runner = Task { await client.run() }
    }

    static func connect(settings: PostgresSettings, logger: Logger) async throws -> PostgresBackend {
        var tls: PostgresClient.Configuration.TLS = .disable
        var tlsConfiguration: TLSConfiguration?
        if settings.tls != .disable {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
            if settings.skipVerify { configuration.certificateVerification = .none }
            tls = settings.tls == .require ? .require(configuration) : .prefer(configuration)
            tlsConfiguration = configuration
        }
        var configuration = PostgresClient.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.user,
            password: settings.password?.exposedValue,
            database: settings.database,
            tls: tls
        )
        configuration.options.maximumConnections = max(2, settings.poolSize)
        configuration.options.connectTimeout = .seconds(10)
        if let schema = settings.schema {
            configuration.options.additionalStartupParameters = [("search_path", PostgresSchema.quoted(schema))]
        }
        let backend = PostgresBackend(client: PostgresClient(configuration: configuration, backgroundLogger: logger), settings: settings)
        do {
            // One query tells a wrong address or password at start-up (after `acquireTimeout` at worst).
            _ = try await backend.read { database in try await database.raw("SELECT 1 AS one").first() != nil }
        } catch {
            try? await backend.close()
            throw PostgresStoreError(
                "cannot connect to",
                settings: settings,
                error: await diagnose(settings, tls: tlsConfiguration, logger: logger) ?? error
            )
        }
        return backend
    }

    /// The pool only says that no connection came: one direct attempt tells why (refused, no such host, bad password).
    private static func diagnose(_ settings: PostgresSettings, tls: TLSConfiguration?, logger: Logger) async -> (any Error)? {
        do {
            var connectionTLS: PostgresConnection.Configuration.TLS = .disable
            if let tls {
                let context = try NIOSSLContext(configuration: tls)
                connectionTLS = settings.tls == .require ? .require(context) : .prefer(context)
            }
            let configuration = PostgresConnection.Configuration(
                host: settings.host,
                port: settings.port,
                username: settings.user,
                password: settings.password?.exposedValue,
                database: settings.database,
                tls: connectionTLS
            )
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
            return nil
        } catch {
            return error
        }
    }

    func read<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await withConnection { connection in try await body(connection.sql()) }
    }

    /// A pooled connection for `body`. While the server is unreachable the pool keeps retrying and a request for a
    /// connection would wait for ever: it is given up after `acquireTimeout`, so that ingest answers 503 and
    /// `/readyz` says not ready. Once `body` has its connection it runs to the end (a dead connection fails fast).
    private func withConnection<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        let acquired = NIOLockedValueBox(false)
        let (client, limit) = (client, Self.acquireTimeout)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    acquired.withLockedValue { $0 = true }
                    return try await body(connection)
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                if acquired.withLockedValue({ $0 }) { return nil }
                throw DeadlineExceeded(limit: limit)
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let result = finished { return result }
            }
            throw CancellationError()
        }
    }

    static let acquireTimeout: Duration = .seconds(5)

    func inTransaction<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await inTransaction(fleetLock: true, body)
    }

    /// A transaction that takes the fleet-wide write lock first (`fleetLock`), or not: attempt results touch only
    /// the deliveries their claims hold, fenced by the lease token, and must not wait behind a storm of ingests.
    func inTransaction<Result: Sendable>(
        fleetLock: Bool,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            let database = connection.sql()
            try await database.raw("BEGIN").run()
            do {
                if fleetLock {
                    // Every instance's write transactions take this lock first: see `PostgresStore`.
                    try await database.raw("SELECT pg_advisory_xact_lock(hashtext('tocsin-write:' || current_schema())) AS locked").run()
                }
                let result = try await body(database)
                try await database.raw("COMMIT").run()
                return result
            } catch {
                try? await database.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    func migrate() async throws {
        do {
            let schema = settings.schema
            try await withConnection { connection in
                try await PostgresSchema.migrate(connection.sql(), schema: schema)
            }
        } catch {
            throw PostgresStoreError("cannot migrate the schema of", settings: settings, error: error)
        }
    }

    func unleased(at now: Date) -> SQLQueryString {
        "(d.lease_expires_at IS NULL OR d.lease_expires_at <= \(bind: now.storedMillis))"
    }

    func claim(integration: String, now: Date, owner: String, leaseFor: Duration, limit: Int) async throws -> [DueDelivery] {
        let expiresAt = now.addingTimeInterval(leaseFor.seconds).storedMillis
        // One statement: the rows picked are locked (others' picks skip them), leased with a new token, and
        // returned with their notifications.
        let claimed = try await read { database in
            try await database.raw(
                """
                UPDATE deliveries AS d SET lease_owner = \(bind: owner), lease_expires_at = \(bind: expiresAt), lease_token = d.lease_token + 1
                FROM (
                    SELECT c.seq FROM deliveries c
                    WHERE c.status = 'pending' AND c.integration = \(bind: integration) AND c.next_attempt_at <= \(bind: now.storedMillis)
                    AND (c.lease_expires_at IS NULL OR c.lease_expires_at <= \(bind: now.storedMillis))
                    AND NOT EXISTS (
                        SELECT 1 FROM deliveries e WHERE e.status = 'pending' AND e.integration = c.integration
                        AND e.order_key = c.order_key AND e.seq < c.seq
                    )
                    ORDER BY c.seq LIMIT \(bind: limit) FOR UPDATE SKIP LOCKED
                ) AS picked
                WHERE d.seq = picked.seq
                RETURNING d.*, (SELECT n.body FROM notifications n WHERE n.id = d.notification_id) AS notification
                """
            ).all().map { row in (try row.decode(column: "seq", as: Int64.self), try SQLStore.decodeDue(row)) }
        }
        return claimed.sorted { $0.0 < $1.0 }.map(\.1)
    }

    func close() async throws {
        // Cancelling `run()` closes the pool's connections.
        runner.cancel()
        await runner.value
    }
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "no answer within \(limit)" }
}
