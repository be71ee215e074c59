import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinStore
import TocsinTestSupport

/// A configuration with authentication required, whatever the address.
func authYAML(server: String = "", auth: String = "mode: \"on\"") -> String {
    """
    server:
      auth: {\(auth)}
      \(server)
    \(logFileYAML)
    """
}

/// Cheap enough for tests that make many users; sign-in checks each hash with the parameters it was made with.
let testPasswordHasher = PasswordHasher(logRounds: 10, blockSize: 8, parallelism: 1)

extension TocsinRuntime {
    var administration: AccessAdministration {
        AccessAdministration(store: store, hasher: testPasswordHasher, clock: clock)
    }

    /// A new API token of `role`, made as the CLI makes them.
    func makeToken(_ role: AccessRole, name: String? = nil) async throws -> (id: String, token: String) {
        let (stored, token) = try await administration.createToken(name: name ?? "test-\(role.rawValue)", role: role, actor: "cli")
        return (stored.id, token.exposedValue)
    }
}

func bearer(_ token: String, json: Bool = true) -> HTTPFields {
    var fields: HTTPFields = [.authorization: "Bearer \(token)"]
    if json { fields[.contentType] = "application/json" }
    return fields
}

/// A signed-in console: the session cookie and CSRF token a browser would hold.
struct ConsoleSession {
    var cookie: String
    var csrfToken: String
    var setCookie: String

    func headers(csrf: String? = nil) -> HTTPFields {
        var fields: HTTPFields = [.cookie: "\(AccessControl.sessionCookieName)=\(cookie)", .contentType: "application/json"]
        if let csrf { fields[AccessControl.csrfHeaderName] = csrf }
        return fields
    }

    func headersWithCSRF() -> HTTPFields { headers(csrf: csrfToken) }
}

extension TestClientProtocol {
    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        headers: HTTPFields = [:],
        body: String? = nil
    ) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    func signIn(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> ConsoleSession {
        let response = try await send(.post, "/api/v1/session", headers: [.contentType: "application/json"], body: body)
        #expect(response.status == .ok, "\(response.text)", sourceLocation: sourceLocation)
        let setCookie = try #require(response.headers[.setCookie], sourceLocation: sourceLocation)
        let prefix = "\(AccessControl.sessionCookieName)="
        #expect(setCookie.hasPrefix(prefix), sourceLocation: sourceLocation)
        let cookie = String(setCookie.dropFirst(prefix.count).prefix { $0 != ";" })
        let csrf = try #require(try response.json()["csrfToken"] as? String, sourceLocation: sourceLocation)
        return ConsoleSession(cookie: cookie, csrfToken: csrf, setCookie: setCookie)
    }
}

@Suite("Access control: sign-in, sessions, CSRF, tokens, users and the audit log")
struct AccessControlTests {
    let password = "correct horse battery staple"

    func runtimeWithAdmin(server: String = "", auth: String = "mode: \"on\"", clock: ManualClock? = nil) async throws -> TocsinRuntime {
        let (runtime, _) = try await makeRuntime(yaml: authYAML(server: server, auth: auth), clock: clock)
        _ = try await runtime.administration.addUser(name: "alice", password: Secret(password), role: .admin, actor: "cli")
        return runtime
    }

    @Test("signing in with a password sets a strict, script-proof session cookie and answers the CSRF token")
    func signInByPassword() async throws {
        let clock = ManualClock()
        let runtime = try await runtimeWithAdmin(clock: clock)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let response = try await client.send(
                .post,
                "/api/v1/session",
                headers: [.contentType: "application/json"],
                body: #"{"name": "alice", "password": "\#(password)"}"#
            )
            #expect(response.status == .ok, "\(response.text)")
            let body = try response.json()
            #expect(body["subject"] as? String == "user:alice")
            #expect(body["role"] as? String == "admin")
            #expect(body["expiresAt"] as? String == Timestamp.format(clock.now.addingTimeInterval(12 * 3600)))
            let csrf = try #require(body["csrfToken"] as? String)
            #expect(csrf.count >= 40)
            let setCookie = try #require(response.headers[.setCookie])
            let attributes = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(attributes.first?.hasPrefix("tocsin_session=") == true)
            #expect((attributes.first?.count ?? 0) >= "tocsin_session=".count + 40)
            #expect(Set(attributes.dropFirst()) == ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"])
            #expect(!response.text.contains(password))

            let session = try await client.signIn(#"{"name": "alice", "password": "\#(password)"}"#)
            let current = try await client.send(.get, "/api/v1/session", headers: session.headers())
            #expect(current.status == .ok, "\(current.text)")
            #expect(try current.json()["subject"] as? String == "user:alice")
            #expect(try current.json()["csrfToken"] as? String == session.csrfToken)
            #expect(try await client.send(.get, "/api/v1/alerts", headers: session.headers()).status == .ok)
        }
    }

    @Test("five failed sign-ins for a name refuse the next ones with 429 and Retry-After, even with the right password, until the window passes")
    func signInThrottle() async throws {
        let clock = ManualClock()
        let runtime = try await runtimeWithAdmin(clock: clock)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let json: HTTPFields = [.contentType: "application/json"]
            let right = #"{"name": "alice", "password": "\#(password)"}"#
            for _ in 0..<5 {
                let wrong = try await client.send(.post, "/api/v1/session", headers: json, body: #"{"name": "alice", "password": "a wrong guess"}"#)
                #expect(wrong.status == .unauthorized)
                clock.advance(by: .seconds(60))
            }
            // The first failure was 300 s ago; the window is 15 minutes.
            let refused = try await client.send(.post, "/api/v1/session", headers: json, body: right)
            #expect(refused.status == .tooManyRequests, "\(refused.text)")
            #expect(refused.headers[.retryAfter] == "600")
            #expect(refused.headers[.setCookie] == nil)
            #expect((try refused.json()["error"] as? [String: Any])?["reason"] as? String == "too_many_attempts")
            // Other names, and API tokens, are not held back.
            let token = try await runtime.makeToken(.viewer)
            #expect(try await client.send(.post, "/api/v1/session", headers: json, body: #"{"token": "\#(token.token)"}"#).status == .ok)
            #expect(try await client.send(.get, "/api/v1/alerts", headers: bearer(token.token)).status == .ok)
            // Unknown names count like known ones, so the answers do not tell which names exist.
            for _ in 0..<5 {
                _ = try await client.send(.post, "/api/v1/session", headers: json, body: #"{"name": "mallory", "password": "a wrong guess"}"#)
            }
            #expect(
                try await client.send(.post, "/api/v1/session", headers: json, body: #"{"name": "mallory", "password": "x"}"#).status
                    == .tooManyRequests
            )
            clock.advance(by: .seconds(600))
            _ = try await client.signIn(right)

            // Twenty wrong passwords sent at once: five are checked, the others are refused before any check.
            _ = try await runtime.administration.addUser(name: "dave", password: Secret(password), role: .viewer, actor: "cli")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await client.send(.post, "/api/v1/session", headers: json, body: #"{"name": "dave", "password": "a wrong guess"}"#).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 15, "\(statuses)")
        }
    }

    @Test("start-up names the commands that make a first user or token while nobody can sign in, and only then")
    func missingCredentialsHint() async throws {
        let (runtime, _) = try await makeRuntime(yaml: authYAML(server: "", auth: "mode: \"on\""))
        defer { Task { await runtime.shutdown() } }
        let hint = try #require(try await runtime.access.missingCredentialsHint())
        #expect(hint.contains("tocsin user add NAME --role admin"))
        #expect(hint.contains("tocsin token create --name NAME --role admin"))
        let token = try await runtime.makeToken(.ingest)
        #expect(try await runtime.access.missingCredentialsHint() == nil, "an ingest token exists")
        try await runtime.administration.revokeToken(id: token.id, actor: "cli")
        #expect(try await runtime.access.missingCredentialsHint() != nil)
        _ = try await runtime.administration.addUser(name: "alice", password: Secret(password), role: .admin, actor: "cli")
        #expect(try await runtime.access.missingCredentialsHint() == nil, "a user exists")

        let (open, _) = try await makeRuntime(yaml: authYAML(server: "", auth: "mode: \"off\""))
        defer { Task { await open.shutdown() } }
        #expect(try await open.access.missingCredentialsHint() == nil, "nothing to sign in to with authentication off")
    }

    @Test("a wrong password and an unknown name get the same 401 and message")
    func wrongCredentials() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let json: HTTPFields = [.contentType: "application/json"]
            let wrong = try await client.send(.post, "/api/v1/session", headers: json, body: #"{"name": "alice", "password": "not her password"}"#)
            let unknown = try await client.send(
                .post,
                "/api/v1/session",
                headers: json,
                body: #"{"name": "mallory", "password": "not her password"}"#
            )
            let badToken = try await client.send(.post, "/api/v1/session", headers: json, body: #"{"token": "tocsin_nope"}"#)
            for response in [wrong, unknown, badToken] {
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
                #expect(response.text == wrong.text)
                #expect(!response.text.contains("not her password"))
            }
            let error = try #require(try wrong.json()["error"] as? [String: Any])
            #expect(error["reason"] as? String == "unauthenticated")
            let malformed = try await client.send(.post, "/api/v1/session", headers: json, body: #"{"name": "alice"}"#)
            #expect(malformed.status == .badRequest)
        }
    }

    @Test("signing in with a token: viewer and up get a session; an ingest token cannot sign in")
    func signInByToken() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        let editor = try await runtime.makeToken(.editor)
        let ingest = try await runtime.makeToken(.ingest)
        try await runtime.application().test(.router) { client in
            let session = try await client.signIn(#"{"token": "\#(editor.token)"}"#)
            let current = try await client.send(.get, "/api/v1/session", headers: session.headers())
            #expect(try current.json()["subject"] as? String == "token:\(editor.id)")
            #expect(try current.json()["role"] as? String == "editor")
            #expect(!current.text.contains(editor.token))
            let refused = try await client.send(
                .post,
                "/api/v1/session",
                headers: [.contentType: "application/json"],
                body: #"{"token": "\#(ingest.token)"}"#
            )
            #expect(refused.status == .forbidden)
            #expect(refused.headers[.setCookie] == nil)
        }
    }

    @Test("the cookie is Secure when the public URL is https")
    func secureCookie() async throws {
        let runtime = try await runtimeWithAdmin(server: "public_url: https://tocsin.example.com")
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let session = try await client.signIn(#"{"name": "alice", "password": "\#(password)"}"#)
            let attributes = session.setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(attributes.contains("Secure"))
            #expect(attributes.contains("HttpOnly"))
            #expect(attributes.contains("SameSite=Strict"))
        }
    }

    @Test("a change made with the session cookie needs the session's CSRF token; reads and bearer requests do not")
    func csrf() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        let admin = try await runtime.makeToken(.admin)
        try await runtime.application().test(.router) { client in
            let session = try await client.signIn(#"{"name": "alice", "password": "\#(password)"}"#)
            let body = #"{"name": "ci", "role": "viewer"}"#
            for headers in [session.headers(), session.headers(csrf: "wrong"), session.headers(csrf: "")] {
                let refused = try await client.send(.post, "/api/v1/tokens", headers: headers, body: body)
                #expect(refused.status == .forbidden)
                #expect((try refused.json()["error"] as? [String: Any])?["reason"] as? String == "csrf")
            }
            #expect(try await runtime.store.tokens().count == 1, "nothing was made by the refused requests")
            let made = try await client.send(.post, "/api/v1/tokens", headers: session.headersWithCSRF(), body: body)
            #expect(made.status == .created, "\(made.text)")
            #expect(try await client.send(.get, "/api/v1/tokens", headers: session.headers()).status == .ok)
            let byToken = try await client.send(.post, "/api/v1/tokens", headers: bearer(admin.token), body: body)
            #expect(byToken.status == .created, "\(byToken.text)")
            // Another session's CSRF token does not fit this one.
            let other = try await client.signIn(#"{"name": "alice", "password": "\#(password)"}"#)
            #expect(try await client.send(.post, "/api/v1/tokens", headers: session.headers(csrf: other.csrfToken), body: body).status == .forbidden)
        }
    }

    @Test("signing out ends the session and clears the cookie")
    func signOut() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let session = try await client.signIn(#"{"name": "alice", "password": "\#(password)"}"#)
            #expect(try await client.send(.delete, "/api/v1/session", headers: session.headers()).status == .forbidden, "sign-out needs CSRF too")
            let out = try await client.send(.delete, "/api/v1/session", headers: session.headersWithCSRF())
            #expect(out.status == .noContent)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = try await client.send(.get, "/api/v1/session", headers: session.headers())
            #expect(after.status == .unauthorized)
            #expect(after.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    @Test("a session ends when its lifetime is over")
    func expiry() async throws {
        let clock = ManualClock()
        let runtime = try await runtimeWithAdmin(auth: "mode: \"on\", session_lifetime: 1h", clock: clock)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let session = try await client.signIn(#"{"name": "alice", "password": "\#(password)"}"#)
            #expect(session.setCookie.contains("Max-Age=3600"))
            clock.advance(by: .seconds(3599))
            #expect(try await client.send(.get, "/api/v1/alerts", headers: session.headers()).status == .ok)
            clock.advance(by: .seconds(2))
            #expect(try await client.send(.get, "/api/v1/alerts", headers: session.headers()).status == .unauthorized)
        }
    }

    @Test("a revoked token is refused, and so are the sessions signed in with it")
    func revokedToken() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        let admin = try await runtime.makeToken(.admin)
        let viewer = try await runtime.makeToken(.viewer)
        try await runtime.application().test(.router) { client in
            #expect(try await client.send(.get, "/api/v1/alerts", headers: bearer(viewer.token)).status == .ok)
            let session = try await client.signIn(#"{"token": "\#(viewer.token)"}"#)
            let revoked = try await client.send(.delete, "/api/v1/tokens/\(viewer.id)", headers: bearer(admin.token))
            #expect(revoked.status == .noContent, "\(revoked.text)")
            let refused = try await client.send(.get, "/api/v1/alerts", headers: bearer(viewer.token))
            #expect(refused.status == .unauthorized)
            #expect(refused.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await client.send(.get, "/api/v1/alerts", headers: session.headers()).status == .unauthorized)
            #expect(try await client.send(.delete, "/api/v1/tokens/\(viewer.id)", headers: bearer(admin.token)).status == .notFound)
        }
    }

    @Test("tokens and passwords are stored only as hashes and never appear in an answer or the audit log")
    func noSecretsKept() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        let admin = try await runtime.makeToken(.admin)
        let userPassword = "bob's very long password"
        try await runtime.application().test(.router) { client in
            let made = try await client.send(
                .post,
                "/api/v1/tokens",
                headers: bearer(admin.token),
                body: #"{"name": "prometheus", "role": "ingest"}"#
            )
            #expect(made.status == .created)
            let token = try #require(try made.json()["token"] as? String)
            let id = try #require(try made.json()["id"] as? String)
            #expect(token.hasPrefix("tocsin_"))
            let created = try await client.send(
                .post,
                "/api/v1/users",
                headers: bearer(admin.token),
                body: #"{"name": "bob", "password": "\#(userPassword)", "role": "viewer"}"#
            )
            #expect(created.status == .created, "\(created.text)")
            let stored = try #require(try await runtime.store.tokens().first { $0.id == id })
            #expect(stored.tokenHash == Credentials.sha256Hex(token))
            let bob = try #require(try await runtime.store.user(named: "bob"))
            #expect(bob.passwordHash.hasPrefix("scrypt$ln=15,"), "made through the API with the production cost")
            #expect(!bob.passwordHash.contains(userPassword))
            #expect(PasswordHasher.verify(Secret(userPassword), against: bob.passwordHash))
            var answers = [created.text]
            for path in ["/api/v1/tokens", "/api/v1/users", "/api/v1/audit"] {
                let response = try await client.send(.get, path, headers: bearer(admin.token))
                #expect(response.status == .ok)
                answers.append(response.text)
            }
            for answer in answers {
                #expect(!answer.contains(token))
                #expect(!answer.contains(admin.token))
                #expect(!answer.contains(userPassword))
                #expect(!answer.contains(stored.tokenHash))
                #expect(!answer.contains(bob.passwordHash))
            }
            for entry in try await runtime.store.auditLog(before: nil, limit: 100) {
                let text = "\(entry.actor) \(entry.action) \(entry.target) \(entry.detail)"
                #expect(!text.contains(token) && !text.contains(userPassword) && !text.contains("tocsin_"))
            }
        }
    }

    @Test("authentication is off on loopback by default and on for a server listening on every address")
    func defaultsByAddress() async throws {
        let (loopback, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await loopback.shutdown() } }
        #expect(!loopback.access.enabled)
        try await loopback.application().test(.router) { client in
            #expect(try await client.get("/api/v1/alerts").status == .ok)
            let session = try await client.get("/api/v1/session")
            #expect(try session.json()["subject"] as? String == "anonymous")
            #expect(try session.json()["authenticationRequired"] as? Bool == false)
        }
        let (wide, _) = try await makeRuntime(yaml: "server: {listen: \"0.0.0.0:9095\"}\n" + logFileYAML)
        defer { Task { await wide.shutdown() } }
        #expect(wide.access.enabled)
        try await wide.application().test(.router) { client in
            let refused = try await client.get("/api/v1/alerts")
            #expect(refused.status == .unauthorized)
            #expect(refused.headers[.wwwAuthenticate] == "Bearer")
            let error = try #require(try refused.json()["error"] as? [String: Any])
            #expect(error["reason"] as? String == "unauthenticated")
            #expect(error["status"] as? Int == 401)
            #expect(try await client.get("/healthz").status == .ok)
            let bad = try await client.send(.get, "/api/v1/alerts", headers: bearer("tocsin_forged"))
            #expect(bad.status == .unauthorized)
        }
    }

    @Test("every user and token change is in the audit log, newest first, with who made it")
    func auditTrail() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        let admin = try await runtime.makeToken(.admin)
        try await runtime.application().test(.router) { client in
            let headers = bearer(admin.token)
            let user = #"{"name": "carol", "password": "carol's long password", "role": "editor"}"#
            #expect(try await client.send(.post, "/api/v1/users", headers: headers, body: user).status == .created)
            #expect(try await client.send(.put, "/api/v1/users/carol", headers: headers, body: #"{"role": "viewer"}"#).status == .ok)
            #expect(try await client.send(.delete, "/api/v1/users/carol", headers: headers).status == .noContent)
            let made = try await client.send(.post, "/api/v1/tokens", headers: headers, body: #"{"name": "ci", "role": "viewer"}"#)
            let id = try #require(try made.json()["id"] as? String)
            #expect(try await client.send(.delete, "/api/v1/tokens/\(id)", headers: headers).status == .noContent)

            let page = try await client.send(.get, "/api/v1/audit?limit=5", headers: headers)
            #expect(page.status == .ok, "\(page.text)")
            let entries = try #require(try page.json()["entries"] as? [[String: Any]])
            #expect(entries.map { $0["action"] as? String } == ["token.revoke", "token.create", "user.delete", "user.update", "user.create"])
            #expect(entries.allSatisfy { $0["actor"] as? String == "token:\(admin.id)" })
            #expect(entries.map { $0["target"] as? String } == [id, id, "carol", "carol", "carol"])
            #expect(entries[3]["detail"] as? String == "role editor -> viewer")
            let next = try #require(try page.json()["next"] as? Int)
            let older = try await client.send(.get, "/api/v1/audit?limit=5&before=\(next)", headers: headers)
            let olderActions = (try older.json()["entries"] as? [[String: Any]])?.map { $0["action"] as? String }
            #expect(olderActions == ["token.create", "user.create"], "the test's own setup, made by the CLI")
            #expect(try await client.send(.get, "/api/v1/audit?limit=0", headers: headers).status == .badRequest)
        }
    }

    @Test("with authentication off, changes are audited as anonymous")
    func anonymousActor() async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        try await runtime.application().test(.router) { client in
            let made = try await client.send(
                .post,
                "/api/v1/tokens",
                headers: [.contentType: "application/json"],
                body: #"{"name": "ci", "role": "viewer"}"#
            )
            #expect(made.status == .created)
            #expect(try made.json()["createdBy"] as? String == "anonymous")
        }
        let entry = try #require(try await runtime.store.auditLog(before: nil, limit: 1).first)
        #expect(entry.actor == "anonymous")
        #expect(entry.action == "token.create")
    }

    @Test("users: bad input is refused by field, the last admin stays, a new role applies to open sessions, a new password ends them")
    func users() async throws {
        let runtime = try await runtimeWithAdmin()
        defer { Task { await runtime.shutdown() } }
        let admin = try await runtime.makeToken(.admin)
        _ = try await runtime.administration.addUser(name: "dave", password: Secret("dave's long password"), role: .editor, actor: "cli")
        try await runtime.application().test(.router) { client in
            let headers = bearer(admin.token)
            let refusals: [(body: String, field: String, status: HTTPResponse.Status)] = [
                (#"{"name": "eve", "password": "short", "role": "viewer"}"#, "password", .badRequest),
                (#"{"name": "eve", "password": "long enough password", "role": "ingest"}"#, "role", .badRequest),
                (#"{"name": "eve", "password": "long enough password", "role": "owner"}"#, "role", .badRequest),
                (#"{"name": "e ve", "password": "long enough password", "role": "viewer"}"#, "name", .badRequest),
                (#"{"name": "dave", "password": "long enough password", "role": "viewer"}"#, "name", .conflict),
            ]
            for refusal in refusals {
                let response = try await client.send(.post, "/api/v1/users", headers: headers, body: refusal.body)
                #expect(response.status == refusal.status, "\(refusal.body): \(response.text)")
                #expect((try response.json()["error"] as? [String: Any])?["field"] as? String == refusal.field)
                #expect(!response.text.contains("short\""))
            }
            #expect(try await client.send(.delete, "/api/v1/users/alice", headers: headers).status == .conflict)
            #expect(try await client.send(.put, "/api/v1/users/alice", headers: headers, body: #"{"role": "viewer"}"#).status == .conflict)
            #expect(try await client.send(.put, "/api/v1/users/nobody", headers: headers, body: #"{"role": "viewer"}"#).status == .notFound)
            #expect(try await client.send(.put, "/api/v1/users/dave", headers: headers, body: "{}").status == .badRequest)

            let dave = try await client.signIn(#"{"name": "dave", "password": "dave's long password"}"#)
            let silence = #"{"matchers": ["team=\"db\""], "duration": "1h", "comment": "maintenance", "created_by": "dave"}"#
            #expect(try await client.send(.post, "/api/v1/silences", headers: dave.headersWithCSRF(), body: silence).status == .created)
            #expect(try await client.send(.put, "/api/v1/users/dave", headers: headers, body: #"{"role": "viewer"}"#).status == .ok)
            #expect(try await client.send(.post, "/api/v1/silences", headers: dave.headersWithCSRF(), body: silence).status == .forbidden)
            let renamed = try await client.send(
                .put,
                "/api/v1/users/dave",
                headers: headers,
                body: #"{"password": "dave's new long password"}"#
            )
            #expect(renamed.status == .ok)
            // The new password signed dave out of the session made with the old one.
            #expect(try await client.send(.get, "/api/v1/alerts", headers: dave.headers()).status == .unauthorized)
            let daveAgain = try await client.signIn(#"{"name": "dave", "password": "dave's new long password"}"#)
            #expect(try await client.send(.get, "/api/v1/alerts", headers: daveAgain.headers()).status == .ok)
            #expect(try await client.send(.delete, "/api/v1/users/dave", headers: headers).status == .noContent)
            #expect(try await client.send(.get, "/api/v1/alerts", headers: daveAgain.headers()).status == .unauthorized)
        }
    }
}
