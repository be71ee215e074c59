import Foundation
import Logging
import TocsinCore
import TocsinStore

/// The write path shared by every source: commit events with the plans they cause, count them, and wake the
/// delivery loops of the integrations that gained deliveries.
public final class Ingestor: Sendable {
    let store: any Store
    let routing: RoutingMatrix
    let metrics: TocsinMetrics
    let dispatcher: Dispatcher
    let clock: @Sendable () -> Date

    public init(store: any Store, routing: RoutingMatrix, metrics: TocsinMetrics, dispatcher: Dispatcher, clock: @escaping @Sendable () -> Date) {
        self.store = store
        self.routing = routing
        self.metrics = metrics
        self.dispatcher = dispatcher
        self.clock = clock
    }

    /// Returns once the events and their outbox rows are durable.
    public func ingest(_ events: [Event]) async throws -> [IngestedEvent] {
        guard !events.isEmpty else { return [] }
        let routing = self.routing
        let clock = self.clock
        let results = try await store.ingest(events) { event, current in
            EventProcessor.plan(event: event, current: current, routing: routing, now: clock())
        }
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
        dispatcher.wake(woken)
        return results
    }
}
