import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TocsinCore
import TocsinSinks
import TocsinStore

/// The HTTP API: native ingest, Alertmanager-compatible ingest, queries, deliveries, routing preview,
/// metrics and health.
struct API: Sendable {
    let runtime: TocsinRuntime

    var settings: ServerSettings { runtime.configuration.server }
    var limits: IngestLimits {
        IngestLimits(maxEvents: settings.maxEventsPerRequest, resolveTimeout: settings.resolveTimeout)
    }

    func register(on endpoints: EndpointRegistrar) {
        endpoints.post("/api/v1/events", .ingest) { request, _, _ in try await postEvents(request) }
        endpoints.post("/api/v1/logs", .ingest) { request, _, _ in try await postRecords(request, kind: .log) }
        endpoints.post("/api/v1/metrics", .ingest) { request, _, _ in try await postRecords(request, kind: .metric) }
        endpoints.post("/api/v2/alerts", .ingest) { request, _, _ in try await postAlertmanagerAlerts(request) }
        endpoints.get("/api/v1/alerts", .viewer) { request, _, _ in try await getAlerts(request) }
        endpoints.get("/api/v1/events", .viewer) { request, _, _ in try await getEvents(request) }
        endpoints.get("/api/v1/deliveries", .viewer) { request, _, _ in try await getDeliveries(request) }
        endpoints.post("/api/v1/deliveries/{id}/retry", .editor) { _, context, _ in
            try await retryDelivery(try context.parameters.require("id"))
        }
        endpoints.get("/api/v1/integrations", .viewer) { _, _, _ in try listIntegrations() }
        endpoints.post("/api/v1/integrations/{name}/test", .editor) { _, context, _ in
            try await testIntegration(try context.parameters.require("name"))
        }
        endpoints.post("/api/v1/route-preview", .viewer) { request, _, _ in try await routePreview(request) }
        endpoints.get("/api/v1/catalogue", .viewer) { _, _, _ in try catalogue() }
        registerNoiseControl(on: endpoints)
        registerAccess(on: endpoints)
        registerManagedConfiguration(on: endpoints)
        registerConsole(on: endpoints)
        endpoints.get("/api/v1/openapi.yaml", .public) { _, _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/yaml; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        endpoints.get("/metrics", .viewer) { _, _, _ in try await metrics() }
        endpoints.get("/healthz", .public) { _, _, _ in try JSONResponse.make(["status": "ok"]) }
        endpoints.get("/readyz", .public) { _, _, _ in try await ready() }
        endpoints.get("/-/healthy", .public) { _, _, _ in JSONResponse.text("OK") }
        endpoints.get("/-/ready", .public) { _, _, _ in
            do {
                try await runtime.store.ping()
                return JSONResponse.text("OK")
            } catch {
                return JSONResponse.text("store unavailable", status: .serviceUnavailable)
            }
        }
    }

    // MARK: ingest

    struct Accepted: Encodable {
        struct Item: Encodable {
            var id: String
            /// What processing did; `duplicate` when the id was stored before.
            var outcome: String
            var integrations: [String]
        }

        var accepted: [Item]
        /// The log records and metric samples of the body, each stream stored as one batch.
        var logs: Ingestor.RecordsResult?
        var metrics: Ingestor.RecordsResult?
    }

    func postEvents(_ request: Request) async throws -> Response {
        let body = try await collect(request, api: "native")
        let decoded: NativeEventDecoder.Decoded
        do {
            decoded = try NativeEventDecoder.decodeAll(body, limits: limits, catalogue: runtime.configuration.catalogue, now: runtime.clock())
        } catch {
            runtime.metrics.rejectedRequest(api: "native", reason: error.reason.rawValue)
            throw APIError(error)
        }
        let result = try await commit(decoded.events, logs: decoded.logs, metrics: decoded.metrics, batchID: try batchID(request))
        let items = result.events.map {
            Accepted.Item(id: $0.id, outcome: $0.outcome?.rawValue ?? "duplicate", integrations: $0.integrations)
        }
        return try JSONResponse.make(Accepted(accepted: items, logs: result.logs, metrics: result.metrics), status: .accepted)
    }

    /// `POST /api/v1/logs` and `/api/v1/metrics`: a JSON array, one object, or NDJSON; stored as one batch.
    func postRecords(_ request: Request, kind: EventKind) async throws -> Response {
        let api = kind == .log ? "logs" : "metrics"
        let body = try await collect(request, api: api)
        let now = runtime.clock()
        var logs: [LogRecord] = []
        var samples: [MetricSample] = []
        do {
            if kind == .log {
                logs = try RecordDecoder.logs(body, maxRecords: settings.maxRecordsPerRequest, now: now)
            } else {
                samples = try RecordDecoder.metrics(body, maxRecords: settings.maxRecordsPerRequest, now: now)
            }
        } catch {
            runtime.metrics.rejectedRequest(api: api, reason: error.reason.rawValue)
            throw APIError(error)
        }
        let result = try await commit([], logs: logs, metrics: samples, batchID: try batchID(request))
        return try JSONResponse.make(kind == .log ? result.logs : result.metrics, status: .accepted)
    }

    /// The `Idempotency-Key` header, which names the batch so that a re-sent request stores nothing twice.
    private func batchID(_ request: Request) throws -> String? {
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard (1...200).contains(key.count), key.allSatisfy({ NativeEventDecoder.idCharacters.contains($0) }) else {
            throw APIError(
                status: .badRequest,
                reason: IngestError.Reason.invalidField.rawValue,
                message: "Idempotency-Key must be 1 to 200 characters of letters, digits, '-', '_', '.' or ':'"
            )
        }
        return key
    }

    func postAlertmanagerAlerts(_ request: Request) async throws -> Response {
        let body = try await collect(request, api: "alertmanager")
        let decoded: AlertmanagerAlertDecoder.Decoded
        do {
            decoded = try AlertmanagerAlertDecoder.decode(body, limits: limits, now: runtime.clock())
        } catch {
            runtime.metrics.rejectedRequest(api: "alertmanager", reason: error.reason.rawValue)
            throw APIError(error)
        }
        if decoded.unknownSeverities > 0 { runtime.metrics.unknownSeverityLabels(decoded.unknownSeverities) }
        if decoded.unknownCategories > 0 { runtime.metrics.unknownCategoryLabels(decoded.unknownCategories) }
        _ = try await commit(decoded.events)
        // Alertmanager answers 200 with an empty body; senders such as Prometheus expect exactly that.
        return Response(status: .ok)
    }

    private func commit(_ events: [Event]) async throws -> [IngestedEvent] {
        try await commit(events, logs: [], metrics: [], batchID: nil).events
    }

    private func commit(_ events: [Event], logs: [LogRecord], metrics: [MetricSample], batchID: String?) async throws -> Ingestor.Result {
        do {
            return try await runtime.ingestor.ingest(events, logs: logs, metrics: metrics, batchID: batchID)
        } catch {
            runtime.logger.error(
                "cannot commit events",
                metadata: ["error": "\(error)", "events": "\(events.count)", "logs": "\(logs.count)", "metrics": "\(metrics.count)"]
            )
            throw APIError(
                status: .serviceUnavailable,
                reason: "store_unavailable",
                message: "the events could not be stored; nothing was kept, send them again"
            )
        }
    }

    /// The body, refused with 413 past the configured limit, before anything is parsed.
    func collect(_ request: Request, api: String) async throws -> [UInt8] {
        let limit = settings.maxBodyBytes
        let tooLarge = APIError(
            status: .contentTooLarge,
            reason: IngestError.Reason.bodyTooLarge.rawValue,
            message: "the body is larger than the limit of \(limit) bytes (server.max_body_bytes)"
        )
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            runtime.metrics.rejectedRequest(api: api, reason: tooLarge.reason)
            throw tooLarge
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            runtime.metrics.rejectedRequest(api: api, reason: tooLarge.reason)
            throw tooLarge
        }
    }

    // MARK: queries

    struct AlertList: Encodable {
        var alerts: [AlertRecord]
    }

    func getAlerts(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = AlertFilter(limit: try limit(query, default: 1000))
        if let text = query.get("category") {
            guard let category = Category(rawValue: text) else {
                throw badQuery("category", "unknown category '\(text)'")
            }
            filter.category = category
        }
        if let text = query.get("severity") {
            guard let severity = Severity(rawValue: text) else {
                throw badQuery("severity", "unknown severity '\(text)' (expected info, warning, error or critical)")
            }
            filter.severity = severity
        }
        for matcher in query.getAll("label") {
            guard let equals = matcher.firstIndex(of: "="), equals != matcher.startIndex else {
                throw badQuery("label", "expected name=value, got '\(matcher)'")
            }
            filter.labels[String(matcher[..<equals])] = String(matcher[matcher.index(after: equals)...])
        }
        return try JSONResponse.make(AlertList(alerts: try await runtime.store.openAlerts(filter)))
    }

    struct EventPage: Encodable {
        struct Item: Encodable {
            var sequence: Int64
            var outcome: String
            var integrations: [String]
            var event: Event
        }

        var events: [Item]
        /// Pass as `before` for the next (older) page; absent on the last page.
        var next: Int64?
    }

    func getEvents(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try limit(query, default: 100)
        let before = try sequence(query, "before")
        let events = try await runtime.store.events(before: before, limit: limit)
        let items = events.map { EventPage.Item(sequence: $0.sequence, outcome: $0.outcome.rawValue, integrations: $0.integrations, event: $0.event) }
        return try JSONResponse.make(EventPage(events: items, next: events.count == limit ? events.last?.sequence : nil))
    }

    struct DeliveryPage: Encodable {
        struct Item: Encodable {
            var sequence: Int64
            var delivery: DeliveryRecord
        }

        var deliveries: [Item]
        var next: Int64?
    }

    func getDeliveries(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var status: DeliveryStatus?
        if let text = query.get("status") {
            guard let parsed = DeliveryStatus(rawValue: text) else {
                throw badQuery("status", "unknown status '\(text)' (expected pending, delivered, failed or dead)")
            }
            status = parsed
        }
        let limit = try limit(query, default: 100)
        let rows = try await runtime.store.deliveries(
            status: status,
            integration: query.get("integration"),
            before: try sequence(query, "before"),
            limit: limit
        )
        let items = rows.map { DeliveryPage.Item(sequence: $0.0, delivery: $0.1) }
        return try JSONResponse.make(DeliveryPage(deliveries: items, next: rows.count == limit ? rows.last?.0 : nil))
    }

    func retryDelivery(_ id: String) async throws -> Response {
        do {
            let delivery = try await runtime.store.retryDelivery(id: id, now: runtime.clock())
            runtime.dispatcher.wake([delivery.integration])
            return try JSONResponse.make(["delivery": delivery], status: .accepted)
        } catch RetryRefusal.notFound {
            throw APIError(status: .notFound, reason: "not_found", field: "id", message: "no delivery with id '\(id)'")
        } catch RetryRefusal.notRetryable(let status) {
            throw APIError(
                status: .conflict,
                reason: "not_retryable",
                field: "id",
                message: "the delivery is \(status.rawValue); only failed and dead deliveries can be retried"
            )
        }
    }

    /// Every integration, the file's and the managed ones, with its source and its settings, secrets masked.
    func listIntegrations() throws -> Response {
        try JSONResponse.make(["integrations": currentIntegrationViews()])
    }

    /// Sends a marked test message and reports the service's answer: 200 when it was delivered, 502 when the
    /// service refused it or could not be reached (the body says why either way).
    func testIntegration(_ name: String) async throws -> Response {
        let live = runtime.live.snapshot
        guard let integration = live.integration(named: name), let sink = live.sinks[name] else {
            if let problem = live.unavailable[name] {
                throw APIError(status: .conflict, reason: "unavailable", field: "name", message: problem)
            }
            throw APIError(status: .notFound, reason: "not_found", field: "name", message: "no integration named '\(name)'")
        }
        let result = await IntegrationTester.send(through: sink, integration: integration, now: runtime.clock())
        return try JSONResponse.make(["test": result], status: result.delivered ? .ok : .badGateway)
    }

    struct RoutePreview: Encodable {
        var kind: String
        var category: String
        var severity: String
        var integrations: [String]
        var targets: [RouteTarget]
        var unrouted: Bool
        var note: String?
    }

    func routePreview(_ request: Request) async throws -> Response {
        let body = try await collect(request, api: "route_preview")
        let events: [Event]
        do {
            events = try NativeEventDecoder.decode(
                body,
                limits: IngestLimits(maxEvents: 1),
                catalogue: runtime.configuration.catalogue,
                now: runtime.clock()
            )
        } catch {
            throw APIError(error)
        }
        guard let event = events.first else {
            throw APIError(status: .badRequest, reason: IngestError.Reason.missingField.rawValue, message: "give one event")
        }
        let decision = runtime.live.snapshot.routing.route(event)
        let note =
            event.status == .resolved
            ? "a recovery goes to the integrations that were told the alert opened; this is where it would open now" : nil
        return try JSONResponse.make(
            RoutePreview(
                kind: event.kind.rawValue,
                category: event.category.rawValue,
                severity: event.severity.rawValue,
                integrations: decision.integrations,
                targets: decision.targets,
                unrouted: decision.isUnrouted,
                note: note
            )
        )
    }

    struct CatalogueList: Encodable {
        struct Item: Encodable {
            var type: String
            var category: String
            /// The severity an event of this type gets: the configured override, else the default.
            var severity: String
            var defaultSeverity: String
            var kind: String
            var summary: String
            var description: String
            var source: String
        }

        var entries: [Item]
    }

    /// The known event types, sorted by type, with the configuration's severity overrides applied.
    func catalogue() throws -> Response {
        let catalogue = runtime.configuration.catalogue
        let items = catalogue.entries.map { entry in
            CatalogueList.Item(
                type: entry.type,
                category: entry.category.rawValue,
                severity: (catalogue.severity(of: entry.type) ?? entry.defaultSeverity).rawValue,
                defaultSeverity: entry.defaultSeverity.rawValue,
                kind: entry.kind.rawValue,
                summary: entry.summary,
                description: entry.description,
                source: entry.source
            )
        }
        return try JSONResponse.make(CatalogueList(entries: items))
    }

    // MARK: operations

    func metrics() async throws -> Response {
        if let counts = try? await runtime.store.outboxCounts() {
            runtime.metrics.outboxDepths(counts, integrations: runtime.live.snapshot.integrations.map(\.name))
        }
        return JSONResponse.text(runtime.metrics.registry.emitToString(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    struct Readiness: Encodable {
        var status: String
        var store: String
        var schemaVersion: Int?
    }

    func ready() async throws -> Response {
        do {
            let version = try await runtime.store.schemaVersion()
            return try JSONResponse.make(Readiness(status: "ready", store: "ok", schemaVersion: version))
        } catch {
            return try JSONResponse.make(Readiness(status: "not_ready", store: "unavailable"), status: .serviceUnavailable)
        }
    }

    // MARK: query helpers

    private func badQuery(_ field: String, _ message: String) -> APIError {
        APIError(status: .badRequest, reason: "invalid_query", field: field, message: message)
    }

    func limit(_ query: Parameters, default fallback: Int, maximum: Int = 10_000) throws -> Int {
        guard let text = query.get("limit") else { return fallback }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw badQuery("limit", "expected a whole number from 1 to \(maximum)")
        }
        return value
    }

    func sequence(_ query: Parameters, _ name: String) throws -> Int64? {
        guard let text = query.get(name) else { return nil }
        guard let value = Int64(text), value > 0 else { throw badQuery(name, "expected a positive sequence number") }
        return value
    }
}
