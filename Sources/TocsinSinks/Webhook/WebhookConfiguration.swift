import Foundation
import TocsinCore

/// The settings of a `webhook` integration.
public struct WebhookConfiguration: Sendable {
    public enum Format: String, Sendable {
        /// Tocsin's documented payload, version 1 (docs/webhook-payload.md).
        case tocsin
        /// Alertmanager's webhook payload, version 4.
        case alertmanager
    }

    public enum Authorization: Sendable {
        case none
        case basic(username: String, password: Secret)
        case bearer(Secret)
    }

    public var name: String
    /// The URL is kept as a secret: chat and incident webhooks carry their token in it.
    public var url: Secret
    public var format: Format
    public var headers: [String: Secret]
    public var authorization: Authorization
    public var signingSecret: Secret?
    public var timeout: Duration

    /// Every secret value, for redaction: the URL with its path and query on their own (a peer may echo
    /// the request line), and basic credentials also in the base64 form the peer saw.
    var secrets: [Secret] {
        var all = [url] + Array(headers.values)
        if let components = URLComponents(string: url.exposedValue) {
            if components.path.count > 1 { all.append(Secret(components.path)) }
            // Tokens are often one path segment (Slack's /services/T…/B…/XXXX); a peer may quote just that.
            for segment in components.path.split(separator: "/") where segment.count >= 8 { all.append(Secret(String(segment))) }
            if let query = components.query, !query.isEmpty { all.append(Secret(query)) }
            if let encoded = components.percentEncodedQuery, !encoded.isEmpty { all.append(Secret(encoded)) }
            // A peer may quote one query value alone (`?token=…&channel=ops` → "bad token …").
            for item in (components.queryItems ?? []) + (components.percentEncodedQueryItems ?? []) {
                if let value = item.value, value.count >= 4 { all.append(Secret(value)) }
            }
            if components.percentEncodedPath.count > 1 { all.append(Secret(components.percentEncodedPath)) }
        }
        switch authorization {
        case .none: break
        case .basic(let username, let password):
            all.append(password)
            all.append(Secret(Data("\(username):\(password.exposedValue)".utf8).base64EncodedString()))
        case .bearer(let token): all.append(token)
        }
        if let signingSecret { all.append(signingSecret) }
        return all
    }

    public static func parse(_ integration: IntegrationConfig) -> Result<WebhookConfiguration, ConfigurationError> {
        var reader = SettingsReader(integration)
        let url = reader.string("url", required: true) ?? ""
        if !url.isEmpty && !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            reader.problem("url", "must start with http:// or https://")
        }
        let format = Format(rawValue: reader.oneOf("format", ["tocsin", "alertmanager"], default: "tocsin")) ?? .tocsin
        let headers = reader.stringMap("headers").mapValues(Secret.init)
        let username = reader.string("username")
        let password = reader.secret("password")
        let bearer = reader.secret("bearer_token")
        var authorization = Authorization.none
        switch (username, password, bearer) {
        case (nil, nil, nil): break
        case (let user?, let password?, nil): authorization = .basic(username: user, password: password)
        case (nil, nil, let token?): authorization = .bearer(token)
        case (_, _, .some): reader.problem("bearer_token", "give either bearer_token or username and password, not both")
        default: reader.problem("password", "basic auth needs both username and password")
        }
        let secret = reader.secret("secret")
        if let error = reader.finish() { return .failure(error) }
        return .success(
            WebhookConfiguration(
                name: integration.name,
                url: Secret(url),
                format: format,
                headers: headers,
                authorization: authorization,
                signingSecret: secret,
                timeout: integration.delivery.timeout
            )
        )
    }
}
