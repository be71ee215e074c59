import Foundation
import Synchronization
import TocsinCore

/// A Microsoft Teams incoming webhook on loopback: a Workflows trigger ("When a Teams webhook request is received")
/// or, with `legacyConnector`, an Office 365 connector.
///
/// Workflows answers 202 with an empty body as soon as the request is accepted: whether the card could be posted is
/// only visible in the flow's run history (robusta-dev/robusta#2113, shoutrrr#900). The fake keeps that history in
/// ``runs``: a card above 28 KB, or a body that is not a `message` with one Adaptive Card attachment, is a failed run
/// (with `rejectsOversize`, an oversize body is answered 413 instead). Refusals follow Azure Logic Apps' error
/// shape `{"error":{"code","message"}}`: 400 for a body that is not JSON, 401 for a wrong `sig`, 404 for an unknown
/// workflow, 429 with `Retry-After` when throttled, 5xx on demand.
///
/// A connector answers 200 with the body `1`; it never answers 429 but says
/// `Microsoft Teams endpoint returned HTTP error 429` in a 200 body (connectors-using.md); 400 for a card without
/// `summary` or `text`.
public final class TeamsFake: Sendable {
    /// Teams' message size limit.
    public static let maximumBytes = 28 * 1024

    public enum Failure: Sendable {
        case badRequest
        case unauthorized
        case forbidden
        case notFound
        case throttled(retryAfter: Int)
        case serverError(Int)
        /// The connector's throttling answer: HTTP 200 whose body quotes a 429.
        case connectorThrottled
        /// Answers only after `delay` (the client gives up first).
        case slow(Duration)
    }

    /// One accepted request and what became of it.
    public struct Run: Sendable {
        public var body: JSONValue
        public var bytes: Int
        /// Nil when the card was posted; otherwise why the run failed.
        public var failure: String?

        /// `attachments[0].content`: the Adaptive Card.
        public var card: JSONValue? {
            teamsMember(body, "attachments").flatMap(teamsArray)?.first.flatMap { teamsMember($0, "content") }
        }
    }

    /// The expected `sig` query value (nil: any).
    public let signature: String?
    public let legacyConnector: Bool
    public let rejectsOversize: Bool
    /// Quote the request (path and query, headers, body) in every answer.
    public let echo: Bool

    private struct State {
        var runs: [Run] = []
        var failures: [Failure] = []
    }

    private let state = Mutex(State())

    public init(signature: String? = nil, legacyConnector: Bool = false, rejectsOversize: Bool = false, echo: Bool = false) {
        self.signature = signature
        self.legacyConnector = legacyConnector
        self.rejectsOversize = rejectsOversize
        self.echo = echo
    }

    /// Every accepted request, oldest first.
    public var runs: [Run] { state.withLock { $0.runs } }
    /// The runs that posted a card.
    public var posted: [Run] { runs.filter { $0.failure == nil } }
    /// The sizes of bodies above 28 KB (answered, but never posted).
    public var oversized: [Int] { runs.filter { $0.bytes > Self.maximumBytes }.map(\.bytes) }

    /// The next requests fail like this, in order.
    public func fail(_ failures: Failure...) {
        state.withLock { $0.failures += failures }
    }

    public var handler: ScriptedPeer.Handler {
        { [self] request in answer(request) }
    }

    public func answer(_ request: RecordedRequest) -> ScriptedAnswer {
        var quoted = ""
        if echo {
            quoted = "\n\(request.method) \(request.path)?\(request.query)\n"
            for (name, value) in request.headers { quoted += "\(name): \(value)\n" }
            quoted += request.bodyText
        }
        func logicAppsError(_ status: Int, _ code: String, _ message: String, headers: [String: String] = [:]) -> ScriptedAnswer {
            let body = JSONValue.object(["error": .object(["code": .string(code), "message": .string(message + quoted)])])
            return .json(status, JSONWriter.string(body), headers: headers)
        }
        func text(_ status: Int, _ body: String) -> ScriptedAnswer {
            .status(status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: body + quoted)
        }
        let failure: Failure? = state.withLock { $0.failures.isEmpty ? nil : $0.failures.removeFirst() }
        switch failure {
        case .badRequest: return logicAppsError(400, "InvalidRequestContent", "The request content is not valid and could not be deserialized.")
        case .unauthorized: return logicAppsError(401, "DirectApiInvalidAuthorizationSignature", "The provided signature is not valid.")
        case .forbidden: return logicAppsError(403, "AuthorizationFailed", "The client does not have authorization to perform this action.")
        case .notFound: return logicAppsError(404, "WorkflowNotFound", "The workflow could not be found.")
        case .throttled(let seconds):
            return logicAppsError(429, "WorkflowRequestsThrottled", "The workflow is being throttled.", headers: ["Retry-After": "\(seconds)"])
        case .serverError(let code): return logicAppsError(code, "ServiceUnavailable", "The service is temporarily unavailable.")
        case .connectorThrottled:
            return text(200, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0")
        case .slow(let delay): return .after(delay, .status(202))
        case nil: break
        }
        if let signature, !legacyConnector, request.queryValue("sig") != signature {
            return logicAppsError(401, "DirectApiInvalidAuthorizationSignature", "The provided signature is not valid.")
        }
        guard case .object(let body)? = try? JSONParser.parse(request.body) else {
            return legacyConnector
                ? text(400, "Bad payload received by generic incoming webhook.")
                : logicAppsError(400, "InvalidRequestContent", "The request content is not valid and could not be deserialized.")
        }
        let bytes = request.body.count
        if bytes > Self.maximumBytes && rejectsOversize {
            return logicAppsError(413, "MessageTooLarge", "The message is larger than 28 KB.")
        }
        if legacyConnector {
            let summary = body["summary"].flatMap(teamsString) ?? body["text"].flatMap(teamsString) ?? ""
            if summary.isEmpty { return text(400, "Summary or Text is required.") }
            let failure = bytes > Self.maximumBytes ? "Microsoft Teams endpoint returned HTTP error 413" : nil
            state.withLock { $0.runs.append(Run(body: .object(body), bytes: bytes, failure: failure)) }
            return failure.map { text(200, "Webhook message delivery failed with error: \($0)") } ?? text(200, "1")
        }
        var runFailure: String?
        if bytes > Self.maximumBytes { runFailure = "message size \(bytes) bytes exceeds 28 KB" }
        if body["type"].flatMap(teamsString) != "message" { runFailure = "type must be 'message'" }
        let attachments = body["attachments"].flatMap(teamsArray) ?? []
        if attachments.isEmpty
            || attachments.contains(where: { teamsMember($0, "contentType").flatMap(teamsString) != "application/vnd.microsoft.card.adaptive" })
        {
            runFailure = "attachments must be Adaptive Cards"
        }
        state.withLock { $0.runs.append(Run(body: .object(body), bytes: bytes, failure: runFailure)) }
        return .status(202, body: quoted)
    }
}

// Small readers of JSON values, private to this file.
private func teamsMember(_ value: JSONValue?, _ key: String) -> JSONValue? {
    if case .object(let object)? = value { object[key] } else { nil }
}

private func teamsArray(_ value: JSONValue) -> [JSONValue]? {
    if case .array(let items) = value { items } else { nil }
}

private func teamsString(_ value: JSONValue) -> String? {
    if case .string(let text) = value { text } else { nil }
}
