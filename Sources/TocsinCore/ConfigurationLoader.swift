import Foundation
import Yams

/// Reads `tocsin.yml` text into a `TocsinConfiguration`, collecting every problem instead of stopping at the first.
///
/// File and environment access are injected so that loading stays a pure function of its inputs.
public struct ConfigurationLoader: Sendable {
    public var environment: [String: String]
    public var readFile: @Sendable (String) throws -> String
    /// The integration types a sink registry knows; an entry of another type is a problem.
    public var knownIntegrationTypes: Set<String>
    /// The streams each type can carry and takes by default; a type missing here carries alerts and notifications.
    public var sourceSupport: [String: SourceSupport] = [:]
    /// Data directory used for defaults the file leaves out (the SQLite path).
    public var dataDirectory: String
    /// Checks each integration's type-specific settings (the sink registry's job), so that one pass reports
    /// structural and per-sink problems together.
    public var validateIntegrations: @Sendable ([IntegrationConfig]) -> [ConfigProblem] = { _ in [] }

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        readFile: @escaping @Sendable (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) },
        knownIntegrationTypes: Set<String>,
        dataDirectory: String = ServerSettings.defaultDataDirectory
    ) {
        self.environment = environment
        self.readFile = readFile
        self.knownIntegrationTypes = knownIntegrationTypes
        self.dataDirectory = dataDirectory
    }

    /// Parses the text; throws `ConfigurationError` listing every problem found.
    public func load(yaml text: String) throws -> TocsinConfiguration {
        var problems: [ConfigProblem] = []
        let root: JSONValue
        do {
            root = try Self.jsonValue(from: try Yams.load(yaml: text) ?? [String: Any]())
        } catch let error as ConfigProblem {
            throw ConfigurationError(problems: [error])
        } catch {
            throw ConfigurationError(problems: [ConfigProblem(path: "(file)", message: "not valid YAML: \(error)")])
        }
        guard case .object(let top) = root else {
            throw ConfigurationError(problems: [ConfigProblem(path: "(file)", message: "the top level must be a mapping")])
        }
        let known: Set<String> = ["server", "storage", "integrations", "routing", "catalogue", "detectors"]
        for key in top.keys.sorted() where !known.contains(key) {
            problems.append(ConfigProblem(path: key, message: "unknown section (expected one of \(known.sorted().joined(separator: ", ")))"))
        }
        let server = parseServer(top["server"], problems: &problems)
        let storage = parseStorage(top["storage"], problems: &problems)
        let integrations = parseIntegrations(top["integrations"], problems: &problems)
        var routing = parseRouting(top["routing"], problems: &problems)
        let noise = NoiseSettingsParser.parse(routing: top["routing"], problems: &problems)
        let catalogue = parseCatalogue(top["catalogue"], problems: &problems)
        // Without the section there are no detectors; an empty section enables the built-in pack.
        var detectors: DetectorSettings?
        if top.keys.contains("detectors") {
            let (settings, detectorProblems) = DetectorRuleParser.parseSettings(top["detectors"] ?? .null, path: "detectors")
            detectors = settings
            problems += detectorProblems
        }
        problems += validateIntegrations(integrations.filter { knownIntegrationTypes.contains($0.type) })
        // A send still running when its claim expires is claimed and sent again, by this instance or another.
        for integration in integrations where integration.delivery.timeout >= storage.lease {
            problems.append(
                ConfigProblem(
                    path: "storage.lease",
                    message:
                        "must be longer than the timeout of integration '\(integration.name)' (\(DurationParser.format(integration.delivery.timeout))), "
                        + "or its sends would be claimed again while still running"
                )
            )
        }
        let names = Set(integrations.map(\.name))
        for (path, name) in routing.references where !names.contains(name) {
            problems.append(ConfigProblem(path: path, message: "unknown integration '\(name)'"))
        }
        for integration in integrations { routing.subscriptions[integration.name] = integration.subscription }
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
        return TocsinConfiguration(
            server: server,
            storage: storage,
            integrations: integrations,
            routing: routing,
            catalogue: catalogue,
            detectors: detectors,
            noise: noise
        )
    }

    // MARK: sections

    private func parseServer(_ value: JSONValue?, problems: inout [ConfigProblem]) -> ServerSettings {
        var settings = ServerSettings(dataDirectory: dataDirectory)
        guard let object = ConfigValue.mapping(value, at: "server", problems: &problems) else { return settings }
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let path = "server.\(key)"
            switch key {
            case "listen":
                guard let text = string(item, at: path, problems: &problems) else { continue }
                if let (host, port) = Self.parseListen(text) {
                    settings.host = host
                    settings.port = port
                } else {
                    problems.append(ConfigProblem(path: path, message: "expected HOST:PORT, got '\(text)'"))
                }
            case "max_body_bytes":
                if let number = integer(item, at: path, min: 1024, problems: &problems) { settings.maxBodyBytes = number }
            case "max_events_per_request":
                if let number = integer(item, at: path, min: 1, problems: &problems) { settings.maxEventsPerRequest = number }
            case "max_records_per_request":
                if let number = integer(item, at: path, min: 1, problems: &problems) { settings.maxRecordsPerRequest = number }
            case "resolve_timeout":
                if let duration = ConfigValue.duration(item, at: path, problems: &problems) { settings.resolveTimeout = duration }
            case "shutdown_grace":
                if let duration = ConfigValue.duration(item, at: path, problems: &problems) { settings.shutdownGrace = duration }
            case "public_url":
                if let text = string(item, at: path, problems: &problems) {
                    if let url = URLComponents(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false {
                        settings.publicURL = text.hasSuffix("/") ? String(text.dropLast()) : text
                    } else {
                        problems.append(ConfigProblem(path: path, message: "expected an http:// or https:// URL, got '\(text)'"))
                    }
                }
            case "instance_id":
                if let text = nonEmptyString(item, at: path, problems: &problems) { settings.instanceID = text }
            case "auth":
                AuthSettingsParser.parse(item, at: path, into: &settings.auth, problems: &problems)
            case "secrets_key_file":
                if let text = nonEmptyString(item, at: path, problems: &problems) { settings.auth.secretsKeyFile = text }
            case "managed_integrations":
                parseManagedIntegrations(item, at: path, into: &settings.managedIntegrations, problems: &problems)
            case "log_level":
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                if let text = string(item, at: path, problems: &problems) {
                    if levels.contains(text) {
                        settings.logLevel = text
                    } else {
                        problems.append(
                            ConfigProblem(path: path, message: "unknown level '\(text)' (expected one of \(levels.joined(separator: ", ")))")
                        )
                    }
                }
            default:
                problems.append(ConfigProblem(path: path, message: "unknown key"))
            }
        }
        return settings
    }

    private func parseManagedIntegrations(
        _ value: JSONValue,
        at path: String,
        into policy: inout ManagedIntegrationPolicy,
        problems: inout [ConfigProblem]
    ) {
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else { return }
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "log_directory":
                guard let text = nonEmptyString(item, at: itemPath, problems: &problems) else { continue }
                guard ManagedIntegrationPolicy.absolute(text) != "/" else {
                    problems.append(ConfigProblem(path: itemPath, message: "must not be the root directory"))
                    continue
                }
                policy.logDirectory = text
            case "allow_server_aws_credentials":
                guard case .bool(let flag) = item else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected true or false, got \(item.typeName)"))
                    continue
                }
                policy.allowServerAWSCredentials = flag
            default:
                problems.append(ConfigProblem(path: itemPath, message: "unknown key (expected log_directory, allow_server_aws_credentials)"))
            }
        }
    }

    private func parseStorage(_ value: JSONValue?, problems: inout [ConfigProblem]) -> StorageSettings {
        var settings = StorageSettings(sqlitePath: dataDirectory + "/tocsin.db")
        guard let object = ConfigValue.mapping(value, at: "storage", problems: &problems) else { return settings }
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let path = "storage.\(key)"
            switch key {
            case "sqlite":
                if let text = string(item, at: path, problems: &problems) { settings.sqlitePath = text }
            case "synchronous":
                if let text = string(item, at: path, problems: &problems) {
                    switch text {
                    case "full": settings.synchronousFull = true
                    case "normal": settings.synchronousFull = false
                    default: problems.append(ConfigProblem(path: path, message: "expected 'full' or 'normal', got '\(text)'"))
                    }
                }
            case "postgres":
                settings.postgres = parsePostgres(item, at: path, problems: &problems)
            case "lease":
                guard let duration = ConfigValue.duration(item, at: path, problems: &problems) else { continue }
                if duration < Self.minimumLease {
                    problems.append(
                        ConfigProblem(
                            path: path,
                            message: "must be at least \(DurationParser.format(Self.minimumLease)), got '\(DurationParser.format(duration))'"
                        )
                    )
                } else {
                    settings.lease = duration
                }
            default:
                problems.append(ConfigProblem(path: path, message: "unknown key"))
            }
        }
        if object["postgres"] != nil {
            if object["sqlite"] != nil {
                problems.append(ConfigProblem(path: "storage", message: "sqlite and postgres are both set; choose one"))
            }
            // Silently ignoring it would let someone believe they changed PostgreSQL's durability.
            if object["synchronous"] != nil {
                problems.append(
                    ConfigProblem(path: "storage.synchronous", message: "applies to SQLite only (PostgreSQL's durability is the server's setting)")
                )
            }
        }
        return settings
    }

    /// A claim shorter than this would expire under a healthy instance during an ordinary slow send, and another
    /// instance would send the delivery a second time.
    static let minimumLease: Duration = .seconds(10)

    /// `storage.postgres`: a `postgres://` URL, or a mapping of its parts. Nil after a problem.
    private func parsePostgres(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> PostgresSettings? {
        var settings: PostgresSettings
        switch value {
        case .string:
            guard let text = string(value, at: path, problems: &problems) else { return nil }
            do {
                settings = try PostgresSettings(url: text)
            } catch {
                // The URL's own reader names its setting `storage.postgres`; keep the path this file was read at.
                problems.append(ConfigProblem(path: path, message: error.message))
                return nil
            }
        case .object(let object):
            guard let parsed = parsePostgresMapping(object, at: path, problems: &problems) else { return nil }
            settings = parsed
        default:
            problems.append(
                ConfigProblem(path: path, message: "expected a postgres:// URL or a mapping (host, port, user, ...), got \(value.typeName)")
            )
            return nil
        }
        if let schema = settings.schema, let problem = Self.schemaNameProblem(schema) {
            problems.append(ConfigProblem(path: "\(path).schema", message: problem))
            return nil
        }
        return settings
    }

    private func parsePostgresMapping(_ object: [String: JSONValue], at path: String, problems: inout [ConfigProblem]) -> PostgresSettings? {
        var settings = PostgresSettings()
        let problemsBefore = problems.count
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "host", "user", "database":
                guard let text = nonEmptyString(item, at: itemPath, problems: &problems) else { continue }
                switch key {
                case "host": settings.host = text
                case "user": settings.user = text
                default: settings.database = text
                }
            case "port":
                guard case .number(let number) = item, number.rounded() == number, (1...65_535).contains(number) else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected a port number, 1–65535"))
                    continue
                }
                settings.port = Int(number)
            case "password":
                if object["password_file"] != nil { continue }  // reported on password_file
                if let text = string(item, at: itemPath, problems: &problems) { settings.password = Secret(text) }
            case "password_file":
                if object["password"] != nil {
                    problems.append(ConfigProblem(path: itemPath, message: "give either password or password_file, not both"))
                    continue
                }
                guard let file = string(item, at: itemPath, problems: &problems) else { continue }
                do {
                    var contents = try readFile(file)
                    while let last = contents.last, last.isNewline { contents.removeLast() }
                    settings.password = Secret(contents)
                } catch {
                    problems.append(ConfigProblem(path: itemPath, message: "cannot read '\(file)'"))
                }
            case "tls":
                guard let text = string(item, at: itemPath, problems: &problems) else { continue }
                if let mode = PostgresSettings.TLSMode(rawValue: text) {
                    settings.tls = mode
                } else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected disable, prefer or require, got '\(text)'"))
                }
            case "ca_file":
                if let text = nonEmptyString(item, at: itemPath, problems: &problems) { settings.caFile = text }
            case "skip_verify":
                if case .bool(let flag) = item {
                    settings.skipVerify = flag
                } else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected true or false, got \(item.typeName)"))
                }
            case "schema":
                if let text = string(item, at: itemPath, problems: &problems) { settings.schema = text }
            case "pool_size":
                if let number = integer(item, at: itemPath, min: 1, problems: &problems) { settings.poolSize = number }
            default:
                problems.append(
                    ConfigProblem(
                        path: itemPath,
                        message:
                            "unknown key (expected host, port, user, database, password, password_file, tls, ca_file, skip_verify, schema, pool_size)"
                    )
                )
            }
        }
        return problems.count == problemsBefore ? settings : nil
    }

    /// Why `name` cannot be Tocsin's schema, or nil. Lower-case letters, digits and underscores only, so that the name
    /// means the same schema quoted or not; `pg_` names are reserved by PostgreSQL; 63 bytes is its identifier limit.
    static func schemaNameProblem(_ name: String) -> String? {
        func isLowerLetterOrUnderscore(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "_") }
        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, isLowerLetterOrUnderscore(first), bytes.allSatisfy({ isLowerLetterOrUnderscore($0) || isDigit($0) }),
            bytes.count <= 63
        else {
            return "expected lower-case letters, digits and underscores, not starting with a digit, at most 63; got '\(name)'"
        }
        if name.hasPrefix("pg_") { return "names starting with pg_ are reserved by PostgreSQL" }
        return nil
    }

    private func parseIntegrations(_ value: JSONValue?, problems: inout [ConfigProblem]) -> [IntegrationConfig] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            problems.append(ConfigProblem(path: "integrations", message: "expected a list, got \(value.typeName)"))
            return []
        }
        var result: [IntegrationConfig] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let path = "integrations[\(index)]"
            guard let object = ConfigValue.mapping(item, at: path, problems: &problems) else { continue }
            if case .string(let name)? = object["name"], !name.isEmpty, !name.contains(where: { $0.isWhitespace }), !seen.insert(name).inserted {
                problems.append(ConfigProblem(path: "\(path).name", message: "duplicate integration name '\(name)'"))
            }
            if let integration = parseIntegrationItem(object, at: path, problems: &problems) { result.append(integration) }
        }
        return result
    }

    /// One integration given on its own (made through the API), checked by the rules of a `tocsin.yml` item and by
    /// its sink type's checks. `lease` is the store's claim length, which the integration's timeout must stay under.
    /// Values are taken as given: `${NAME}` and `*_file` keys, which read the server's environment and files, are
    /// for the configuration file only. Problem paths start at the item (`url`, `retry.max_age`).
    public func parseIntegration(_ value: JSONValue, lease: Duration) -> Result<IntegrationConfig, ConfigurationError> {
        var problems: [ConfigProblem] = []
        guard case .object(let object) = value else {
            return .failure(ConfigurationError(problems: [ConfigProblem(path: "(body)", message: "expected a JSON object, got \(value.typeName)")]))
        }
        for (key, field) in object.sorted(by: { $0.key < $1.key }) {
            if key.hasSuffix("_file") {
                problems.append(
                    ConfigProblem(path: key, message: "reading files of the server is for tocsin.yml only; give \(key.dropLast(5)) itself")
                )
            } else if Self.containsSubstitution(field) {
                problems.append(
                    ConfigProblem(path: key, message: "${NAME} substitution is for tocsin.yml only; give the value itself")
                )
            }
        }
        if !problems.isEmpty { return .failure(ConfigurationError(problems: problems)) }
        var loader = self
        loader.environment = [:]
        guard var integration = loader.parseIntegrationItem(object, at: "", problems: &problems) else {
            return .failure(ConfigurationError(problems: Self.relative(problems)))
        }
        if problems.isEmpty, knownIntegrationTypes.contains(integration.type) {
            problems += validateIntegrations([integration])
        }
        if integration.delivery.timeout >= lease {
            problems.append(
                ConfigProblem(
                    path: ".timeout",
                    message:
                        "must be shorter than storage.lease (\(DurationParser.format(lease))), or sends would be claimed again while still running"
                )
            )
        }
        if !problems.isEmpty { return .failure(ConfigurationError(problems: Self.relative(problems))) }
        integration.path = "integration '\(integration.name)'"
        return .success(integration)
    }

    private static func containsSubstitution(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): text.contains("${")
        case .array(let items): items.contains(where: containsSubstitution)
        case .object(let object): object.values.contains(where: containsSubstitution)
        default: false
        }
    }

    /// Problems of an item parsed at the empty path start with a dot; the item is the root of an API body.
    private static func relative(_ problems: [ConfigProblem]) -> [ConfigProblem] {
        problems.map { ConfigProblem(path: $0.path.hasPrefix(".") ? String($0.path.dropFirst()) : $0.path, message: $0.message) }
    }

    private func parseIntegrationItem(_ object: [String: JSONValue], at path: String, problems: inout [ConfigProblem]) -> IntegrationConfig? {
        var settings: [String: JSONValue] = [:]
        var delivery = DeliveryPolicy()
        var name: String?
        var type: String?
        var sources: Set<SourceKind>?
        var matchers: [LabelMatcher] = []
        for (key, field) in object.sorted(by: { $0.key < $1.key }) {
            let fieldPath = "\(path).\(key)"
            switch key {
            case "name":
                name = string(field, at: fieldPath, problems: &problems)
            case "type":
                type = string(field, at: fieldPath, problems: &problems)
            case "concurrency":
                if let number = integer(field, at: fieldPath, min: 1, problems: &problems) { delivery.concurrency = number }
            case "timeout":
                if let duration = ConfigValue.duration(field, at: fieldPath, problems: &problems) { delivery.timeout = duration }
            case "rate_limit":
                guard let text = string(field, at: fieldPath, problems: &problems) else { continue }
                if text == "none" {
                    delivery.rateLimit = .unlimited
                } else if let limit = RateLimit.parse(text) {
                    delivery.rateLimit = .limit(limit)
                } else {
                    problems.append(
                        ConfigProblem(path: fieldPath, message: "expected COUNT/PERIOD such as 120/min, 1/s or 60/30s, or none; got '\(text)'")
                    )
                }
            case "retry":
                parseRetry(field, at: fieldPath, into: &delivery, problems: &problems)
            case "sources":
                sources = parseSources(field, at: fieldPath, problems: &problems)
            case "matchers":
                matchers = parseMatchers(field, at: fieldPath, problems: &problems)
            default:
                if key.hasSuffix("_file") {
                    let base = String(key.dropLast(5))
                    if object[base] != nil {
                        problems.append(ConfigProblem(path: fieldPath, message: "give either \(base) or \(key), not both"))
                        continue
                    }
                    guard let file = string(field, at: fieldPath, problems: &problems) else { continue }
                    do {
                        var contents = try readFile(file)
                        while let last = contents.last, last.isNewline { contents.removeLast() }
                        settings[base] = .string(contents)
                    } catch {
                        problems.append(ConfigProblem(path: fieldPath, message: "cannot read '\(file)'"))
                    }
                } else {
                    settings[key] = substitute(field, at: fieldPath, problems: &problems)
                }
            }
        }
        if let name {
            if name.isEmpty || name.contains(where: { $0.isWhitespace }) {
                problems.append(ConfigProblem(path: "\(path).name", message: "must be non-empty without spaces"))
            }
        } else {
            problems.append(ConfigProblem(path: "\(path).name", message: "is required"))
        }
        if let type {
            if !knownIntegrationTypes.contains(type) {
                problems.append(
                    ConfigProblem(
                        path: "\(path).type",
                        message: "unknown integration type '\(type)' (known: \(knownIntegrationTypes.sorted().joined(separator: ", ")))"
                    )
                )
            }
        } else {
            problems.append(ConfigProblem(path: "\(path).type", message: "is required"))
        }
        if let name, let type {
            let support = sourceSupport[type] ?? .alertsAndNotifications
            if let sources {
                for source in sources.subtracting(support.supported).sorted(by: { $0.rawValue < $1.rawValue }) {
                    problems.append(
                        ConfigProblem(
                            path: "\(path).sources",
                            message: "type '\(type)' cannot carry \(source.rawValue) (it carries \(Self.sourceList(support.supported)))"
                        )
                    )
                }
            }
            let subscription = Subscription(sources: sources ?? support.defaults, matchers: matchers)
            return IntegrationConfig(name: name, type: type, delivery: delivery, settings: settings, path: path, subscription: subscription)
        }
        return nil
    }

    private func parseSources(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> Set<SourceKind>? {
        guard let names = nameList(value, at: path, problems: &problems) else { return nil }
        var sources: Set<SourceKind> = []
        for (index, name) in names.enumerated() {
            guard let source = SourceKind(rawValue: name) else {
                problems.append(
                    ConfigProblem(
                        path: "\(path)[\(index)]",
                        message: "unknown source '\(name)' (expected \(Self.sourceList(Set(SourceKind.allCases))))"
                    )
                )
                continue
            }
            sources.insert(source)
        }
        if sources.isEmpty && names.isEmpty {
            problems.append(ConfigProblem(path: path, message: "must name at least one source"))
        }
        return sources
    }

    private func parseMatchers(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> [LabelMatcher] {
        guard let texts = nameList(value, at: path, problems: &problems) else { return [] }
        var matchers: [LabelMatcher] = []
        for (index, text) in texts.enumerated() {
            do {
                matchers.append(try LabelMatcher.parse(text))
            } catch {
                problems.append(ConfigProblem(path: "\(path)[\(index)]", message: error.message))
            }
        }
        return matchers
    }

    static func sourceList(_ sources: Set<SourceKind>) -> String {
        SourceKind.allCases.filter(sources.contains).map(\.rawValue).joined(separator: ", ")
    }

    private func parseRetry(_ value: JSONValue, at path: String, into delivery: inout DeliveryPolicy, problems: inout [ConfigProblem]) {
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else { return }
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "initial_backoff":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { delivery.initialBackoff = duration }
            case "max_backoff":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { delivery.maxBackoff = duration }
            case "max_age":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { delivery.maxAge = duration }
            default:
                problems.append(ConfigProblem(path: itemPath, message: "unknown key (expected initial_backoff, max_backoff, max_age)"))
            }
        }
        if delivery.initialBackoff > delivery.maxBackoff {
            problems.append(ConfigProblem(path: path, message: "initial_backoff is larger than max_backoff"))
        }
    }

    private func parseRouting(_ value: JSONValue?, problems: inout [ConfigProblem]) -> RoutingMatrix {
        var matrix = RoutingMatrix()
        guard let object = ConfigValue.mapping(value, at: "routing", problems: &problems) else { return matrix }
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let path = "routing.\(key)"
            if key == "default" {
                matrix.defaultRoute = nameList(item, at: path, problems: &problems) ?? []
                continue
            }
            if NoiseSettingsParser.routingKeys.contains(key) { continue }
            let isGlobal = key == "global"
            let category = Category(rawValue: key)
            if !isGlobal && category == nil {
                let expected = ["global", "default"] + Category.allCases.map(\.rawValue)
                problems.append(ConfigProblem(path: path, message: "unknown category '\(key)' (expected one of \(expected.joined(separator: ", ")))"))
                continue
            }
            guard let row = ConfigValue.mapping(item, at: path, problems: &problems) else { continue }
            if isGlobal, row["grouping"] != nil {
                problems.append(
                    ConfigProblem(path: "\(path).grouping", message: "the global policy is routing.grouping (directly under routing)")
                )
            }
            var cells: [Severity: RoutingCell] = [:]
            for (severityName, cellValue) in row.sorted(by: { $0.key < $1.key }) where severityName != "grouping" {
                let cellPath = "\(path).\(severityName)"
                guard let severity = Severity(rawValue: severityName) else {
                    problems.append(
                        ConfigProblem(path: cellPath, message: "unknown severity '\(severityName)' (expected info, warning, error, critical)")
                    )
                    continue
                }
                if let cell = parseCell(cellValue, at: cellPath, isGlobal: isGlobal, problems: &problems) {
                    cells[severity] = cell
                }
            }
            if let category {
                matrix.categories[category] = cells
            } else {
                matrix.global = cells
            }
        }
        return matrix
    }

    /// `catalogue: {overrides: {TYPE: {severity: S}}}`: severities that replace the built-in defaults.
    private func parseCatalogue(_ value: JSONValue?, problems: inout [ConfigProblem]) -> EventCatalogue {
        let builtIn = EventCatalogue.builtIn
        guard let object = ConfigValue.mapping(value, at: "catalogue", problems: &problems) else { return builtIn }
        var overrides: [String: Severity] = [:]
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            guard key == "overrides" else {
                problems.append(ConfigProblem(path: "catalogue.\(key)", message: "unknown key (expected overrides)"))
                continue
            }
            guard let types = ConfigValue.mapping(item, at: "catalogue.overrides", problems: &problems) else { continue }
            for (type, override) in types.sorted(by: { $0.key < $1.key }) {
                let path = "catalogue.overrides.\(type)"
                if builtIn.entry(type) == nil {
                    problems.append(
                        ConfigProblem(
                            path: path,
                            message: "unknown event type '\(type)' (known types start with \(builtIn.prefixes.joined(separator: ", ")))"
                        )
                    )
                }
                if case .null = override {
                    problems.append(ConfigProblem(path: path, message: "expected a mapping such as {severity: warning}, got null"))
                    continue
                }
                guard let fields = ConfigValue.mapping(override, at: path, problems: &problems) else { continue }
                if fields["severity"] == nil { problems.append(ConfigProblem(path: "\(path).severity", message: "is required")) }
                for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                    guard name == "severity" else {
                        problems.append(ConfigProblem(path: "\(path).\(name)", message: "unknown key (expected severity)"))
                        continue
                    }
                    guard let text = string(field, at: "\(path).severity", problems: &problems) else { continue }
                    guard let severity = Severity(rawValue: text) else {
                        problems.append(
                            ConfigProblem(path: "\(path).severity", message: "unknown severity '\(text)' (expected info, warning, error, critical)")
                        )
                        continue
                    }
                    if builtIn.entry(type) != nil { overrides[type] = severity }
                }
            }
        }
        return builtIn.withOverrides(overrides)
    }

    private func parseCell(_ value: JSONValue, at path: String, isGlobal: Bool, problems: inout [ConfigProblem]) -> RoutingCell? {
        if case .object(let object) = value {
            var integrations: [String] = []
            var override = false
            for (key, item) in object.sorted(by: { $0.key < $1.key }) {
                switch key {
                case "integrations":
                    integrations = nameList(item, at: "\(path).integrations", problems: &problems) ?? []
                case "override":
                    if case .bool(let flag) = item {
                        override = flag
                    } else {
                        problems.append(ConfigProblem(path: "\(path).override", message: "expected true or false, got \(item.typeName)"))
                    }
                default:
                    problems.append(ConfigProblem(path: "\(path).\(key)", message: "unknown key (expected integrations, override)"))
                }
            }
            if override && isGlobal {
                problems.append(ConfigProblem(path: "\(path).override", message: "override applies to category cells only"))
            }
            return RoutingCell(integrations: integrations, override: override)
        }
        guard let names = nameList(value, at: path, problems: &problems) else { return nil }
        return RoutingCell(integrations: names)
    }

    // MARK: value helpers

    private func nameList(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> [String]? {
        guard case .array(let items) = value else {
            problems.append(ConfigProblem(path: path, message: "expected a list of integration names, got \(value.typeName)"))
            return nil
        }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            if case .string(let name) = item {
                names.append(name)
            } else {
                problems.append(ConfigProblem(path: "\(path)[\(index)]", message: "expected an integration name, got \(item.typeName)"))
            }
        }
        return names
    }

    private func string(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> String? {
        guard case .string = value else {
            if case .number(let number) = value { return Self.formatNumber(number) }
            problems.append(ConfigProblem(path: path, message: "expected a string, got \(value.typeName)"))
            return nil
        }
        guard case .string(let text) = substitute(value, at: path, problems: &problems) else { return nil }
        return text
    }

    /// A string that is not empty or blank. Nil, with one problem, when it is, or when its substitution failed (a
    /// missing variable leaves a hole that would otherwise be reported a second time as emptiness).
    private func nonEmptyString(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> String? {
        let problemsBefore = problems.count
        guard let text = string(value, at: path, problems: &problems), problems.count == problemsBefore else { return nil }
        guard !text.trimmingWhitespace().isEmpty else {
            problems.append(ConfigProblem(path: path, message: "must not be empty"))
            return nil
        }
        return text
    }

    private func integer(_ value: JSONValue, at path: String, min: Int, problems: inout [ConfigProblem]) -> Int? {
        guard case .number(let number) = value, number.rounded() == number, number >= Double(min), number < 1e12 else {
            problems.append(ConfigProblem(path: path, message: "expected a whole number of at least \(min)"))
            return nil
        }
        return Int(number)
    }

    /// Replaces `${NAME}` in every string of `value` with the environment variable `NAME`.
    private func substitute(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> JSONValue {
        switch value {
        case .string(let text):
            guard text.contains("${") else { return value }
            var result = ""
            var rest = Substring(text)
            while let start = rest.range(of: "${") {
                result += rest[..<start.lowerBound]
                guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                    problems.append(ConfigProblem(path: path, message: "unterminated ${ in value"))
                    return .string(text)
                }
                let variable = String(rest[start.upperBound..<end])
                if let replacement = environment[variable] {
                    result += replacement
                } else {
                    problems.append(ConfigProblem(path: path, message: "environment variable \(variable) is not set"))
                }
                rest = rest[rest.index(after: end)...]
            }
            result += rest
            return .string(result)
        case .array(let items):
            return .array(items.enumerated().map { substitute($1, at: "\(path)[\($0)]", problems: &problems) })
        case .object(let object):
            var result: [String: JSONValue] = [:]
            for (key, item) in object { result[key] = substitute(item, at: "\(path).\(key)", problems: &problems) }
            return .object(result)
        default:
            return value
        }
    }

    static func formatNumber(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    /// Splits `HOST:PORT` (or `[v6]:PORT`).
    public static func parseListen(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }

    /// Converts what Yams produced into `JSONValue`.
    static func jsonValue(from any: Any) throws -> JSONValue {
        switch any {
        case let value as String: return .string(value)
        case let value as Bool: return .bool(value)
        case let value as Int: return .number(Double(value))
        case let value as Double: return .number(value)
        case let value as [Any]: return .array(try value.map { try jsonValue(from: $0) })
        case let value as [String: Any]:
            var object: [String: JSONValue] = [:]
            for (key, item) in value { object[key] = try jsonValue(from: item) }
            return .object(object)
        case let value as [AnyHashable: Any]:
            var object: [String: JSONValue] = [:]
            for (key, item) in value { object[String(describing: key.base)] = try jsonValue(from: item) }
            return .object(object)
        case is NSNull: return .null
        default:
            if let date = any as? Date { return .string(ISO8601DateFormatter().string(from: date)) }
            return .string(String(describing: any))
        }
    }
}
