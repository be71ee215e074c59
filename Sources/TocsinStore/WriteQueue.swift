import Foundation
import Logging
import NIOConcurrencyHelpers
import SQLKit
import TocsinCore

/// One write waiting for the next group commit, with the caller to answer once it is durable.
struct IngestWrite: Sendable {
    var events: [Event]
    var records: [RecordBatchWrite]
    var planner: EventPlanner
    var noise: NoiseSettings
}

enum WriteRequest: Sendable {
    case ingest(IngestWrite, CheckedContinuation<(events: [IngestedEvent], newBatches: [Bool]), any Error>)
    case attempts([DeliveryRecord], CheckedContinuation<Set<String>, any Error>)
    case retry(String, Date, CheckedContinuation<DeliveryRecord, any Error>)
    /// Sets (value present) or removes (nil) one sink state entry.
    case sinkState(integration: String, key: String, value: String?, now: Date, CheckedContinuation<Void, any Error>)
    case flushGroups(now: Date, noise: NoiseSettings, limit: Int, CheckedContinuation<Set<String>, any Error>)
    case acknowledge(AcknowledgeRequest, CheckedContinuation<AcknowledgeResult?, any Error>)
    case saveSilence(Silence, now: Date, CheckedContinuation<Void, any Error>)
    case detectors(DetectorRun, planner: EventPlanner, noise: NoiseSettings, CheckedContinuation<[IngestedEvent], any Error>)
    /// A change of users, tokens, sessions or managed configuration (`SQLStore+Admin`).
    case admin(AdminWrite, CheckedContinuation<Void, any Error>)

    func fail(_ error: any Error) {
        switch self {
        case .ingest(_, let continuation): continuation.resume(throwing: error)
        case .attempts(_, let continuation): continuation.resume(throwing: error)
        case .retry(_, _, let continuation): continuation.resume(throwing: error)
        case .sinkState(_, _, _, _, let continuation): continuation.resume(throwing: error)
        case .flushGroups(_, _, _, let continuation): continuation.resume(throwing: error)
        case .acknowledge(_, let continuation): continuation.resume(throwing: error)
        case .saveSilence(_, _, let continuation): continuation.resume(throwing: error)
        case .admin(_, let continuation): continuation.resume(throwing: error)
        case .detectors(let run, _, _, let continuation):
            run.failed()
            continuation.resume(throwing: error)
        }
    }
}

/// An admin write's statements, run inside the group's transaction. A refusal (a duplicate, a missing row) is
/// returned, not thrown, and decided before anything is written: it fails its caller alone, where a thrown error
/// would roll back every request of the group.
typealias AdminWrite = @Sendable (any SQLDatabase) async throws -> AdminStoreError?

struct AcknowledgeRequest: Sendable {
    var target: AcknowledgeTarget
    var author: String
    var now: Date
    var noise: NoiseSettings
    var forwardTo: Set<String>
}

/// Where a store's write transactions run. SQLite: its one writer connection (`BEGIN IMMEDIATE`). PostgreSQL: a
/// pooled connection, under a transaction-scoped advisory lock that every instance sharing the database takes, so
/// that alert state, groups and their timers change one transaction at a time across the fleet.
protocol WriteConnection: Sendable {
    var dialect: StoreDialect { get }
    /// Runs `body` in one transaction and commits it; rolls back and rethrows when `body` or the commit fails.
    func inTransaction<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result
}

/// The SQL that differs between the databases.
enum StoreDialect: Sendable {
    case sqlite
    case postgres

    /// An expression that is true when `column` contains `needle` (a bound value).
    func contains(_ column: String, _ needle: String) -> SQLQueryString {
        var query = SQLQueryString("")
        switch self {
        case .sqlite: query.appendInterpolation(unsafeRaw: "instr(\(column), ")
        case .postgres: query.appendInterpolation(unsafeRaw: "strpos(\(column), ")
        }
        query.appendInterpolation(bind: needle)
        query.appendInterpolation(unsafeRaw: ") > 0")
        return query
    }
}

/// Serialises one process's writes and commits everything queued as one transaction (group commit): under load
/// many requests share one commit, and each caller is answered only once the transaction holding its writes is
/// durable.
final class WriteQueue: Sendable {
    private let connection: any WriteConnection
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// SQLite only: the silences not yet over, read once and replaced whenever one is saved — every silence is
    /// written through this queue, and reading them in every ingest transaction cost a statement per commit. With
    /// PostgreSQL another instance may save one, so they are read in each transaction.
    private let silenceCache: NIOLockedValueBox<[Silence]?>?
    /// SQLite only: the claims of this process, which fence its attempt results (PostgreSQL keeps them in rows).
    private let leases: LeaseBook?

    private struct State {
        var pending: [WriteRequest] = []
        var draining = false
        var commits = 0
    }

    /// Transactions committed so far; with concurrent writers, fewer than the requests they carried.
    var commits: Int { state.withLockedValue { $0.commits } }

    init(connection: any WriteConnection, leases: LeaseBook?, logger: Logger) {
        self.connection = connection
        self.logger = logger
        self.leases = leases
        self.silenceCache = connection.dialect == .sqlite ? NIOLockedValueBox(nil) : nil
    }

    func submit(_ request: WriteRequest) {
        let startDrain = state.withLockedValue { state in
            state.pending.append(request)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain {
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLockedValue { state in
                let batch = state.pending
                state.pending = []
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            await commit(batch)
        }
    }

    private func commit(_ batch: [WriteRequest]) async {
        let answers: [@Sendable () -> Void]
        do {
            let (logger, silenceCache, leases) = (logger, silenceCache, leases)
            answers = try await connection.inTransaction { database in
                try await WriteTransaction(
                    database: database,
                    dialect: self.connection.dialect,
                    logger: logger,
                    silenceCache: silenceCache,
                    leases: leases
                )
                .apply(batch)
            }
        } catch {
            logger.error("store write failed", metadata: ["error": "\(error)", "requests": "\(batch.count)"])
            for request in batch { request.fail(error) }
            return
        }
        state.withLockedValue { $0.commits += 1 }
        for answer in answers { answer() }
    }
}

/// The statements of one write transaction, on its connection.
struct WriteTransaction {
    let database: any SQLDatabase
    let dialect: StoreDialect
    let logger: Logger
    let silenceCache: NIOLockedValueBox<[Silence]?>?
    let leases: LeaseBook?

    /// Rows per multi-row INSERT: keeps bound parameters well under SQLite's limit of 32,766.
    static let rowsPerStatement = 500

    /// Runs every request's statements inside the open transaction; returns how to answer each caller.
    func apply(_ batch: [WriteRequest]) async throws -> [@Sendable () -> Void] {
        var answers: [@Sendable () -> Void] = []
        var ingestRequests: [(write: IngestWrite, answer: @Sendable ((events: [IngestedEvent], newBatches: [Bool])) -> Void)] = []
        var attempts: [DeliveryRecord] = []
        var attemptRequests: [(ids: Set<String>, continuation: CheckedContinuation<Set<String>, any Error>)] = []
        for request in batch {
            switch request {
            case .ingest(let write, let continuation): ingestRequests.append((write, { continuation.resume(returning: $0) }))
            case .detectors(let run, let planner, let noise, let continuation):
                // The events raised are ingested with the others, in this same transaction as the state they leave.
                let events = try await runDetectors(run)
                ingestRequests.append(
                    (IngestWrite(events: events, records: [], planner: planner, noise: noise), { continuation.resume(returning: $0.events) })
                )
            case .attempts(let records, let continuation):
                attempts += records
                attemptRequests.append((Set(records.map(\.id)), continuation))
            case .retry(let id, let now, let continuation):
                let result = try await retry(id: id, now: now)
                answers.append { continuation.resume(with: result) }
            case .sinkState(let integration, let key, let value, let now, let continuation):
                if let value {
                    try await database.raw(
                        """
                        INSERT INTO sink_state (integration, key, value, updated_at) VALUES (\(bind: integration), \(bind: key), \(bind: value), \(bind: now.storedMillis))
                        ON CONFLICT (integration, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                        """
                    ).run()
                } else {
                    try await database.raw("DELETE FROM sink_state WHERE integration = \(bind: integration) AND key = \(bind: key)").run()
                }
                answers.append { continuation.resume() }
            case .flushGroups(let now, let noise, let limit, let continuation):
                let told = try await flushGroups(now: now, noise: noise, limit: limit)
                answers.append { continuation.resume(returning: told) }
            case .acknowledge(let request, let continuation):
                let result = try await acknowledge(request)
                answers.append { continuation.resume(returning: result) }
            case .saveSilence(let silence, let now, let continuation):
                try await database.raw(
                    """
                    INSERT INTO silences (id, starts_at, ends_at, created_at, body)
                    VALUES (\(bind: silence.id), \(bind: silence.startsAt.storedMillis), \(bind: silence.endsAt.storedMillis),
                        \(bind: silence.createdAt.storedMillis), \(bind: JSONWriter.string(silence.jsonValue)))
                    ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at, body = excluded.body
                    """
                ).run()
                silenceCache?.withLockedValue { $0 = nil }
                // A silence that changed (or ended early) may unmute alerts: their groups are looked at again now.
                try await recheckSuppressedGroups(now: now)
                answers.append { continuation.resume() }
            case .admin(let write, let continuation):
                if let refusal = try await write(database) {
                    answers.append { continuation.resume(throwing: refusal) }
                } else {
                    answers.append { continuation.resume() }
                }
            }
        }
        if !ingestRequests.isEmpty {
            let results = try await ingest(ingestRequests.map(\.write))
            for (request, result) in zip(ingestRequests, results) {
                answers.append { request.answer(result) }
            }
        }
        if !attempts.isEmpty {
            let (refused, written) = try await recordAttempts(attempts)
            // The claims end once the results are committed, not before: until then the reader still sees the
            // deliveries pending, and a claim in between would send them again.
            answers.append { [leases] in leases?.release(written) }
            for request in attemptRequests {
                let mine = request.ids.intersection(refused)
                answers.append { request.continuation.resume(returning: mine) }
            }
        }
        return answers
    }

    /// One run of the detectors on the shared state: restores the stored state when it is newer than the one held in
    /// memory, runs, and stores the state it leaves (the next version).
    private func runDetectors(_ run: DetectorRun) async throws -> [Event] {
        let version = try await database.raw("SELECT version FROM detector_state WHERE id = 'engine'").first()?
            .decode(column: "version", as: Int64.self)
        var stored: String?
        if let version, run.heldVersion() != version {
            stored = try await database.raw("SELECT body FROM detector_state WHERE id = 'engine'").first()?.decode(column: "body", as: String.self)
        }
        let (events, state) = run.step(stored, version ?? 0)
        if let state {
            try await database.raw(
                """
                INSERT INTO detector_state (id, version, body) VALUES ('engine', \(bind: (version ?? 0) + 1), \(bind: state))
                ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body
                """
            ).run()
        }
        return events
    }

    private func retry(id: String, now: Date) async throws -> Result<DeliveryRecord, any Error> {
        guard let row = try await database.raw("SELECT * FROM deliveries WHERE id = \(bind: id)").first() else {
            return .failure(RetryRefusal.notFound)
        }
        let record = try DeliveryRow.decode(row)
        guard record.status == .failed || record.status == .dead else {
            return .failure(RetryRefusal.notRetryable(record.status))
        }
        let retried = record.retriedByHand(now: now)
        try await upsertDeliveries([retried])
        return .success(retried)
    }

    private func ingest(_ requests: [IngestWrite]) async throws -> [(events: [IngestedEvent], newBatches: [Bool])] {
        let allIDs = requests.flatMap { $0.events.map(\.id) }
        var known = Set<String>()
        for chunk in allIDs.chunked(Self.rowsPerStatement) {
            known.formUnion(try await selectStrings("SELECT id AS value FROM events WHERE id IN ", chunk))
        }
        let fingerprints = Array(Set(requests.flatMap { $0.events.compactMap(\.fingerprint) }))
        var alerts: [String: AlertRecord] = [:]
        for chunk in fingerprints.chunked(Self.rowsPerStatement) {
            for body in try await selectStrings("SELECT body AS value FROM alerts WHERE fingerprint IN ", chunk) {
                let alert = try StoredJSON.decode(AlertRecord.self, from: body)
                alerts[alert.fingerprint] = alert
            }
        }

        var eventRows: [[any Encodable & Sendable]] = []
        var changedAlerts: [String: AlertRecord] = [:]
        var notificationRows: [[any Encodable & Sendable]] = []
        var deliveryRows: [[any Encodable & Sendable]] = []
        var results: [(events: [IngestedEvent], newBatches: [Bool])] = []
        var knownBatches = Set<String>()
        let batchIDs = requests.flatMap { $0.records.map(\.notification.id) }
        for chunk in batchIDs.chunked(Self.rowsPerStatement) {
            knownBatches.formUnion(try await selectStrings("SELECT id AS value FROM notifications WHERE id IN ", chunk))
        }
        // Alerts' opens, rises and resolves go to their groups once every planner has run (the groups to load
        // depend on the plans); their history rows wait in place so that the history keeps the events' order.
        var admissions: [(request: Int, position: Int, row: Int, event: Event, plan: EventPlan, eventJSON: String)] = []
        for (requestIndex, request) in requests.enumerated() {
            let (events, planner) = (request.events, request.planner)
            var result: [IngestedEvent] = []
            for event in events {
                guard known.insert(event.id).inserted else {
                    result.append(IngestedEvent(id: event.id, outcome: nil, integrations: []))
                    continue
                }
                let plan = planner(event, event.fingerprint.flatMap { alerts[$0] })
                if let alert = plan.alert {
                    alerts[alert.fingerprint] = alert
                    changedAlerts[alert.fingerprint] = alert
                }
                var delivered: [String] = []
                // Encoding is most of ingest's CPU time: an event that is also the notification's is encoded once.
                let eventJSON = JSONWriter.string(event.storedForm)
                if event.kind == .alert, plan.notification != nil {
                    admissions.append((requestIndex, result.count, eventRows.count, event, plan, eventJSON))
                    eventRows.append([])
                    result.append(IngestedEvent(id: event.id, outcome: plan.outcome, integrations: plan.integrations))
                    continue
                }
                if let notification = plan.notification {
                    let notificationEventJSON = notification.event == event ? eventJSON : JSONWriter.string(notification.event.storedForm)
                    notificationRows.append([
                        notification.id, notification.type.rawValue, notification.createdAt.storedMillis,
                        StoredJSON.notification(notification, eventJSON: notificationEventJSON),
                    ])
                    for integration in plan.integrations {
                        deliveryRows.append(
                            DeliveryRow.values(DeliveryRecord.new(notification: notification, integration: integration, now: notification.createdAt))
                        )
                        delivered.append(integration)
                    }
                }
                eventRows.append([
                    event.id, event.kind.rawValue, event.severity.rawValue, event.category.rawValue, event.fingerprint,
                    plan.outcome.rawValue, StoredJSON.stringArray(delivered), event.receivedAt.storedMillis, eventJSON,
                ])
                result.append(IngestedEvent(id: event.id, outcome: plan.outcome, integrations: delivered))
            }
            var newBatches: [Bool] = []
            for batch in request.records {
                let notification = batch.notification
                guard knownBatches.insert(notification.id).inserted else {
                    newBatches.append(false)
                    continue
                }
                notificationRows.append([
                    notification.id, notification.type.rawValue, notification.createdAt.storedMillis, JSONWriter.string(notification.storedForm),
                ])
                for integration in batch.integrations {
                    deliveryRows.append(
                        DeliveryRow.values(DeliveryRecord.new(notification: notification, integration: integration, now: notification.createdAt))
                    )
                }
                newBatches.append(true)
            }
            results.append((result, newBatches))
        }

        if !admissions.isEmpty {
            // One runtime writes through a store, so the requests of one transaction share their noise settings.
            let noise = requests[0].noise
            var bases = Set<String>()
            for admission in admissions where !GroupBook.isSurelyNew(admission.plan, settings: noise) {
                bases.formUnion(GroupBook.bases(of: admission.plan.notification!.event, integrations: admission.plan.integrations, settings: noise))
            }
            var book = GroupBook(settings: noise, groups: try await loadGroups(bases: Array(bases)))
            let now = admissions[0].plan.notification!.createdAt
            let judge = try await judge(now: now, rules: noise.inhibitRules, overlay: changedAlerts)
            var inhibitorResolved = false
            for admission in admissions {
                let notification = admission.plan.notification!
                let (_, suppression) = book.admit(
                    notification.event,
                    firing: notification.type == .open,
                    integrations: admission.plan.integrations,
                    now: notification.createdAt,
                    judge: judge
                )
                var outcome = admission.plan.outcome
                switch suppression {
                case .silenced?: outcome = .silenced
                case .inhibited?: outcome = .inhibited
                case nil: break
                }
                if notification.type == .resolve, SuppressionJudge.isSource(notification.event.labels, rules: noise.inhibitRules) {
                    inhibitorResolved = true
                }
                let event = admission.event
                eventRows[admission.row] = [
                    event.id, event.kind.rawValue, event.severity.rawValue, event.category.rawValue, event.fingerprint,
                    outcome.rawValue, StoredJSON.stringArray(admission.plan.integrations), event.receivedAt.storedMillis, admission.eventJSON,
                ]
                results[admission.request].events[admission.position].outcome = outcome
            }
            var encoded: [String: (event: Event, json: String)] = [:]
            for admission in admissions { encoded[admission.event.id] = (admission.event, admission.eventJSON) }
            try await write(book, events: encoded)
            // The alerts it muted may now be told: their groups are looked at again.
            if inhibitorResolved { try await recheckSuppressedGroups(now: now) }
        }

        try await insert(
            into: "events",
            columns: ["id", "kind", "severity", "category", "fingerprint", "outcome", "integrations", "received_at", "body"],
            rows: eventRows
        )
        try await upsertAlerts(Array(changedAlerts.values))
        try await insert(into: "notifications", columns: ["id", "type", "created_at", "body"], rows: notificationRows)
        try await insert(into: "deliveries", columns: DeliveryRow.columns, rows: deliveryRows)
        return results
    }

    // MARK: Groups, acknowledgements and silences

    private func loadGroups(bases: [String]) async throws -> [AlertGroup] {
        var groups: [AlertGroup] = []
        for chunk in bases.chunked(Self.rowsPerStatement) {
            var query = SQLQueryString("SELECT body, next_flush_at FROM alert_groups WHERE base IN (")
            for (index, base) in chunk.enumerated() {
                if index > 0 { query.appendInterpolation(unsafeRaw: ", ") }
                query.appendInterpolation(bind: base)
            }
            query.appendInterpolation(unsafeRaw: ")")
            groups += try await database.raw(query).all().map(Self.decodeGroup)
        }
        return groups
    }

    /// A group row. Its `next_flush_at` column wins over the body's: a recheck (a silence expired, an inhibiting
    /// alert resolved) moves the column alone, in one statement for every group concerned.
    static func decodeGroup(_ row: any SQLRow) throws -> AlertGroup {
        var group = try AlertGroup(storedForm: JSONParser.parse(Array(try row.decode(column: "body", as: String.self).utf8)))
        group.nextFlushAt = try row.decode(column: "next_flush_at", as: Int64?.self).map(Date.init(storedMillis:))
        return group
    }

    /// What mutes alerts at `now`: the silences not yet over and, when there are inhibit rules, the open alerts
    /// that can inhibit (as this transaction leaves them).
    private func judge(now: Date, rules: [InhibitRule], overlay: [String: AlertRecord]) async throws -> SuppressionJudge {
        var silences: [Silence]
        if let cached = silenceCache?.withLockedValue({ $0 }) {
            silences = cached
        } else {
            silences = []
            for row in try await database.raw("SELECT id, body FROM silences WHERE ends_at > \(bind: now.storedMillis)").all() {
                // One unreadable silence must not stop every ingest: it is left out, loudly.
                do {
                    silences.append(try Silence(stored: JSONParser.parse(Array(try row.decode(column: "body", as: String.self).utf8))))
                } catch {
                    let id = (try? row.decode(column: "id", as: String.self)) ?? "?"
                    logger.error("a stored silence cannot be read; it mutes nothing", metadata: ["silence": "\(id)", "error": "\(error)"])
                }
            }
            silenceCache?.withLockedValue { $0 = silences }
        }
        silences.removeAll { $0.endsAt <= now }
        var sources: [String: [String: String]] = [:]
        if !rules.isEmpty {
            for row in try await database.raw("SELECT body FROM alerts WHERE status = 'open'").all() {
                let alert = try StoredJSON.decode(AlertRecord.self, from: try row.decode(column: "body", as: String.self))
                if SuppressionJudge.isSource(alert.labels, rules: rules) { sources[alert.fingerprint] = alert.labels }
            }
            for (fingerprint, alert) in overlay {
                let inhibits = alert.status == .open && SuppressionJudge.isSource(alert.labels, rules: rules)
                sources[fingerprint] = inhibits ? alert.labels : nil
            }
        }
        return SuppressionJudge(now: now, silences: silences, rules: rules, sources: sources.map { ($0.key, $0.value) })
    }

    /// Stores what a book decided: notifications and their deliveries, changed groups, emptied groups.
    /// - Parameter events: the events of this transaction by id, with their encoded JSON: a one-alert group's
    ///   notification carries its event unchanged, which is then encoded once.
    private func write(_ book: GroupBook, events: [String: (event: Event, json: String)] = [:]) async throws {
        var notificationRows: [[any Encodable & Sendable]] = []
        var deliveryRows: [[any Encodable & Sendable]] = []
        for (notification, integrations) in book.deliveries {
            let body: String
            if notification.group == nil, let stored = events[notification.event.id], stored.event == notification.event {
                body = StoredJSON.notification(notification, eventJSON: stored.json)
            } else {
                body = JSONWriter.string(notification.storedForm)
            }
            notificationRows.append([notification.id, notification.type.rawValue, notification.createdAt.storedMillis, body])
            for integration in integrations {
                deliveryRows.append(
                    DeliveryRow.values(DeliveryRecord.new(notification: notification, integration: integration, now: notification.createdAt))
                )
            }
        }
        // Ids are derived from the group and its look (or the event), so a row already there is this very one.
        try await insert(into: "notifications", columns: ["id", "type", "created_at", "body"], rows: notificationRows, ignoreConflicts: true)
        try await insert(into: "deliveries", columns: DeliveryRow.columns, rows: deliveryRows, ignoreConflicts: true)
        var groupRows: [[any Encodable & Sendable]] = []
        for group in book.allGroups where book.changedGroups.contains(group.id) {
            groupRows.append([
                group.id, GroupBook.base(of: group), group.integration, group.dedupKey, group.nextFlushAt?.storedMillis,
                group.hasSuppressedMembers ? 1 : 0, " " + group.members.map(\.fingerprint).joined(separator: " ") + " ",
                group.createdAt.storedMillis, JSONWriter.string(group.storedForm),
            ])
        }
        try await insert(
            into: "alert_groups",
            columns: ["id", "base", "integration", "dedup_key", "next_flush_at", "suppressed", "fingerprints", "created_at", "body"],
            rows: groupRows,
            upsertKey: "id"
        )
        for chunk in Array(book.deletedGroups).chunked(Self.rowsPerStatement) {
            _ = try await selectStrings("DELETE FROM alert_groups WHERE id IN ", chunk)
        }
    }

    private func recheckSuppressedGroups(now: Date) async throws {
        try await database.raw(
            """
            UPDATE alert_groups SET next_flush_at = \(bind: now.storedMillis)
            WHERE suppressed = 1 AND (next_flush_at IS NULL OR next_flush_at > \(bind: now.storedMillis))
            """
        ).run()
    }

    private func flushGroups(now: Date, noise: NoiseSettings, limit: Int) async throws -> Set<String> {
        let rows = try await database.raw(
            """
            SELECT body, next_flush_at FROM alert_groups WHERE next_flush_at IS NOT NULL AND next_flush_at <= \(bind: now.storedMillis)
            ORDER BY next_flush_at LIMIT \(bind: limit)
            """
        ).all()
        guard !rows.isEmpty else { return [] }
        var book = GroupBook(settings: noise, groups: try rows.map(Self.decodeGroup))
        let told = book.flushDue(now: now, judge: try await judge(now: now, rules: noise.inhibitRules, overlay: [:]))
        try await write(book)
        return told
    }

    private func acknowledge(_ request: AcknowledgeRequest) async throws -> AcknowledgeResult? {
        let rows: [any SQLRow]
        var fingerprints: Set<String>?
        switch request.target {
        case .alert(let fingerprint):
            guard
                let body = try await database.raw("SELECT body FROM alerts WHERE fingerprint = \(bind: fingerprint)").first()?
                    .decode(column: "body", as: String.self)
            else { return nil }
            guard try StoredJSON.decode(AlertRecord.self, from: body).status == .open else { return nil }
            fingerprints = [fingerprint]
            rows = try await database.raw(
                "SELECT body, next_flush_at FROM alert_groups WHERE \(dialect.contains("fingerprints", " \(fingerprint) "))"
            ).all()
        case .group(let dedupKey):
            rows = try await database.raw("SELECT body, next_flush_at FROM alert_groups WHERE dedup_key = \(bind: dedupKey)").all()
            guard !rows.isEmpty else { return nil }
        }
        let groups = try rows.map(Self.decodeGroup)
        var book = GroupBook(settings: request.noise, groups: groups)
        let (touched, told) = book.acknowledge(fingerprints: fingerprints, by: request.author, forwardTo: request.forwardTo, now: request.now)
        try await write(book)
        let acknowledged = fingerprints ?? Set(groups.flatMap { $0.members.filter(\.effectivelyFiring).map(\.fingerprint) })
        var changed: [AlertRecord] = []
        for chunk in acknowledged.sorted().chunked(Self.rowsPerStatement) {
            for body in try await selectStrings("SELECT body AS value FROM alerts WHERE status = 'open' AND fingerprint IN ", chunk) {
                var alert = try StoredJSON.decode(AlertRecord.self, from: body)
                alert.acknowledgedBy = request.author
                alert.acknowledgedAt = request.now
                changed.append(alert)
            }
        }
        try await upsertAlerts(changed)
        return AcknowledgeResult(alerts: acknowledged.sorted(), groups: touched.sorted(), forwardedTo: told.sorted())
    }

    private func upsertAlerts(_ alerts: [AlertRecord]) async throws {
        var rows: [[any Encodable & Sendable]] = []
        for alert in alerts {
            rows.append([
                alert.fingerprint, alert.status.rawValue, alert.severity.rawValue, alert.category.rawValue, alert.startsAt.storedMillis,
                alert.expiresAt?.storedMillis, try StoredJSON.encode(alert),
            ])
        }
        try await insert(
            into: "alerts",
            columns: ["fingerprint", "status", "severity", "category", "started_at", "expires_at", "body"],
            rows: rows,
            upsertKey: "fingerprint"
        )
    }

    /// Writes attempt results, fenced by their leases; returns the ids refused because a newer claim holds them, and
    /// (SQLite) those whose in-memory claims end with the commit.
    private func recordAttempts(_ records: [DeliveryRecord]) async throws -> (refused: Set<String>, written: Set<String>) {
        // Later records for one delivery win.
        var latest: [String: DeliveryRecord] = [:]
        for record in records { latest[record.id] = record }
        var refused = Set<String>()
        var leased: [DeliveryRecord] = []
        var free: [DeliveryRecord] = []
        for record in latest.values {
            guard let lease = record.lease else {
                free.append(record)
                continue
            }
            if let leases {
                if leases.holds(id: record.id, token: lease.token) { free.append(record) } else { refused.insert(record.id) }
            } else {
                leased.append(record)
            }
        }
        try await upsertDeliveries(free)
        if !leased.isEmpty {
            // One statement: a row is updated only while its token is still the one this attempt was claimed with.
            var written = Set<String>()
            for chunk in leased.chunked(Self.rowsPerStatement) {
                var query = SQLQueryString("INSERT INTO deliveries (")
                query.appendInterpolation(unsafeRaw: (DeliveryRow.columns + ["lease_token"]).joined(separator: ", "))
                query.appendInterpolation(unsafeRaw: ") VALUES ")
                for (index, record) in chunk.enumerated() {
                    query.appendInterpolation(unsafeRaw: index == 0 ? "(" : ", (")
                    for (position, value) in (DeliveryRow.values(record) + [record.lease?.token ?? 0]).enumerated() {
                        if position > 0 { query.appendInterpolation(unsafeRaw: ", ") }
                        query.appendInterpolation(bind: value)
                    }
                    query.appendInterpolation(unsafeRaw: ")")
                }
                query.appendInterpolation(unsafeRaw: " ON CONFLICT (id) DO UPDATE SET ")
                let updated =
                    DeliveryRow.columns.filter { $0 != "id" }.map { "\($0) = EXCLUDED.\($0)" } + [
                        "lease_owner = NULL", "lease_expires_at = NULL",
                    ]
                query.appendInterpolation(unsafeRaw: updated.joined(separator: ", "))
                query.appendInterpolation(unsafeRaw: " WHERE deliveries.lease_token = EXCLUDED.lease_token RETURNING id")
                for row in try await database.raw(query).all() { written.insert(try row.decode(column: "id", as: String.self)) }
            }
            refused.formUnion(Set(leased.map(\.id)).subtracting(written))
        }
        return (refused, Set(free.map(\.id)))
    }

    private func upsertDeliveries(_ records: [DeliveryRecord]) async throws {
        // Later records for one delivery win; one statement may not touch a row twice.
        var latest: [String: DeliveryRecord] = [:]
        for record in records { latest[record.id] = record }
        // An upsert of whole rows: SQLite prepares it in time linear in its size, where an UPDATE with one CASE per
        // column grew quadratically and was the largest CPU cost under load.
        guard dialect == .postgres else {
            try await insert(into: "deliveries", columns: DeliveryRow.columns, rows: latest.values.map(DeliveryRow.values), upsertKey: "id")
            return
        }
        // A result recorded without a lease (a manual retry) releases any claim, as recording an attempt does.
        let none: [any Encodable & Sendable] = [String?.none, Int64?.none]
        try await insert(
            into: "deliveries",
            columns: DeliveryRow.columns + ["lease_owner", "lease_expires_at"],
            rows: latest.values.map { DeliveryRow.values($0) + none },
            upsertKey: "id"
        )
    }

    private func selectStrings(_ prefix: String, _ values: ArraySlice<String>) async throws -> [String] {
        guard !values.isEmpty else { return [] }
        var query = SQLQueryString(prefix)
        query.appendInterpolation(unsafeRaw: "(")
        for (index, value) in values.enumerated() {
            if index > 0 { query.appendInterpolation(unsafeRaw: ", ") }
            query.appendInterpolation(bind: value)
        }
        query.appendInterpolation(unsafeRaw: ")")
        return try await database.raw(query).all().map { try $0.decode(column: "value", as: String.self) }
    }

    private func insert(
        into table: String,
        columns: [String],
        rows: [[any Encodable & Sendable]],
        upsertKey: String? = nil,
        ignoreConflicts: Bool = false
    ) async throws {
        for chunk in rows.chunked(Self.rowsPerStatement) {
            var builder = database.insert(into: table).columns(columns)
            for row in chunk { builder = builder.values(row) }
            if ignoreConflicts { builder = builder.ignoringConflicts() }
            if let upsertKey {
                builder = builder.onConflict(with: [upsertKey]) { update in
                    var update = update
                    for column in columns where column != upsertKey { update = update.set(excludedValueOf: column) }
                    return update
                }
            }
            try await builder.run()
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
