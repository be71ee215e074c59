import Foundation
import TocsinCore

/// Posts to Slack. With an incoming webhook every notification is a new message. With a bot token each alert has
/// one message: later updates edit it (or reply in its thread), and the resolve turns it green.
public struct SlackSink: Sink {
    public let configuration: SlackConfiguration
    let transport: HTTPTransport
    let publicURL: String?
    let state: any SinkStateStore
    let now: @Sendable () -> Date
    let redactor: SecretRedactor

    public init(configuration: SlackConfiguration, environment: SinkEnvironment) {
        self.configuration = configuration
        self.transport = environment.http
        self.publicURL = environment.publicURL
        self.state = environment.state
        self.now = environment.now
        self.redactor = configuration.redactor
    }

    /// Slack allows about one message per second per webhook and per channel.
    public static let factory = SinkFactory(type: "slack", defaultRateLimit: RateLimit(count: 1, period: .seconds(1))) { integration, environment in
        SlackConfiguration.parse(integration, publicURL: environment.publicURL).map { SlackSink(configuration: $0, environment: environment) }
    }

    public func deliver(_ outbound: OutboundNotification) async -> SinkResult {
        let message = SlackMessage(outbound, templates: configuration.templates, publicURL: publicURL)
        switch configuration.mode {
        case .webhook(let url): return await postToWebhook(message, url: url)
        case .bot(let token, let apiURL): return await BotDelivery(sink: self, token: token, apiURL: apiURL).deliver(outbound, message: message)
        }
    }

    func postToWebhook(_ message: SlackMessage, url: Secret) async -> SinkResult {
        var fields = message.jsonFields
        if let channel = configuration.channel { fields["channel"] = .string(channel) }
        let headers = [("Content-Type", "application/json"), ("User-Agent", "Tocsin/\(TocsinVersion.current)")]
        do {
            let answer = try await transport.post(
                url: url.exposedValue,
                headers: headers,
                body: JSONWriter.write(.object(fields)),
                timeout: configuration.timeout
            )
            return SlackAnswer.webhook(answer, redactor: redactor, now: now())
        } catch {
            return SinkResult.transportFailure(error, url: url.exposedValue, redactor: redactor)
        }
    }
}

/// The message a bot posted for an alert, kept in the sink state under `message:<fingerprint>`.
struct SlackPostedMessage: Sendable, Hashable {
    var channel: String
    var ts: String
    /// When the message was posted or last edited.
    var editedAt: Date

    init(channel: String, ts: String, editedAt: Date) {
        self.channel = channel
        self.ts = ts
        self.editedAt = editedAt
    }

    init?(stored: String) {
        guard case .object(let object)? = try? JSONParser.parse(Array(stored.utf8)),
            case .string(let channel)? = object["channel"], case .string(let ts)? = object["ts"],
            case .number(let edited)? = object["edited_at"]
        else { return nil }
        self.init(channel: channel, ts: ts, editedAt: Date(timeIntervalSince1970: edited))
    }

    var stored: String {
        JSONWriter.string(.object(["channel": .string(channel), "ts": .string(ts), "edited_at": .number(editedAt.timeIntervalSince1970)]))
    }

    static func key(fingerprint: String) -> String { "message:\(fingerprint)" }
}

/// One delivery in bot mode.
struct BotDelivery {
    let sink: SlackSink
    let token: Secret
    let apiURL: String

    var configuration: SlackConfiguration { sink.configuration }

    func deliver(_ outbound: OutboundNotification, message: SlackMessage) async -> SinkResult {
        let notification = outbound.notification
        let event = notification.event
        // One-off notifications and test messages are posted and forgotten: nothing will edit them.
        guard notification.type != .notification, let fingerprint = event.fingerprint, event.labels[TestNotification.label] != "true" else {
            return await post(message, threadTS: nil).result
        }
        let key = SlackPostedMessage.key(fingerprint: fingerprint)
        let remembered: SlackPostedMessage?
        do {
            remembered = try await sink.state.value(integration: outbound.integration, key: key).flatMap(SlackPostedMessage.init(stored:))
        } catch {
            // Posting without knowing whether a message exists could leave two messages for one alert.
            return SinkResult(outcome: .retryable(retryAfter: nil), detail: sink.redactor.redact("sink state unavailable: \(error)"))
        }
        let now = sink.now()
        switch notification.type {
        case .open:
            guard let remembered else { return await postAndRemember(message, integration: outbound.integration, key: key) }
            guard now.timeIntervalSince(remembered.editedAt) >= configuration.updateInterval.seconds else {
                // Edited recently: the update goes into the thread so that nothing is lost and the channel is not
                // flooded with edits.
                return await post(message, threadTS: remembered.ts).result
            }
            switch await update(remembered, with: message) {
            case .updated:
                return await remember(
                    SlackPostedMessage(channel: remembered.channel, ts: remembered.ts, editedAt: now),
                    integration: outbound.integration,
                    key: key
                )
            case .gone: return await postAndRemember(message, integration: outbound.integration, key: key)
            case .failed(let result): return result
            }
        case .resolve:
            guard let remembered else { return await post(message, threadTS: nil).result }
            switch await update(remembered, with: message) {
            case .updated: break
            case .gone:
                let posted = await post(message, threadTS: nil)
                if posted.result.outcome != .delivered { return posted.result }
            case .failed(let result):
                // A refused edit (archived channel, revoked token) will not succeed later: forget the message so a
                // new episode of the alert starts a new one.
                if result.outcome == .permanent { _ = await forget(integration: outbound.integration, key: key) }
                return result
            }
            return await forget(integration: outbound.integration, key: key)
        case .notification, .records, .acknowledge:
            // Slack does not forward acknowledgements, so none is ever queued for it; one that came anyway is posted
            // and forgotten like a one-off notification, leaving the alert's message as it is.
            return await post(message, threadTS: nil).result
        }
    }

    // MARK: - Web API calls

    enum UpdateOutcome {
        case updated
        /// `message_not_found`: the message was deleted; post a new one.
        case gone
        case failed(SinkResult)
    }

    struct PostOutcome {
        var result: SinkResult
        var posted: SlackPostedMessage?
    }

    func post(_ message: SlackMessage, threadTS: String?) async -> PostOutcome {
        var fields = message.jsonFields
        fields["channel"] = .string(configuration.channel ?? "")
        fields["unfurl_links"] = .bool(false)
        fields["unfurl_media"] = .bool(false)
        if let threadTS { fields["thread_ts"] = .string(threadTS) }
        switch await call("chat.postMessage", fields) {
        case .ok(let answer):
            let posted: SlackPostedMessage? =
                if case .string(let channel)? = answer["channel"], case .string(let ts)? = answer["ts"] {
                    SlackPostedMessage(channel: channel, ts: ts, editedAt: sink.now())
                } else {
                    nil
                }
            return PostOutcome(result: SinkResult(outcome: .delivered, statusCode: 200), posted: posted)
        case .error(_, let result), .failed(let result):
            return PostOutcome(result: result, posted: nil)
        }
    }

    func update(_ remembered: SlackPostedMessage, with message: SlackMessage) async -> UpdateOutcome {
        var fields = message.jsonFields
        fields["channel"] = .string(remembered.channel)
        fields["ts"] = .string(remembered.ts)
        switch await call("chat.update", fields) {
        case .ok: return .updated
        case .error(let code, _) where code == "message_not_found": return .gone
        case .error(_, let result), .failed(let result): return .failed(result)
        }
    }

    func call(_ method: String, _ fields: [String: JSONValue]) async -> SlackAnswer.WebAPIReading {
        let url = "\(apiURL)/\(method)"
        let headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Authorization", "Bearer \(token.exposedValue)"),
            ("User-Agent", "Tocsin/\(TocsinVersion.current)"),
        ]
        do {
            let answer = try await sink.transport.post(
                url: url,
                headers: headers,
                body: JSONWriter.write(.object(fields)),
                timeout: configuration.timeout
            )
            return SlackAnswer.webAPI(answer, method: method, redactor: sink.redactor, now: sink.now())
        } catch {
            return .failed(SinkResult.transportFailure(error, url: url, redactor: sink.redactor))
        }
    }

    // MARK: - Sink state

    func postAndRemember(_ message: SlackMessage, integration: String, key: String) async -> SinkResult {
        let outcome = await post(message, threadTS: nil)
        guard outcome.result.outcome == .delivered, let posted = outcome.posted else { return outcome.result }
        return await remember(posted, integration: integration, key: key)
    }

    /// The message is on Slack whatever happens here: a failure to remember it is reported, not retried (a retry
    /// would post it twice); the next update of the alert then posts a new message.
    func remember(_ posted: SlackPostedMessage, integration: String, key: String) async -> SinkResult {
        do {
            try await sink.state.setValue(posted.stored, integration: integration, key: key, now: sink.now())
            return SinkResult(outcome: .delivered, statusCode: 200)
        } catch {
            return SinkResult(
                outcome: .delivered,
                statusCode: 200,
                detail: sink.redactor.redact("posted, but the message could not be remembered: \(error)")
            )
        }
    }

    func forget(integration: String, key: String) async -> SinkResult {
        do {
            try await sink.state.removeValue(integration: integration, key: key)
            return SinkResult(outcome: .delivered, statusCode: 200)
        } catch {
            return SinkResult(
                outcome: .delivered,
                statusCode: 200,
                detail: sink.redactor.redact("resolved, but the message could not be forgotten: \(error)")
            )
        }
    }
}
