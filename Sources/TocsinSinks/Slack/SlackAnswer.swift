import Foundation
import TocsinCore

/// How Slack's answers are read. Incoming webhooks answer with real HTTP codes and a plain-text error; the Web API
/// answers HTTP 200 with `{"ok":false,"error":"<code>"}` for most failures.
public enum SlackAnswer {
    /// Web API error codes worth sending again: Slack is overloaded or failed on its side.
    public static let retryableErrors: Set<String> = [
        "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    ]

    /// What the error codes mean, for the delivery record (every other code is shown as Slack sent it).
    static let explanations: [String: String] = [
        "invalid_payload": "the body was not a message Slack accepts",
        "no_text": "the message had no text",
        "invalid_blocks": "Slack refused the message's blocks (check the templates)",
        "too_many_attachments": "too many attachments",
        "user_not_found": "the user does not exist",
        "action_prohibited": "a workspace admin restricts posting to this channel",
        "channel_not_found": "the channel does not exist or the app cannot see it",
        "channel_is_archived": "the channel is archived",
        "is_archived": "the channel is archived",
        "no_service": "the webhook was disabled or removed",
        "rollup_error": "Slack failed on its side",
        "invalid_auth": "the token is not valid",
        "not_authed": "no token was sent",
        "token_revoked": "the token was revoked",
        "account_inactive": "the token's user or app was deactivated",
        "missing_scope": "the token lacks the chat:write scope",
        "not_in_channel": "the bot is not a member of the channel (invite it)",
        "msg_too_long": "the message text is too long",
        "msg_blocks_too_long": "the message's blocks are too long",
        "ratelimited": "rate limited",
        "rate_limited": "rate limited",
        "message_not_found": "the message to edit no longer exists",
    ]

    static func explained(_ code: String) -> String {
        explanations[code].map { "\(code) (\($0))" } ?? code
    }

    /// An incoming webhook's answer: 200 `ok` delivered; 429 (with `Retry-After`) and 5xx retryable; the 400, 403,
    /// 404 and 410 refusals (`invalid_payload`, `action_prohibited`, `channel_not_found`, `channel_is_archived`,
    /// `no_service`) permanent.
    public static func webhook(_ answer: HTTPAnswer, redactor: SecretRedactor, now: Date) -> SinkResult {
        var result = SinkResult.fromHTTP(answer, redactor: redactor, now: now)
        if result.outcome != .delivered {
            let code = answer.bodyPrefix.trimmingCharacters(in: .whitespacesAndNewlines)
            if let meaning = explanations[code] {
                result.detail = redactor.redact("HTTP \(answer.status): \(code) (\(meaning))")
            }
        }
        return result
    }

    /// A Web API call's answer, read.
    public enum WebAPIReading: Sendable {
        /// `ok: true`, with the answer's fields (`channel`, `ts`).
        case ok([String: JSONValue])
        /// `ok: false` with this error code, classified.
        case error(code: String, SinkResult)
        /// Not an answer of the Web API (an HTTP error, a body that is not its JSON).
        case failed(SinkResult)
    }

    /// Reads the answer of `method`: HTTP 429 and 5xx are retryable (429 honouring `Retry-After`); on HTTP 200 the
    /// `error` code decides (``retryableErrors`` retryable, every other code permanent).
    public static func webAPI(_ answer: HTTPAnswer, method: String, redactor: SecretRedactor, now: Date) -> WebAPIReading {
        let body = try? JSONParser.parse(Array(answer.bodyPrefix.utf8))
        let object: [String: JSONValue]? = if case .object(let fields)? = body { fields } else { nil }
        let code: String? = if case .string(let text)? = object?["error"] { text } else { nil }
        let retryAfter = HTTPStatusClassifier.parseRetryAfter(answer.header("Retry-After"), now: now)
        guard (200..<300).contains(answer.status) else {
            var result = SinkResult.fromHTTP(answer, redactor: redactor, now: now)
            if let code { result.detail = redactor.redact("\(method): HTTP \(answer.status): \(explained(code))") }
            return code.map { .error(code: $0, result) } ?? .failed(result)
        }
        guard let object, case .bool(let ok)? = object["ok"] else {
            // Not Slack's JSON: the message may or may not have been posted, and sending again could post it twice.
            let detail = redactor.redact("\(method): HTTP \(answer.status) without Slack's JSON answer: \(answer.bodyPrefix)")
            return .failed(SinkResult(outcome: .permanent, statusCode: answer.status, detail: detail))
        }
        if ok { return .ok(object) }
        let error = code ?? "unknown_error"
        let outcome: AttemptOutcome = retryableErrors.contains(error) ? .retryable(retryAfter: retryAfter) : .permanent
        return .error(code: error, SinkResult(outcome: outcome, statusCode: answer.status, detail: redactor.redact("\(method): \(explained(error))")))
    }
}
