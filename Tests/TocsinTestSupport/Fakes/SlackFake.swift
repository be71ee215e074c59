import Foundation
import Synchronization
import TocsinCore

/// Slack's documented message limits, as the fakes check them (docs.slack.dev/reference/block-kit/blocks).
private enum SlackRules {
    static let maximumBlocks = 50
    static let sectionText = 3000
    static let fields = 10
    static let fieldText = 2000
    static let headerText = 150
    static let messageText = 40_000
    static let attachments = 100
    /// Slack refuses a message whose blocks hold about 13,200 characters in all, though each block is within its own
    /// limit (`msg_blocks_too_long`, observed in slackapi/bolt-js#2509); the fake refuses above 13,000.
    static let totalBlockText = 13_000

    /// Why Slack would refuse the message: `no_text`, `invalid_blocks`, `msg_blocks_too_long` or
    /// `too_many_attachments`; nil when it is fine.
    static func refusal(of message: [String: JSONValue]) -> String? {
        let attachments = message["attachments"].flatMap(slackArray) ?? []
        let topBlocks = message["blocks"].flatMap(slackArray) ?? []
        let text = message["text"].flatMap(slackString) ?? ""
        if text.isEmpty && topBlocks.isEmpty && attachments.isEmpty { return "no_text" }
        if attachments.count > Self.attachments { return "too_many_attachments" }
        let allBlocks = topBlocks + attachments.flatMap { slackMember($0, "blocks").flatMap(slackArray) ?? [] }
        if allBlocks.count > maximumBlocks { return "invalid_blocks" }
        var totalText = 0
        for block in allBlocks {
            totalText += slackMember(slackMember(block, "text"), "text").flatMap(slackString)?.count ?? 0
            for field in slackMember(block, "fields").flatMap(slackArray) ?? [] {
                totalText += slackMember(field, "text").flatMap(slackString)?.count ?? 0
            }
            switch slackMember(block, "type").flatMap(slackString) {
            case "header":
                guard let text = slackMember(slackMember(block, "text"), "text").flatMap(slackString), !text.isEmpty, text.count <= headerText else {
                    return "invalid_blocks"
                }
            case "section":
                let text = slackMember(slackMember(block, "text"), "text").flatMap(slackString)
                let fields = slackMember(block, "fields").flatMap(slackArray)
                if text == nil && fields == nil { return "invalid_blocks" }
                if let text, text.isEmpty || text.count > sectionText { return "invalid_blocks" }
                if let fields {
                    if fields.isEmpty || fields.count > Self.fields { return "invalid_blocks" }
                    for field in fields {
                        guard let text = slackMember(field, "text").flatMap(slackString), !text.isEmpty, text.count <= fieldText else {
                            return "invalid_blocks"
                        }
                    }
                }
            case "actions":
                guard let elements = slackMember(block, "elements").flatMap(slackArray), !elements.isEmpty, elements.count <= 25 else {
                    return "invalid_blocks"
                }
                for element in elements {
                    guard let url = slackMember(element, "url").flatMap(slackString), url.count <= 3000,
                        let label = slackMember(slackMember(element, "text"), "text").flatMap(slackString), label.count <= 75
                    else { return "invalid_blocks" }
                }
            case "context", "divider", "image", "rich_text", "markdown":
                break
            default:
                return "invalid_blocks"
            }
        }
        return totalText > totalBlockText ? "msg_blocks_too_long" : nil
    }
}

// Small readers of JSON values, private to this file so that no other module's helpers clash with them.
private func slackMember(_ value: JSONValue?, _ key: String) -> JSONValue? {
    if case .object(let object)? = value { object[key] } else { nil }
}

private func slackArray(_ value: JSONValue) -> [JSONValue]? {
    if case .array(let items) = value { items } else { nil }
}

private func slackString(_ value: JSONValue) -> String? {
    if case .string(let text) = value { text } else { nil }
}

/// The text a request echoes back when a fake is asked to quote it: method, path and query, headers and body.
private func slackEchoText(of request: RecordedRequest) -> String {
    var text = "\(request.method) \(request.path)\(request.query.isEmpty ? "" : "?" + request.query)\n"
    for (name, value) in request.headers { text += "\(name): \(value)\n" }
    return text + request.bodyText
}

/// A Slack incoming webhook on loopback. Answers as Slack does (api.slack.com/changelog/2016-05-17-changes-to-errors-
/// for-incoming-webhooks): 200 with the body `ok`, or a plain-text error code with a real HTTP status — 400
/// `invalid_payload` (not JSON), `no_text`, `invalid_blocks` or `msg_blocks_too_long` (the fake checks the Block Kit
/// limits), 403
/// `action_prohibited`, 404 `channel_not_found`, 410 `channel_is_archived`, 404 `no_service`, 500 `rollup_error`, and
/// 429 with `Retry-After` when rate limited. Failures are injected with ``fail(_:)``.
public final class SlackWebhookFake: Sendable {
    public enum Failure: Sendable {
        case actionProhibited
        case channelNotFound
        case channelIsArchived
        case noService
        case rollupError
        case rateLimited(retryAfter: Int)
        /// Any status and plain-text body.
        case status(Int, String)
        /// Answers only after `delay` (the client gives up first).
        case slow(Duration)
    }

    /// A message the webhook accepted.
    public struct Message: Sendable {
        public var body: JSONValue
        public var text: String? { slackMember(body, "text").flatMap(slackString) }
        public var channel: String? { slackMember(body, "channel").flatMap(slackString) }
        /// The colour of the first attachment.
        public var colour: String? {
            slackMember(body, "attachments").flatMap(slackArray)?.first.flatMap { slackMember($0, "color") }.flatMap(slackString)
        }
        /// Whether Slack would have cut `text` (above 40,000 characters).
        public var textTruncated: Bool { (text?.count ?? 0) > SlackRules.messageText }
    }

    private struct State {
        var messages: [Message] = []
        var failures: [Failure] = []
    }

    private let state = Mutex(State())
    /// Quote the request (URL path and query, headers, body) in every answer, failures and `ok` alike.
    public let echo: Bool

    public init(echo: Bool = false) {
        self.echo = echo
    }

    /// The accepted messages, oldest first.
    public var messages: [Message] { state.withLock { $0.messages } }

    /// The next requests fail like this, in order; then the webhook works again.
    public func fail(_ failures: Failure...) {
        state.withLock { $0.failures += failures }
    }

    /// For `ScriptedPeer.handle`.
    public var handler: ScriptedPeer.Handler {
        { [self] request in answer(request) }
    }

    public func answer(_ request: RecordedRequest) -> ScriptedAnswer {
        let quoted = echo ? "\n" + slackEchoText(of: request) : ""
        func text(_ status: Int, _ body: String, headers: [String: String] = [:]) -> ScriptedAnswer {
            var all = headers
            all["Content-Type"] = "text/html"
            return .status(status, headers: all, body: body + quoted)
        }
        let failure: Failure? = state.withLock { $0.failures.isEmpty ? nil : $0.failures.removeFirst() }
        switch failure {
        case .actionProhibited: return text(403, "action_prohibited")
        case .channelNotFound: return text(404, "channel_not_found")
        case .channelIsArchived: return text(410, "channel_is_archived")
        case .noService: return text(404, "no_service")
        case .rollupError: return text(500, "rollup_error")
        case .rateLimited(let seconds): return text(429, "rate_limited", headers: ["Retry-After": "\(seconds)"])
        case .status(let code, let body): return text(code, body)
        case .slow(let delay): return .after(delay, text(200, "ok"))
        case nil: break
        }
        guard request.method == "POST" else { return text(405, "invalid_method") }
        guard case .object(let message)? = try? JSONParser.parse(request.body) else { return text(400, "invalid_payload") }
        if let refusal = SlackRules.refusal(of: message) { return text(400, refusal) }
        state.withLock { $0.messages.append(Message(body: .object(message))) }
        return text(200, "ok")
    }
}

/// The part of Slack's Web API Tocsin uses, on loopback: `chat.postMessage` and `chat.update` under `/api/`.
///
/// As Slack does (docs.slack.dev/reference/methods/chat.postMessage): every answer is JSON; failures are HTTP 200
/// with `{"ok":false,"error":"<code>"}` — `not_authed` without a token, `invalid_auth` for a wrong one,
/// `channel_not_found` for an unknown channel, `is_archived`, `not_in_channel`, `no_text`, `invalid_blocks` or
/// `msg_blocks_too_long` (the fake checks the Block Kit limits), `message_not_found` when `chat.update` names an unknown `ts`; rate limiting is
/// HTTP 429 with `Retry-After` and `{"ok":false,"error":"ratelimited"}`. A body sent without `charset` draws the
/// `missing_charset` warning. Posted messages get increasing `ts` values and are kept (with their edits and thread
/// replies) so a test can check that an alert has one message that turned green.
public final class SlackWebAPIFake: Sendable {
    public enum Failure: Sendable {
        /// HTTP 200 `{"ok":false,"error":code}`, with headers (e.g. `Retry-After` on `ratelimited`).
        case error(String, headers: [String: String] = [:])
        /// HTTP 429 with `Retry-After` and `{"ok":false,"error":"ratelimited"}`.
        case rateLimited(retryAfter: Int)
        /// Any status and body (an outage page, a 503).
        case status(Int, String)
        /// Answers only after `delay` (the client gives up first).
        case slow(Duration)
    }

    /// A message in a channel: a top-level message or a thread reply.
    public struct Message: Sendable {
        public var channel: String
        public var ts: String
        /// The parent's `ts` for a thread reply.
        public var threadTS: String?
        /// The latest content: `text`, `blocks`, `attachments` as sent.
        public var content: JSONValue
        /// How many times `chat.update` changed it.
        public var edits: Int

        public var text: String? { slackMember(content, "text").flatMap(slackString) }
        /// The colour of the first attachment.
        public var colour: String? {
            slackMember(content, "attachments").flatMap(slackArray)?.first.flatMap { slackMember($0, "color") }.flatMap(slackString)
        }
        /// The header block's text.
        public var header: String? {
            let blocks = slackMember(content, "blocks").flatMap(slackArray) ?? []
            return blocks.first { slackMember($0, "type").flatMap(slackString) == "header" }.flatMap { slackMember(slackMember($0, "text"), "text") }
                .flatMap(slackString)
        }
    }

    public let token: String
    /// Channel names (without `#`) to their ids; an id is accepted as itself.
    public let channels: [String: String]
    /// Channels that exist but are archived (`is_archived`), or that the bot is not in (`not_in_channel`), by id.
    public let archived: Set<String>
    public let notJoined: Set<String>
    /// Quote the request (path, headers, body) in every answer, failures and successes alike.
    public let echo: Bool

    private struct State {
        var messages: [Message] = []
        var failures: [Failure] = []
        var warnings: [String] = []
        var sequence = 0
    }

    private let state = Mutex(State())

    public init(
        token: String,
        channels: [String: String] = ["alerts": "C0ALERTS01"],
        archived: Set<String> = [],
        notJoined: Set<String> = [],
        echo: Bool = false
    ) {
        self.token = token
        self.channels = channels
        self.archived = archived
        self.notJoined = notJoined
        self.echo = echo
    }

    /// Every message, top-level and replies, in posting order.
    public var allMessages: [Message] { state.withLock { $0.messages } }
    /// Top-level messages only.
    public var messages: [Message] { allMessages.filter { $0.threadTS == nil } }
    /// The replies in the thread of `ts`.
    public func replies(to ts: String) -> [Message] { allMessages.filter { $0.threadTS == ts } }
    public func message(ts: String) -> Message? { allMessages.first { $0.ts == ts } }
    /// Warnings Slack would have returned (`missing_charset`, `message_truncated`).
    public var warnings: [String] { state.withLock { $0.warnings } }

    /// The next requests fail like this, in order.
    public func fail(_ failures: Failure...) {
        state.withLock { $0.failures += failures }
    }

    /// Deletes a message, as a person in the channel could: a later `chat.update` of it gets `message_not_found`.
    public func delete(ts: String) {
        state.withLock { $0.messages.removeAll { $0.ts == ts } }
    }

    public var handler: ScriptedPeer.Handler {
        { [self] request in answer(request) }
    }

    public func answer(_ request: RecordedRequest) -> ScriptedAnswer {
        var extra: [String: JSONValue] = [:]
        if echo { extra["echo"] = .string(slackEchoText(of: request)) }
        func json(_ status: Int, _ fields: [String: JSONValue], headers: [String: String] = [:]) -> ScriptedAnswer {
            .json(status, JSONWriter.string(.object(fields.merging(extra) { first, _ in first })), headers: headers)
        }
        func error(_ code: String, headers: [String: String] = [:]) -> ScriptedAnswer {
            json(200, ["ok": .bool(false), "error": .string(code)], headers: headers)
        }
        let failure: Failure? = state.withLock { $0.failures.isEmpty ? nil : $0.failures.removeFirst() }
        switch failure {
        case .error(let code, let headers): return error(code, headers: headers)
        case .rateLimited(let seconds):
            return json(429, ["ok": .bool(false), "error": .string("ratelimited")], headers: ["Retry-After": "\(seconds)"])
        case .status(let code, let body):
            return .status(code, headers: ["Content-Type": "text/html"], body: body + (echo ? slackEchoText(of: request) : ""))
        case .slow(let delay): return .after(delay, error("request_timeout"))
        case nil: break
        }
        let method = request.path.hasPrefix("/api/") ? String(request.path.dropFirst(5)) : request.path
        guard method == "chat.postMessage" || method == "chat.update" else {
            return json(404, ["ok": .bool(false), "error": .string("unknown_method")])
        }
        guard let authorization = request.header("Authorization"), authorization.hasPrefix("Bearer ") else { return error("not_authed") }
        guard authorization == "Bearer \(token)" else { return error("invalid_auth") }
        guard case .object(let body)? = try? JSONParser.parse(request.body) else { return error("invalid_json") }
        var warnings: [String] = []
        if request.header("Content-Type")?.lowercased().contains("charset=utf-8") != true { warnings.append("missing_charset") }
        guard let requested = body["channel"].flatMap(slackString), !requested.isEmpty else { return error("channel_not_found") }
        let name = requested.hasPrefix("#") ? String(requested.dropFirst()) : requested
        guard let channel = channels[name] ?? (channels.values.contains(name) ? name : nil) else { return error("channel_not_found") }
        if archived.contains(channel) { return error("is_archived") }
        if notJoined.contains(channel) { return error("not_in_channel") }
        if let refusal = SlackRules.refusal(of: body) { return error(refusal) }
        if (body["text"].flatMap(slackString)?.count ?? 0) > SlackRules.messageText { warnings.append("message_truncated") }
        let content = JSONValue.object(body.filter { ["text", "blocks", "attachments"].contains($0.key) })

        let answered: [String: JSONValue]? = state.withLock { state in
            state.warnings += warnings
            if method == "chat.update" {
                guard let ts = body["ts"].flatMap(slackString), let index = state.messages.firstIndex(where: { $0.ts == ts && $0.channel == channel })
                else {
                    return nil
                }
                state.messages[index].content = content
                state.messages[index].edits += 1
                return ["ok": .bool(true), "channel": .string(channel), "ts": .string(ts)]
            }
            state.sequence += 1
            let ts = "1767225600.\(String(format: "%06d", state.sequence * 100))"
            let threadTS = body["thread_ts"].flatMap(slackString)
            state.messages.append(Message(channel: channel, ts: ts, threadTS: threadTS, content: content, edits: 0))
            return ["ok": .bool(true), "channel": .string(channel), "ts": .string(ts), "message": content]
        }
        guard var fields = answered else { return error("message_not_found") }
        if !warnings.isEmpty { fields["response_metadata"] = .object(["warnings": .array(warnings.map(JSONValue.string))]) }
        return json(200, fields)
    }
}
