import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import TocsinCore
import TocsinStore

/// Authentication and authorization of every request: API tokens, console sessions, CSRF.
///
/// A request proves who it is with an API token (`Authorization: Bearer tocsin_…`) or with the console's session
/// cookie. A request signed in by the cookie that changes something must also carry the session's CSRF token in
/// `X-CSRF-Token`: a browser sends the cookie along with a request another site makes it send, but that site cannot
/// read the token.
public final class AccessControl: RequestAuthorizer {
    public static let sessionCookieName = "tocsin_session"
    public static let csrfHeaderName = HTTPField.Name("X-CSRF-Token")!

    public let enabled: Bool
    let store: any Store
    let clock: @Sendable () -> Date
    let sessionLifetime: Duration
    /// Cookies get `Secure` when the server is reached over HTTPS (`server.public_url`).
    let secureCookies: Bool
    let logger: Logger
    /// How new passwords are hashed.
    let hasher: PasswordHasher
    /// Failed password sign-ins per name, on this instance.
    private let throttle = NIOLockedValueBox(SignInThrottle())

    init(
        settings: ServerSettings,
        store: any Store,
        logger: Logger = Logger(label: "tocsin.access"),
        hasher: PasswordHasher = .standard,
        clock: @escaping @Sendable () -> Date
    ) {
        self.enabled = settings.auth.isEnabled(listensOnLoopbackOnly: settings.listensOnLoopbackOnly)
        self.store = store
        self.clock = clock
        self.sessionLifetime = settings.auth.sessionLifetime
        self.secureCookies = settings.publicURL?.lowercased().hasPrefix("https://") == true
        self.logger = logger
        self.hasher = hasher
        if let warning = settings.auth.startupWarning(host: settings.host, listensOnLoopbackOnly: settings.listensOnLoopbackOnly) {
            logger.warning("\(warning)")
        }
    }

    /// The caller, when it may use `endpoint`; else 401 (no valid credential) or 403 (role not allowed, or a
    /// cookie-signed change without its CSRF token).
    public func authorize(_ request: Request, for endpoint: Endpoint) async throws -> Caller {
        guard enabled, endpoint.access != .public else { return .anonymous }
        guard let caller = try await authenticate(request), let role = caller.role else {
            throw AccessRefusal.unauthenticated
        }
        guard role.allows(endpoint.access) else {
            throw AccessRefusal(
                status: .forbidden,
                reason: "forbidden",
                message: "the role \(role.rawValue) may not use \(endpoint.method.rawValue) \(endpoint.path); it needs \(endpoint.access.rawValue)"
            )
        }
        if caller.viaSession && !Self.isSafe(request.method) {
            let sent = request.headers[Self.csrfHeaderName] ?? ""
            guard let expected = caller.csrfToken, Credentials.constantTimeEquals(sent, expected) else {
                throw AccessRefusal(
                    status: .forbidden,
                    reason: "csrf",
                    message: "a change made with the session cookie must carry the session's CSRF token in X-CSRF-Token"
                )
            }
        }
        return caller
    }

    /// Who is calling, without refusing: `nil` when authentication is on and the request carries no valid
    /// credential. For the console, which sends such visitors to its sign-in page. Throws only when the store
    /// cannot be reached.
    public func identify(_ request: Request) async throws -> Caller? {
        guard enabled else { return .anonymous }
        return try await authenticate(request)
    }

    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head
    }

    // MARK: credentials

    /// The caller its credential proves, or nil. A request with an `Authorization` header is judged by it alone:
    /// a bad token is not rescued by a cookie.
    private func authenticate(_ request: Request) async throws -> Caller? {
        do {
            if let header = request.headers[.authorization] {
                guard let token = Self.bearerToken(header) else { return nil }
                return try await caller(token: token)
            }
            if let cookie = request.cookies[Self.sessionCookieName]?.value, !cookie.isEmpty {
                return try await caller(sessionCookie: cookie)
            }
            return nil
        } catch {
            logger.error("cannot check a request's credential", metadata: ["error": "\(type(of: error))"])
            throw APIError(status: .serviceUnavailable, reason: "store_unavailable", message: "the credential could not be checked; try again")
        }
    }

    /// The token of `Bearer TOKEN` (the scheme's case does not matter), when it looks like a Tocsin token.
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard token.hasPrefix(Credentials.tokenPrefix), token.count <= 200 else { return nil }
        return token
    }

    private func caller(token: String) async throws -> Caller? {
        guard let stored = try await store.token(hash: Credentials.sha256Hex(token)) else { return nil }
        return Caller(subject: "token:\(stored.id)", role: stored.role, viaSession: false)
    }

    private func caller(sessionCookie: String) async throws -> Caller? {
        guard sessionCookie.utf8.count <= 200, let session = try await session(cookie: sessionCookie) else { return nil }
        var role = session.role
        // A user's role may have changed since they signed in: the user's current role counts, and a removed user's
        // sessions end with them.
        if session.subject.hasPrefix("user:") {
            guard let user = try await store.user(named: String(session.subject.dropFirst(5))) else { return nil }
            role = user.role
        }
        return Caller(subject: session.subject, role: role, viaSession: true, csrfToken: session.csrfToken)
    }

    func session(cookie: String) async throws -> StoredSession? {
        try await store.session(idHash: Credentials.sha256Hex(cookie), now: clock())
    }

    /// What to tell at start-up when authentication is on and nobody can sign in yet; `nil` otherwise.
    public func missingCredentialsHint() async throws -> String? {
        guard enabled, try await store.userCount() == 0, try await store.tokens().isEmpty else { return nil }
        return """
            authentication is on and there is no user or API token yet: every request but the health checks will be refused. \
            Create an admin with 'tocsin user add NAME --role admin' (the password is read from standard input) or a \
            token with 'tocsin token create --name NAME --role admin', using the same configuration file.
            """
    }

    // MARK: sign-in

    /// Why a sign-in failed. One message for an unknown name and a wrong password: the answer must not tell which
    /// names exist.
    static let signInRefused = AccessRefusal(status: .unauthorized, reason: "unauthenticated", message: "wrong name, password or token")

    /// A new session for `name`, when `password` is theirs.
    func signIn(name: String, password: Secret) async throws -> (StoredSession, cookie: Secret) {
        if let wait = throttle.withLockedValue({ $0.startAttempt(name: name, now: clock()) }) {
            let seconds = max(1, Int(wait.rounded(.up)))
            var refusal = AccessRefusal(
                status: .tooManyRequests,
                reason: "too_many_attempts",
                message: "too many failed sign-ins for this name; try again in \(seconds) s"
            )
            refusal.retryAfterSeconds = seconds
            throw refusal
        }
        let matched: StoredUser?
        do {
            let user = try await store.user(named: name)
            let matches = await PasswordWork.run {
                guard let user else {
                    PasswordHasher.standard.burnOneCheck()
                    return false
                }
                return PasswordHasher.verify(password, against: user.passwordHash)
            }
            matched = matches ? user : nil
        } catch {
            // The attempt ends without a verdict: it must not hold its place in the count.
            throttle.withLockedValue { $0.cancelAttempt(name: name) }
            throw error
        }
        // Unknown names count too: otherwise the refusals would tell which names exist.
        let nowBlocked = throttle.withLockedValue { $0.finishAttempt(name: name, succeeded: matched != nil, now: clock()) }
        if nowBlocked {
            // Once per blocked name, not per refused attempt: refusals cost nothing and could flood the log.
            logger.warning("password sign-ins for a name are refused for a while after repeated failures", metadata: ["name": "\(name)"])
        }
        guard let user = matched else { throw Self.signInRefused }
        return try await openSession(subject: "user:\(user.name)", role: user.role)
    }

    /// A new session for an API token's holder. Ingest tokens belong to monitoring agents, not to people.
    func signIn(token: Secret) async throws -> (StoredSession, cookie: Secret) {
        guard token.exposedValue.hasPrefix(Credentials.tokenPrefix), token.exposedValue.count <= 200,
            let stored = try await store.token(hash: Credentials.sha256Hex(token.exposedValue))
        else { throw Self.signInRefused }
        guard stored.role != .ingest else {
            throw AccessRefusal(status: .forbidden, reason: "forbidden", message: "an ingest token cannot sign in to the console")
        }
        return try await openSession(subject: "token:\(stored.id)", role: stored.role)
    }

    private func openSession(subject: String, role: AccessRole) async throws -> (StoredSession, cookie: Secret) {
        let now = clock()
        // Sign-ins are rare enough to sweep ended sessions on: the table never grows without bound.
        try await store.deleteExpiredSessions(now: now)
        let (cookie, idHash) = Credentials.newSession()
        let session = StoredSession(
            idHash: idHash,
            subject: subject,
            role: role,
            csrfToken: Credentials.newCSRFToken(),
            createdAt: now,
            expiresAt: now.addingTimeInterval(sessionLifetime.seconds)
        )
        try await store.createSession(session)
        return (session, cookie)
    }

    /// Ends the session of the request's cookie, if any.
    func signOut(_ request: Request) async throws {
        guard let cookie = request.cookies[Self.sessionCookieName]?.value, !cookie.isEmpty, cookie.utf8.count <= 200 else { return }
        try await store.deleteSession(idHash: Credentials.sha256Hex(cookie))
    }

    /// `Set-Cookie` for a new session: out of scripts' reach, never sent along with another site's requests.
    func sessionCookieHeader(_ cookie: Secret) -> String {
        cookieHeader(value: cookie.exposedValue, maxAge: Int(sessionLifetime.seconds))
    }

    /// `Set-Cookie` that makes the browser drop the session cookie.
    func clearedCookieHeader() -> String {
        cookieHeader(value: "", maxAge: 0)
    }

    private func cookieHeader(value: String, maxAge: Int) -> String {
        "\(Self.sessionCookieName)=\(value); Max-Age=\(maxAge); Path=/; HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }
}

/// A 401 or 403: the API's JSON error, and on 401 the `WWW-Authenticate` challenge that says how to authenticate.
struct AccessRefusal: HTTPResponseError {
    var error: APIError
    /// Sent as `Retry-After` (a refusal for too many attempts).
    var retryAfterSeconds: Int?

    init(status: HTTPResponse.Status, reason: String, message: String) {
        error = APIError(status: status, reason: reason, message: message)
    }

    var status: HTTPResponse.Status { error.status }

    static let unauthenticated = AccessRefusal(
        status: .unauthorized,
        reason: "unauthenticated",
        message: "authentication required: send an API token as 'Authorization: Bearer TOKEN', or sign in"
    )

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try error.response(from: request, context: context)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }
}

/// Password hashing is slow on purpose (a tenth of a second of CPU and 32 MiB each). It runs on one queue of its
/// own, one at a time: off the threads that serve requests, and a flood of sign-in attempts waits in line instead of
/// taking every core and gigabytes of memory.
enum PasswordWork {
    private static let queue = DispatchQueue(label: "tocsin.password-hashing")

    static func run<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }

    static func hash(_ password: Secret, with hasher: PasswordHasher) async throws -> String {
        try await run { Result(catching: { try hasher.hash(password) }) }.get()
    }
}
