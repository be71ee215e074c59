import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// The credential of a Teams webhook: the workflow URL's `sig` (and, for a connector, its path).
private enum TeamsSecrets {
    static let workflow = "8c0e5d2f7a9b4c1d"
    static let signature = "SIGq1w2e3r4t5y6u7i8o9p0"
    static let connectorToken = "CONNECTORTOKEN-a1b2c3d4"

    static func workflowURL(port: Int) -> String {
        "http://127.0.0.1:\(port)/workflows/\(workflow)/triggers/manual/paths/invoke?api-version=2016-06-01&sig=\(signature)"
    }

    static func connectorURL(port: Int) -> String { "http://127.0.0.1:\(port)/webhookb2/\(connectorToken)/IncomingWebhook/abc" }

    static let values: [(name: String, value: String)] = [
        ("sig", signature), ("workflow id", workflow), ("connector token", connectorToken),
        ("base64 sig", Data(signature.utf8).base64EncodedString()),
    ]

    static func expectNone(in text: String?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectNoSecret(in: text, values, what, sourceLocation: sourceLocation)
    }
}

@Suite("Microsoft Teams secrets never leak", .timeLimit(.minutes(1)))
struct TeamsSecretTests {
    @Test("the workflow URL's sig stays out of every detail, though the fake echoes the request in failures and successes")
    func workflowEcho() async throws {
        let fake = TeamsFake(signature: TeamsSecrets.signature, echo: true)
        fake.fail(.badRequest, .unauthorized, .throttled(retryAfter: 3), .serverError(502))
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withTeamsSink(["url": .string(TeamsSecrets.workflowURL(port: peer.port))]) { sink in
                var results: [SinkResult] = []
                for _ in 0..<5 { results.append(await sink.deliver(ChatFixture.alert(.open))) }
                #expect(
                    results.map(\.outcome) == [.permanent, .permanent, .retryable(retryAfter: .seconds(3)), .retryable(retryAfter: nil), .delivered]
                )
                for result in results { TeamsSecrets.expectNone(in: result.detail, "detail of \(result.outcome)") }
                // The echo reached the detail, with the path and query (both secrets) replaced.
                #expect(
                    results[0].detail?.contains("POST <secret>?<secret>") == true,
                    "the echo did not reach the detail: \(results[0].detail ?? "")"
                )
            }
            #expect(peer.requests.first?.queryValue("sig") == TeamsSecrets.signature)
        }
    }

    @Test("a connector URL's token stays out of the detail of an echoed failure")
    func connectorEcho() async throws {
        let fake = TeamsFake(legacyConnector: true, echo: true)
        fake.fail(.connectorThrottled)
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withTeamsSink(["url": .string(TeamsSecrets.connectorURL(port: peer.port)), "format": .string("message_card")]) {
                await $0.deliver(ChatFixture.alert(.open))
            }
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(result.detail?.contains("POST <secret>") == true, "the echo did not reach the detail: \(result.detail ?? "")")
            TeamsSecrets.expectNone(in: result.detail, "detail of a throttled connector")
        }
    }

    @Test("a peer quoting only the sig, plain or percent-encoded, does not put it in the detail")
    func quotedSignature() async throws {
        for quoted in [TeamsSecrets.signature, "sig=\(TeamsSecrets.signature)&x=1"] {
            try await ScriptedPeer.run(.status(401, body: "bad signature \(quoted)")) { peer in
                let result = try await withTeamsSink(["url": .string(TeamsSecrets.workflowURL(port: peer.port))]) {
                    await $0.deliver(ChatFixture.alert(.open))
                }
                #expect(result.outcome == .permanent)
                TeamsSecrets.expectNone(in: result.detail, "detail of a 401 quoting the sig")
            }
        }
    }

    @Test("a refused connection and a timeout show no secret")
    func transportFailures() async throws {
        let port = try await ScriptedPeer.closedPort()
        let refused = try await withTeamsSink(["url": .string(TeamsSecrets.workflowURL(port: port))], timeout: .seconds(1)) {
            await $0.deliver(ChatFixture.alert(.open))
        }
        #expect(refused.outcome == .retryable(retryAfter: nil))
        TeamsSecrets.expectNone(in: refused.detail, "detail of a refused connection")
        try await ScriptedPeer.run(.after(.seconds(2), .status(202))) { peer in
            let result = try await withTeamsSink(["url": .string(TeamsSecrets.workflowURL(port: peer.port))], timeout: .milliseconds(200)) {
                await $0.deliver(ChatFixture.alert(.open))
            }
            #expect(result.outcome == .retryable(retryAfter: nil))
            TeamsSecrets.expectNone(in: result.detail, "detail of a timeout")
        }
    }

    @Test("descriptions of the sink and its configuration show no secret; problems name keys only")
    func descriptions() async throws {
        try await withTeamsSink(["url": .string(TeamsSecrets.workflowURL(port: 9))]) { sink in
            TeamsSecrets.expectNone(in: String(describing: sink), "String(describing:) of the sink")
            TeamsSecrets.expectNone(in: String(reflecting: sink), "String(reflecting:) of the sink")
            TeamsSecrets.expectNone(in: String(describing: sink.configuration), "String(describing:) of the configuration")
            TeamsSecrets.expectNone(in: String(reflecting: sink.configuration), "String(reflecting:) of the configuration")
            #expect(sink.configuration.url.exposedValue.contains(TeamsSecrets.signature))
        }
        let found = problems(
            TeamsConfiguration.parse(
                Fixture.integration(
                    type: "microsoft_teams",
                    ["url": .string("ftp://x/?sig=\(TeamsSecrets.signature)"), "sig": .string(TeamsSecrets.signature)]
                )
            )
        )
        #expect(found.count == 2)
        TeamsSecrets.expectNone(in: found.map(\.description).joined(separator: "\n"), "configuration problems")
    }
}
