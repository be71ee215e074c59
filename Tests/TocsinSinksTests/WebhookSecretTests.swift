import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// Distinctive credentials: none may ever appear in a result, a description or a log line.
private enum Secrets {
    static let urlToken = "SUPERSECRETTOKEN"
    static let password = "PASSWORD-hunter2-Zq"
    static let bearer = "BEARERTOKEN-7f3a9c5e1d2b"
    static let signing = "SIGNINGSECRET-k3x8v1"
    static let headerValue = "HEADERVALUE-p4w9m2"
    static let username = "svc-user"

    static let all: [(name: String, value: String)] = [
        ("url token", urlToken), ("password", password), ("bearer token", bearer), ("signing secret", signing),
        ("header value", headerValue),
    ]

    /// The secrets a sink with that kind of authorization is configured with.
    static func configured(auth: String) -> [(name: String, value: String)] {
        all.filter { $0.value != (auth == "basic" ? bearer : password) }
    }

    static func url(port: Int) -> String { "http://127.0.0.1:\(port)/hook/\(urlToken)" }

    /// Basic auth, signing secret and a secret header.
    static func basicSettings(port: Int) -> [String: JSONValue] {
        [
            "url": .string(url(port: port)),
            "username": .string(username),
            "password": .string(password),
            "secret": .string(signing),
            "headers": .object(["X-Api-Key": .string(headerValue)]),
        ]
    }

    /// Bearer auth, signing secret and a secret header.
    static func bearerSettings(port: Int) -> [String: JSONValue] {
        [
            "url": .string(url(port: port)),
            "bearer_token": .string(bearer),
            "secret": .string(signing),
            "headers": .object(["X-Api-Key": .string(headerValue)]),
        ]
    }

    /// Records an issue for every secret found in `text`.
    static func expectNone(in text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectNoSecret(in: text, all, what, sourceLocation: sourceLocation)
    }
}

@Suite("Webhook secrets never leak", .timeLimit(.minutes(1)))
struct WebhookSecretTests {
    @Test("a token carried as one query value is not shown when the peer quotes it alone, plain or percent-encoded")
    func queryValueToken() async throws {
        let token = "QUERYTOKEN/x+y=z"
        let encoded = "QUERYTOKEN%2Fx%2By%3Dz"
        for quoted in [token, encoded] {
            try await ScriptedPeer.run(.status(400, body: "bad token \(quoted)")) { receiver in
                let url = "http://127.0.0.1:\(receiver.port)/hook?channel=ops&token=\(encoded)"
                let result = try await withWebhookSink(["url": .string(url)]) { await $0.deliver(Fixture.outbound(.open)) }
                let detail = try #require(result.detail)
                #expect(detail.contains("400"))
                #expect(!detail.contains("QUERYTOKEN"), "the detail shows the query token: \(detail)")
            }
        }
    }

    @Test("an answer that quotes each secret verbatim does not put it in the detail", arguments: ["basic", "bearer"])
    func quotedSecrets(auth: String) async throws {
        for (name, value) in Secrets.configured(auth: auth) {
            try await ScriptedPeer.run(.status(400, body: "rejected \(name): \(value)")) { receiver in
                let settings = auth == "basic" ? Secrets.basicSettings(port: receiver.port) : Secrets.bearerSettings(port: receiver.port)
                let result = try await withWebhookSink(settings) { await $0.deliver(Fixture.outbound(.open)) }
                #expect(result.outcome == .permanent)
                let detail = try #require(result.detail)
                #expect(detail.contains("400"))
                Secrets.expectNone(in: detail, "detail of a 400 quoting the \(name)")
            }
        }
    }

    @Test("an answer quoting the full configured URL does not put it in the detail")
    func quotedFullURL() async throws {
        try await ScriptedPeer.run(.status(404)) { receiver in
            receiver.script(.status(404, body: "no route for \(Secrets.url(port: receiver.port))"))
            let result = try await withWebhookSink(Secrets.basicSettings(port: receiver.port)) { await $0.deliver(Fixture.outbound(.open)) }
            #expect(result.outcome == .permanent)
            Secrets.expectNone(in: try #require(result.detail), "detail of a 404 quoting the URL")
        }
    }

    @Test(
        "an answer echoing the request line and headers back does not leak the URL token or a credential",
        arguments: ["basic", "bearer"]
    )
    func echoedRequest(auth: String) async throws {
        try await ScriptedPeer.run(.echo(400, extra: "bad request, you sent:")) { receiver in
            let settings = auth == "basic" ? Secrets.basicSettings(port: receiver.port) : Secrets.bearerSettings(port: receiver.port)
            let result = try await withWebhookSink(settings) { await $0.deliver(Fixture.outbound(.open)) }
            #expect(result.outcome == .permanent)
            let detail = try #require(result.detail)
            // The echo really carried them: the receiver saw the path and the headers.
            let request = try #require(receiver.requests.first)
            #expect(request.path.contains(Secrets.urlToken))
            #expect(request.header("X-Api-Key") == Secrets.headerValue)
            Secrets.expectNone(in: detail, "detail of a 400 echoing the request")
        }
    }

    @Test("an echoed Basic Authorization header does not leak the encoded credentials")
    func echoedBasicCredentials() async throws {
        try await ScriptedPeer.run(.echo(401, extra: "unauthorized:")) { receiver in
            let result = try await withWebhookSink(Secrets.basicSettings(port: receiver.port)) { await $0.deliver(Fixture.outbound(.open)) }
            let detail = try #require(result.detail)
            let encoded = Data("\(Secrets.username):\(Secrets.password)".utf8).base64EncodedString()
            #expect(receiver.requests.first?.header("Authorization") == "Basic \(encoded)")
            #expect(!detail.contains(encoded), "detail shows the base64 user:password: \(detail)")
        }
    }

    @Test("a secret cut by the detail's length limit is not shown in part")
    func secretAtTruncationBoundary() async throws {
        // The detail keeps the start of the answer: put the bearer token across the cut.
        let filler = String(repeating: "a", count: 496)
        try await ScriptedPeer.run(.status(400, body: filler + Secrets.bearer + " trailing text")) { receiver in
            let result = try await withWebhookSink(Secrets.bearerSettings(port: receiver.port)) { await $0.deliver(Fixture.outbound(.open)) }
            let detail = try #require(result.detail)
            let firstHalf = String(Secrets.bearer.prefix(Secrets.bearer.count / 2))
            #expect(!detail.contains(firstHalf), "detail shows the start of the bearer token: …\(detail.suffix(40))")
        }
    }

    @Test("a refused connection's detail shows neither the URL token nor any credential")
    func refusedConnection() async throws {
        let port = try await ScriptedPeer.closedPort()
        for settings in [Secrets.basicSettings(port: port), Secrets.bearerSettings(port: port)] {
            let result = try await withWebhookSink(settings, timeout: .seconds(1)) { await $0.deliver(Fixture.outbound(.open)) }
            #expect(result.outcome == .retryable(retryAfter: nil))
            Secrets.expectNone(in: try #require(result.detail), "detail of a refused connection")
        }
    }

    @Test("a timed-out attempt's detail shows neither the URL token nor any credential")
    func timedOut() async throws {
        try await ScriptedPeer.run(.after(.seconds(2), .status(200))) { receiver in
            let result = try await withWebhookSink(Secrets.bearerSettings(port: receiver.port), timeout: .milliseconds(200)) {
                await $0.deliver(Fixture.outbound(.open))
            }
            #expect(result.outcome == .retryable(retryAfter: nil))
            Secrets.expectNone(in: try #require(result.detail), "detail of a timeout")
        }
    }

    @Test("descriptions of the configuration and of the sink show no secret", arguments: ["basic", "bearer"])
    func descriptions(auth: String) async throws {
        let settings = auth == "basic" ? Secrets.basicSettings(port: 9) : Secrets.bearerSettings(port: 9)
        try await withWebhookSink(settings) { sink in
            Secrets.expectNone(in: String(describing: sink.configuration), "String(describing:) of the configuration")
            Secrets.expectNone(in: String(reflecting: sink.configuration), "String(reflecting:) of the configuration")
            Secrets.expectNone(in: "\(sink.configuration.authorization)", "interpolation of the authorization")
            Secrets.expectNone(in: String(describing: sink), "String(describing:) of the sink")
            Secrets.expectNone(in: String(reflecting: sink), "String(reflecting:) of the sink")
            // The check is not vacuous: the configuration does hold the secrets.
            #expect(sink.configuration.url.exposedValue.contains(Secrets.urlToken))
            #expect(sink.configuration.signingSecret?.exposedValue == Secrets.signing)
        }
    }

    @Test("configuration problems name the key, never the secret value")
    func problemsShowNoSecret() {
        var settings = Secrets.basicSettings(port: 9)
        settings["bearer_token"] = .string(Secrets.bearer)
        settings["headers"] = .object(["X-Api-Key": .number(7)])
        settings["pasword"] = .string(Secrets.password)
        let found = problems(WebhookConfiguration.parse(Fixture.integration(settings)))
        #expect(found.count >= 3)
        Secrets.expectNone(in: found.map(\.description).joined(separator: "\n"), "configuration problems")
    }
}
