import Foundation
import NIOHTTP1
import TocsinCore

/// Opens, raises and resolves ServiceNow incidents through the Table API (found again by `correlation_id`), or
/// pushes events to Event Management (grouped into alerts by `message_key`).
public struct ServiceNowSink: Sink {
    public let configuration: ServiceNowConfiguration
    let transport: HTTPTransport
    let redactor: SecretRedactor
    let publicURL: String?
    let now: @Sendable () -> Date

    /// ServiceNow has no built-in limit: instances define their own per-hour rules. An incident delivery makes two
    /// requests (find, then create or update), so 60 deliveries a minute stays within the limits instances
    /// commonly set for an integration user.
    public static let defaultRateLimit = RateLimit(count: 60, period: .seconds(60))

    public static let factory = SinkFactory(type: "servicenow", defaultRateLimit: defaultRateLimit) { integration, environment in
        ServiceNowConfiguration.parse(integration, publicURL: environment.publicURL).map {
            ServiceNowSink(configuration: $0, transport: environment.http, publicURL: environment.publicURL, now: environment.now)
        }
    }

    public init(
        configuration: ServiceNowConfiguration,
        transport: HTTPTransport,
        publicURL: String? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.redactor = configuration.redactor
        self.publicURL = publicURL
        self.now = now
    }

    public static let incidentPath = "/api/now/table/incident"
    public static let eventPath = "/api/global/em/jsonv2"

    public func deliver(_ outbound: OutboundNotification) async -> SinkResult {
        let type = outbound.notification.type
        if type == .notification && configuration.notifications == .skip {
            return SinkResult(outcome: .delivered, detail: "one-off notification not sent to ServiceNow (notifications: skip)")
        }
        // ServiceNow does not forward acknowledgements, so none is ever queued for it. One that came anyway is
        // dropped rather than sent like an open: that would open an incident for an alert someone is already on.
        if type == .acknowledge {
            return SinkResult(outcome: .delivered, detail: "acknowledgement not sent to ServiceNow (it does not forward acknowledgements)")
        }
        let context = MessageContext(outbound, publicURL: publicURL)
        let deadline = ContinuousClock.now + configuration.timeout
        do {
            switch (configuration.mode, type) {
            case (.event, _): return try await pushEvent(outbound, context: context, deadline: deadline)
            case (.incident, .resolve): return try await resolveIncident(outbound, context: context, deadline: deadline)
            case (.incident, _): return try await openIncident(outbound, context: context, deadline: deadline)
            }
        } catch {
            return error.result
        }
    }

    // MARK: incident mode

    /// An open incident as the find returns it.
    struct FoundIncident {
        var sysID: String
        var number: String
        var level: ServiceNowPayload.IncidentLevel?
    }

    /// Creates the incident, or, when one is already open for the alert (a retried create whose answer was lost,
    /// or an escalation), raises its urgency and impact to the new severity's. Levels are never lowered: a person
    /// may have raised them in ServiceNow.
    func openIncident(_ outbound: OutboundNotification, context: MessageContext, deadline: ContinuousClock.Instant) async throws(AttemptEnded)
        -> SinkResult
    {
        let correlationID = ServiceNowPayload.correlationID(for: outbound.notification)
        let mapped = ServiceNowPayload.incidentLevel(outbound.notification.event.severity)
        guard let found = try await findOpenIncident(correlationID: correlationID, deadline: deadline) else {
            let body = ServiceNowPayload.createIncident(outbound, configuration: configuration, context: context)
            let answer = try await send(.POST, path: Self.incidentPath, body: body, deadline: deadline, step: "create incident")
            guard (200..<300).contains(answer.status) else { throw failure(answer, step: "create incident") }
            let number = Self.record(in: answer)?["number"]?.stringValue ?? "an incident"
            return delivered(answer, "created \(number) (correlation_id \(correlationID))")
        }
        let current = found.level ?? mapped
        let target = ServiceNowPayload.IncidentLevel(urgency: min(current.urgency, mapped.urgency), impact: min(current.impact, mapped.impact))
        if found.level == target {
            return SinkResult(
                outcome: .delivered,
                statusCode: 200,
                detail: redactor.redact(
                    "\(found.number) is already open with urgency \(target.urgency) and impact \(target.impact): nothing to change"
                )
            )
        }
        let body = ServiceNowPayload.updateIncident(level: target, configuration: configuration, context: context)
        let answer = try await send(
            .PATCH,
            path: Self.incidentPath + "/" + Self.percentEncoded(found.sysID),
            body: body,
            deadline: deadline,
            step: "update incident"
        )
        guard (200..<300).contains(answer.status) else { throw failure(answer, step: "update incident") }
        return delivered(answer, "updated \(found.number): urgency \(target.urgency), impact \(target.impact)")
    }

    /// Resolves the open incident of the alert; with none open there is nothing to do.
    func resolveIncident(_ outbound: OutboundNotification, context: MessageContext, deadline: ContinuousClock.Instant) async throws(AttemptEnded)
        -> SinkResult
    {
        let correlationID = ServiceNowPayload.correlationID(for: outbound.notification)
        guard let found = try await findOpenIncident(correlationID: correlationID, deadline: deadline) else {
            return SinkResult(
                outcome: .delivered,
                statusCode: 200,
                detail: "no open incident with correlation_id \(correlationID): nothing to resolve"
            )
        }
        let body = ServiceNowPayload.resolveIncident(configuration: configuration, context: context)
        let answer = try await send(
            .PATCH,
            path: Self.incidentPath + "/" + Self.percentEncoded(found.sysID),
            body: body,
            deadline: deadline,
            step: "resolve incident"
        )
        guard (200..<300).contains(answer.status) else { throw failure(answer, step: "resolve incident") }
        return delivered(answer, "resolved \(found.number)")
    }

    /// The newest open incident with the correlation id. The default (latest) Table API answers 200 with an empty
    /// list when nothing matches; version 1 answers 404 "No Record found", which means the same. Any other 404 (a
    /// wrong URL) is a failure.
    func findOpenIncident(correlationID: String, deadline: ContinuousClock.Instant) async throws(AttemptEnded) -> FoundIncident? {
        let query = [
            ("sysparm_query", ServiceNowPayload.openIncidentQuery(correlationID: correlationID, resolveState: configuration.resolveState)),
            ("sysparm_fields", ServiceNowPayload.foundFields),
            ("sysparm_limit", "1"),
        ]
        let answer = try await send(.GET, path: Self.incidentPath, query: query, body: nil, deadline: deadline, step: "find incident")
        if answer.status == 404 && Self.serviceNowError(in: answer)?.message == "No Record found" { return nil }
        guard answer.status == 200 else { throw failure(answer, step: "find incident") }
        guard let parsed = try? JSONParser.parse(Array(answer.bodyPrefix.utf8)), let results = parsed.objectValue?["result"]?.arrayValue else {
            throw AttemptEnded(
                result: SinkResult(
                    outcome: .permanent,
                    statusCode: answer.status,
                    detail: redactor.redact("find incident: the answer is not a Table API result: \(answer.bodyPrefix)")
                )
            )
        }
        guard let first = results.first?.objectValue else { return nil }
        guard let sysID = first["sys_id"]?.stringValue, !sysID.isEmpty else {
            throw AttemptEnded(
                result: SinkResult(outcome: .permanent, statusCode: answer.status, detail: "find incident: the incident found has no sys_id")
            )
        }
        var level: ServiceNowPayload.IncidentLevel?
        if let urgency = first["urgency"]?.stringValue.flatMap(Int.init), let impact = first["impact"]?.stringValue.flatMap(Int.init) {
            level = ServiceNowPayload.IncidentLevel(urgency: urgency, impact: impact)
        }
        return FoundIncident(sysID: sysID, number: first["number"]?.stringValue ?? sysID, level: level)
    }

    // MARK: event mode

    func pushEvent(_ outbound: OutboundNotification, context: MessageContext, deadline: ContinuousClock.Instant) async throws(AttemptEnded)
        -> SinkResult
    {
        let body = ServiceNowPayload.event(outbound, configuration: configuration, context: context)
        let answer = try await send(.POST, path: Self.eventPath, body: body, deadline: deadline, step: "push event")
        guard (200..<300).contains(answer.status) else { throw failure(answer, step: "push event") }
        let key = ServiceNowPayload.correlationID(for: outbound.notification)
        let action = outbound.notification.type == .resolve ? "cleared" : "sent"
        return delivered(answer, "event \(action) with message_key \(key)")
    }

    // MARK: HTTP

    /// The attempt ended before its last request: its result.
    struct AttemptEnded: Error {
        var result: SinkResult
    }

    /// One request of the attempt, within what is left of the attempt's timeout.
    func send(
        _ method: HTTPMethod,
        path: String,
        query: [(String, String)] = [],
        body: JSONValue?,
        deadline: ContinuousClock.Instant,
        step: String
    ) async throws(AttemptEnded) -> HTTPAnswer {
        var url = configuration.baseURL + path
        if !query.isEmpty { url += "?" + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&") }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else {
            let timeout = HTTPTransportTimeout(timeout: configuration.timeout)
            throw AttemptEnded(result: SinkResult(outcome: .retryable(retryAfter: nil), detail: "\(step): \(timeout)"))
        }
        var headers: [(String, String)] = [
            ("Accept", "application/json"),
            ("Authorization", "Basic " + Data("\(configuration.username):\(configuration.password.exposedValue)".utf8).base64EncodedString()),
            ("User-Agent", "Tocsin/\(TocsinVersion.current)"),
        ]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            return try await transport.send(method, url: url, headers: headers, body: body.map(JSONWriter.write), timeout: remaining)
        } catch {
            throw AttemptEnded(
                result: SinkResult(outcome: .retryable(retryAfter: nil), detail: redactor.redact("\(step): \(redactedURL(url)): \(error)"))
            )
        }
    }

    /// A refusal: 429 and 5xx (and 408) are retryable, at the time `Retry-After` gives or, failing that, at the
    /// `X-RateLimit-Reset` time of ServiceNow's rate limiter; anything else is permanent. The detail quotes
    /// ServiceNow's error message and detail, or the start of the body, with every secret removed.
    func failure(_ answer: HTTPAnswer, step: String) -> AttemptEnded {
        let current = now()
        var retryAfter = HTTPStatusClassifier.parseRetryAfter(answer.header("Retry-After"), now: current)
        if retryAfter == nil, answer.status == 429,
            let reset = answer.header("X-RateLimit-Reset").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) })
        {
            retryAfter = .seconds(max(0, Int64((reset - current.timeIntervalSince1970).rounded(.up))))
        }
        let outcome = HTTPStatusClassifier.classify(status: answer.status, retryAfter: retryAfter)
        let said: String
        if let error = Self.serviceNowError(in: answer) {
            said = error.detail.map { "\(error.message): \($0)" } ?? error.message
        } else {
            said = answer.bodyPrefix
        }
        return AttemptEnded(
            result: SinkResult(outcome: outcome, statusCode: answer.status, detail: redactor.redact("\(step): HTTP \(answer.status): \(said)"))
        )
    }

    func delivered(_ answer: HTTPAnswer, _ detail: String) -> SinkResult {
        SinkResult(outcome: .delivered, statusCode: answer.status, detail: redactor.redact(detail))
    }

    /// ServiceNow's error body: `{"error":{"message":…,"detail":…},"status":"failure"}`.
    static func serviceNowError(in answer: HTTPAnswer) -> (message: String, detail: String?)? {
        guard let parsed = try? JSONParser.parse(Array(answer.bodyPrefix.utf8)), let error = parsed.objectValue?["error"]?.objectValue,
            let message = error["message"]?.stringValue
        else { return nil }
        let detail = error["detail"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return (message, detail)
    }

    /// The `result` object of a create or update answer.
    static func record(in answer: HTTPAnswer) -> [String: JSONValue]? {
        (try? JSONParser.parse(Array(answer.bodyPrefix.utf8)))?.objectValue?["result"]?.objectValue
    }

    /// Percent-encodes everything but unreserved characters: the `^`, `=`, `,` and spaces of an encoded query, and
    /// anything a sys_id from the peer might hold that has a meaning in a path.
    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .unreservedURLCharacters) ?? text
    }
}

extension CharacterSet {
    /// RFC 3986 unreserved characters.
    fileprivate static let unreservedURLCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}
