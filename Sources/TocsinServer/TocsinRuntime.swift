import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import TocsinCore
import TocsinSinks
import TocsinStore

/// Everything one Tocsin server is made of, wired from a configuration: store, sinks, outbox dispatcher,
/// ingest pipeline, expiry sweeper and the HTTP application.
public final class TocsinRuntime: Sendable {
    public let configuration: TocsinConfiguration
    public let store: any Store
    public let metrics: TocsinMetrics
    public let dispatcher: Dispatcher
    public let ingestor: Ingestor
    public let expiry: AlertExpiryService
    /// Looks at alert groups when their timers are due.
    public let groups: GroupFlusher
    /// The detectors and their ticker, when the configuration has a `detectors` section.
    public let detectors: DetectorService?
    let detectorTicker: DetectorTicker?
    public let logger: Logger
    public let clock: @Sendable () -> Date
    /// Every integration's sink in force, by name: the dispatcher's, and what a test send goes through.
    public var sinks: [String: any Sink] { live.snapshot.sinks }
    /// The integrations and routing in force: the file's and those managed through the API.
    public let live: LiveConfiguration
    /// Authentication and authorization of every request.
    public let access: AccessControl
    let httpClient: HTTPClient

    /// Opens the store (running migrations) and builds the sinks. Throws `ConfigurationError` listing every
    /// integration problem.
    public static func make(
        configuration: TocsinConfiguration,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() },
        idlePoll: Duration = .seconds(1)
    ) async throws -> TocsinRuntime {
        let httpClient = HTTPTransport.makeClient()
        let store: any Store
        do {
            store = try await StoreOpener.open(configuration.storage, instanceID: StoreOpener.instanceID(configuration.server), logger: logger)
            do {
                try await store.migrate()
            } catch {
                try? await store.close()
                throw error
            }
        } catch {
            try await httpClient.shutdown()
            throw error
        }
        let metrics = TocsinMetrics()
        let environment = SinkEnvironment(
            http: HTTPTransport(client: httpClient),
            publicURL: configuration.server.publicURL,
            state: store,
            now: clock,
            metricsFactory: PrometheusMetricsFactory(registry: metrics.registry)
        )
        let sinks: [String: any Sink]
        switch SinkRegistry.makeSinks(for: configuration.integrations, environment: environment) {
        case .success(let built): sinks = built
        case .failure(let error):
            try? await store.close()
            try await httpClient.shutdown()
            throw error
        }
        let runtime = TocsinRuntime(
            configuration: configuration,
            store: store,
            sinks: sinks,
            sinkEnvironment: environment,
            httpClient: httpClient,
            metrics: metrics,
            logger: logger,
            clock: clock,
            idlePoll: idlePoll
        )
        do {
            try await runtime.live.reload()
        } catch {
            // The file's integrations work without the store's; the version check retries.
            logger.error("cannot read the managed integrations and routing", metadata: ["error": "\(error)"])
        }
        return runtime
    }

    init(
        configuration: TocsinConfiguration,
        store: any Store,
        sinks: [String: any Sink],
        sinkEnvironment: SinkEnvironment,
        httpClient: HTTPClient,
        metrics: TocsinMetrics,
        logger: Logger,
        clock: @escaping @Sendable () -> Date,
        idlePoll: Duration
    ) {
        self.configuration = configuration
        self.store = store
        self.httpClient = httpClient
        self.logger = logger
        self.clock = clock
        self.metrics = metrics
        self.access = AccessControl(settings: configuration.server, store: store, logger: logger, clock: clock)
        let policies = Dictionary(uniqueKeysWithValues: configuration.integrations.map { ($0.name, $0.delivery) })
        var rateLimits: [String: RateLimit] = [:]
        for integration in configuration.integrations {
            rateLimits[integration.name] = SinkRegistry.rateLimit(for: integration)
        }
        let dispatcher = Dispatcher(
            sinks: sinks,
            policies: policies,
            rateLimits: rateLimits,
            subscriptions: configuration.routing.subscriptions,
            store: store,
            metrics: metrics,
            logger: logger,
            shutdownGrace: configuration.server.shutdownGrace,
            idlePoll: idlePoll,
            instanceID: StoreOpener.instanceID(configuration.server),
            lease: configuration.storage.lease,
            clock: clock
        )
        self.dispatcher = dispatcher
        let live = LiveConfiguration(
            file: configuration,
            fileSinks: sinks,
            store: store,
            dispatcher: dispatcher,
            environment: sinkEnvironment,
            keySource: SecretKeySource(
                auth: configuration.server.auth,
                environment: ProcessInfo.processInfo.environment,
                sqlitePath: configuration.storage.postgres == nil ? configuration.storage.sqlitePath : nil
            ),
            logger: logger
        )
        self.live = live
        let detectors = configuration.detectors.map { DetectorService(settings: $0, logger: logger) }
        self.detectors = detectors
        let ingestor = Ingestor(
            store: store,
            routing: { live.snapshot.routing },
            noise: configuration.noise,
            metrics: metrics,
            dispatcher: dispatcher,
            detectors: detectors,
            logger: logger,
            clock: clock
        )
        self.ingestor = ingestor
        self.expiry = AlertExpiryService(store: store, ingestor: ingestor, logger: logger, clock: clock)
        self.groups = GroupFlusher(store: store, noise: configuration.noise, dispatcher: dispatcher, logger: logger, clock: clock)
        self.detectorTicker = detectors.map { DetectorTicker(detectors: $0, ingestor: ingestor, logger: logger, clock: clock) }
    }

    /// The router with every endpoint, for the live server and for in-process tests.
    public func router() -> Router<BasicRequestContext> {
        makeRouter().router
    }

    /// The router and the list of its endpoints with what each needs of its caller.
    public func makeRouter() -> (router: Router<BasicRequestContext>, endpoints: [Endpoint]) {
        let registrar = EndpointRegistrar(router: Router(), authorizer: access)
        API(runtime: self).register(on: registrar)
        return (registrar.router, registrar.endpoints)
    }

    /// The integrations whose incident platform takes acknowledgements (PagerDuty, OpsGenie).
    public var acknowledgingIntegrations: Set<String> {
        Set(sinks.filter { $0.value.forwardsAcknowledgements }.keys)
    }

    /// The HTTP application, with the dispatcher, the expiry sweeper and the group flusher as its services. On graceful shutdown the
    /// server stops taking requests first, then the sweeper stops, then the dispatcher drains in-flight sends.
    public func application(
        host: String? = nil,
        port: Int? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(
                address: .hostname(host ?? configuration.server.host, port: port ?? configuration.server.port),
                serverName: "Tocsin"
            ),
            services: [dispatcher, expiry, groups, live] + (detectorTicker.map { [$0] } ?? []),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Releases the HTTP client and the store. Call after the application has stopped.
    public func shutdown() async {
        try? await httpClient.shutdown()
        try? await store.close()
    }
}
