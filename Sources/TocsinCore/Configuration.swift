import Foundation

/// One problem found in a configuration file: where it is and what is wrong.
public struct ConfigProblem: Sendable, Hashable, CustomStringConvertible, Error {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Every problem of a configuration, reported at once.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    public var description: String {
        "configuration has \(problems.count) problem(s):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// The `server` section.
public struct ServerSettings: Sendable, Hashable {
    public var host: String = "127.0.0.1"
    public var port: Int = 9095
    public var maxBodyBytes: Int = 4 * 1024 * 1024
    public var maxEventsPerRequest: Int = 1000
    /// Log records or metric samples in one `POST /api/v1/logs` or `/api/v1/metrics` request.
    public var maxRecordsPerRequest: Int = 10_000
    public var resolveTimeout: Duration = .seconds(300)
    public var shutdownGrace: Duration = .seconds(10)
    public var logLevel: String = "info"
    /// Where people reach Tocsin (the AxonOps "UI public URL"): messages link to alerts under it.
    public var publicURL: String?
    /// This instance's name among several sharing one database: it marks the deliveries it has claimed. Nil: the
    /// host name and process id.
    public var instanceID: String?
    /// `server.auth`: who may call the API and sign in to the console.
    public var auth: AuthSettings = AuthSettings()
    /// `server.managed_integrations`: what integrations made through the API may reach on this machine.
    public var managedIntegrations = ManagedIntegrationPolicy(
        logDirectory: ManagedIntegrationPolicy.defaultLogDirectory(dataDirectory: ServerSettings.defaultDataDirectory)
    )

    /// Where the SQLite database, its secrets key and the default log files go when neither `--data-dir` nor the file
    /// says otherwise.
    public static let defaultDataDirectory = "./tocsin-data"

    public init() {}

    /// The defaults, with the paths that depend on the data directory under `dataDirectory`.
    public init(dataDirectory: String) {
        managedIntegrations.logDirectory = ManagedIntegrationPolicy.defaultLogDirectory(dataDirectory: dataDirectory)
    }

    /// Whether the listen address is reachable from this machine only.
    public var listensOnLoopbackOnly: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// The `storage` section.
public struct StorageSettings: Sendable, Hashable {
    /// Path of the SQLite database file.
    public var sqlitePath: String
    /// `full` syncs the write-ahead log on every commit, so an acknowledged event survives a power cut;
    /// `normal` survives a process crash only.
    public var synchronousFull: Bool = true
    /// `storage.postgres`: when set, Tocsin keeps everything in this PostgreSQL database instead of SQLite, and
    /// several instances may share it.
    public var postgres: PostgresSettings?
    /// How long a claimed delivery stays with the instance that claimed it. An instance that dies mid-send holds
    /// its claims this long; then another instance sends them again. Must exceed the longest send (the sink's
    /// timeout plus any rate-limit wait).
    public var lease: Duration = .seconds(120)

    public init(sqlitePath: String) {
        self.sqlitePath = sqlitePath
    }
}

/// The `storage.postgres` setting: where the shared PostgreSQL database is and how to reach it.
public struct PostgresSettings: Sendable, Hashable {
    /// Whether the connection is encrypted. With TLS the server's certificate is always verified (chain and host
    /// name) unless `skipVerify`.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, plain TCP otherwise.
        case prefer
        /// TLS or no connection.
        case require
    }

    public var host: String = "127.0.0.1"
    public var port: Int = 5432
    public var user: String = "tocsin"
    public var database: String = "tocsin"
    public var password: Secret?
    public var tls: TLSMode = .prefer
    /// PEM file of the certificate authority that signed the server's certificate (a private CA).
    public var caFile: String?
    public var skipVerify: Bool = false
    /// The schema Tocsin's tables live in (created when missing); nil uses the user's default (`public`).
    public var schema: String?
    /// Connections this instance opens at most.
    public var poolSize: Int = 8

    public init() {}
}

/// How the outbox retries one integration's deliveries.
public struct DeliveryPolicy: Sendable, Hashable {
    public var concurrency: Int = 4
    public var initialBackoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(300)
    public var maxAge: Duration = .seconds(86_400)
    public var timeout: Duration = .seconds(10)
    /// Sends per period to this integration; by default the service's documented limit.
    public var rateLimit: RateLimitSetting = .serviceDefault

    public init() {}
}

/// One entry of `integrations`: its name, its type and its type-specific settings, with secrets resolved.
public struct IntegrationConfig: Sendable, Hashable {
    public var name: String
    public var type: String
    public var delivery: DeliveryPolicy
    /// The type-specific keys, after `${ENV}` substitution and `*_file` reading.
    public var settings: [String: JSONValue]
    /// Where this entry sits in the file, for messages (`integrations[2]`).
    public var path: String
    /// The streams it takes (`sources`, else its type's defaults) and its label `matchers`.
    public var subscription: Subscription

    public init(
        name: String,
        type: String,
        delivery: DeliveryPolicy = DeliveryPolicy(),
        settings: [String: JSONValue],
        path: String,
        subscription: Subscription = .alertsAndNotifications
    ) {
        self.name = name
        self.type = type
        self.delivery = delivery
        self.settings = settings
        self.path = path
        self.subscription = subscription
    }
}

/// The whole `tocsin.yml`.
public struct TocsinConfiguration: Sendable, Hashable {
    public var server: ServerSettings
    public var storage: StorageSettings
    public var integrations: [IntegrationConfig]
    public var routing: RoutingMatrix
    /// The known event types with the `catalogue.overrides` of the file applied.
    public var catalogue: EventCatalogue
    /// The `detectors` section; nil when the file has none (no detectors run).
    public var detectors: DetectorSettings?
    /// Grouping, flap damping and inhibition (keys of the `routing` section).
    public var noise: NoiseSettings

    public init(
        server: ServerSettings,
        storage: StorageSettings,
        integrations: [IntegrationConfig],
        routing: RoutingMatrix,
        catalogue: EventCatalogue = .builtIn,
        detectors: DetectorSettings? = nil,
        noise: NoiseSettings = .standard
    ) {
        self.detectors = detectors
        self.noise = noise
        self.server = server
        self.storage = storage
        self.integrations = integrations
        self.routing = routing
        self.catalogue = catalogue
    }

    /// The configuration used when `serve` is given no file: every alert and notification goes to a
    /// rotating log file in the data directory.
    public static func builtInDefault(dataDirectory: String) -> TocsinConfiguration {
        let logFile = IntegrationConfig(
            name: "alert-log",
            type: "log_file",
            settings: [
                "path": .string(dataDirectory + "/notifications.log"),
                "max_size_mb": .number(50),
                "max_files": .number(5),
            ],
            path: "integrations[0]"
        )
        return TocsinConfiguration(
            server: ServerSettings(dataDirectory: dataDirectory),
            storage: StorageSettings(sqlitePath: dataDirectory + "/tocsin.db"),
            integrations: [logFile],
            routing: RoutingMatrix(defaultRoute: ["alert-log"])
        )
    }
}
