import Foundation
import TocsinCore

/// Sends notifications to the Opsgenie Alert API v2: opens create an alert with an alias derived from the alert's
/// fingerprint (or the group's key), acknowledgements acknowledge it and resolves close it by that alias.
public struct OpsGenieSink: Sink {
    /// Waited after a 429 that names no wait (Opsgenie documents none): half of its per-minute window.
    public static let throttledRetryAfter: Duration = .seconds(30)

    public let configuration: OpsGenieConfiguration
    let transport: HTTPTransport
    let redactor: SecretRedactor
    let now: @Sendable () -> Date

    public init(configuration: OpsGenieConfiguration, transport: HTTPTransport, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.transport = transport
        self.redactor = configuration.redactor
        self.now = now
    }

    /// Opsgenie alerts have an acknowledged state: acknowledging in Tocsin stops Opsgenie's escalation too.
    public var forwardsAcknowledgements: Bool { true }

    /// Opsgenie publishes no fixed figure (its limits depend on the plan and are checked per minute and per second),
    /// so the default is conservative: ten requests a second with bursts of at most ten, i.e. 600 a minute.
    public static let factory = SinkFactory(type: "opsgenie", defaultRateLimit: RateLimit(count: 10, period: .seconds(1))) {
        integration,
        environment in
        OpsGenieConfiguration.parse(integration, publicURL: environment.publicURL).map {
            OpsGenieSink(configuration: $0, transport: environment.http, now: environment.now)
        }
    }

    /// The headers of every request; the key is only ever put here.
    func headers() -> [(String, String)] {
        [
            ("Content-Type", "application/json"),
            ("User-Agent", "Tocsin/\(TocsinVersion.current)"),
            ("Authorization", "GenieKey \(configuration.apiKey.exposedValue)"),
        ]
    }

    public func deliver(_ outbound: OutboundNotification) async -> SinkResult {
        let request = OpsGenieRequest(outbound, configuration: configuration)
        do {
            let answer = try await transport.send(.POST, url: request.url, headers: headers(), body: request.bytes, timeout: configuration.timeout)
            return classify(answer, action: request.action)
        } catch {
            return SinkResult.transportFailure(error, url: request.url, redactor: redactor)
        }
    }

    /// 2xx delivered (Opsgenie answers 202 and processes the request later); 429 retryable after `Retry-After`,
    /// else `X-RateLimit-Period-In-Sec`, else 30 s; 5xx and 408 retryable; a 404 from Opsgenie on a close or an
    /// acknowledgement means there is no such open alert: nothing is left to close or acknowledge, and no retry
    /// would change that. Anything else (400, 401, 402, 403, 404 on a create, 422…) is permanent.
    func classify(_ answer: HTTPAnswer, action: OpsGenieRequest.Action) -> SinkResult {
        switch answer.status {
        case 404 where action != .create && Self.isOpsgenieError(answer):
            return SinkResult(
                outcome: .delivered,
                statusCode: 404,
                detail: redactor.redact(
                    "HTTP 404 on \(action.rawValue): no open alert with this alias, nothing to \(action.rawValue) (\(answer.bodyPrefix))"
                )
            )
        case 429:
            var result = SinkResult.fromHTTP(answer, redactor: redactor, now: now())
            if result.outcome == .retryable(retryAfter: nil) {
                let period = answer.header("X-RateLimit-Period-In-Sec").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                result.outcome = .retryable(retryAfter: period.map { .seconds(max($0, 1)) } ?? Self.throttledRetryAfter)
            }
            return result
        default:
            return SinkResult.fromHTTP(answer, redactor: redactor, now: now())
        }
    }

    /// Opsgenie's error object (`{"message": …, "took": …, "requestId": …}`), as opposed to a proxy's or a web
    /// server's page for a wrong URL.
    static func isOpsgenieError(_ answer: HTTPAnswer) -> Bool {
        guard case .object(let object)? = try? JSONParser.parse(Array(answer.bodyPrefix.utf8)) else { return false }
        if case .string? = object["message"] { return true }
        return false
    }
}
