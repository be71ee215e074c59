import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TocsinCore
import TocsinSinks
import TocsinStore

/// The integrations and routing in force at one moment: those of `tocsin.yml` and those made through the API.
/// Immutable; `LiveConfiguration` swaps a whole new one in when the managed part changes.
public struct EffectiveConfiguration: Sendable {
    /// The file's integrations in file order, then the managed ones by name.
    public var integrations: [IntegrationConfig]
    public var sinks: [String: any Sink]
    /// The file's cells, plus managed cells where the file has none; subscriptions of every integration.
    public var routing: RoutingMatrix
    public var managedNames: Set<String>
    /// The managed integrations as stored (secrets encrypted), by name, unavailable ones included.
    public var managedRows: [String: ManagedIntegration]
    public var managedCells: [ManagedRoutingCell]
    /// Managed integrations that are stored but not in force, with why (a secret that cannot be decrypted, a
    /// setting this version refuses). Their deliveries wait in the outbox.
    public var unavailable: [String: String]
    /// The store's `configurationVersion` this was read at.
    public var version: Int64

    public func integration(named name: String) -> IntegrationConfig? {
        integrations.first { $0.name == name }
    }
}

/// Keeps the effective configuration and rebuilds it when managed integrations or routing cells change: on this
/// instance right after the change is stored, on the others when they see the store's configuration version move
/// (a check every `checkInterval`, as a service).
public final class LiveConfiguration: Service, Sendable {
    /// What every answer and page shows in place of a secret.
    public static let mask = "********"

    public let file: TocsinConfiguration
    let fileSinks: [String: any Sink]
    let store: any Store
    let dispatcher: Dispatcher
    let environment: SinkEnvironment
    let keySource: SecretKeySource
    let logger: Logger
    let checkInterval: Duration
    private let current: NIOLockedValueBox<EffectiveConfiguration>
    private let cachedBox = NIOLockedValueBox<SecretBox?>(nil)
    /// The last reload; each reload waits for the one before, so that an older read never replaces a newer one.
    private let reloads = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(
        file: TocsinConfiguration,
        fileSinks: [String: any Sink],
        store: any Store,
        dispatcher: Dispatcher,
        environment: SinkEnvironment,
        keySource: SecretKeySource,
        logger: Logger,
        checkInterval: Duration = .seconds(2)
    ) {
        self.file = file
        self.fileSinks = fileSinks
        self.store = store
        self.dispatcher = dispatcher
        self.environment = environment
        self.keySource = keySource
        self.logger = logger
        self.checkInterval = checkInterval
        var routing = file.routing
        for integration in file.integrations { routing.subscriptions[integration.name] = integration.subscription }
        // Version -1: the first check always reads the store.
        self.current = NIOLockedValueBox(
            EffectiveConfiguration(
                integrations: file.integrations,
                sinks: fileSinks,
                routing: routing,
                managedNames: [],
                managedRows: [:],
                managedCells: [],
                unavailable: [:],
                version: -1
            )
        )
    }

    /// The configuration in force now.
    public var snapshot: EffectiveConfiguration {
        current.withLockedValue { $0 }
    }

    public func run() async throws {
        await runPeriodically(every: checkInterval, logger: logger, failure: "cannot check for configuration changes") {
            try await checkForChanges()
        }
    }

    /// Reloads when the store's configuration version differs from the one in force: another instance changed
    /// something.
    public func checkForChanges() async throws {
        let version = try await store.configurationVersion()
        if version != snapshot.version { try await reload() }
    }

    /// Reads the managed integrations and cells, builds what changed, swaps the new configuration in and tells the
    /// dispatcher which loops to start and stop.
    public func reload() async throws {
        let outcome = reloads.withLockedValue { previous -> Task<Result<Void, any Error>, Never> in
            let before = previous
            let task = Task<Result<Void, any Error>, Never> {
                await before?.value
                do {
                    try await self.load()
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            previous = Task { _ = await task.value }
            return task
        }
        try await outcome.value.get()
    }

    private func load() async throws {
        let version = try await store.configurationVersion()
        let rows = try await store.managedIntegrations().sorted { $0.name < $1.name }
        let cells = try await store.managedRouting()
        let previous = snapshot
        let fileNames = Set(file.integrations.map(\.name))
        var integrations = file.integrations
        var sinks = fileSinks
        var unavailable: [String: String] = [:]
        var managedNames: Set<String> = []
        var added: [String: Dispatcher.Destination] = [:]
        for row in rows where !fileNames.contains(row.name) {
            managedNames.insert(row.name)
            let integration: IntegrationConfig
            switch decodeStored(row) {
            case .success(let decoded): integration = decoded
            case .failure(let error):
                unavailable[row.name] = error.message
                logger.error("managed integration not loaded", metadata: ["integration": "\(row.name)", "error": "\(error.message)"])
                continue
            }
            if let old = previous.integration(named: row.name), old == integration, let sink = previous.sinks[row.name] {
                sinks[row.name] = sink
            } else {
                switch SinkRegistry.makeSinks(for: [integration], environment: environment) {
                case .success(let built):
                    guard let sink = built[row.name] else { continue }
                    sinks[row.name] = sink
                    added[row.name] = Self.destination(integration, sink: sink)
                case .failure(let error):
                    let message = error.problems.map(\.description).joined(separator: "; ")
                    unavailable[row.name] = message
                    logger.error("managed integration not loaded", metadata: ["integration": "\(row.name)", "error": "\(message)"])
                    continue
                }
            }
            integrations.append(integration)
        }
        let inForce = Set(integrations.map(\.name))
        var routing = Self.merge(file.routing, cells)
        for integration in integrations { routing.subscriptions[integration.name] = integration.subscription }
        let next = EffectiveConfiguration(
            integrations: integrations,
            sinks: sinks,
            routing: routing,
            managedNames: managedNames,
            managedRows: Dictionary(rows.filter { managedNames.contains($0.name) }.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }),
            managedCells: cells,
            unavailable: unavailable,
            version: version
        )
        current.withLockedValue { $0 = next }
        let removed = previous.managedNames.union(previous.sinks.keys).subtracting(fileNames).subtracting(inForce)
        if !added.isEmpty || !removed.isEmpty {
            dispatcher.update(added: added, removed: removed)
            // Deliveries may already wait for an integration that came (back).
            dispatcher.wake(added.keys)
        }
    }

    static func destination(_ integration: IntegrationConfig, sink: any Sink) -> Dispatcher.Destination {
        Dispatcher.Destination(
            sink: sink,
            policy: integration.delivery,
            rateLimit: SinkRegistry.rateLimit(for: integration),
            matchers: integration.subscription.matchers
        )
    }

    /// The file's matrix with the managed cells added where the file has no cell of that scope and severity.
    static func merge(_ fileRouting: RoutingMatrix, _ cells: [ManagedRoutingCell]) -> RoutingMatrix {
        var routing = fileRouting
        for cell in cells {
            let routingCell = RoutingCell(integrations: cell.integrations, override: cell.override)
            if cell.scope == "global" {
                if routing.global[cell.severity] == nil { routing.global[cell.severity] = routingCell }
            } else if let category = Category(rawValue: cell.scope) {
                if fileRouting.categories[category]?[cell.severity] == nil { routing.categories[category, default: [:]][cell.severity] = routingCell }
            }
        }
        return routing
    }

    // MARK: stored form

    /// The secrets key, made on first need when it may be (SQLite without a configured key).
    func secretBox(create: Bool) throws(SecretBoxError) -> SecretBox? {
        if let box = cachedBox.withLockedValue({ $0 }) { return box }
        let box = try keySource.box(create: create)
        if let box { cachedBox.withLockedValue { $0 = box } }
        return box
    }

    /// The loader rules of a `tocsin.yml` item, applied to an item given through the API.
    func parse(_ item: JSONValue) -> Result<IntegrationConfig, ConfigurationError> {
        SinkRegistry.configurationLoader(environment: [:]).parseIntegration(item, lease: file.storage.lease)
    }

    /// A stored row as the integration in force: secrets decrypted, then parsed and checked as when it was saved.
    func decodeStored(_ row: ManagedIntegration) -> Result<IntegrationConfig, SecretBoxError> {
        let item: JSONValue
        do {
            item = try revealed(row)
        } catch {
            return .failure(error)
        }
        switch parse(item) {
        case .success(let integration):
            // Checked again at every load: a row stored before the limits, or by an instance with looser ones, is
            // not put in force.
            let refused = file.server.managedIntegrations.problems(for: integration)
            guard refused.isEmpty else {
                return .failure(
                    SecretBoxError(
                        "integration '\(row.name)' is refused by server.managed_integrations: \(refused.map(\.description).joined(separator: "; "))"
                    )
                )
            }
            return .success(integration)
        case .failure(let error):
            return .failure(
                SecretBoxError("integration '\(row.name)' no longer passes the checks: \(error.problems.map(\.description).joined(separator: "; "))")
            )
        }
    }

    /// The stored item with its secrets decrypted.
    func revealed(_ row: ManagedIntegration) throws(SecretBoxError) -> JSONValue {
        guard case .object(var object)? = try? JSONParser.parse(Array(row.body.utf8)) else {
            throw SecretBoxError("integration '\(row.name)': the stored item is not a JSON object")
        }
        let secretKeys = IntegrationFields.secretKeys(for: row.type)
        guard object.contains(where: { secretKeys[$0.key] != nil }) else { return .object(object) }
        let box: SecretBox?
        do {
            box = try secretBox(create: false)
        } catch {
            throw SecretBoxError("integration '\(row.name)': \(error.message)")
        }
        func open(_ value: JSONValue) throws(SecretBoxError) -> JSONValue {
            guard case .string(let text) = value, SecretBox.isSealed(text) else { return value }
            guard let box else {
                throw SecretBoxError("integration '\(row.name)': its secrets are encrypted, but no secrets key is set")
            }
            do {
                return .string(try box.open(text))
            } catch {
                throw SecretBoxError("integration '\(row.name)': \(error.message)")
            }
        }
        for (key, kind) in secretKeys {
            guard let value = object[key] else { continue }
            if kind == .secretMap, case .object(let map) = value {
                var opened: [String: JSONValue] = [:]
                for (name, item) in map { opened[name] = try open(item) }
                object[key] = .object(opened)
            } else {
                object[key] = try open(value)
            }
        }
        return .object(object)
    }

    /// The item with its secrets encrypted, as it is stored. Refused when there is a secret to keep and no key.
    func sealed(_ item: [String: JSONValue], type: String) throws(SecretBoxError) -> [String: JSONValue] {
        var object = item
        let secretKeys = IntegrationFields.secretKeys(for: type)
        var hasSecret = false
        for (key, kind) in secretKeys {
            switch object[key] {
            case .string?: hasSecret = true
            case .object(let map)? where kind == .secretMap && !map.isEmpty: hasSecret = true
            default: break
            }
        }
        guard hasSecret else { return object }
        guard let box = try secretBox(create: true) else {
            throw SecretBoxError(
                "secrets cannot be stored without a secrets key on a shared database: set server.secrets_key_file (or TOCSIN_SECRETS_KEY) "
                    + "to the same 32-byte key on every instance"
            )
        }
        for (key, kind) in secretKeys {
            guard let value = object[key] else { continue }
            if kind == .secretMap, case .object(let map) = value {
                var closed: [String: JSONValue] = [:]
                for (name, item) in map {
                    if case .string(let text) = item { closed[name] = .string(try box.seal(text)) } else { closed[name] = item }
                }
                object[key] = .object(closed)
            } else if case .string(let text) = value {
                object[key] = .string(try box.seal(text))
            }
        }
        return object
    }
}
