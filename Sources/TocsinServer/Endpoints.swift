import HTTPTypes
import Hummingbird
import TocsinCore

/// Who is calling: what the authenticator found on the request.
public struct Caller: Sendable, Hashable {
    /// `user:NAME`, `token:ID`, or `anonymous` when authentication is off.
    public var subject: String
    /// `nil` when authentication is off: every endpoint is open.
    public var role: AccessRole?
    /// Signed in through the console's session cookie: mutating requests must carry the session's CSRF token.
    public var viaSession: Bool
    /// The session's CSRF token, for the console to put in its pages; `nil` without a session.
    public var csrfToken: String?

    public init(subject: String, role: AccessRole?, viaSession: Bool, csrfToken: String? = nil) {
        self.subject = subject
        self.role = role
        self.viaSession = viaSession
        self.csrfToken = csrfToken
    }

    public static let anonymous = Caller(subject: "anonymous", role: nil, viaSession: false)
}

/// One endpoint of the HTTP server and what it needs of its caller. The list of every endpoint drives
/// registration, authorization, the authorization-matrix test and the OpenAPI document's test.
public struct Endpoint: Sendable, Hashable {
    public var method: HTTPRequest.Method
    /// The router's pattern, with `{name}` parameters.
    public var path: String
    public var access: EndpointAccess
    /// A console page, for people in a browser: a visitor without a credential is sent to the sign-in page (303)
    /// instead of being answered 401, and a refused role gets an HTML 403 page.
    public var isPage: Bool

    public init(method: HTTPRequest.Method, path: String, access: EndpointAccess, isPage: Bool = false) {
        self.method = method
        self.path = path
        self.access = access
        self.isPage = isPage
    }
}

/// Finds the caller of a request and refuses it (401, 403) when it may not use the endpoint.
public protocol RequestAuthorizer: Sendable {
    func authorize(_ request: Request, for endpoint: Endpoint) async throws -> Caller
}

/// Authentication off: every caller is anonymous and every endpoint is open.
public struct OpenAuthorizer: RequestAuthorizer {
    public init() {}

    public func authorize(_ request: Request, for endpoint: Endpoint) async throws -> Caller {
        .anonymous
    }
}

/// Registers endpoints on a router, each behind the authorizer, and keeps the list of them.
final class EndpointRegistrar {
    let router: Router<BasicRequestContext>
    let authorizer: any RequestAuthorizer
    private(set) var endpoints: [Endpoint] = []

    init(router: Router<BasicRequestContext>, authorizer: any RequestAuthorizer) {
        self.router = router
        self.authorizer = authorizer
    }

    /// Registers a route behind the authorizer. `refused`, when given, answers an access refusal instead of the API's
    /// JSON error (a console page's redirect to sign in, its HTML 403 page).
    func add(
        _ endpoint: Endpoint,
        refused: (@Sendable (AccessRefusal, Request) async throws -> Response)? = nil,
        handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Response
    ) {
        endpoints.append(endpoint)
        let authorizer = self.authorizer
        router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
            let caller: Caller
            do {
                caller = try await authorizer.authorize(request, for: endpoint)
            } catch let refusal as AccessRefusal {
                guard let refused else { throw refusal }
                return try await refused(refusal, request)
            }
            return try await handler(request, context, caller)
        }
    }

    func add(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ access: EndpointAccess,
        handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Response
    ) {
        add(Endpoint(method: method, path: path, access: access), handler: handler)
    }

    /// A console page (GET): authorized like every endpoint; a refusal is answered by `refused`.
    func page(
        _ path: String,
        _ access: EndpointAccess,
        refused: @escaping @Sendable (AccessRefusal, Request) async throws -> Response,
        handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Response
    ) {
        add(Endpoint(method: .get, path: path, access: access, isPage: true), refused: refused, handler: handler)
    }

    func get(_ path: String, _ access: EndpointAccess, handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Response) {
        add(.get, path, access, handler: handler)
    }

    func post(_ path: String, _ access: EndpointAccess, handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Response)
    {
        add(.post, path, access, handler: handler)
    }

    func put(_ path: String, _ access: EndpointAccess, handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Response) {
        add(.put, path, access, handler: handler)
    }

    func delete(
        _ path: String,
        _ access: EndpointAccess,
        handler: @escaping @Sendable (Request, BasicRequestContext, Caller) async throws -> Response
    ) {
        add(.delete, path, access, handler: handler)
    }
}
