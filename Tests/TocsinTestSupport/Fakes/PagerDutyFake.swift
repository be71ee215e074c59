import Foundation
import Synchronization

/// PagerDuty's Events API v2 on loopback: `POST /v2/enqueue` (trigger, acknowledge, resolve) and
/// `POST /v2/change/enqueue`, with the alert lifecycle keyed by `dedup_key`.
///
/// Answers follow PagerDuty's documentation (docs/sinks/pagerduty.md lists the sources): 202
/// `{"status":"success","message":"Event processed","dedup_key":…}`; 400 `{"status":"invalid event","message":"Event
/// object is invalid","errors":[…]}` for an event that breaks the documented rules (the fake checks the required
/// fields, the enums, the 32-character key, summary ≤ 1024, dedup_key ≤ 255 and the 512 KB body); 400 "Unrecognized
/// object" for a body that is not JSON; 429 `throttle event` past a configurable number of events per routing key in
/// a sliding window. Failures (5xx, slow answers, dropped connections) can be queued to answer the next requests.
///
/// Lifecycle: a trigger opens an alert (a trigger with the key of an open alert adds to it), a resolve closes it, a
/// resolve or acknowledge of a key with no open alert is dropped but still answered 202 — as PagerDuty does.
public final class PagerDutyFake: Sendable {
    public struct Alert: Sendable, Hashable {
        public var dedupKey: String
        public var routingKey: String
        public var summary: String
        public var severity: String
        public var source: String
        /// Triggers received for this alert while it was open (1 for a single trigger).
        public var triggerCount: Int
        public var isOpen: Bool
        public var isAcknowledged: Bool
        /// The `payload` of the last trigger.
        public var payload: [String: String]
    }

    public struct ChangeEvent: Sendable, Hashable {
        public var routingKey: String
        public var summary: String
        public var source: String?
    }

    /// Whether answers quote the whole request back (method, path, query, headers, body): for proving that the
    /// sink never lets a secret from an answer into its results.
    public enum Echo: Sendable {
        case off
        /// 202 with the request in `message`.
        case inSuccess
        /// The given status with PagerDuty's error body, the request in `errors`.
        case inFailure(status: Int)
    }

    /// A 429 answer after `count` accepted events per routing key within `window`.
    public struct Throttle: Sendable {
        public var count: Int
        public var window: TimeInterval
        /// Sent as `Retry-After` when set (PagerDuty documents none).
        public var retryAfterSeconds: Int?

        public init(count: Int, window: TimeInterval = 60, retryAfterSeconds: Int? = nil) {
            self.count = count
            self.window = window
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    public static let successStatus = "success"
    public static let throttleBody =
        #"{"status":"throttle event","message":"Requests for this service are arriving too quickly.  Please retry later."}"#
    public static let maximumBodyBytes = 512_000

    private struct State {
        var alerts: [String: Alert] = [:]
        var resolvedAlerts: [Alert] = []
        var changeEvents: [ChangeEvent] = []
        var actionCounts: [String: Int] = [:]
        var rejected = 0
        var throttled = 0
        var queuedAnswers: [ScriptedAnswer] = []
        var throttle: Throttle?
        var accepted: [String: [Date]] = [:]
        var echo = Echo.off
        var generatedKeys = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    /// - Parameter now: the fake's clock, for the throttle window.
    public init(throttle: Throttle? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
        state.withLock { $0.throttle = throttle }
    }

    /// What a `ScriptedPeer` answers with: `peer.handle(fake.handler)`.
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

    /// The next requests are answered with these, in order, before any validation (for 5xx, slow answers with
    /// `.after`, dropped connections); the requests are recorded by the peer but change no state.
    public func failNext(_ answers: ScriptedAnswer...) {
        state.withLock { $0.queuedAnswers += answers }
    }

    public func setThrottle(_ throttle: Throttle?) {
        state.withLock {
            $0.throttle = throttle
            $0.accepted = [:]
        }
    }

    public func setEcho(_ echo: Echo) {
        state.withLock { $0.echo = echo }
    }

    // MARK: - State

    /// Alerts open now, by dedup key.
    public var openAlerts: [String: Alert] {
        state.withLock { $0.alerts.filter { $0.value.isOpen } }
    }

    /// The current alert of a key (open, or the last one resolved).
    public func alert(_ dedupKey: String) -> Alert? {
        state.withLock { $0.alerts[dedupKey] }
    }

    /// Alerts resolved so far, in order.
    public var resolvedAlerts: [Alert] { state.withLock { $0.resolvedAlerts } }

    public var changeEvents: [ChangeEvent] { state.withLock { $0.changeEvents } }

    /// Accepted events by action (`trigger`, `acknowledge`, `resolve`, `change`), dropped ones included.
    public func count(_ action: String) -> Int { state.withLock { $0.actionCounts[action] ?? 0 } }

    /// Events answered 400.
    public var rejectedCount: Int { state.withLock { $0.rejected } }

    /// Events answered 429.
    public var throttledCount: Int { state.withLock { $0.throttled } }

    // MARK: - Answers

    private func answer(_ request: RecordedRequest) -> ScriptedAnswer {
        let queued: ScriptedAnswer? = state.withLock { $0.queuedAnswers.isEmpty ? nil : $0.queuedAnswers.removeFirst() }
        if let queued { return queued }
        guard request.method == "POST" else { return .json(405, Self.errorBody("Method Not Allowed", "Only POST is supported", [])) }
        let isChange: Bool
        switch request.path {
        case "/v2/enqueue": isChange = false
        case "/v2/change/enqueue": isChange = true
        default: return .json(404, Self.errorBody("Not Found", "No such endpoint: \(request.path)", []))
        }
        let echo = state.withLock { $0.echo }
        if case .inFailure(let status) = echo {
            return .json(status, Self.errorBody("invalid event", "Event object is invalid", [Self.dump(request)]))
        }
        guard request.body.count <= Self.maximumBodyBytes else {
            return reject(["Event object is too large (maximum is 512 KB)"])
        }
        guard let object = request.jsonObject() else {
            return reject(status: "Unrecognized object", message: "Event object format is unrecognized", ["JSON parse error"])
        }
        let errors = isChange ? Self.changeEventErrors(object) : Self.alertEventErrors(object)
        if !errors.isEmpty { return reject(errors) }
        let routingKey = object["routing_key"] as? String ?? ""
        if let throttled = throttle(routingKey) { return throttled }
        let dedupKey = apply(object)
        var body: [String: Any] = ["status": Self.successStatus, "message": "Event processed"]
        if let dedupKey { body["dedup_key"] = dedupKey }
        if case .inSuccess = echo { body["message"] = "Event processed: " + Self.dump(request) }
        return .json(202, Self.jsonText(body))
    }

    private func reject(status: String = "invalid event", message: String = "Event object is invalid", _ errors: [String]) -> ScriptedAnswer {
        state.withLock { $0.rejected += 1 }
        return .json(400, Self.errorBody(status, message, errors))
    }

    /// Counts the event against its routing key's window, or answers 429 without ingesting it.
    private func throttle(_ routingKey: String) -> ScriptedAnswer? {
        let time = now()
        return state.withLock { state in
            guard let throttle = state.throttle else { return nil }
            let recent = (state.accepted[routingKey] ?? []).filter { time.timeIntervalSince($0) < throttle.window }
            if recent.count >= throttle.count {
                state.accepted[routingKey] = recent
                state.throttled += 1
                var headers: [String: String] = [:]
                if let seconds = throttle.retryAfterSeconds { headers["Retry-After"] = String(seconds) }
                return .json(429, Self.throttleBody, headers: headers)
            }
            state.accepted[routingKey] = recent + [time]
            return nil
        }
    }

    /// Applies a valid alert or change event; returns the dedup key of an alert event.
    private func apply(_ object: [String: Any]) -> String? {
        let routingKey = object["routing_key"] as? String ?? ""
        let action = object["event_action"] as? String
        return state.withLock { state in
            guard let action else {
                let payload = object["payload"] as? [String: Any] ?? [:]
                state.actionCounts["change", default: 0] += 1
                state.changeEvents.append(
                    ChangeEvent(routingKey: routingKey, summary: payload["summary"] as? String ?? "", source: payload["source"] as? String)
                )
                return nil
            }
            state.actionCounts[action, default: 0] += 1
            var key = object["dedup_key"] as? String
            if key == nil {
                state.generatedKeys += 1
                key = String(format: "%032x", state.generatedKeys)
            }
            let dedupKey = key ?? ""
            // Follow-up events only apply with the routing key of the alert's trigger; others are dropped.
            let current = state.alerts[dedupKey].flatMap { $0.isOpen && $0.routingKey == routingKey ? $0 : nil }
            switch action {
            case "trigger":
                let payload = object["payload"] as? [String: Any] ?? [:]
                var alert =
                    current
                    ?? Alert(
                        dedupKey: dedupKey,
                        routingKey: routingKey,
                        summary: "",
                        severity: "",
                        source: "",
                        triggerCount: 0,
                        isOpen: true,
                        isAcknowledged: false,
                        payload: [:]
                    )
                alert.summary = payload["summary"] as? String ?? ""
                alert.severity = payload["severity"] as? String ?? ""
                alert.source = payload["source"] as? String ?? ""
                alert.payload = payload.mapValues { value in
                    if let text = value as? String { return text }
                    return String(decoding: Self.json(value), as: UTF8.self)
                }
                alert.triggerCount += 1
                state.alerts[dedupKey] = alert
            case "acknowledge":
                if var alert = current {
                    alert.isAcknowledged = true
                    state.alerts[dedupKey] = alert
                }
            default:
                if var alert = current {
                    alert.isOpen = false
                    state.alerts[dedupKey] = alert
                    state.resolvedAlerts.append(alert)
                }
            }
            return dedupKey
        }
    }

    /// The documented rules of `/v2/enqueue`.
    static func alertEventErrors(_ object: [String: Any]) -> [String] {
        var errors = routingKeyErrors(object)
        guard let action = object["event_action"] as? String else {
            return errors + ["'event_action' is missing or blank"]
        }
        guard ["trigger", "acknowledge", "resolve"].contains(action) else {
            return errors + ["'event_action' is invalid (must be one of trigger, acknowledge or resolve)"]
        }
        if let key = object["dedup_key"] {
            if let text = key as? String {
                if text.count > 255 { errors.append("'dedup_key' is too long (maximum is 255 characters)") }
            } else {
                errors.append("'dedup_key' must be a string")
            }
        } else if action != "trigger" {
            errors.append("'dedup_key' is missing or blank")
        }
        guard action == "trigger" else { return errors }
        guard let payload = object["payload"] as? [String: Any] else { return errors + ["'payload' is missing or is not an object"] }
        errors += summaryErrors(payload)
        if (payload["source"] as? String)?.isEmpty ?? true { errors.append("'payload.source' is missing or blank") }
        if let severity = payload["severity"] as? String {
            if !["critical", "error", "warning", "info"].contains(severity) {
                errors.append("'payload.severity' is invalid (must be one of critical, error, warning or info)")
            }
        } else {
            errors.append("'payload.severity' is missing or blank")
        }
        for field in ["component", "group", "class", "timestamp"] where payload[field] != nil && !(payload[field] is String) {
            errors.append("'payload.\(field)' must be a string")
        }
        if let details = payload["custom_details"], !(details is [String: Any]) { errors.append("'payload.custom_details' must be an object") }
        errors += linkErrors(object)
        return errors
    }

    /// The documented rules of `/v2/change/enqueue`.
    static func changeEventErrors(_ object: [String: Any]) -> [String] {
        var errors = routingKeyErrors(object)
        if object["event_action"] != nil { errors.append("'event_action' is not allowed on change events") }
        guard let payload = object["payload"] as? [String: Any] else { return errors + ["'payload' is missing or is not an object"] }
        errors += summaryErrors(payload)
        errors += linkErrors(object)
        return errors
    }

    private static func routingKeyErrors(_ object: [String: Any]) -> [String] {
        guard let key = object["routing_key"] as? String, !key.isEmpty else { return ["'routing_key' is missing or blank"] }
        return key.count == 32 ? [] : ["Length of 'routing_key' is incorrect (should be 32 characters)"]
    }

    private static func summaryErrors(_ payload: [String: Any]) -> [String] {
        guard let summary = payload["summary"] as? String, !summary.isEmpty else { return ["'payload.summary' is missing or blank"] }
        // PagerDuty's own spelling.
        return summary.count > 1024 ? ["'summary' is too long (maiximum is 1024 characters)"] : []
    }

    private static func linkErrors(_ object: [String: Any]) -> [String] {
        guard let links = object["links"] else { return [] }
        guard let list = links as? [Any] else { return ["'links' must be an array"] }
        return list.contains { (($0 as? [String: Any])?["href"] as? String)?.isEmpty ?? true } ? ["'links' entries need an 'href'"] : []
    }

    static func errorBody(_ status: String, _ message: String, _ errors: [String]) -> String {
        jsonText(["status": status, "message": message, "errors": errors])
    }

    static func json(_ value: Any) -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(value) else { return Array("\(value)".utf8) }
        return Array((try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    static func jsonText(_ value: [String: Any]) -> String {
        String(decoding: json(value), as: UTF8.self)
    }

    /// The request as text: request line, body, headers (the body first: a detail keeps only the start of an answer).
    static func dump(_ request: RecordedRequest) -> String {
        var text = "\(request.method) \(request.path)\(request.query.isEmpty ? "" : "?" + request.query)\n\n\(request.bodyText)\n\n"
        for (name, value) in request.headers { text += "\(name): \(value)\n" }
        return text
    }
}
