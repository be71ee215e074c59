import Foundation
import HTTPTypes
import Hummingbird
import TocsinCore
import TocsinSinks
import TocsinStore

/// One integration as the API and the console show it. Secrets are `********`.
public struct IntegrationView: Encodable, Sendable {
    public var name: String
    public var type: String
    /// `file` (tocsin.yml, read-only) or `managed` (made through the API or the console).
    public var source: String
    public var editable: Bool
    public var concurrency: Int
    /// `120/1m`, or nil when unlimited.
    public var rateLimit: String?
    public var timeoutSeconds: Double
    /// The type's settings, secrets masked.
    public var settings: [String: JSONValue]
    /// Managed only: the whole item as stored (what a PUT takes back), secrets masked.
    public var item: [String: JSONValue]?
    public var updatedAt: Date?
    public var updatedBy: String?
    /// Why a stored integration is not in force (its deliveries wait in the outbox meanwhile).
    public var problem: String?
}

/// The routing matrix in force: the file's cells (read-only) and the managed ones.
public struct RoutingView: Encodable, Sendable {
    public struct Cell: Encodable, Sendable {
        public var severity: String
        public var integrations: [String]
        public var override: Bool
        /// `file`, `managed`, or nil for an empty cell.
        public var source: String?
        /// Whether the API may set or delete it: every cell the file does not define.
        public var editable: Bool
    }

    public struct Row: Encodable, Sendable {
        /// `global` or a category.
        public var scope: String
        public var cells: [Cell]
    }

    public var rows: [Row]
    /// `routing.default` of the file: where an event goes that no cell sends anywhere.
    public var defaultRoute: [String]
    /// The integrations a cell may name.
    public var integrations: [String]
}

/// A configuration refused with every problem and its path: `{"error": {…, "problems": [{"path", "message"}]}}`.
struct ConfigurationRefusal: HTTPResponseError {
    var problems: [ConfigProblem]
    var status: HTTPResponse.Status { .badRequest }

    struct Body: Encodable {
        struct Detail: Encodable {
            var status: Int
            var reason: String
            var field: String?
            var message: String
            var problems: [Problem]
        }

        struct Problem: Encodable {
            var path: String
            var message: String
        }

        var error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let detail = Body.Detail(
            status: status.code,
            reason: "invalid_configuration",
            field: problems.first?.path,
            message: problems.map(\.description).joined(separator: "; "),
            problems: problems.map { Body.Problem(path: $0.path, message: $0.message) }
        )
        return try JSONResponse.make(Body(error: detail), status: status)
    }
}

extension API {
    /// Integrations and routing cells made through the API or the console.
    func registerManagedConfiguration(on endpoints: EndpointRegistrar) {
        endpoints.get("/api/v1/integration-types", .viewer) { _, _, _ in
            try JSONResponse.make(["types": IntegrationFields.types])
        }
        endpoints.get("/api/v1/integrations/{name}", .viewer) { _, context, _ in
            let name = try context.parameters.require("name")
            guard let view = await integrationView(named: name) else { throw notFound(name) }
            return try JSONResponse.make(["integration": view])
        }
        endpoints.post("/api/v1/integrations", .editor) { request, _, caller in
            let view = try await createIntegration(try await itemBody(request), caller: caller)
            return try JSONResponse.make(["integration": view], status: .created)
        }
        endpoints.put("/api/v1/integrations/{name}", .editor) { request, context, caller in
            let view = try await updateIntegration(try context.parameters.require("name"), try await itemBody(request), caller: caller)
            return try JSONResponse.make(["integration": view])
        }
        endpoints.delete("/api/v1/integrations/{name}", .editor) { _, context, caller in
            try await deleteIntegration(try context.parameters.require("name"), caller: caller)
            return Response(status: .noContent)
        }
        endpoints.get("/api/v1/routing", .viewer) { _, _, _ in
            try JSONResponse.make(["routing": await routingView()])
        }
        endpoints.put("/api/v1/routing/{scope}/{severity}", .editor) { request, context, caller in
            let body = try await itemBody(request)
            var integrations: [String] = []
            var override = false
            for (key, value) in body.sorted(by: { $0.key < $1.key }) {
                switch (key, value) {
                case ("integrations", .array(let items)):
                    for (index, item) in items.enumerated() {
                        guard case .string(let name) = item else {
                            throw invalid("integrations[\(index)]", "expected an integration name, got \(item.typeName)")
                        }
                        integrations.append(name)
                    }
                case ("integrations", _): throw invalid("integrations", "expected a list of integration names, got \(value.typeName)")
                case ("override", .bool(let flag)): override = flag
                case ("override", _): throw invalid("override", "expected true or false, got \(value.typeName)")
                default: throw invalid(key, "unknown key (expected integrations, override)")
                }
            }
            guard body["integrations"] != nil else { throw invalid("integrations", "is required") }
            let view = try await saveRoutingCell(
                scope: try context.parameters.require("scope"),
                severity: try context.parameters.require("severity"),
                integrations: integrations,
                override: override,
                caller: caller
            )
            return try JSONResponse.make(["routing": view])
        }
        endpoints.delete("/api/v1/routing/{scope}/{severity}", .editor) { _, context, caller in
            let view = try await deleteRoutingCell(
                scope: try context.parameters.require("scope"),
                severity: try context.parameters.require("severity"),
                caller: caller
            )
            return try JSONResponse.make(["routing": view])
        }
    }

    // MARK: views

    /// Every integration in force or stored: the file's in file order, then the managed ones by name.
    func integrationViews() async -> [IntegrationView] {
        currentIntegrationViews()
    }

    func integrationView(named name: String) async -> IntegrationView? {
        currentIntegrationViews().first { $0.name == name }
    }

    func currentIntegrationViews() -> [IntegrationView] {
        let live = runtime.live.snapshot
        var views: [IntegrationView] = []
        for integration in live.integrations {
            var view = IntegrationView(
                name: integration.name,
                type: integration.type,
                source: "file",
                editable: false,
                concurrency: integration.delivery.concurrency,
                rateLimit: SinkRegistry.rateLimit(for: integration)?.description,
                timeoutSeconds: integration.delivery.timeout.seconds,
                settings: IntegrationFields.masked(integration.settings, type: integration.type, mask: LiveConfiguration.mask)
            )
            if let row = live.managedRows[integration.name] { view.managed(row) }
            views.append(view)
        }
        for (name, problem) in live.unavailable.sorted(by: { $0.key < $1.key }) {
            guard let row = live.managedRows[name] else { continue }
            var view = IntegrationView(
                name: name,
                type: row.type,
                source: "managed",
                editable: true,
                concurrency: 0,
                rateLimit: nil,
                timeoutSeconds: 0,
                settings: [:],
                problem: problem
            )
            view.managed(row)
            view.settings = (view.item ?? [:]).filter { !Self.itemKeys.contains($0.key) }
            views.append(view)
        }
        return views
    }

    /// The keys of an item that are not the type's settings.
    static let itemKeys: Set<String> = Set(IntegrationFields.common.map(\.key))

    func routingView() async -> RoutingView {
        let live = runtime.live.snapshot
        let file = runtime.configuration.routing
        let managed = Dictionary(live.managedCells.map { ("\($0.scope)/\($0.severity.rawValue)", $0) }, uniquingKeysWith: { first, _ in first })
        var rows: [RoutingView.Row] = []
        for scope in ["global"] + Category.allCases.map(\.rawValue) {
            var cells: [RoutingView.Cell] = []
            for severity in Severity.allCases {
                let fileCell = scope == "global" ? file.global[severity] : Category(rawValue: scope).flatMap { file.categories[$0]?[severity] }
                if let fileCell {
                    cells.append(
                        .init(
                            severity: severity.rawValue,
                            integrations: fileCell.integrations,
                            override: fileCell.override,
                            source: "file",
                            editable: false
                        )
                    )
                } else if let cell = managed["\(scope)/\(severity.rawValue)"] {
                    cells.append(
                        .init(
                            severity: severity.rawValue,
                            integrations: cell.integrations,
                            override: cell.override,
                            source: "managed",
                            editable: true
                        )
                    )
                } else {
                    cells.append(.init(severity: severity.rawValue, integrations: [], override: false, source: nil, editable: true))
                }
            }
            rows.append(RoutingView.Row(scope: scope, cells: cells))
        }
        return RoutingView(rows: rows, defaultRoute: file.defaultRoute, integrations: routableNames(live))
    }

    private func routableNames(_ live: EffectiveConfiguration) -> [String] {
        live.integrations.map(\.name) + live.unavailable.keys.sorted()
    }

    // MARK: changes

    /// Creates a managed integration from a `tocsin.yml`-shaped item. Throws `APIError` or `ConfigurationRefusal`.
    func createIntegration(_ given: [String: JSONValue], caller: Caller) async throws -> IntegrationView {
        var item = given.filter { $0.value != .null }
        let type = item["type"]?.stringValue ?? ""
        var problems: [ConfigProblem] = []
        for (key, kind) in IntegrationFields.secretKeys(for: type) {
            if Self.containsMask(item[key], kind: kind) {
                problems.append(ConfigProblem(path: key, message: "\(LiveConfiguration.mask) stands for a stored secret; give the value"))
            }
        }
        if !problems.isEmpty { throw ConfigurationRefusal(problems: problems) }
        // Before the checks, which build the sink (a log file is opened) only for an item that may be stored.
        if let name = item["name"]?.stringValue {
            if runtime.configuration.integrations.contains(where: { $0.name == name }) {
                throw APIError(
                    status: .conflict,
                    reason: "already_exists",
                    field: "name",
                    message: "tocsin.yml defines an integration named '\(name)'"
                )
            }
            if runtime.live.snapshot.managedRows[name] != nil {
                throw APIError(status: .conflict, reason: "already_exists", field: "name", message: "an integration named '\(name)' exists already")
            }
        }
        let integration = try validate(item)
        item = try seal(item, type: integration.type)
        let row = ManagedIntegration(
            name: integration.name,
            type: integration.type,
            body: JSONWriter.string(.object(item)),
            updatedAt: runtime.clock(),
            updatedBy: caller.subject
        )
        try await storing(name: integration.name) {
            try await runtime.store.saveManagedIntegration(
                row,
                replace: false,
                audit: audit(caller, "integration.create", integration.name, Self.describe(integration))
            )
        }
        return try await reloaded(integration.name)
    }

    /// Replaces a managed integration. A secret omitted or sent as `********` keeps its stored value; `null`
    /// removes a setting.
    func updateIntegration(_ name: String, _ given: [String: JSONValue], caller: Caller) async throws -> IntegrationView {
        try refuseFileDefined(name)
        guard let stored = runtime.live.snapshot.managedRows[name] else { throw notFound(name) }
        if case .string(let bodyName)? = given["name"], bodyName != name {
            throw invalid("name", "an integration cannot be renamed (the path names '\(name)'); delete it and make a new one")
        }
        guard case .object(let storedItem)? = try? JSONParser.parse(Array(stored.body.utf8)) else {
            throw APIError(status: .internalServerError, reason: "stored_item_unreadable", message: "the stored integration '\(name)' cannot be read")
        }
        var item = given.filter { $0.value != .null }
        item["name"] = .string(name)
        let type = item["type"]?.stringValue ?? stored.type
        item["type"] = .string(type)
        if type == stored.type {
            for (key, kind) in IntegrationFields.secretKeys(for: type) {
                if given[key] == .null { continue }
                switch item[key] {
                case nil, .string(LiveConfiguration.mask)?:
                    item[key] = storedItem[key]
                case .object(let map)? where kind == .secretMap:
                    // A value sent as the mask keeps the stored value of that name.
                    let storedMap = storedItem[key]?.objectValue ?? [:]
                    var kept: [String: JSONValue] = [:]
                    for (entry, value) in map {
                        kept[entry] = value == .string(LiveConfiguration.mask) ? storedMap[entry] ?? value : value
                    }
                    item[key] = .object(kept)
                default: break
                }
            }
        }
        // Kept secrets are still encrypted: the item is checked with them decrypted, then sealed again whole.
        let plain: JSONValue
        do {
            plain = try runtime.live.revealed(
                ManagedIntegration(
                    name: name,
                    type: type,
                    body: JSONWriter.string(.object(item)),
                    updatedAt: stored.updatedAt,
                    updatedBy: stored.updatedBy
                )
            )
        } catch {
            throw APIError(status: .conflict, reason: "secret_unreadable", message: error.message)
        }
        guard case .object(let plainItem) = plain else { throw invalid("(body)", "expected a JSON object") }
        for (key, kind) in IntegrationFields.secretKeys(for: type) where Self.containsMask(plainItem[key], kind: kind) {
            throw ConfigurationRefusal(problems: [ConfigProblem(path: key, message: "there is no stored secret to keep; give the value")])
        }
        let integration = try validate(plainItem)
        let sealedItem = try seal(plainItem, type: type)
        let row = ManagedIntegration(
            name: name,
            type: type,
            body: JSONWriter.string(.object(sealedItem)),
            updatedAt: runtime.clock(),
            updatedBy: caller.subject
        )
        try await storing(name: name) {
            try await runtime.store.saveManagedIntegration(
                row,
                replace: true,
                audit: audit(caller, "integration.update", name, Self.describe(integration))
            )
        }
        return try await reloaded(name)
    }

    /// Deletes a managed integration and its name from every managed cell. Its pending deliveries stay in the
    /// outbox as they are (sent again should an integration of that name come back).
    func deleteIntegration(_ name: String, caller: Caller) async throws {
        try refuseFileDefined(name)
        guard let stored = runtime.live.snapshot.managedRows[name] else { throw notFound(name) }
        try await storing(name: name) {
            try await runtime.store.deleteManagedIntegration(name: name, audit: audit(caller, "integration.delete", name, "type \(stored.type)"))
        }
        try await reloadAfterChange()
    }

    func saveRoutingCell(scope: String, severity severityName: String, integrations: [String], override: Bool, caller: Caller) async throws
        -> RoutingView
    {
        let severity = try routingCellPosition(scope: scope, severity: severityName)
        let live = runtime.live.snapshot
        let known = Set(routableNames(live))
        for (index, name) in integrations.enumerated() where !known.contains(name) {
            throw invalid("integrations[\(index)]", "unknown integration '\(name)'")
        }
        if override && scope == "global" { throw invalid("override", "override applies to category cells only") }
        let cell = ManagedRoutingCell(scope: scope, severity: severity, integrations: integrations, override: override)
        let detail = "integrations: \(integrations.isEmpty ? "(none)" : integrations.joined(separator: ", ")); override: \(override)"
        try await storing(name: "\(scope)/\(severityName)") {
            try await runtime.store.saveManagedRoutingCell(cell, audit: audit(caller, "routing.update", "\(scope)/\(severityName)", detail))
        }
        try await reloadAfterChange()
        return await routingView()
    }

    func deleteRoutingCell(scope: String, severity severityName: String, caller: Caller) async throws -> RoutingView {
        let severity = try routingCellPosition(scope: scope, severity: severityName)
        guard runtime.live.snapshot.managedCells.contains(where: { $0.scope == scope && $0.severity == severity }) else {
            throw APIError(status: .notFound, reason: "not_found", message: "no managed routing cell \(scope)/\(severityName)")
        }
        try await storing(name: "\(scope)/\(severityName)") {
            try await runtime.store.deleteManagedRoutingCell(
                scope: scope,
                severity: severity,
                audit: audit(caller, "routing.delete", "\(scope)/\(severityName)", "cell removed")
            )
        }
        try await reloadAfterChange()
        return await routingView()
    }

    // MARK: helpers

    /// The severity of a cell the API may change: a known scope and severity, and no cell of the file there.
    private func routingCellPosition(scope: String, severity severityName: String) throws -> Severity {
        guard let severity = Severity(rawValue: severityName) else {
            throw invalid("severity", "unknown severity '\(severityName)' (expected info, warning, error, critical)")
        }
        let file = runtime.configuration.routing
        let fileCell: RoutingCell?
        if scope == "global" {
            fileCell = file.global[severity]
        } else if let category = Category(rawValue: scope) {
            fileCell = file.categories[category]?[severity]
        } else {
            let expected = ["global"] + Category.allCases.map(\.rawValue)
            throw invalid("scope", "unknown category '\(scope)' (expected one of \(expected.joined(separator: ", ")))")
        }
        if fileCell != nil {
            throw APIError(
                status: .conflict,
                reason: "read_only",
                message: "tocsin.yml defines the cell \(scope)/\(severityName); change it in the file"
            )
        }
        return severity
    }

    private func refuseFileDefined(_ name: String) throws {
        if runtime.configuration.integrations.contains(where: { $0.name == name }) {
            throw APIError(status: .conflict, reason: "read_only", field: "name", message: "tocsin.yml defines '\(name)'; change it in the file")
        }
    }

    /// The item checked by the loader's rules and `server.managed_integrations`, then by its sink's (the sink is built
    /// and released).
    private func validate(_ item: [String: JSONValue]) throws -> IntegrationConfig {
        switch runtime.live.parse(.object(item)) {
        case .failure(let error): throw ConfigurationRefusal(problems: error.problems)
        case .success(var integration):
            let refused = runtime.configuration.server.managedIntegrations.problems(for: integration)
            if !refused.isEmpty { throw ConfigurationRefusal(problems: refused) }
            integration.path = ""
            switch SinkRegistry.makeSinks(for: [integration], environment: runtime.live.environment) {
            case .failure(let error):
                throw ConfigurationRefusal(
                    problems: error.problems.map {
                        ConfigProblem(path: $0.path.hasPrefix(".") ? String($0.path.dropFirst()) : $0.path, message: $0.message)
                    }
                )
            case .success(let sinks):
                for sink in sinks.values { Task { await sink.shutdown() } }
            }
            integration.path = "integration '\(integration.name)'"
            return integration
        }
    }

    private func seal(_ item: [String: JSONValue], type: String) throws -> [String: JSONValue] {
        do {
            return try runtime.live.sealed(item, type: type)
        } catch {
            throw APIError(status: .conflict, reason: "secrets_key_required", message: error.message)
        }
    }

    private static func containsMask(_ value: JSONValue?, kind: IntegrationField.Kind) -> Bool {
        switch value {
        case .string(LiveConfiguration.mask)?: true
        case .object(let map)? where kind == .secretMap: map.values.contains(.string(LiveConfiguration.mask))
        default: false
        }
    }

    /// What the audit log says of an integration: its type and the keys set, never a value.
    private static func describe(_ integration: IntegrationConfig) -> String {
        "type \(integration.type); settings: \(integration.settings.keys.sorted().joined(separator: ", "))"
    }

    private func audit(_ caller: Caller, _ action: String, _ target: String, _ detail: String) -> AuditEntry {
        AuditEntry(at: runtime.clock(), actor: caller.subject, action: action, target: target, detail: detail)
    }

    /// Runs a store write, answering its refusals as 404 and 409 and its failures as 503.
    private func storing(name: String, _ write: () async throws -> Void) async throws {
        do {
            try await write()
        } catch AdminStoreError.alreadyExists {
            throw APIError(status: .conflict, reason: "already_exists", message: "'\(name)' exists already")
        } catch AdminStoreError.notFound {
            throw APIError(status: .notFound, reason: "not_found", message: "'\(name)' does not exist")
        } catch {
            runtime.logger.error("cannot store a configuration change", metadata: ["target": "\(name)", "error": "\(error)"])
            throw APIError(status: .serviceUnavailable, reason: "store_unavailable", message: "the change could not be stored; nothing changed")
        }
    }

    /// Applies a stored change on this instance before answering. Should the reload fail, the change is stored and
    /// the periodic version check applies it.
    private func reloadAfterChange() async throws {
        do {
            try await runtime.live.reload()
        } catch {
            runtime.logger.error("cannot reload the configuration after a change", metadata: ["error": "\(error)"])
        }
    }

    private func reloaded(_ name: String) async throws -> IntegrationView {
        try await reloadAfterChange()
        guard let view = await integrationView(named: name) else { throw notFound(name) }
        return view
    }

    /// The body as a JSON object.
    private func itemBody(_ request: Request) async throws -> [String: JSONValue] {
        let bytes = try await collect(request, api: "configuration")
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw APIError(status: .badRequest, reason: "malformed_json", message: "the body is not valid JSON: \(error.message)")
        }
        guard case .object(let object) = value else { throw invalid("(body)", "expected a JSON object, got \(value.typeName)") }
        return object
    }

    private func invalid(_ path: String, _ message: String) -> ConfigurationRefusal {
        ConfigurationRefusal(problems: [ConfigProblem(path: path, message: message)])
    }

    private func notFound(_ name: String) -> APIError {
        APIError(status: .notFound, reason: "not_found", field: "name", message: "no integration named '\(name)'")
    }
}

extension IntegrationView {
    fileprivate mutating func managed(_ row: ManagedIntegration) {
        source = "managed"
        editable = true
        updatedAt = row.updatedAt
        updatedBy = row.updatedBy
        if case .object(let object)? = try? JSONParser.parse(Array(row.body.utf8)) {
            item = IntegrationFields.masked(object, type: row.type, mask: LiveConfiguration.mask)
        }
    }
}
