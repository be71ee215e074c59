import Foundation
import TocsinCore

/// What a sink reports after one attempt.
public struct SinkResult: Sendable, Hashable {
    public var outcome: AttemptOutcome
    /// The peer's HTTP status, when there was one.
    public var statusCode: Int?
    /// What went wrong, or the start of the peer's answer; never holds a secret.
    public var detail: String?

    public init(outcome: AttemptOutcome, statusCode: Int? = nil, detail: String? = nil) {
        self.outcome = outcome
        self.statusCode = statusCode
        self.detail = detail
    }
}

/// One notification on its way to one integration.
public struct OutboundNotification: Sendable {
    public var deliveryID: String
    public var integration: String
    public var notification: NotificationRecord
    /// Stable per (notification, integration): the same on every retry and after a restart.
    public var idempotencyKey: String { deliveryID }

    public init(deliveryID: String, integration: String, notification: NotificationRecord) {
        self.deliveryID = deliveryID
        self.integration = integration
        self.notification = notification
    }
}

/// A destination. Sinks only put a notification on the wire and classify the answer: retries, backoff,
/// concurrency, metrics and the delivery record are the outbox's business.
public protocol Sink: Sendable {
    func deliver(_ notification: OutboundNotification) async -> SinkResult
    /// Releases what the sink holds (files, clients). Called once at shutdown.
    func shutdown() async
}

extension Sink {
    public func shutdown() async {}
}

/// What sinks share: the HTTP client, the public URL messages link to, durable sink state and the clock.
public struct SinkEnvironment: Sendable {
    public var http: HTTPTransport
    /// `server.public_url`, without a trailing slash.
    public var publicURL: String?
    public var state: any SinkStateStore
    public var now: @Sendable () -> Date

    public init(
        http: HTTPTransport,
        publicURL: String? = nil,
        state: any SinkStateStore = InMemorySinkStateStore(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.http = http
        self.publicURL = publicURL
        self.state = state
        self.now = now
    }
}

/// Builds one sink type from its configuration. Every problem is reported, not only the first.
public struct SinkFactory: Sendable {
    public var type: String
    /// The service's documented rate limit, applied unless the integration sets `rate_limit`.
    public var defaultRateLimit: RateLimit?
    public var make: @Sendable (IntegrationConfig, SinkEnvironment) -> Result<any Sink, ConfigurationError>

    public init(
        type: String,
        defaultRateLimit: RateLimit? = nil,
        make: @escaping @Sendable (IntegrationConfig, SinkEnvironment) -> Result<any Sink, ConfigurationError>
    ) {
        self.type = type
        self.defaultRateLimit = defaultRateLimit
        self.make = make
    }
}

/// Every sink type Tocsin knows. Adding a sink is one folder and one line here.
public enum SinkRegistry {
    public static let factories: [String: SinkFactory] = Dictionary(
        uniqueKeysWithValues: [
            WebhookSink.factory,
            LogFileSink.factory,
            EmailSink.factory,
            SlackSink.factory,
            TeamsSink.factory,
            PagerDutySink.factory,
            OpsGenieSink.factory,
            ServiceNowSink.factory,
        ].map { ($0.type, $0) }
    )

    public static var types: Set<String> { Set(factories.keys) }

    /// The rate limit in force for an integration: its own `rate_limit`, else its service's default.
    public static func rateLimit(for integration: IntegrationConfig) -> RateLimit? {
        integration.delivery.rateLimit.resolved(serviceDefault: factories[integration.type]?.defaultRateLimit)
    }

    /// Builds every integration's sink, collecting every problem.
    public static func makeSinks(
        for integrations: [IntegrationConfig],
        environment: SinkEnvironment
    ) -> Result<[String: any Sink], ConfigurationError> {
        var sinks: [String: any Sink] = [:]
        var problems: [ConfigProblem] = []
        for integration in integrations {
            guard let factory = factories[integration.type] else {
                problems.append(ConfigProblem(path: "\(integration.path).type", message: "unknown integration type '\(integration.type)'"))
                continue
            }
            switch factory.make(integration, environment) {
            case .success(let sink): sinks[integration.name] = sink
            case .failure(let error): problems += error.problems
            }
        }
        return problems.isEmpty ? .success(sinks) : .failure(ConfigurationError(problems: problems))
    }
}
