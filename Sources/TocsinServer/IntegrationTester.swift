import Foundation
import TocsinCore
import TocsinSinks

/// What a test send reports: the service's answer, as the sink classified it. Never holds a secret (a sink's
/// `detail` is redacted).
public struct IntegrationTestResult: Encodable, Sendable {
    public var integration: String
    public var type: String
    /// `delivered`, `retryable` or `permanent`.
    public var outcome: String
    public var statusCode: Int?
    public var retryAfterSeconds: Double?
    public var detail: String?
    public var latencyMs: Int
    /// The id of the test message, as the service may show it.
    public var messageID: String

    public var delivered: Bool { outcome == "delivered" }

    /// One line for people: `delivered (HTTP 202) in 84 ms`.
    public var summary: String {
        var text = "\(integration) (\(type)): \(outcome)"
        if let statusCode { text += " (HTTP \(statusCode))" }
        text += " in \(latencyMs) ms"
        if let retryAfterSeconds { text += "; the service asks to wait \(Int(retryAfterSeconds)) s" }
        if let detail, !detail.isEmpty { text += "\n\(detail)" }
        return text
    }
}

/// Sends the clearly marked test message through an integration's sink, outside the outbox: nothing is stored,
/// retried or counted as a delivery.
public enum IntegrationTester {
    public static func send(through sink: any Sink, integration: IntegrationConfig, now: Date) async -> IntegrationTestResult {
        let outbound = TestNotification.make(integration: integration.name, now: now)
        let started = ContinuousClock.now
        let result = await sink.deliver(outbound)
        let elapsed = ContinuousClock.now - started
        var outcome = "delivered"
        var retryAfter: Double?
        switch result.outcome {
        case .delivered: break
        case .permanent: outcome = "permanent"
        case .retryable(let after):
            outcome = "retryable"
            retryAfter = after?.seconds
        }
        return IntegrationTestResult(
            integration: integration.name,
            type: integration.type,
            outcome: outcome,
            statusCode: result.statusCode,
            retryAfterSeconds: retryAfter,
            detail: result.detail,
            latencyMs: Int(elapsed.milliseconds),
            messageID: outbound.notification.id
        )
    }
}
