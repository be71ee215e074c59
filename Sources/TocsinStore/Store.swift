import Foundation
import TocsinCore

/// What the store did with one ingested event.
public struct IngestedEvent: Sendable, Hashable {
    public var id: String
    /// `nil` when the id had been stored before: the re-post changed nothing.
    public var outcome: EventOutcome?
    public var integrations: [String]
}

/// One event from the history, with what processing it did.
public struct StoredEvent: Sendable, Hashable, Codable {
    public var sequence: Int64
    public var event: Event
    public var outcome: EventOutcome
    public var integrations: [String]
}

/// A delivery with the notification it carries, ready to send.
public struct DueDelivery: Sendable {
    public var delivery: DeliveryRecord
    public var notification: NotificationRecord
}

/// Filters for `GET /api/v1/alerts`.
public struct AlertFilter: Sendable {
    public var category: Category?
    public var severity: Severity?
    public var labels: [String: String]
    public var limit: Int

    public init(category: Category? = nil, severity: Severity? = nil, labels: [String: String] = [:], limit: Int = 1000) {
        self.category = category
        self.severity = severity
        self.labels = labels
        self.limit = limit
    }
}

/// Why a manual retry was refused.
public enum RetryRefusal: Error, Sendable, Hashable {
    case notFound
    case notRetryable(DeliveryStatus)
}

/// A batch of log records or metric samples to store, and the integrations it goes to (an outbox row each).
public struct RecordBatchWrite: Sendable {
    public var notification: NotificationRecord
    public var integrations: [String]

    public init(notification: NotificationRecord, integrations: [String]) {
        self.notification = notification
        self.integrations = integrations
    }
}

/// What an acknowledgement names.
public enum AcknowledgeTarget: Sendable, Hashable {
    case alert(fingerprint: String)
    case group(dedupKey: String)
}

/// What an acknowledgement did.
public struct AcknowledgeResult: Sendable, Hashable {
    /// The alerts acknowledged (fingerprints).
    public var alerts: [String]
    /// The groups touched (ids).
    public var groups: [String]
    /// The integrations told (their incident platforms acknowledge too).
    public var forwardedTo: [String]

    public init(alerts: [String], groups: [String], forwardedTo: [String]) {
        self.alerts = alerts
        self.groups = groups
        self.forwardedTo = forwardedTo
    }
}

/// One run of the detectors on the state every instance sharing the store sees (see `Store.runDetectors`).
public struct DetectorRun: Sendable {
    /// The version of the stored state the caller holds in memory; nil when it holds none it trusts.
    public var heldVersion: @Sendable () -> Int64?
    /// Runs the detectors, first restoring `stored` (the stored state, version `version`; given only when it is not
    /// the one held), and returns the events raised and the state they leave, which is stored as `version + 1` —
    /// or nil when it is the state already stored (nothing is written).
    public var step: @Sendable (_ stored: String?, _ version: Int64) -> (events: [Event], state: String?)
    /// The transaction failed: the state held in memory is ahead of the stored one and must not be trusted.
    public var failed: @Sendable () -> Void

    public init(
        heldVersion: @escaping @Sendable () -> Int64?,
        step: @escaping @Sendable (_ stored: String?, _ version: Int64) -> (events: [Event], state: String?),
        failed: @escaping @Sendable () -> Void
    ) {
        self.heldVersion = heldVersion
        self.step = step
        self.failed = failed
    }
}

/// Decides what one event does, given the alert's current state. Runs inside the store's transaction.
public typealias EventPlanner = @Sendable (Event, AlertRecord?) -> EventPlan

/// Everything Tocsin keeps. One implementation per database; all pass the same conformance tests.
public protocol Store: SinkStateStore, AdminStore {
    /// Creates or upgrades the schema.
    func migrate() async throws

    /// Stores events and everything they cause (alert state, notification, one outbox row per integration)
    /// in one transaction. Returns only once that transaction is durable. Ids stored before change nothing.
    func ingest(_ events: [Event], planner: @escaping EventPlanner) async throws -> [IngestedEvent]

    /// Stores events as `ingest` does and, in the same transaction, record batches: each batch is one notification
    /// row and one outbox row per integration, however many records it holds. A batch whose id was stored before
    /// is left as it was (a re-sent request). Returns the events' results and, per batch, whether it was new.
    /// Alerts' opens, rises and resolves go through their groups (`noise`): a group due at once (no wait) is told in
    /// the same transaction, others wait for `flushDueGroups`. (Without `noise`: every alert on its own.)
    func ingest(
        _ events: [Event],
        records: [RecordBatchWrite],
        planner: @escaping EventPlanner,
        noise: NoiseSettings
    ) async throws -> (events: [IngestedEvent], newBatches: [Bool])

    /// Looks at up to `limit` groups whose next look is due at `now` (group wait or interval over, repeat due,
    /// silence ended, flapping settled) and stores what they tell. Returns the integrations that got deliveries.
    func flushDueGroups(now: Date, noise: NoiseSettings, limit: Int) async throws -> Set<String>

    /// When the earliest group look is due, if any.
    func nextGroupLook() async throws -> Date?

    /// The groups that hold alerts, newest first.
    func alertGroups(limit: Int) async throws -> [AlertGroup]

    /// Acknowledges an open alert (by fingerprint) or a group (by dedup key, on every integration) and passes the
    /// acknowledgement on to `forwardTo` integrations whose group is now wholly acknowledged. Nil when nothing open
    /// has that fingerprint or key.
    func acknowledge(_ target: AcknowledgeTarget, by author: String, now: Date, noise: NoiseSettings, forwardTo: Set<String>)
        async throws -> AcknowledgeResult?

    /// Stores a new silence (or replaces one with its id); groups with muted alerts are looked at again.
    func saveSilence(_ silence: Silence, now: Date) async throws

    /// Silences whose end is after `now` (all when nil), newest first.
    func silences(endingAfter now: Date?) async throws -> [Silence]

    func silence(id: String) async throws -> Silence?

    /// Open alerts whose `expiresAt` is at or before `now`.
    func expiredAlerts(now: Date, limit: Int) async throws -> [AlertRecord]

    func openAlerts(_ filter: AlertFilter) async throws -> [AlertRecord]

    /// The history, newest first, starting below `before` (a sequence number) when given.
    func events(before: Int64?, limit: Int) async throws -> [StoredEvent]

    /// Deliveries, newest first, optionally of one status and one integration.
    func deliveries(status: DeliveryStatus?, integration: String?, before: Int64?, limit: Int) async throws -> [(Int64, DeliveryRecord)]

    func delivery(id: String) async throws -> DeliveryRecord?

    /// Pending deliveries of an integration that are due, in creation order, skipping those another claim holds
    /// (lease not yet expired) and any delivery that has an earlier pending delivery with the same order key.
    /// Reads only: see `claimDueDeliveries` to take them.
    func dueDeliveries(integration: String, now: Date, limit: Int) async throws -> [DueDelivery]

    /// Takes up to `limit` of the deliveries `dueDeliveries` would list, under a new lease for `owner` lasting
    /// `leaseFor`: no other claim gets them until the lease expires (its owner died or stalled) or their attempt is
    /// recorded. Concurrent claims, from this process or another sharing the database, never get the same delivery.
    func claimDueDeliveries(integration: String, now: Date, owner: String, leaseFor: Duration, limit: Int) async throws -> [DueDelivery]

    /// Every delivery of an integration, whatever its status, with its notification, oldest first: what the
    /// integration was (or will be) told.
    func outbox(integration: String, limit: Int) async throws -> [DueDelivery]

    /// When the integration's earliest pending delivery is due.
    func nextDueTime(integration: String) async throws -> Date?

    /// Records attempt results (delivery rows in their new state) and releases their leases. A record carrying a
    /// lease whose token is no longer the delivery's latest (it was claimed again after the lease expired) is not
    /// written: fencing, so a stale result never overwrites a newer attempt. Returns the ids so refused.
    @discardableResult
    func recordAttempts(_ deliveries: [DeliveryRecord]) async throws -> Set<String>

    /// Makes a failed or dead delivery pending again.
    func retryDelivery(id: String, now: Date) async throws -> DeliveryRecord

    /// Deliveries per integration and status.
    func outboxCounts() async throws -> [String: [DeliveryStatus: Int]]

    /// Counts of stored events and alerts, for tests and status.
    func counts() async throws -> (events: Int, alerts: Int, deliveries: Int)

    /// Runs the detectors in one write transaction: on the stored state (restored when another instance changed it),
    /// storing the state they leave and ingesting the events they raise, as `ingest` would. With several instances
    /// on one database every run sees the one before it, whichever instance made it.
    func runDetectors(_ run: DetectorRun, planner: @escaping EventPlanner, noise: NoiseSettings) async throws -> [IngestedEvent]

    /// Whether other instances may share this store (PostgreSQL); state held in memory is then not enough.
    var isShared: Bool { get }

    /// Checks that the database answers.
    func ping() async throws

    /// The newest migration applied.
    func schemaVersion() async throws -> Int

    func close() async throws
}

extension Store {
    public func ingest(
        _ events: [Event],
        records: [RecordBatchWrite],
        planner: @escaping EventPlanner
    ) async throws -> (events: [IngestedEvent], newBatches: [Bool]) {
        try await ingest(events, records: records, planner: planner, noise: .standard)
    }
}
