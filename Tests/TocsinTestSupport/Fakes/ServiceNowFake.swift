import Foundation
import Synchronization

/// A ServiceNow instance on loopback, as far as Tocsin uses one: the Table API's `incident` table (create, query with
/// an encoded query, update) and Event Management's `/api/global/em/jsonv2`, behind Basic authentication.
///
/// Answers follow the documented and observed ones (docs/sinks/servicenow.md lists the sources): 201 with
/// `Location` and `{"result":{…}}` on create, 200 `{"result":[…]}` on a query (version 1 of the API answers 404
/// "No Record found" instead of an empty list), the `{"error":{"message","detail"},"status":"failure"}` body of every
/// refusal, 401 without valid credentials, 403 "Data Policy Exception" when a resolve lacks mandatory fields, and
/// 429 with `Retry-After` and `X-RateLimit-*` from the rate limiter. Failures can be injected per operation.
///
/// As on a real instance, a resolved incident (state 6) stays `active` until it is closed (7) or canceled (8).
public final class ServiceNowFake: Sendable {
    public struct Incident: Sendable, Hashable {
        public var sysID: String
        public var number: String
        /// Every stored column, as strings (what the Table API returns).
        public var fields: [String: String]
        /// `work_notes` written to the incident, oldest first (a journal: each write adds an entry).
        public var workNotes: [String]

        public var state: String { fields["state"] ?? "" }
        public var isActive: Bool { !["7", "8"].contains(state) }
        public subscript(_ field: String) -> String? { fields[field] }
    }

    /// An Event Management alert: the events that share a `message_key`.
    public struct Alert: Sendable, Hashable {
        public var messageKey: String
        public var severity: String
        /// `Open` until an event with severity 0 or `resolution_state: Closing` arrives, then `Closed`.
        public var state: String
        public var eventCount: Int
    }

    /// A request the fake refuses or mishandles on purpose.
    public enum Failure: Sendable {
        /// 400 with the body ServiceNow gives a request it cannot read.
        case badRequest
        /// 401 "User Not Authenticated", whatever the credentials.
        case unauthorized
        /// 403 "ACL Exception".
        case forbidden
        /// 429 from the rate limiter; `resetAt` becomes `X-RateLimit-Reset` (Unix time).
        case rateLimited(retryAfter: String?, resetAt: Date?)
        /// A 5xx with the instance's HTML error page.
        case serverError(Int)
        /// Does the work at once but answers only after `delay` (the client gives up first).
        case slow(Duration)
        /// Does the work but answers only after 30 seconds: the client gives up first and never learns it succeeded.
        case answerLost
    }

    public enum Operation: Sendable, Hashable {
        case find, create, update, pushEvent, any
    }

    public let username: String
    public let password: String
    /// Columns a resolve (state 6 or 7) must carry, as a data policy on the instance demands; empty by default.
    public let mandatoryOnResolve: [String]
    /// The Table API version behind `/api/now/table/…`: 2 answers an empty list when nothing matches, 1 a 404.
    public let tableAPIVersion: Int
    /// Every answer quotes the request back (method, path and query, headers, body): in the detail of refusals and
    /// in the `number` of the records a query, create or update returns (the field the sink quotes on success).
    public let echo: Bool

    private struct State {
        var incidents: [Incident] = []
        var events: [[String: String]] = []
        var alerts: [String: Alert] = [:]
        var failures: [(operation: Operation, failure: Failure)] = []
        var nextNumber = 10001
    }

    private let state = Mutex(State())

    public init(username: String, password: String, mandatoryOnResolve: [String] = [], tableAPIVersion: Int = 2, echo: Bool = false) {
        self.username = username
        self.password = password
        self.mandatoryOnResolve = mandatoryOnResolve
        self.tableAPIVersion = tableAPIVersion
        self.echo = echo
    }

    // MARK: state for assertions

    public var incidents: [Incident] { state.withLock { $0.incidents } }

    /// Every Event Management record received, in order, its values as strings.
    public var events: [[String: String]] { state.withLock { $0.events } }

    public var alerts: [String: Alert] { state.withLock { $0.alerts } }

    public func incident(correlationID: String) -> [Incident] {
        incidents.filter { $0["correlation_id"] == correlationID }
    }

    /// Adds an incident as if someone had created it on the instance.
    @discardableResult
    public func insertIncident(_ fields: [String: String]) -> Incident {
        state.withLock { Self.create(fields, in: &$0) }
    }

    /// The next `times` requests of that operation fail with `failure` (queued after failures already injected).
    public func fail(_ operation: Operation, with failure: Failure, times: Int = 1) {
        state.withLock { state in
            for _ in 0..<times { state.failures.append((operation, failure)) }
        }
    }

    /// Runs a peer answering as this instance for the duration of `body`.
    public func serve<T>(_ body: (ScriptedPeer) async throws -> T) async throws -> T {
        try await ScriptedPeer.run { peer in
            peer.handle { [self] request in answer(request) }
            return try await body(peer)
        }
    }

    // MARK: answers

    static let incidentTable = "/api/now/table/incident"

    /// `/api/now[/v1|/v2]/table/incident[/<sys_id>]`: the version (nil for the default) and the sys_id, or nil for
    /// any other path.
    static func incidentPath(_ path: String) -> (version: Int?, sysID: String?)? {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 5, parts[0].isEmpty, parts[1] == "api", parts[2] == "now" else { return nil }
        parts.removeFirst(3)
        var version: Int?
        if parts[0] == "v1" || parts[0] == "v2" { version = Int(parts.removeFirst().dropFirst()) }
        guard parts.count == 2 || parts.count == 3, parts[0] == "table", parts[1] == "incident" else { return nil }
        if parts.count == 3 && parts[2].isEmpty { return nil }
        return (version, parts.count == 3 ? parts[2] : nil)
    }

    public func answer(_ request: RecordedRequest) -> ScriptedAnswer {
        let expected = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        guard request.header("Authorization") == expected else {
            return Self.error(
                401,
                "User Not Authenticated",
                "Required to provide Auth information",
                headers: ["WWW-Authenticate": "BASIC realm=\"Service-now\""],
                echo: echoText(request)
            )
        }
        let operation = Self.operation(of: request)
        let injected: Failure? = state.withLock { state in
            guard let index = state.failures.firstIndex(where: { $0.operation == .any || $0.operation == operation }) else { return nil }
            return state.failures.remove(at: index).failure
        }
        guard let injected else { return perform(request) }
        switch injected {
        case .badRequest:
            return Self.error(400, "Exception while reading request", "Cannot decode: java.io.StringReader@3d2c1b0a", echo: echoText(request))
        case .unauthorized:
            return Self.error(401, "User Not Authenticated", "Required to provide Auth information", echo: echoText(request))
        case .forbidden:
            return Self.error(403, "Operation Failed", "ACL Exception Insert Failed due to security constraints", echo: echoText(request))
        case .rateLimited(let retryAfter, let resetAt):
            var headers = ["X-RateLimit-Limit": "100", "X-RateLimit-Rule": "8b1f3a2e5c7d4e6f9a0b1c2d3e4f5a6b"]
            if let retryAfter { headers["Retry-After"] = retryAfter }
            if let resetAt { headers["X-RateLimit-Reset"] = String(Int64(resetAt.timeIntervalSince1970)) }
            return Self.error(
                429,
                "Rate limit exceeded",
                "The rate limit rule for this user allows 100 requests per hour",
                headers: headers,
                echo: echoText(request)
            )
        case .serverError(let code):
            let page =
                "<html><head><title>ServiceNow</title></head><body>Instance unavailable\(echoText(request).map { ": \($0)" } ?? "")</body></html>"
            return .status(code, headers: ["Content-Type": "text/html"], body: page)
        case .slow(let delay):
            return .after(delay, perform(request))
        case .answerLost:
            return .after(.seconds(30), perform(request))
        }
    }

    static func operation(of request: RecordedRequest) -> Operation {
        switch (request.method, request.path) {
        case ("POST", "/api/global/em/jsonv2"): .pushEvent
        case ("GET", _): .find
        case ("POST", _): .create
        default: .update
        }
    }

    private func perform(_ request: RecordedRequest) -> ScriptedAnswer {
        if request.method == "POST" && request.path == "/api/global/em/jsonv2" { return pushEvents(request) }
        guard let target = Self.incidentPath(request.path) else {
            return Self.error(400, "Invalid table", nil, echo: echoText(request))
        }
        let version = target.version ?? tableAPIVersion
        let sysID = target.sysID
        switch (request.method, sysID) {
        case ("GET", nil): return query(request, version: version)
        case ("POST", nil): return create(request)
        case ("PATCH", let sysID?), ("PUT", let sysID?): return update(request, sysID: sysID)
        default: return Self.error(405, "Method not Supported", "The \(request.method) method is not supported here", echo: echoText(request))
        }
    }

    /// `GET …/incident?sysparm_query=…&sysparm_fields=…&sysparm_limit=…`. The encoded query supports `=`, `!=`,
    /// `NOT IN`, `ORDERBY`/`ORDERBYDESC` and `^` between conditions; like ServiceNow it ignores what it cannot read.
    private func query(_ request: RecordedRequest, version: Int) -> ScriptedAnswer {
        var matches = incidents
        var order: (field: String, descending: Bool)?
        for condition in (request.queryValue("sysparm_query") ?? "").split(separator: "^").map(String.init) {
            if condition.hasPrefix("ORDERBYDESC") {
                order = (String(condition.dropFirst("ORDERBYDESC".count)), true)
            } else if condition.hasPrefix("ORDERBY") {
                order = (String(condition.dropFirst("ORDERBY".count)), false)
            } else if let range = condition.range(of: "NOT IN") {
                let field = String(condition[..<range.lowerBound])
                let values = Set(condition[range.upperBound...].split(separator: ",").map(String.init))
                matches.removeAll { values.contains(Self.value(of: field, in: $0)) }
            } else if let range = condition.range(of: "!=") {
                let field = String(condition[..<range.lowerBound])
                let value = String(condition[range.upperBound...])
                matches.removeAll { Self.value(of: field, in: $0) == value }
            } else if let range = condition.range(of: "=") {
                let field = String(condition[..<range.lowerBound])
                let value = String(condition[range.upperBound...])
                matches.removeAll { Self.value(of: field, in: $0) != value }
            }
        }
        if let order {
            matches.sort { lhs, rhs in
                let (left, right) = (Self.value(of: order.field, in: lhs), Self.value(of: order.field, in: rhs))
                return order.descending ? left > right : left < right
            }
        }
        if let limit = request.queryValue("sysparm_limit").flatMap(Int.init) { matches = Array(matches.prefix(limit)) }
        if matches.isEmpty && version == 1 {
            return Self.error(
                404,
                "No Record found",
                "Records matching query not found. Check query parameter or offset parameter",
                echo: echoText(request)
            )
        }
        let fields = request.queryValue("sysparm_fields").map { Set($0.split(separator: ",").map(String.init)) }
        let echo = echoText(request)
        let results = matches.map { incident in
            var record = Self.record(incident).filter { fields?.contains($0.key) ?? true }
            if let echo, record["number"] != nil { record["number"] = "\(incident.number) \(echo)" }
            return record
        }
        return Self.json(200, ["result": results])
    }

    private func create(_ request: RecordedRequest) -> ScriptedAnswer {
        guard let body = request.jsonObject() else {
            return Self.error(400, "Exception while reading request", "Cannot decode: java.io.StringReader@3d2c1b0a", echo: echoText(request))
        }
        let incident = state.withLock { Self.create(Self.strings(body), in: &$0) }
        var result = Self.record(incident)
        if let echo = echoText(request) { result["number"] = "\(incident.number) \(echo)" }
        return Self.json(201, ["result": result], headers: ["Location": "http://127.0.0.1\(Self.incidentTable)/\(incident.sysID)"])
    }

    private func update(_ request: RecordedRequest, sysID: String) -> ScriptedAnswer {
        guard let body = request.jsonObject() else {
            return Self.error(400, "Exception while reading request", "Cannot decode: java.io.StringReader@3d2c1b0a", echo: echoText(request))
        }
        let changes = Self.strings(body)
        let outcome: Result<Incident, ScriptedAnswerBox> = state.withLock { state in
            guard let index = state.incidents.firstIndex(where: { $0.sysID == sysID }) else {
                return .failure(
                    ScriptedAnswerBox(
                        answer: Self.error(
                            404,
                            "No Record found",
                            "Record doesn't exist or ACL restricts the record retrieval",
                            echo: echoText(request)
                        )
                    )
                )
            }
            var incident = state.incidents[index]
            let newState = changes["state"] ?? incident.state
            if ["6", "7"].contains(newState) {
                let missing = mandatoryOnResolve.filter { (changes[$0] ?? incident.fields[$0] ?? "").isEmpty }
                if !missing.isEmpty {
                    let names = missing.map { Self.labels[$0] ?? $0 }.joined(separator: ", ")
                    return .failure(
                        ScriptedAnswerBox(
                            answer: Self.error(
                                403,
                                "Operation Failed",
                                "Data Policy Exception: \n\tThe following fields are mandatory: \(names)",
                                echo: echoText(request)
                            )
                        )
                    )
                }
            }
            Self.apply(changes, to: &incident)
            state.incidents[index] = incident
            return .success(incident)
        }
        switch outcome {
        case .failure(let box): return box.answer
        case .success(let incident):
            var result = Self.record(incident)
            if let echo = echoText(request) { result["number"] = "\(incident.number) \(echo)" }
            return Self.json(200, ["result": result])
        }
    }

    private func pushEvents(_ request: RecordedRequest) -> ScriptedAnswer {
        guard let records = request.jsonObject()?["records"] as? [[String: Any]] else {
            return Self.error(400, "Exception while reading request", "Cannot decode: java.io.StringReader@3d2c1b0a", echo: echoText(request))
        }
        state.withLock { state in
            for record in records {
                let event = Self.strings(record)
                state.events.append(event)
                let key =
                    event["message_key"].flatMap { $0.isEmpty ? nil : $0 }
                    ?? ["source", "node", "type", "resource", "metric_name"].map { event[$0] ?? "" }.joined()
                let closes = event["severity"] == "0" || event["resolution_state"] == "Closing"
                var alert = state.alerts[key] ?? Alert(messageKey: key, severity: event["severity"] ?? "", state: "Open", eventCount: 0)
                alert.eventCount += 1
                if closes {
                    alert.state = "Closed"
                } else {
                    alert.state = "Open"
                    alert.severity = event["severity"] ?? alert.severity
                }
                state.alerts[key] = alert
            }
        }
        var result: [String: Any] = ["Default Bulk Endpoint": "\(records.count) events were inserted"]
        if let echo = echoText(request) { result["echo"] = echo }
        return Self.json(200, ["result": result])
    }

    // MARK: records

    private struct ScriptedAnswerBox: Error {
        var answer: ScriptedAnswer
    }

    /// Columns the fake keeps; like ServiceNow, it ignores any other field silently.
    static let columns: Set<String> = [
        "short_description", "description", "urgency", "impact", "caller_id", "assignment_group", "assigned_to", "category",
        "subcategory", "cmdb_ci", "correlation_id", "correlation_display", "close_code", "close_notes", "state", "contact_type",
    ]

    /// The form labels ServiceNow names mandatory columns by.
    static let labels = ["close_code": "Resolution code", "close_notes": "Close notes", "assigned_to": "Assigned to"]

    private static func create(_ fields: [String: String], in state: inout State) -> Incident {
        let number = String(format: "INC%07d", state.nextNumber)
        let created = String(format: "2026-01-01 00:%02d:%02d", (state.nextNumber - 10001) / 60 % 60, (state.nextNumber - 10001) % 60)
        state.nextNumber += 1
        let sysID = (0..<32).map { _ in String("0123456789abcdef".randomElement() ?? "0") }.joined()
        var incident = Incident(
            sysID: sysID,
            number: number,
            fields: ["state": "1", "urgency": "3", "impact": "3", "sys_created_on": created, "correlation_id": "", "short_description": ""],
            workNotes: []
        )
        apply(fields, to: &incident)
        state.incidents.append(incident)
        return incident
    }

    private static func apply(_ changes: [String: String], to incident: inout Incident) {
        for (field, value) in changes where columns.contains(field) { incident.fields[field] = value }
        if let note = changes["work_notes"], !note.isEmpty { incident.workNotes.append(note) }
        incident.fields["priority"] = String(priority(urgency: incident.fields["urgency"], impact: incident.fields["impact"]))
    }

    /// The base system's priority lookup: urgency + impact − 1, capped to 1…5 (1/1 → 1, 1/2 → 2, 2/2 → 3, 3/3 → 5).
    static func priority(urgency: String?, impact: String?) -> Int {
        let urgency = urgency.flatMap(Int.init) ?? 3
        let impact = impact.flatMap(Int.init) ?? 3
        return min(5, max(1, urgency + impact - 1))
    }

    private static func record(_ incident: Incident) -> [String: String] {
        var record = incident.fields
        record["sys_id"] = incident.sysID
        record["number"] = incident.number
        record["active"] = incident.isActive ? "true" : "false"
        record["work_notes"] = ""
        return record
    }

    private static func value(of field: String, in incident: Incident) -> String {
        record(incident)[field] ?? ""
    }

    private static func strings(_ object: [String: Any]) -> [String: String] {
        object.compactMapValues { value in
            switch value {
            case let text as String: text
            case let number as NSNumber: number.stringValue
            case is NSNull: nil
            default: (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
            }
        }
    }

    // MARK: wire

    private func echoText(_ request: RecordedRequest) -> String? {
        guard echo else { return nil }
        var text = "you sent \(request.method) \(request.path)\(request.query.isEmpty ? "" : "?" + request.query)"
        for (name, value) in request.headers { text += " | \(name): \(value)" }
        return text + " | body: " + request.bodyText
    }

    static func json(_ status: Int, _ body: [String: Any], headers: [String: String] = [:]) -> ScriptedAnswer {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return .json(status, String(decoding: data, as: UTF8.self), headers: headers)
    }

    /// ServiceNow's error body.
    static func error(_ status: Int, _ message: String, _ detail: String?, headers: [String: String] = [:], echo: String? = nil) -> ScriptedAnswer {
        var error: [String: Any] = ["message": message, "detail": detail.map { $0 as Any } ?? NSNull()]
        if let echo { error["detail"] = (detail.map { $0 + " " } ?? "") + echo }
        return json(status, ["error": error, "status": "failure"], headers: headers)
    }
}
