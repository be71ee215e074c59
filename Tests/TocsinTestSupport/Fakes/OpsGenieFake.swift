import Foundation
import Synchronization

/// The Opsgenie Alert API v2 on loopback, as far as Tocsin uses it: `POST /v2/alerts` (create),
/// `POST /v2/alerts/{identifier}/close?identifierType=alias|id` (close) and `GET /v2/alerts/requests/{requestId}`
/// (the outcome of an accepted request), behind `Authorization: GenieKey <key>`.
///
/// Answers follow the documented and observed ones (docs/sinks/opsgenie.md lists the sources): 202
/// `{"result":"Request will be processed","took":…,"requestId":…}` for every accepted create or close — also for the
/// close of an alias with no open alert, whose failure only shows in the request's status, as on the real service;
/// 422 `Key format is not valid!` for a key that is not a UUID; 401 `Could not authenticate` for an unknown key;
/// 422 `Request body is not processable. Please check the errors.` with an `errors` map for an invalid create (the
/// fake also refuses what the documented limits forbid: message > 130, alias > 512, description > 15000, more than
/// 20 tags or a tag > 50, details > 8000 characters or not strings, entity > 512, source > 100, a priority other than
/// P1–P5); 400 for a body that is not JSON; 429 past a configurable number of requests in a sliding window.
/// Failures (5xx, slow answers, dropped connections) can be queued to answer the next requests.
///
/// Lifecycle: a create opens an alert; a create with the alias of an open alert only counts it again; a close by
/// alias closes it; after a close the same alias opens a new alert.
public final class OpsGenieFake: Sendable {
    public struct Alert: Sendable {
        public var alias: String
        public var message: String
        public var description: String?
        public var priority: String
        public var tags: [String]
        public var details: [String: String]
        public var entity: String?
        public var source: String?
        /// The responders as sent (`type` and `id`, `name` or `username`).
        public var responders: [[String: String]]
        /// Creates received while this alert was open (1 for a single create).
        public var count: Int
        public var isOpen: Bool
        /// The `note` of the close.
        public var closeNote: String?
    }

    /// The outcome of an accepted (202) request, as `GET /v2/alerts/requests/{id}` reports it.
    public struct RequestStatus: Sendable, Hashable {
        public var action: String
        public var isSuccess: Bool
        public var status: String
        public var alias: String
    }

    public enum Echo: Sendable {
        case off
        /// 202 with the request (method, path, query, headers, body) in `result`.
        case inSuccess
        /// The given status with Opsgenie's error body, the request in `message`.
        case inFailure(status: Int)
    }

    /// A 429 after `count` requests within `window`.
    public struct Throttle: Sendable {
        public var count: Int
        public var window: TimeInterval
        public var retryAfterSeconds: Int?
        /// Sent as `X-RateLimit-Period-In-Sec`, a header the Opsgenie API description lists.
        public var periodSeconds: Int?

        public init(count: Int, window: TimeInterval = 60, retryAfterSeconds: Int? = nil, periodSeconds: Int? = nil) {
            self.count = count
            self.window = window
            self.retryAfterSeconds = retryAfterSeconds
            self.periodSeconds = periodSeconds
        }
    }

    public static let acceptedResult = "Request will be processed"
    public static let unprocessableMessage = "Request body is not processable. Please check the errors."

    private struct State {
        var apiKeys: Set<String>
        var alerts: [String: Alert] = [:]
        var closedAlerts: [Alert] = []
        var statuses: [String: RequestStatus] = [:]
        var created = 0
        var closed = 0
        var refused = 0
        var throttled = 0
        var queuedAnswers: [ScriptedAnswer] = []
        var throttle: Throttle?
        var arrivals: [Date] = []
        var echo = Echo.off
        var answerCloseOfUnknownWith404 = false
    }

    private let state: Mutex<State>
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - apiKeys: the keys accepted (UUIDs, as Opsgenie issues them).
    ///   - now: the fake's clock, for the throttle window.
    public init(apiKeys: Set<String>, throttle: Throttle? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.state = Mutex(State(apiKeys: apiKeys, throttle: throttle))
        self.now = now
    }

    public var handler: ScriptedPeer.Handler {
        { [self] request in answer(request) }
    }

    /// Runs a peer that behaves as this fake for the duration of `body`.
    public func run<T>(_ body: (ScriptedPeer) async throws -> T) async throws -> T {
        try await ScriptedPeer.run(.status(500)) { peer in
            peer.handle(handler)
            return try await body(peer)
        }
    }

    // MARK: - Controls

    /// The next requests are answered with these, in order, before authentication and validation; they change no
    /// state.
    public func failNext(_ answers: ScriptedAnswer...) {
        state.withLock { $0.queuedAnswers += answers }
    }

    public func setThrottle(_ throttle: Throttle?) {
        state.withLock {
            $0.throttle = throttle
            $0.arrivals = []
        }
    }

    public func setEcho(_ echo: Echo) {
        state.withLock { $0.echo = echo }
    }

    /// Makes the close of an alias with no open alert answer 404 (as an API gateway in front of Opsgenie, or a future
    /// synchronous API, might) instead of the documented 202.
    public func setAnswerCloseOfUnknownWith404(_ value: Bool) {
        state.withLock { $0.answerCloseOfUnknownWith404 = value }
    }

    // MARK: - State

    public var openAlerts: [String: Alert] { state.withLock { $0.alerts.filter { $0.value.isOpen } } }

    /// The current alert of an alias (open, or the last one closed).
    public func alert(_ alias: String) -> Alert? { state.withLock { $0.alerts[alias] } }

    public var closedAlerts: [Alert] { state.withLock { $0.closedAlerts } }

    public func requestStatus(_ requestID: String) -> RequestStatus? { state.withLock { $0.statuses[requestID] } }

    /// Accepted creates and closes (202), refusals (4xx from validation or authentication), 429s.
    public var createCount: Int { state.withLock { $0.created } }
    public var closeCount: Int { state.withLock { $0.closed } }
    public var refusedCount: Int { state.withLock { $0.refused } }
    public var throttledCount: Int { state.withLock { $0.throttled } }

    // MARK: - Answers

    private func answer(_ request: RecordedRequest) -> ScriptedAnswer {
        let queued: ScriptedAnswer? = state.withLock { $0.queuedAnswers.isEmpty ? nil : $0.queuedAnswers.removeFirst() }
        if let queued { return queued }
        if let refusal = authenticate(request) { return refusal }
        let echo = state.withLock { $0.echo }
        if case .inFailure(let status) = echo { return error(status, Self.dump(request)) }
        if let throttled = throttle() { return throttled }
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var answer: ScriptedAnswer
        switch (request.method, segments.count) {
        case ("POST", 2) where segments == ["v2", "alerts"]:
            answer = create(request)
        case ("POST", 4) where segments[0] == "v2" && segments[1] == "alerts" && segments[3] == "close":
            let identifier = segments[2].removingPercentEncoding ?? segments[2]
            answer = close(identifier: identifier, type: request.queryValue("identifierType") ?? "id", request: request)
        case ("GET", 4) where segments[0] == "v2" && segments[1] == "alerts" && segments[2] == "requests":
            return status(of: segments[3])
        default:
            return error(404, "Could not find handler for \(request.method) \(request.path)")
        }
        if case .inSuccess = echo, case .status(202, _, _) = answer { answer = accepted(result: Self.dump(request)).answer }
        return answer
    }

    private func authenticate(_ request: RecordedRequest) -> ScriptedAnswer? {
        guard let header = request.header("Authorization"), header.hasPrefix("GenieKey ") else {
            refuse()
            return error(401, "Could not authenticate")
        }
        let key = String(header.dropFirst("GenieKey ".count))
        guard UUID(uuidString: key) != nil else {
            refuse()
            return error(422, "Key format is not valid!")
        }
        guard state.withLock({ $0.apiKeys.contains(key) }) else {
            refuse()
            return error(401, "Could not authenticate")
        }
        return nil
    }

    private func refuse() {
        state.withLock { $0.refused += 1 }
    }

    private func throttle() -> ScriptedAnswer? {
        let time = now()
        return state.withLock { state in
            guard let throttle = state.throttle else { return nil }
            state.arrivals = state.arrivals.filter { time.timeIntervalSince($0) < throttle.window }
            guard state.arrivals.count >= throttle.count else {
                state.arrivals.append(time)
                return nil
            }
            state.throttled += 1
            var headers = ["X-RateLimit-State": "THROTTLED", "X-RateLimit-Reason": "ALERT"]
            if let seconds = throttle.retryAfterSeconds { headers["Retry-After"] = String(seconds) }
            if let period = throttle.periodSeconds { headers["X-RateLimit-Period-In-Sec"] = String(period) }
            return .json(
                429,
                Self.jsonText([
                    "message": "You are making too many requests! To avoid errors, we recommend you limit requests.", "took": 0.0,
                    "requestId": Self.requestID(),
                ]),
                headers: headers
            )
        }
    }

    private func create(_ request: RecordedRequest) -> ScriptedAnswer {
        guard let object = request.jsonObject() else {
            refuse()
            return error(400, "Could not read the request body as JSON")
        }
        let errors = Self.createErrors(object)
        if !errors.isEmpty {
            refuse()
            return .json(422, Self.jsonText(["message": Self.unprocessableMessage, "errors": errors, "took": 0.001, "requestId": Self.requestID()]))
        }
        let message = object["message"] as? String ?? ""
        let alias = object["alias"] as? String ?? message
        let (requestID, answer) = accepted()
        state.withLock { state in
            state.created += 1
            if var alert = state.alerts[alias], alert.isOpen {
                alert.count += 1
                state.alerts[alias] = alert
                state.statuses[requestID] = RequestStatus(action: "Create", isSuccess: true, status: "Alert count incremented", alias: alias)
                return
            }
            state.alerts[alias] = Alert(
                alias: alias,
                message: message,
                description: object["description"] as? String,
                priority: object["priority"] as? String ?? "P3",
                tags: object["tags"] as? [String] ?? [],
                details: object["details"] as? [String: String] ?? [:],
                entity: object["entity"] as? String,
                source: object["source"] as? String,
                responders: (object["responders"] as? [[String: Any]] ?? []).map { $0.compactMapValues { $0 as? String } },
                count: 1,
                isOpen: true,
                closeNote: nil
            )
            state.statuses[requestID] = RequestStatus(action: "Create", isSuccess: true, status: "Created alert", alias: alias)
        }
        return answer
    }

    private func close(identifier: String, type: String, request: RecordedRequest) -> ScriptedAnswer {
        guard ["id", "alias", "tiny"].contains(type) else {
            refuse()
            return .json(
                422,
                Self.jsonText([
                    "message": Self.unprocessableMessage, "errors": ["identifierType": "should be one of [id, alias, tiny]"], "took": 0.0,
                    "requestId": Self.requestID(),
                ])
            )
        }
        let object: [String: Any]
        if request.body.isEmpty {
            object = [:]
        } else if let parsed = request.jsonObject() {
            object = parsed
        } else {
            refuse()
            return error(400, "Could not read the request body as JSON")
        }
        var errors: [String: String] = [:]
        if let note = object["note"] as? String, note.count > 25_000 { errors["note"] = "should be at most 25000 characters" }
        if let source = object["source"] as? String, source.count > 100 { errors["source"] = "should be at most 100 characters" }
        if !errors.isEmpty {
            refuse()
            return .json(422, Self.jsonText(["message": Self.unprocessableMessage, "errors": errors, "took": 0.0, "requestId": Self.requestID()]))
        }
        let (requestID, answer) = accepted()
        let outcome: ScriptedAnswer? = state.withLock { state in
            // Only aliases are tracked: an id or tiny id of this fake's alerts is never known to a sink.
            guard type == "alias", var alert = state.alerts[identifier], alert.isOpen else {
                if state.answerCloseOfUnknownWith404 {
                    return .json(404, Self.jsonText(["message": "Alert does not exist", "took": 0.002, "requestId": requestID]))
                }
                state.closed += 1
                state.statuses[requestID] = RequestStatus(action: "Close", isSuccess: false, status: "Alert does not exist", alias: identifier)
                return nil
            }
            state.closed += 1
            alert.isOpen = false
            alert.closeNote = object["note"] as? String
            state.alerts[identifier] = alert
            state.closedAlerts.append(alert)
            state.statuses[requestID] = RequestStatus(action: "Close", isSuccess: true, status: "Closed alert", alias: identifier)
            return nil
        }
        return outcome ?? answer
    }

    private func status(of requestID: String) -> ScriptedAnswer {
        guard let status = requestStatus(requestID) else { return error(404, "Request with id [\(requestID)] does not exist") }
        let data: [String: Any] = [
            "success": status.isSuccess, "action": status.action, "isSuccess": status.isSuccess, "status": status.status,
            "alias": status.isSuccess ? status.alias : "",
        ]
        return .json(200, Self.jsonText(["data": data, "took": 0.01, "requestId": Self.requestID()]))
    }

    /// The documented rules of a create body.
    static func createErrors(_ object: [String: Any]) -> [String: String] {
        var errors: [String: String] = [:]
        func limit(_ field: String, _ maximum: Int) {
            guard let value = object[field] else { return }
            guard let text = value as? String else {
                errors[field] = "should be a string"
                return
            }
            if text.count > maximum { errors[field] = "should be at most \(maximum) characters" }
        }
        if let message = object["message"] as? String, !message.trimmingCharacters(in: .whitespaces).isEmpty {
            limit("message", 130)
        } else {
            errors["message"] = "Message can not be empty."
        }
        limit("alias", 512)
        limit("description", 15_000)
        limit("entity", 512)
        limit("source", 100)
        limit("user", 100)
        limit("note", 25_000)
        if let priority = object["priority"], !["P1", "P2", "P3", "P4", "P5"].contains(priority as? String ?? "") {
            errors["priority"] = "should be one of [ P1, P2, P3, P4, P5 ]"
        }
        if let tags = object["tags"] {
            if let list = tags as? [String] {
                if list.count > 20 { errors["tags"] = "should have at most 20 items" }
                if list.contains(where: { $0.count > 50 }) { errors["tags"] = "each tag should be at most 50 characters" }
            } else {
                errors["tags"] = "should be a list of strings"
            }
        }
        if let details = object["details"] {
            if let map = details as? [String: Any], map.values.allSatisfy({ $0 is String }) {
                let total = map.reduce(0) { $0 + $1.key.count + (($1.value as? String)?.count ?? 0) }
                if total > 8000 { errors["details"] = "should be at most 8000 characters in total" }
            } else {
                errors["details"] = "should be a map of strings to strings"
            }
        }
        if let responders = object["responders"] {
            if let list = responders as? [[String: Any]] {
                for (index, responder) in list.enumerated() {
                    let type = responder["type"] as? String ?? ""
                    if !["team", "user", "escalation", "schedule"].contains(type) {
                        errors["responders[\(index)].type"] = "should be one of [team, user, escalation, schedule]"
                    }
                    if responder["id"] == nil && responder["name"] == nil && responder["username"] == nil {
                        errors["responders[\(index)]"] = "id or name should be provided"
                    }
                }
            } else {
                errors["responders"] = "should be a list of responders"
            }
        }
        return errors
    }

    private func accepted(result: String = OpsGenieFake.acceptedResult) -> (requestID: String, answer: ScriptedAnswer) {
        let requestID = Self.requestID()
        return (requestID, .json(202, Self.jsonText(["result": result, "took": 0.1, "requestId": requestID])))
    }

    private func error(_ status: Int, _ message: String) -> ScriptedAnswer {
        .json(status, Self.jsonText(["message": message, "took": 0.0, "requestId": Self.requestID()]))
    }

    static func requestID() -> String { UUID().uuidString.lowercased() }

    static func jsonText(_ value: [String: Any]) -> String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(),
            as: UTF8.self
        )
    }

    /// The request as text: request line, headers (where the key is), body.
    static func dump(_ request: RecordedRequest) -> String {
        var text = "\(request.method) \(request.path)\(request.query.isEmpty ? "" : "?" + request.query)\n"
        for (name, value) in request.headers { text += "\(name): \(value)\n" }
        return text + "\n" + request.bodyText
    }
}
