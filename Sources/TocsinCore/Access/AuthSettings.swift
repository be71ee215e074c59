import Foundation

/// The `server.auth` section: whether callers must authenticate, and how console sessions behave.
public struct AuthSettings: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// On when `server.host` is reachable beyond this machine, off on loopback.
        case auto
        case on
        case off
    }

    public var mode: Mode = .auto
    /// How long a console sign-in lasts.
    public var sessionLifetime: Duration = .seconds(12 * 3600)
    /// `server.secrets_key_file`: the path of the key that encrypts integration secrets stored in the database.
    public var secretsKeyFile: String?

    public init() {}

    /// Whether authentication is required for a server listening on `host`.
    public func isEnabled(listensOnLoopbackOnly: Bool) -> Bool {
        switch mode {
        case .on: true
        case .off: false
        case .auto: !listensOnLoopbackOnly
        }
    }

    /// What to warn about at start-up: authentication turned off on a server that other machines can reach.
    public func startupWarning(host: String, listensOnLoopbackOnly: Bool) -> String? {
        guard mode == .off, !listensOnLoopbackOnly else { return nil }
        return "server.auth.mode is off and the server listens on \(host): anyone who can reach it can read and change everything"
    }
}
