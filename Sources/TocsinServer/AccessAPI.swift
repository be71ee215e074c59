import Foundation
import Hummingbird
import TocsinCore
import TocsinStore

/// Sign-in, sign-out, users, tokens and the audit log.
extension API {
    func registerAccess(on endpoints: EndpointRegistrar) {
        endpoints.post("/api/v1/session", .public) { request, _, _ in try await signIn(request) }
        // Ingest tokens cannot sign in, so that a session is always a viewer's or more.
        endpoints.get("/api/v1/session", .viewer) { request, _, caller in try await currentSession(request, caller: caller) }
        endpoints.delete("/api/v1/session", .viewer) { request, _, _ in try await signOut(request) }
        endpoints.get("/api/v1/tokens", .admin) { _, _, _ in try await listTokens() }
        endpoints.post("/api/v1/tokens", .admin) { request, _, caller in try await createToken(request, caller: caller) }
        endpoints.delete("/api/v1/tokens/{id}", .admin) { _, context, caller in
            try await administration { try await $0.revokeToken(id: try context.parameters.require("id"), actor: caller.subject) }
            return Response(status: .noContent)
        }
        endpoints.get("/api/v1/users", .admin) { _, _, _ in try await listUsers() }
        endpoints.post("/api/v1/users", .admin) { request, _, caller in try await createUser(request, caller: caller) }
        endpoints.put("/api/v1/users/{name}", .admin) { request, context, caller in
            try await updateUser(try context.parameters.require("name"), request, caller: caller)
        }
        endpoints.delete("/api/v1/users/{name}", .admin) { _, context, caller in
            try await administration { try await $0.removeUser(name: try context.parameters.require("name"), actor: caller.subject) }
            return Response(status: .noContent)
        }
        endpoints.get("/api/v1/audit", .admin) { request, _, _ in try await auditLog(request) }
    }

    // MARK: session

    struct SessionInfo: Encodable {
        /// `user:NAME`, `token:ID`, or `anonymous` when authentication is off.
        var subject: String
        var role: AccessRole?
        /// What the console sends back in `X-CSRF-Token`; absent for token callers, who need none.
        var csrfToken: String?
        var expiresAt: Date?
        var authenticationRequired: Bool
    }

    func signIn(_ request: Request) async throws -> Response {
        let body = try await accessBody(request)
        let access = runtime.access
        let signedIn: (StoredSession, cookie: Secret)
        switch (body["name"], body["password"], body["token"]) {
        case (.string(let name), .string(let password), nil):
            guard (1...64).contains(name.count), (1...AccessAdministration.passwordLengths.upperBound).contains(password.count) else {
                throw AccessControl.signInRefused
            }
            signedIn = try await access.signIn(name: name, password: Secret(password))
        case (nil, nil, .string(let token)):
            signedIn = try await access.signIn(token: Secret(token))
        default:
            throw APIError(
                status: .badRequest,
                reason: "invalid_field",
                message: "expected {\"name\": ..., \"password\": ...} or {\"token\": ...}, as strings"
            )
        }
        let (session, cookie) = signedIn
        var response = try JSONResponse.make(
            SessionInfo(
                subject: session.subject,
                role: session.role,
                csrfToken: session.csrfToken,
                expiresAt: session.expiresAt,
                authenticationRequired: access.enabled
            )
        )
        response.headers[.setCookie] = access.sessionCookieHeader(cookie)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func currentSession(_ request: Request, caller: Caller) async throws -> Response {
        var expiresAt: Date?
        if caller.viaSession, let cookie = request.cookies[AccessControl.sessionCookieName]?.value {
            expiresAt = try await runtime.access.session(cookie: cookie)?.expiresAt
        }
        let info = SessionInfo(
            subject: caller.subject,
            role: caller.role,
            csrfToken: caller.csrfToken,
            expiresAt: expiresAt,
            authenticationRequired: runtime.access.enabled
        )
        var response = try JSONResponse.make(info)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func signOut(_ request: Request) async throws -> Response {
        try await runtime.access.signOut(request)
        var response = Response(status: .noContent)
        response.headers[.setCookie] = runtime.access.clearedCookieHeader()
        return response
    }

    // MARK: tokens

    struct TokenInfo: Encodable {
        var id: String
        var name: String
        var role: AccessRole
        var createdAt: Date
        var createdBy: String
        /// Only in the answer that made the token: it is not stored and cannot be shown again.
        var token: String?

        init(_ stored: StoredToken, token: Secret? = nil) {
            id = stored.id
            name = stored.name
            role = stored.role
            createdAt = stored.createdAt
            createdBy = stored.createdBy
            self.token = token?.exposedValue
        }
    }

    func listTokens() async throws -> Response {
        let tokens = try await runtime.store.tokens().sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        return try JSONResponse.make(["tokens": tokens.map { TokenInfo($0) }])
    }

    func createToken(_ request: Request, caller: Caller) async throws -> Response {
        let body = try await accessBody(request)
        let name = try requiredString(body, "name")
        let role = try requiredRole(body)
        let (stored, token) = try await administration { try await $0.createToken(name: name, role: role, actor: caller.subject) }
        var response = try JSONResponse.make(TokenInfo(stored, token: token), status: .created)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    // MARK: users

    struct UserInfo: Encodable {
        var name: String
        var role: AccessRole
        var createdAt: Date

        init(_ user: StoredUser) {
            name = user.name
            role = user.role
            createdAt = user.createdAt
        }
    }

    func listUsers() async throws -> Response {
        let users = try await runtime.store.users().sorted { $0.name < $1.name }
        return try JSONResponse.make(["users": users.map(UserInfo.init)])
    }

    func createUser(_ request: Request, caller: Caller) async throws -> Response {
        let body = try await accessBody(request)
        let name = try requiredString(body, "name")
        let password = Secret(try requiredString(body, "password"))
        let role = try requiredRole(body)
        let user = try await administration { try await $0.addUser(name: name, password: password, role: role, actor: caller.subject) }
        return try JSONResponse.make(["user": UserInfo(user)], status: .created)
    }

    func updateUser(_ name: String, _ request: Request, caller: Caller) async throws -> Response {
        let body = try await accessBody(request)
        if let key = body.keys.sorted().first(where: { $0 != "password" && $0 != "role" }) {
            throw APIError(status: .badRequest, reason: "invalid_field", field: key, message: "unknown field (expected password, role)")
        }
        let password: Secret? = body["password"] == nil ? nil : Secret(try requiredString(body, "password"))
        let role = try body["role"] == nil ? nil : requiredRole(body)
        let user = try await administration { try await $0.updateUser(name: name, password: password, role: role, actor: caller.subject) }
        return try JSONResponse.make(["user": UserInfo(user)])
    }

    // MARK: audit

    struct AuditPage: Encodable {
        struct Item: Encodable {
            var sequence: Int64
            var at: Date
            var actor: String
            var action: String
            var target: String
            var detail: String
        }

        var entries: [Item]
        /// Pass as `before` for the next (older) page; absent on the last page.
        var next: Int64?
    }

    func auditLog(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try limit(query, default: 100, maximum: 1000)
        let before = try sequence(query, "before")
        let entries = try await runtime.store.auditLog(before: before, limit: limit)
        let items = entries.map {
            AuditPage.Item(sequence: $0.sequence, at: $0.at, actor: $0.actor, action: $0.action, target: $0.target, detail: $0.detail)
        }
        return try JSONResponse.make(AuditPage(entries: items, next: entries.count == limit ? entries.last?.sequence : nil))
    }

    // MARK: helpers

    /// Runs a change, turning its refusal into the API's error.
    private func administration<Value>(_ change: (AccessAdministration) async throws -> Value) async throws -> Value {
        let administration = AccessAdministration(store: runtime.store, hasher: runtime.access.hasher, clock: runtime.clock)
        do {
            return try await change(administration)
        } catch let refusal as AccessAdministration.Refusal {
            let (status, reason): (HTTPResponse.Status, String) =
                switch refusal.kind {
                case .invalid: (.badRequest, "invalid_field")
                case .notFound: (.notFound, "not_found")
                case .conflict: (.conflict, "conflict")
                }
            throw APIError(status: status, reason: reason, field: refusal.field, message: refusal.message)
        }
    }

    /// A JSON object body. The parser's own message is left out: it could quote a piece of a password.
    private func accessBody(_ request: Request) async throws -> [String: JSONValue] {
        let bytes = try await collect(request, api: "access")
        guard let value = try? JSONParser.parse(bytes) else {
            throw APIError(status: .badRequest, reason: "malformed_json", message: "the body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw APIError(status: .badRequest, reason: "invalid_field", message: "expected a JSON object")
        }
        return object
    }

    private func requiredString(_ body: [String: JSONValue], _ field: String) throws -> String {
        guard case .string(let text)? = body[field], !text.isEmpty else {
            throw APIError(status: .badRequest, reason: "invalid_field", field: field, message: "expected a non-empty string")
        }
        return text
    }

    private func requiredRole(_ body: [String: JSONValue]) throws -> AccessRole {
        guard case .string(let text)? = body["role"], let role = AccessRole(rawValue: text) else {
            throw APIError(status: .badRequest, reason: "invalid_field", field: "role", message: "expected ingest, viewer, editor or admin")
        }
        return role
    }
}
