import Foundation
import Hummingbird
import Logging
import TocsinCore
import TocsinStore

/// Authentication and authorization of every request: API tokens, console sessions, CSRF.
public final class AccessControl: RequestAuthorizer {
    public let enabled: Bool
    let store: any Store
    let clock: @Sendable () -> Date

    init(settings: ServerSettings, store: any Store, clock: @escaping @Sendable () -> Date) {
        self.enabled = settings.auth.isEnabled(listensOnLoopbackOnly: settings.listensOnLoopbackOnly)
        self.store = store
        self.clock = clock
    }

    public func authorize(_ request: Request, for endpoint: Endpoint) async throws -> Caller {
        .anonymous
    }

    /// Who is calling, without refusing: `nil` when authentication is on and the request carries no valid
    /// credential. For the console, which sends such visitors to its sign-in page.
    public func identify(_ request: Request) async throws -> Caller? {
        .anonymous
    }
}

extension API {
    /// Sign-in, sign-out, users, tokens and the audit log.
    func registerAccess(on endpoints: EndpointRegistrar) {}
}
