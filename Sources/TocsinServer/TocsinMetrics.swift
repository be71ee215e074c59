import Foundation
import NIOConcurrencyHelpers
import Prometheus
import TocsinCore

/// Tocsin's Prometheus metrics. Each server has its own registry, so several servers in one test process
/// never share counts.
public final class TocsinMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Integrations whose outbox gauges were set at the last scrape: one that disappears is set to 0, not left stale.
    private let outboxIntegrations = NIOLockedValueBox<Set<String>>([])

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tocsin", metricName: name, unitName: "", helpText: help)
    }

    public init() {}

    func eventIngested(kind: EventKind, severity: Severity, source: EventSource) {
        registry.makeCounter(
            descriptor: Self.descriptor("events_ingested_total", "Events committed, by kind, severity and source API."),
            labels: [("kind", kind.rawValue), ("severity", severity.rawValue), ("source", source.rawValue)]
        ).increment()
    }

    func eventOutcome(_ outcome: EventOutcome) {
        registry.makeCounter(
            descriptor: Self.descriptor("event_outcomes_total", "What processing did with committed events."),
            labels: [("outcome", outcome.rawValue)]
        ).increment()
    }

    func unrouted(category: Category, severity: Severity) {
        registry.makeCounter(
            descriptor: Self.descriptor("events_unrouted_total", "Events that no routing cell, not even default, sent anywhere."),
            labels: [("category", category.rawValue), ("severity", severity.rawValue)]
        ).increment()
    }

    func recordsIngested(kind: EventKind, count: Int) {
        registry.makeCounter(
            descriptor: Self.descriptor("records_ingested_total", "Log records and metric samples committed, by kind."),
            labels: [("kind", kind.rawValue)]
        ).increment(by: Int64(count))
    }

    func recordsUnrouted(kind: EventKind, count: Int) {
        registry.makeCounter(
            descriptor: Self.descriptor("records_unrouted_total", "Log records and metric samples no integration subscribes to."),
            labels: [("kind", kind.rawValue)]
        ).increment(by: Int64(count))
    }

    func detectorEvents(_ count: Int) {
        registry.makeCounter(descriptor: Self.descriptor("detector_events_total", "Alert events raised or resolved by detectors."))
            .increment(by: Int64(count))
    }

    func duplicateEvents(_ count: Int) {
        registry.makeCounter(descriptor: Self.descriptor("events_duplicate_total", "Re-posted event ids, which changed nothing."))
            .increment(by: Int64(count))
    }

    func unknownSeverityLabels(_ count: Int) {
        registry.makeCounter(
            descriptor: Self.descriptor(
                "alertmanager_unknown_severity_total",
                "Alertmanager-API alerts whose severity label was not info, warning, error or critical (taken as warning)."
            )
        ).increment(by: Int64(count))
    }

    func unknownCategoryLabels(_ count: Int) {
        registry.makeCounter(
            descriptor: Self.descriptor(
                "alertmanager_unknown_category_total",
                "Alertmanager-API alerts whose category label was not a known category (taken as metrics)."
            )
        ).increment(by: Int64(count))
    }

    func rejectedRequest(api: String, reason: String) {
        registry.makeCounter(
            descriptor: Self.descriptor("ingest_rejected_total", "Ingest requests refused with a 4xx, by API and reason."),
            labels: [("api", api), ("reason", reason)]
        ).increment()
    }

    func attempt(integration: String, outcome: String, latency: Duration) {
        registry.makeCounter(
            descriptor: Self.descriptor("delivery_attempts_total", "Delivery attempts by integration and outcome."),
            labels: [("integration", integration), ("outcome", outcome)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.descriptor("delivery_latency_seconds", "Time one delivery attempt took, by integration."),
            labels: [("integration", integration)],
            buckets: [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(2.5), .seconds(10)]
        ).record(latency)
    }

    func retryScheduled(integration: String) {
        registry.makeCounter(
            descriptor: Self.descriptor("delivery_retries_total", "Attempts that failed and were scheduled again."),
            labels: [("integration", integration)]
        ).increment()
    }

    func staleAttempts(integration: String, count: Int) {
        registry.makeCounter(
            descriptor: Self.descriptor(
                "delivery_stale_attempts_total",
                "Attempt results dropped because their lease had expired and another claim held the delivery."
            ),
            labels: [("integration", integration)]
        ).increment(by: Int64(count))
    }

    func rateLimited(integration: String) {
        registry.makeCounter(
            descriptor: Self.descriptor("delivery_rate_limited_total", "Sends held back to keep within the integration's rate limit."),
            labels: [("integration", integration)]
        ).increment()
    }

    /// Sets the outbox gauges from the store's counts: for every integration in force (file-defined or managed) and
    /// every integration that still has deliveries (one deleted with deliveries pending). One reported before and
    /// now neither is set to 0 once, then left out.
    func outboxDepths(_ counts: [String: [DeliveryStatus: Int]], integrations: [String]) {
        let names = outboxIntegrations.withLockedValue { reported in
            let current = Set(integrations).union(counts.keys)
            defer { reported = current }
            return current.union(reported)
        }
        for name in names {
            for status in DeliveryStatus.allCases {
                outboxDepth(integration: name, status: status, count: counts[name]?[status] ?? 0)
            }
        }
    }

    private func outboxDepth(integration: String, status: DeliveryStatus, count: Int) {
        registry.makeGauge(
            descriptor: Self.descriptor("outbox_deliveries", "Deliveries in the outbox, by integration and status."),
            labels: [("integration", integration), ("status", status.rawValue)]
        ).set(Double(count))
    }
}
