import Foundation
import TocsinCore

/// Removes every configured secret from text that came from a peer or a library before it is stored, logged
/// or shown: a peer may echo a token back in its error answer.
public struct SecretRedactor: Sendable {
    private var secrets: [Secret] = []
    private var urls: [Secret] = []

    public init() {}

    /// A plain secret: a key, a password, a token.
    public mutating func add(_ secret: Secret?) {
        guard let secret, !secret.exposedValue.isEmpty else { return }
        secrets.append(secret)
    }

    /// Basic credentials: the password, and the base64 form the peer saw in `Authorization`.
    public mutating func addBasic(username: String, password: Secret) {
        add(password)
        add(Secret(Data("\(username):\(password.exposedValue)".utf8).base64EncodedString()))
    }

    /// A URL whose path or query carries a token (Slack and Teams webhooks). The whole URL is replaced by its
    /// scheme and host; its path, its long segments and its query values are secrets on their own, because a
    /// peer may quote just one of them.
    public mutating func addURL(_ url: Secret) {
        urls.append(url)
        guard let components = URLComponents(string: url.exposedValue) else { return }
        if components.path.count > 1 { add(Secret(components.path)) }
        for segment in components.path.split(separator: "/") where segment.count >= 8 { add(Secret(String(segment))) }
        if let query = components.query, !query.isEmpty { add(Secret(query)) }
        if let encoded = components.percentEncodedQuery, !encoded.isEmpty { add(Secret(encoded)) }
        for item in (components.queryItems ?? []) + (components.percentEncodedQueryItems ?? []) {
            if let value = item.value, value.count >= 4 { add(Secret(value)) }
        }
        if components.percentEncodedPath.count > 1 { add(Secret(components.percentEncodedPath)) }
        if let password = components.password, !password.isEmpty { add(Secret(password)) }
    }

    /// The text with every secret replaced by `<secret>`, cut to `limit` characters after redaction (a secret
    /// that straddled the cut would otherwise survive in part).
    public func redact(_ text: String, limit: Int = 512) -> String {
        var result = text
        for url in urls { result = result.replacingOccurrences(of: url.exposedValue, with: redactedURL(url.exposedValue)) }
        // Longest first: a secret that contains another is replaced whole.
        for secret in secrets.sorted(by: { $0.exposedValue.count > $1.exposedValue.count }) { result = secret.redact(result) }
        return String(result.prefix(limit))
    }
}
