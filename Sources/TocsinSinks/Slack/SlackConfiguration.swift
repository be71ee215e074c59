import Foundation
import TocsinCore

/// The settings of a `slack` integration: an incoming webhook, or a bot token that keeps one message per alert.
public struct SlackConfiguration: Sendable {
    public enum Mode: Sendable {
        /// An incoming webhook: the URL is the credential. Messages cannot be edited afterwards.
        case webhook(url: Secret)
        /// A bot token and the Web API (`chat.postMessage`, `chat.update`): one message per alert, edited as it changes.
        case bot(token: Secret, apiURL: String)
    }

    public static let defaultAPIURL = "https://slack.com/api"
    public static let defaultUpdateInterval: Duration = .seconds(300)

    public var name: String
    public var mode: Mode
    /// Webhook mode: an optional override (honoured by legacy webhooks only). Bot mode: where messages go.
    public var channel: String?
    /// Bot mode: an update of a firing alert edits its message at most this often; in between it is a thread reply.
    public var updateInterval: Duration
    public var timeout: Duration
    public var templates: MessageTemplates

    /// The webhook URL with its path segments, or the bot token.
    var redactor: SecretRedactor {
        var redactor = SecretRedactor()
        switch mode {
        case .webhook(let url): redactor.addURL(url)
        case .bot(let token, _): redactor.add(token)
        }
        return redactor
    }

    public static func parse(_ integration: IntegrationConfig, publicURL: String? = nil) -> Result<SlackConfiguration, ConfigurationError> {
        var reader = SettingsReader(integration)
        let url = reader.secret("url")
        let token = reader.secret("token")
        let channel = reader.string("channel")
        let apiURLText = reader.string("api_url")
        let intervalText = reader.string("update_interval")
        let templates = reader.templates(SlackMessage.templateSpecs, publicURL: publicURL)

        if let channel, channel.trimmingCharacters(in: .whitespaces).isEmpty {
            reader.problem("channel", "must not be empty")
        }
        var mode: Mode?
        switch (url, token) {
        case (nil, nil):
            reader.problem("url", "is required: give url (incoming webhook), or token and channel (bot)")
        case (.some, .some):
            reader.problem("token", "give either url (incoming webhook) or token and channel (bot), not both")
        case (let url?, nil):
            if url.exposedValue.isEmpty {
                reader.problem("url", "must not be empty")
            } else if !SettingsReader.isHTTPURL(url.exposedValue) {
                reader.problem("url", "must start with https:// (an incoming webhook URL)")
            } else {
                mode = .webhook(url: url)
            }
            if apiURLText != nil { reader.problem("api_url", "is only used with token (bot mode)") }
            if intervalText != nil { reader.problem("update_interval", "is only used with token (bot mode)") }
        case (nil, let token?):
            // The value is never quoted: a token pasted into the wrong key must not reach a log.
            if !(token.exposedValue.hasPrefix("xoxb-") || token.exposedValue.hasPrefix("xoxp-")) {
                reader.problem("token", "must be a Slack bot token (xoxb-…) or user token (xoxp-…)")
            }
            if channel == nil { reader.problem("channel", "is required with token (bot mode)") }
            var apiURL = apiURLText ?? defaultAPIURL
            while apiURL.hasSuffix("/") { apiURL.removeLast() }
            if !SettingsReader.isHTTPURL(apiURL) {
                reader.problem("api_url", "must start with http:// or https://")
            }
            mode = .bot(token: token, apiURL: apiURL)
        }
        var updateInterval = defaultUpdateInterval
        if let intervalText {
            if let parsed = DurationParser.parse(intervalText) {
                updateInterval = parsed
            } else {
                reader.problem("update_interval", "expected a duration such as 5m or 30s, got '\(intervalText)'")
            }
        }
        if let error = reader.finish() { return .failure(error) }
        guard let mode else { return .failure(ConfigurationError(problems: reader.problems)) }
        return .success(
            SlackConfiguration(
                name: integration.name,
                mode: mode,
                channel: channel,
                updateInterval: updateInterval,
                timeout: integration.delivery.timeout,
                templates: templates
            )
        )
    }
}
