import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinTestSupport

@Suite("Authorization matrix: every endpoint against every role")
struct AuthorizationMatrixTests {
    /// What a few endpoints must need: registering one of them with a weaker access fails here.
    static let expectedAccess: [String: EndpointAccess] = [
        "GET /healthz": .public,
        "GET /readyz": .public,
        "POST /api/v1/session": .public,
        "POST /api/v1/events": .ingest,
        "POST /api/v2/alerts": .ingest,
        "POST /api/v1/logs": .ingest,
        "GET /api/v1/alerts": .viewer,
        "GET /api/v1/events": .viewer,
        "GET /metrics": .viewer,
        "GET /api/v1/session": .viewer,
        "POST /api/v1/silences": .editor,
        "DELETE /api/v1/silences/{id}": .editor,
        "POST /api/v1/deliveries/{id}/retry": .editor,
        "POST /api/v1/alerts/{fingerprint}/ack": .editor,
        "GET /api/v1/tokens": .admin,
        "POST /api/v1/tokens": .admin,
        "DELETE /api/v1/tokens/{id}": .admin,
        "GET /api/v1/users": .admin,
        "POST /api/v1/users": .admin,
        "PUT /api/v1/users/{name}": .admin,
        "DELETE /api/v1/users/{name}": .admin,
        "GET /api/v1/audit": .admin,
        "GET /alerts": .viewer,
        "GET /deliveries": .viewer,
        "GET /integrations": .viewer,
        "GET /routing": .viewer,
        "GET /silences": .viewer,
        "GET /audit": .admin,
        "GET /login": .public,
    ]

    /// Endpoints that do not change state although their method could: everything else that is neither public
    /// nor ingest and is not a GET or HEAD must need an editor at least.
    static let readOnlyDespiteMethod: Set<String> = [
        // Computes where an event would go; stores nothing.
        "POST /api/v1/route-preview",
        // Ends the caller's own session.
        "DELETE /api/v1/session",
    ]

    static func key(_ endpoint: Endpoint) -> String { "\(endpoint.method.rawValue) \(endpoint.path)" }

    /// A concrete path for a pattern: each `{parameter}` (and wildcard) becomes a value nothing is named.
    static func concretePath(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false)
            .map { part in part.hasPrefix("{") || part.hasPrefix("*") || part.hasPrefix(":") ? "matrix-dummy" : String(part) }
            .joined(separator: "/")
    }

    @Test("the endpoints named here need what they must, and no changing endpoint is open to viewers")
    func accessTable() async throws {
        let (runtime, _) = try await makeRuntime(yaml: authYAML())
        defer { Task { await runtime.shutdown() } }
        let endpoints = runtime.makeRouter().endpoints
        let registered = Dictionary(endpoints.map { (Self.key($0), $0.access) }, uniquingKeysWith: { first, _ in first })
        #expect(registered.count == endpoints.count, "each method and path is registered once")
        for (key, access) in Self.expectedAccess {
            #expect(registered[key] == access, "\(key): registered as \(registered[key].map(\.rawValue) ?? "nothing"), expected \(access.rawValue)")
        }
        for endpoint in endpoints where endpoint.method != .get && endpoint.method != .head {
            guard endpoint.access == .viewer, !Self.readOnlyDespiteMethod.contains(Self.key(endpoint)) else { continue }
            Issue.record("\(Self.key(endpoint)) changes state but is open to viewers; it should need editor or admin")
        }
    }

    @Test(
        "every endpoint: 401 without a credential unless public (a console page: 303 to the sign-in page), 403 for a role it does not allow, else neither"
    )
    func matrix() async throws {
        let (runtime, _) = try await makeRuntime(yaml: authYAML())
        defer { Task { await runtime.shutdown() } }
        var madeTokens: [AccessRole: String] = [:]
        for role in AccessRole.allCases {
            madeTokens[role] = try await runtime.makeToken(role).token
        }
        let tokens = madeTokens
        let endpoints = runtime.makeRouter().endpoints
        #expect(endpoints.count >= Self.expectedAccess.count)
        try await runtime.application().test(.router) { client in
            for endpoint in endpoints {
                let path = Self.concretePath(endpoint.path)
                let key = Self.key(endpoint)
                let hasBody = endpoint.method == .post || endpoint.method == .put || endpoint.method == .patch
                func call(_ token: String?) async throws -> TestResponse {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    return try await client.send(endpoint.method, path, headers: headers, body: hasBody ? "{}" : nil)
                }

                let anonymous = try await call(nil)
                if endpoint.access == .public {
                    #expect(anonymous.status != .unauthorized && anonymous.status != .forbidden, "\(key) is public: \(anonymous.status)")
                } else if endpoint.isPage {
                    // A person in a browser is sent to sign in, and brought back to the page afterwards.
                    #expect(anonymous.status == .seeOther, "\(key) without a credential: \(anonymous.status)")
                    #expect(anonymous.headers[.location] == "/login?next=" + path, "\(key)")
                } else {
                    #expect(anonymous.status == .unauthorized, "\(key) without a credential: \(anonymous.status)")
                    #expect(anonymous.headers[.wwwAuthenticate] == "Bearer", "\(key)")
                }
                for role in AccessRole.allCases {
                    let response = try await call(tokens[role])
                    if endpoint.access == .public || role.allows(endpoint.access) {
                        // A page never sends a caller it lets in to the sign-in page (`GET /` is public and sends
                        // everyone to /alerts).
                        let sentToSignIn = response.headers[.location]?.hasPrefix("/login") == true
                        #expect(
                            response.status != .unauthorized && response.status != .forbidden && !sentToSignIn,
                            "\(key) as \(role.rawValue): \(response.status) \(response.text)"
                        )
                    } else {
                        #expect(response.status == .forbidden, "\(key) as \(role.rawValue): \(response.status)")
                        if endpoint.isPage {
                            #expect(response.headers[.contentType]?.hasPrefix("text/html") == true, "\(key) answers a 403 page")
                        }
                    }
                }
            }
        }
    }
}
