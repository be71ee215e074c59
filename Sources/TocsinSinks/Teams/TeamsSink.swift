import Foundation
import TocsinCore

/// Posts an Adaptive Card to a Teams Workflows webhook (or a MessageCard to a legacy connector). Teams cannot edit
/// a posted card through these webhooks: every notification is a new card, the resolve a green one.
public struct TeamsSink: Sink {
    public let configuration: TeamsConfiguration
    let transport: HTTPTransport
    let publicURL: String?
    let now: @Sendable () -> Date
    let redactor: SecretRedactor

    public init(configuration: TeamsConfiguration, environment: SinkEnvironment) {
        self.configuration = configuration
        self.transport = environment.http
        self.publicURL = environment.publicURL
        self.now = environment.now
        self.redactor = configuration.redactor
    }

    /// Teams throttles webhooks above four requests per second.
    public static let factory = SinkFactory(type: "microsoft_teams", defaultRateLimit: RateLimit(count: 4, period: .seconds(1))) {
        integration,
        environment in
        TeamsConfiguration.parse(integration, publicURL: environment.publicURL).map { TeamsSink(configuration: $0, environment: environment) }
    }

    public func deliver(_ outbound: OutboundNotification) async -> SinkResult {
        let body = TeamsCard.body(outbound, format: configuration.format, templates: configuration.templates, publicURL: publicURL)
        let headers = [("Content-Type", "application/json"), ("User-Agent", "Tocsin/\(TocsinVersion.current)")]
        do {
            let answer = try await transport.post(url: configuration.url.exposedValue, headers: headers, body: body, timeout: configuration.timeout)
            return TeamsAnswer.classify(answer, redactor: redactor, now: now())
        } catch {
            return SinkResult.transportFailure(error, url: configuration.url.exposedValue, redactor: redactor)
        }
    }
}

/// How Teams' answers are read.
public enum TeamsAnswer {
    /// 2xx delivered (Workflows answers 202 with an empty body, a connector 200 `1`); 429 (with `Retry-After`),
    /// 408 and 5xx retryable; 400, 401, 403, 404 and other refusals permanent. Connectors do not answer 429: they
    /// say `Microsoft Teams endpoint returned HTTP error 429` in the body of a 200 (or 4xx), so a status quoted that
    /// way decides instead.
    public static func classify(_ answer: HTTPAnswer, redactor: SecretRedactor, now: Date) -> SinkResult {
        guard let quoted = quotedStatus(in: answer.bodyPrefix) else { return SinkResult.fromHTTP(answer, redactor: redactor, now: now) }
        let retryAfter = HTTPStatusClassifier.parseRetryAfter(answer.header("Retry-After"), now: now)
        var outcome = HTTPStatusClassifier.classify(status: quoted, retryAfter: retryAfter)
        if outcome == .delivered { outcome = .permanent }
        return SinkResult(outcome: outcome, statusCode: answer.status, detail: SinkResult.failureDetail(answer, redactor: redactor))
    }

    static let quotedStatusPhrase = "returned HTTP error "

    /// The status in `… endpoint returned HTTP error 429 …`, if the body says so.
    static func quotedStatus(in body: String) -> Int? {
        guard let range = body.range(of: quotedStatusPhrase) else { return nil }
        let digits = body[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        guard digits.count == 3 else { return nil }
        return Int(digits)
    }
}
