import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TocsinCore
import TocsinSinks
import TocsinStore

/// The outbox's delivery side: one loop per integration claims due deliveries, sends them through the
/// integration's sink with at most `concurrency` in flight, and records each attempt.
///
/// A delivery stays `pending` in the store while it is in flight, claimed under a lease (`lease` long, in this
/// instance's name); only the recorded result moves it on. So a process killed mid-send leaves it pending: the
/// next start (SQLite) or, once the lease expires, another instance (PostgreSQL) sends it again with the same
/// idempotency key.
public final class Dispatcher: Service {
    /// The deliveries an integration's loop has handed out.
    struct Claims {
        /// Sends on the wire: what `concurrency` limits.
        var sending = 0
        /// Claimed and not yet recorded (on the wire, or waiting for the attempt's commit): bounds what a crash
        /// can send twice.
        var unsettled: Set<String> = []
    }

    struct Integration: Sendable {
        var name: String
        var sink: any Sink
        var policy: DeliveryPolicy
        var doorbell = Doorbell()
        var claims = NIOLockedValueBox(Claims())
        /// The service's rate limit (or the integration's own), shared by its concurrent sends.
        var bucket: NIOLockedValueBox<TokenBucket>?
        /// Its label matchers: a record batch is stored whole and each integration is handed the records they accept.
        var matchers: [LabelMatcher] = []
        /// Set when the integration is deleted or replaced: its loop stops claiming, lets its sends finish, and
        /// shuts its sink down.
        var retired = NIOLockedValueBox(false)

        var isRetired: Bool { retired.withLockedValue { $0 } }
    }

    /// What an integration's loop is built from: its sink and how its deliveries are sent.
    public struct Destination: Sendable {
        public var sink: any Sink
        public var policy: DeliveryPolicy
        public var rateLimit: RateLimit?
        public var matchers: [LabelMatcher]

        public init(sink: any Sink, policy: DeliveryPolicy, rateLimit: RateLimit? = nil, matchers: [LabelMatcher] = []) {
            self.sink = sink
            self.policy = policy
            self.rateLimit = rateLimit
            self.matchers = matchers
        }
    }

    /// The integrations with a loop, and those whose loop `run` has yet to start (all of them before it runs).
    struct Lanes {
        var integrations: [String: Integration] = [:]
        var unstarted: [Integration] = []
        var running = false
    }

    private let lanes: NIOLockedValueBox<Lanes>
    /// Rung when integrations are added, so that `run` starts their loops.
    private let changeBell = Doorbell()
    private let store: any Store
    private let metrics: TocsinMetrics
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let random: @Sendable () -> Double
    private let shutdownGrace: Duration
    private let stopping = NIOLockedValueBox(false)
    private let stopBell = Doorbell()
    /// How long an idle loop sleeps before looking again, even without a wake-up: bounds the delay of a retry
    /// that came due while nothing else happened.
    private let idlePoll: Duration
    /// This instance's name on its claims, and how long a claim lasts.
    private let instanceID: String
    private let lease: Duration

    public init(
        sinks: [String: any Sink],
        policies: [String: DeliveryPolicy],
        rateLimits: [String: RateLimit] = [:],
        subscriptions: [String: Subscription] = [:],
        store: any Store,
        metrics: TocsinMetrics,
        logger: Logger,
        shutdownGrace: Duration,
        idlePoll: Duration = .seconds(1),
        instanceID: String = "local",
        lease: Duration = .seconds(120),
        clock: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        var lanes = Lanes()
        for (name, sink) in sinks {
            let integration = Self.integration(
                name,
                Destination(
                    sink: sink,
                    policy: policies[name] ?? DeliveryPolicy(),
                    rateLimit: rateLimits[name],
                    matchers: subscriptions[name]?.matchers ?? []
                )
            )
            lanes.integrations[name] = integration
            lanes.unstarted.append(integration)
        }
        self.lanes = NIOLockedValueBox(lanes)
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        self.idlePoll = idlePoll
        self.instanceID = instanceID
        self.lease = lease
        self.clock = clock
        self.random = random
    }

    private static func integration(_ name: String, _ destination: Destination) -> Integration {
        Integration(
            name: name,
            sink: destination.sink,
            policy: destination.policy,
            bucket: destination.rateLimit.map { NIOLockedValueBox(TokenBucket(limit: $0, now: Date())) },
            matchers: destination.matchers
        )
    }

    /// The integrations with a delivery loop.
    public var integrationNames: Set<String> {
        lanes.withLockedValue { Set($0.integrations.keys) }
    }

    /// Starts sending for `added` (replacing the loop of an integration of the same name) and stops for `removed`.
    /// A stopped loop lets its sends in flight finish; its pending deliveries stay in the outbox untouched, and are
    /// sent should an integration of that name come back.
    public func update(added: [String: Destination], removed: Set<String>) {
        var retired: [Integration] = []
        lanes.withLockedValue { lanes in
            for name in removed.union(added.keys) {
                guard let old = lanes.integrations.removeValue(forKey: name) else { continue }
                old.retired.withLockedValue { $0 = true }
                if let index = lanes.unstarted.firstIndex(where: { $0.doorbell === old.doorbell }) {
                    // Never started: nothing of it runs, so its sink is released here.
                    lanes.unstarted.remove(at: index)
                    retired.append(old)
                }
                old.doorbell.ring()
            }
            for (name, destination) in added {
                let integration = Self.integration(name, destination)
                lanes.integrations[name] = integration
                lanes.unstarted.append(integration)
            }
        }
        changeBell.ring()
        for integration in retired {
            Task { await integration.sink.shutdown() }
        }
    }

    /// Tells the loops of these integrations that new deliveries may be due.
    public func wake<S: Sequence>(_ names: S) where S.Element == String {
        let doorbells = lanes.withLockedValue { lanes in Set(names).compactMap { lanes.integrations[$0]?.doorbell } }
        for doorbell in doorbells { doorbell.ring() }
    }

    private func takeUnstarted() -> [Integration] {
        lanes.withLockedValue { lanes in
            defer { lanes.unstarted = [] }
            return lanes.unstarted
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    // Integrations come and go while the server runs (made and deleted through the API): each gets a
                    // loop when it appears, and its loop ends when it is retired.
                    await withDiscardingTaskGroup { loops in
                        while !self.isStopping && !Task.isCancelled {
                            for integration in self.takeUnstarted() {
                                loops.addTask {
                                    await self.loop(integration)
                                    if integration.isRetired { await integration.sink.shutdown() }
                                }
                            }
                            await self.changeBell.wait(timeout: .seconds(3600))
                        }
                    }
                    return true
                }
                group.addTask {
                    // In-flight sends get `shutdownGrace` to finish once shutdown begins; then they are cancelled
                    // and stay pending for the next start.
                    while !self.isStopping && !Task.isCancelled { await self.stopBell.wait(timeout: .seconds(3600)) }
                    try? await Task.sleep(for: self.shutdownGrace)
                    return false
                }
                let drained = await group.next() ?? true
                group.cancelAll()
                if !drained { self.logger.warning("shutdown grace passed with sends in flight; they stay pending") }
            }
        } onGracefulShutdown: {
            self.stopping.withLockedValue { $0 = true }
            self.stopBell.ring()
            self.changeBell.ring()
            for integration in self.lanes.withLockedValue({ Array($0.integrations.values) }) { integration.doorbell.ring() }
        }
        for integration in lanes.withLockedValue({ Array($0.integrations.values) }) { await integration.sink.shutdown() }
    }

    private var isStopping: Bool { stopping.withLockedValue { $0 } }

    private func loop(_ integration: Integration) async {
        // A discarding group: a plain task group keeps every finished child until it is awaited, which under a
        // steady stream of sends grew the process by gigabytes.
        await withDiscardingTaskGroup { sends in
            while !isStopping && !integration.isRetired && !Task.isCancelled {
                let claims = integration.claims.withLockedValue { $0 }
                if let batching = integration.sink as? any BatchingSink {
                    // `concurrency` batches on the wire at most; each carries up to `batchLimit` deliveries.
                    if claims.sending >= integration.policy.concurrency {
                        await integration.doorbell.wait(timeout: idlePoll)
                    } else {
                        await claimBatch(integration, sink: batching, inFlight: claims.unsettled.count, sends: &sends)
                    }
                    continue
                }
                // At most `concurrency` sends on the wire, and at most as many again answered but not yet committed:
                // that bounds what a crash can send twice to twice the concurrency.
                let concurrency = integration.policy.concurrency
                let free = min(concurrency - claims.sending, 2 * concurrency - claims.unsettled.count)
                // Claim in batches under load: one outbox query per quarter of the slots, not one per finished send.
                let batch = claims.sending == 0 ? 1 : max(1, concurrency / 4)
                if free < batch {
                    // Not enough free slots yet; a finishing send rings the bell.
                    await integration.doorbell.wait(timeout: idlePoll)
                    continue
                }
                var claimed = 0
                do {
                    let due = try await store.claimDueDeliveries(
                        integration: integration.name,
                        now: clock(),
                        owner: instanceID,
                        leaseFor: lease,
                        limit: free
                    )
                    for item in due {
                        integration.claims.withLockedValue { claims in
                            claims.sending += 1
                            claims.unsettled.insert(item.delivery.id)
                        }
                        claimed += 1
                        sends.addTask { await self.attempt([item], integration: integration) }
                    }
                } catch {
                    logger.error("cannot read the outbox", metadata: ["integration": "\(integration.name)", "error": "\(error)"])
                }
                if claimed < free {
                    await integration.doorbell.wait(timeout: await idleWait(integration, inFlight: claims.unsettled.count + claimed))
                }
            }
        }
    }

    /// For a sink that sends many deliveries at once: waits until the oldest due delivery has waited
    /// `flushInterval` (or `batchLimit` are due), then hands them over as one send.
    private func claimBatch(
        _ integration: Integration,
        sink: any BatchingSink,
        inFlight: Int,
        sends: inout DiscardingTaskGroup
    ) async {
        let limit = max(1, sink.batchLimit)
        let due: [DueDelivery]
        do {
            // Looked at first, claimed only when the batch goes: a batch waiting for company holds no leases.
            due = try await store.dueDeliveries(integration: integration.name, now: clock(), limit: limit)
        } catch {
            logger.error("cannot read the outbox", metadata: ["integration": "\(integration.name)", "error": "\(error)"])
            await integration.doorbell.wait(timeout: idlePoll)
            return
        }
        guard !due.isEmpty else {
            await integration.doorbell.wait(timeout: await idleWait(integration, inFlight: inFlight))
            return
        }
        // A retry is sent at once; a first attempt waits for company until the flush interval has passed.
        let oldest = due.map { $0.delivery.attempts == 0 ? $0.delivery.createdAt : .distantPast }.min() ?? .distantPast
        let wait = oldest.addingTimeInterval(sink.flushInterval.seconds).timeIntervalSince(clock())
        if due.count < limit && wait > 0 && !isStopping {
            // Real time, as with every wait of the loops; the bell rings when more deliveries arrive.
            await integration.doorbell.wait(timeout: .milliseconds(Int64(wait * 1000) + 1))
            return
        }
        // Another instance may have taken some of them meanwhile: the batch is what this claim got.
        let claimed: [DueDelivery]
        do {
            claimed = try await store.claimDueDeliveries(
                integration: integration.name,
                now: clock(),
                owner: instanceID,
                leaseFor: lease,
                limit: limit
            )
        } catch {
            logger.error("cannot claim from the outbox", metadata: ["integration": "\(integration.name)", "error": "\(error)"])
            await integration.doorbell.wait(timeout: idlePoll)
            return
        }
        guard !claimed.isEmpty else { return }
        integration.claims.withLockedValue { claims in
            claims.sending += 1
            for item in claimed { claims.unsettled.insert(item.delivery.id) }
        }
        sends.addTask { await self.attempt(claimed, integration: integration) }
    }

    /// What the sink is handed: a record batch reduced to the records the integration's matchers accept.
    private func outboundNotification(_ item: DueDelivery, integration: Integration) -> OutboundNotification {
        var notification = item.notification
        if let records = notification.records, !integration.matchers.isEmpty {
            notification.records = records.filtered(by: integration.matchers)
        }
        return OutboundNotification(deliveryID: item.delivery.id, integration: integration.name, notification: notification)
    }

    /// Sleep until the next retry is due, but never longer than `idlePoll`.
    private func idleWait(_ integration: Integration, inFlight: Int) async -> Duration {
        // With sends in flight, their ends ring the bell; the earliest pending row may be one of them.
        guard inFlight == 0, let due = try? await store.nextDueTime(integration: integration.name) else { return idlePoll }
        let seconds = due.timeIntervalSince(clock())
        if seconds <= 0 { return .milliseconds(5) }
        return min(idlePoll, .milliseconds(Int64(seconds * 1000) + 1))
    }

    /// One send of one or more claimed deliveries (more only for a `BatchingSink`): wait for the rate limit, hand
    /// them to the sink, and record the one result on each.
    private func attempt(_ items: [DueDelivery], integration: Integration) async {
        defer {
            integration.claims.withLockedValue { claims in
                for item in items { _ = claims.unsettled.remove(item.delivery.id) }
            }
            // The slot is free, and the deliveries' successors for the same alerts may now be due.
            integration.doorbell.ring()
        }
        let outbound = items.map { outboundNotification($0, integration: integration) }
        if let bucket = integration.bucket {
            // Wall-clock time, not the injected clock: the wait is a real sleep before a real send.
            let wait = bucket.withLockedValue { $0.reserve(now: Date()) }
            if wait > .zero {
                metrics.rateLimited(integration: integration.name)
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    // Shutting down: the deliveries stay pending for the next start.
                    integration.claims.withLockedValue { $0.sending -= 1 }
                    return
                }
            }
        }
        let started = ContinuousClock.now
        let result: SinkResult
        if let batching = integration.sink as? any BatchingSink {
            result = await batching.deliver(batch: outbound)
        } else {
            result = await integration.sink.deliver(outbound[0])
        }
        // The slot frees as soon as the peer has answered; the deliveries stay unclaimable until their attempt is
        // committed, so that waiting for the commit does not hold the next send back.
        integration.claims.withLockedValue { $0.sending -= 1 }
        integration.doorbell.ring()
        if Task.isCancelled { return }
        let latency = ContinuousClock.now - started
        let now = clock()
        let draw = random()
        let next = items.map {
            $0.delivery.after(
                outcome: result.outcome,
                statusCode: result.statusCode,
                error: result.detail,
                latency: latency,
                now: now,
                policy: integration.policy,
                random: draw
            )
        }
        for record in next {
            metrics.attempt(integration: integration.name, outcome: record.status.rawValue, latency: latency)
            if record.status == .pending { metrics.retryScheduled(integration: integration.name) }
        }
        if let first = next.first, first.status != .delivered {
            logger.warning(
                "delivery attempt did not succeed",
                metadata: [
                    "integration": "\(integration.name)", "delivery": "\(first.id)", "deliveries": "\(next.count)",
                    "attempt": "\(first.attempts)", "status": "\(first.status.rawValue)", "detail": "\(result.detail ?? "")",
                ]
            )
        }
        do {
            let refused = try await store.recordAttempts(next)
            if !refused.isEmpty {
                // The lease ran out mid-send and another claim has these now: its result, not this one, counts.
                metrics.staleAttempts(integration: integration.name, count: refused.count)
                logger.warning(
                    "an attempt finished after its lease expired; its result is dropped",
                    metadata: ["integration": "\(integration.name)", "deliveries": "\(refused.sorted().joined(separator: ","))"]
                )
            }
        } catch {
            logger.error(
                "cannot record a delivery attempt; it will be sent again",
                metadata: ["delivery": "\(next.first?.id ?? "")", "deliveries": "\(next.count)", "error": "\(error)"]
            )
        }
    }
}
