import Foundation
import Logging
import TocsinCore
import TocsinStore

/// The write path shared by every source: commit events with the plans they cause, count them, and wake the
/// delivery loops of the integrations that gained deliveries.
public final class Ingestor: Sendable {
    let store: any Store
    /// The matrix in force, read once per request: managed routing cells change it while the server runs.
    let routingSource: @Sendable () -> RoutingMatrix
    var routing: RoutingMatrix { routingSource() }
    let noise: NoiseSettings
    let metrics: TocsinMetrics
    let dispatcher: Dispatcher
    let clock: @Sendable () -> Date
    /// Where metric samples go after they are stored, when detectors are configured.
    let detectors: DetectorService?
    let logger: Logger

    public convenience init(
        store: any Store,
        routing: RoutingMatrix,
        noise: NoiseSettings = .standard,
        metrics: TocsinMetrics,
        dispatcher: Dispatcher,
        detectors: DetectorService? = nil,
        logger: Logger = Logger(label: "tocsin.ingest"),
        clock: @escaping @Sendable () -> Date
    ) {
        self.init(
            store: store,
            routing: { routing },
            noise: noise,
            metrics: metrics,
            dispatcher: dispatcher,
            detectors: detectors,
            logger: logger,
            clock: clock
        )
    }

    public init(
        store: any Store,
        routing: @escaping @Sendable () -> RoutingMatrix,
        noise: NoiseSettings = .standard,
        metrics: TocsinMetrics,
        dispatcher: Dispatcher,
        detectors: DetectorService? = nil,
        logger: Logger = Logger(label: "tocsin.ingest"),
        clock: @escaping @Sendable () -> Date
    ) {
        self.logger = logger
        self.store = store
        self.routingSource = routing
        self.noise = noise
        self.metrics = metrics
        self.dispatcher = dispatcher
        self.detectors = detectors
        self.clock = clock
    }

    /// Returns once the events and their outbox rows are durable.
    public func ingest(_ events: [Event]) async throws -> [IngestedEvent] {
        try await ingest(events, logs: [], metrics: []).events
    }

    /// What one ingest request did: the events' results and, per record stream, how many records were stored and
    /// where they go.
    public struct Result: Sendable {
        public var events: [IngestedEvent]
        public var logs: RecordsResult?
        public var metrics: RecordsResult?
    }

    public struct RecordsResult: Sendable, Encodable {
        public var batch: String
        public var records: Int
        public var integrations: [String]
        /// The batch id had been stored before: the re-sent request changed nothing.
        public var duplicate: Bool
    }

    /// Stores alerts, notifications, log records and metric samples in one transaction and returns once it is
    /// durable. Each record stream becomes one batch (`batchID`, derived per stream, makes a re-sent request
    /// harmless); metric samples then feed the detectors.
    public func ingest(
        _ events: [Event],
        logs: [LogRecord],
        metrics samples: [MetricSample],
        batchID: String? = nil
    ) async throws -> Result {
        let now = clock()
        let base = batchID ?? UUID().uuidString.lowercased()
        var writes: [RecordBatchWrite] = []
        for batch in [RecordBatch.logs(logs), RecordBatch.metrics(samples)] where !batch.isEmpty {
            let notification = NotificationRecord.records(batch, id: "\(batch.kind.rawValue)-\(base)", receivedAt: now)
            writes.append(
                RecordBatchWrite(
                    notification: notification,
                    integrations: RecordRouter.integrations(for: batch, subscriptions: routing.subscriptions)
                )
            )
        }
        guard !events.isEmpty || !writes.isEmpty else { return Result(events: []) }
        let routing = self.routing
        let clock = self.clock
        let (results, newBatches) = try await store.ingest(
            events,
            records: writes,
            planner: { event, current in EventProcessor.plan(event: event, current: current, routing: routing, now: clock()) },
            noise: noise
        )
        var duplicates = 0
        var woken: Set<String> = []
        for (event, result) in zip(events, results) {
            guard let outcome = result.outcome else {
                duplicates += 1
                continue
            }
            metrics.eventIngested(kind: event.kind, severity: event.severity, source: event.source)
            metrics.eventOutcome(outcome)
            if outcome == .unrouted { metrics.unrouted(category: event.category, severity: event.severity) }
            woken.formUnion(result.integrations)
        }
        if duplicates > 0 { metrics.duplicateEvents(duplicates) }
        var answer = Result(events: results)
        var freshSamples = false
        for (write, isNew) in zip(writes, newBatches) {
            let batch = write.notification.records ?? .logs([])
            let summary = RecordsResult(batch: write.notification.id, records: batch.count, integrations: write.integrations, duplicate: !isNew)
            if batch.kind == .log { answer.logs = summary } else { answer.metrics = summary }
            guard isNew else { continue }
            if batch.kind == .metric { freshSamples = true }
            metrics.recordsIngested(kind: batch.kind, count: batch.count)
            if write.integrations.isEmpty { metrics.recordsUnrouted(kind: batch.kind, count: batch.count) }
            woken.formUnion(write.integrations)
        }
        dispatcher.wake(woken)
        if freshSamples, let detectors {
            // The samples are durable and the request is answered as stored whatever happens next; the alerts they
            // cause are committed as ordinary events, with ids derived from the transition so a retry adds nothing.
            do {
                try await runDetectors(detectors, .samples(samples, now: now))
            } catch {
                logger.error("cannot commit detector events", metadata: ["error": "\(error)"])
            }
        }
        return answer
    }

    /// Runs the detectors and commits the events they raise; returns how many they raised. On a shared store the
    /// run, its state and its events are one transaction on the state every instance sees.
    @discardableResult
    func runDetectors(_ detectors: DetectorService, _ work: DetectorService.Work) async throws -> Int {
        guard store.isShared else {
            let raised = detectors.run(work)
            guard !raised.isEmpty else { return 0 }
            metrics.detectorEvents(raised.count)
            _ = try await ingest(raised)
            return raised.count
        }
        let routing = self.routing
        let clock = self.clock
        let results = try await store.runDetectors(
            detectors.storedRun(work),
            planner: { event, current in EventProcessor.plan(event: event, current: current, routing: routing, now: clock()) },
            noise: noise
        )
        guard !results.isEmpty else { return 0 }
        metrics.detectorEvents(results.count)
        var woken: Set<String> = []
        for result in results where result.outcome != nil {
            metrics.eventOutcome(result.outcome!)
            woken.formUnion(result.integrations)
        }
        dispatcher.wake(woken)
        return results.count
    }
}
