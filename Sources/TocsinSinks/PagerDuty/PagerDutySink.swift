import Foundation
import TocsinCore

/// Sends notifications to PagerDuty's Events API v2: opens trigger an alert keyed by the alert's fingerprint (or
/// the group's key), acknowledgements acknowledge it, resolves resolve it, one-off notifications become change
/// events (or triggers of their own).
public struct PagerDutySink: Sink {
    /// What PagerDuty suggests waiting after a 429 when it sends no `Retry-After` (Events API v2 rate limits:
    /// "retry ... 30 seconds apart").
    public static let throttledRetryAfter: Duration = .seconds(30)

    public let configuration: PagerDutyConfiguration
    let transport: HTTPTransport
    let redactor: SecretRedactor
    let now: @Sendable () -> Date

    public init(configuration: PagerDutyConfiguration, transport: HTTPTransport, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.transport = transport
        self.redactor = configuration.redactor
        self.now = now
    }

    /// PagerDuty alerts have an acknowledged state: acknowledging in Tocsin stops PagerDuty's escalation too.
    public var forwardsAcknowledgements: Bool { true }

    /// 120 events a minute per integration key (Events API v2 rate limits).
    public static let factory = SinkFactory(type: "pagerduty", defaultRateLimit: RateLimit(count: 120, period: .seconds(60))) {
        integration,
        environment in
        PagerDutyConfiguration.parse(integration, publicURL: environment.publicURL).map {
            PagerDutySink(configuration: $0, transport: environment.http, now: environment.now)
        }
    }

    public static let headers: [(String, String)] = [
        ("Content-Type", "application/json"),
        ("User-Agent", "Tocsin/\(TocsinVersion.current)"),
    ]

    public func deliver(_ outbound: OutboundNotification) async -> SinkResult {
        let event = PagerDutyEvent(outbound, configuration: configuration)
        do {
            let answer = try await transport.send(.POST, url: event.url, headers: Self.headers, body: event.bytes, timeout: configuration.timeout)
            return classify(answer)
        } catch {
            return SinkResult.transportFailure(error, url: event.url, redactor: redactor)
        }
    }

    /// 2xx delivered; 400 (an invalid event) permanent, with PagerDuty's error list; 429 retryable after
    /// `Retry-After`, else 30 s; 5xx and 408 retryable; anything else permanent.
    func classify(_ answer: HTTPAnswer) -> SinkResult {
        switch answer.status {
        case 400:
            return SinkResult(outcome: .permanent, statusCode: 400, detail: redactor.redact(Self.errorText(answer)))
        case 429:
            var result = SinkResult.fromHTTP(answer, redactor: redactor, now: now())
            if result.outcome == .retryable(retryAfter: nil) { result.outcome = .retryable(retryAfter: Self.throttledRetryAfter) }
            return result
        default:
            return SinkResult.fromHTTP(answer, redactor: redactor, now: now())
        }
    }

    /// `HTTP 400 invalid event: Event object is invalid ('summary' is missing; …)` from PagerDuty's error
    /// object, or the start of the answer when it is not one.
    static func errorText(_ answer: HTTPAnswer) -> String {
        guard case .object(let object)? = try? JSONParser.parse(Array(answer.bodyPrefix.utf8)),
            case .string(let status)? = object["status"]
        else { return "HTTP \(answer.status): \(answer.bodyPrefix)" }
        var text = "HTTP \(answer.status) \(status)"
        if case .string(let message)? = object["message"] { text += ": \(message)" }
        if case .array(let errors)? = object["errors"], !errors.isEmpty {
            text += " (" + errors.map(\.compactText).joined(separator: "; ") + ")"
        }
        return text
    }
}
