import Foundation
import Metrics
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
    /// Whether the sink passes `acknowledge` notifications on. Only incident platforms, which keep an acknowledged
    /// state of their own, do: the server enqueues an acknowledgement only for integrations whose sink says so, so
    /// chat, mail and log sinks are never asked to render one.
    var forwardsAcknowledgements: Bool { get }
    /// Releases what the sink holds (files, clients). Called once at shutdown.
    func shutdown() async
}

extension Sink {
    public var forwardsAcknowledgements: Bool { false }

    public func shutdown() async {}
}

/// A sink that sends many deliveries in one request (CloudWatch takes up to 10,000 log events or 1,000 metric
/// data per call). The dispatcher holds a delivery up to `flushInterval` for others to join it, hands over up to
/// `batchLimit` at once, and records the one result for each of them.
public protocol BatchingSink: Sink {
    var batchLimit: Int { get }
    var flushInterval: Duration { get }
    func deliver(batch: [OutboundNotification]) async -> SinkResult
}

extension BatchingSink {
    public func deliver(_ notification: OutboundNotification) async -> SinkResult {
        await deliver(batch: [notification])
    }
}

/// What sinks share: the HTTP client, the public URL messages link to, durable sink state and the clock.
public struct SinkEnvironment: Sendable {
    public var http: HTTPTransport
    /// `server.public_url`, without a trailing slash.
    public var publicURL: String?
    public var state: any SinkStateStore
    public var now: @Sendable () -> Date
    /// The process environment, for sinks with standard variables of their own (AWS credentials).
    public var processEnvironment: [String: String]
    /// Reads a file the sink finds through its environment (the AWS credentials file); nil when unreadable.
    public var readFile: @Sendable (String) -> String?
    /// Where a sink's own counters go: the server's Prometheus registry (the process's swift-metrics backend by
    /// default).
    public var metricsFactory: any MetricsFactory

    public init(
        http: HTTPTransport,
        publicURL: String? = nil,
        state: any SinkStateStore = InMemorySinkStateStore(),
        now: @escaping @Sendable () -> Date = { Date() },
        processEnvironment: [String: String] = ProcessInfo.processInfo.environment,
        readFile: @escaping @Sendable (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) },
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.metricsFactory = metricsFactory
        self.http = http
        self.publicURL = publicURL
        self.state = state
        self.now = now
        self.processEnvironment = processEnvironment
        self.readFile = readFile
    }
}

/// Builds one sink type from its configuration. Every problem is reported, not only the first.
public struct SinkFactory: Sendable {
    public var type: String
    /// The service's documented rate limit, applied unless the integration sets `rate_limit`.
    public var defaultRateLimit: RateLimit?
    /// The streams the type can carry and takes unless its integration lists `sources`.
    public var sources: SourceSupport
    public var make: @Sendable (IntegrationConfig, SinkEnvironment) -> Result<any Sink, ConfigurationError>

    public init(
        type: String,
        defaultRateLimit: RateLimit? = nil,
        sources: SourceSupport = .alertsAndNotifications,
        make: @escaping @Sendable (IntegrationConfig, SinkEnvironment) -> Result<any Sink, ConfigurationError>
    ) {
        self.type = type
        self.defaultRateLimit = defaultRateLimit
        self.sources = sources
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
            CloudWatchLogsSink.factory,
            CloudWatchMetricsSink.factory,
        ].map { ($0.type, $0) }
    )

    public static var types: Set<String> { Set(factories.keys) }

    /// What each type carries, for the configuration loader.
    public static var sourceSupport: [String: SourceSupport] { factories.mapValues(\.sources) }

    /// A loader that knows every sink type and what each carries.
    public static func configurationLoader(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        dataDirectory: String = ServerSettings.defaultDataDirectory
    ) -> ConfigurationLoader {
        var loader = ConfigurationLoader(environment: environment, knownIntegrationTypes: types, dataDirectory: dataDirectory)
        loader.sourceSupport = sourceSupport
        return loader
    }

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
