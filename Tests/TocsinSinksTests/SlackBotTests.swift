import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Slack bot token: one message per alert", .timeLimit(.minutes(1)))
struct SlackBotTests {
    static let token = "xoxb-1111-2222-abcdefABCDEF"

    static func settings(_ peer: ScriptedPeer, interval: String? = nil) -> [String: JSONValue] {
        var settings: [String: JSONValue] = [
            "token": .string(token),
            "channel": .string("#alerts"),
            "api_url": .string(peer.url("/api")),
        ]
        if let interval { settings["update_interval"] = .string(interval) }
        return settings
    }

    static func stored(_ state: InMemorySinkStateStore, fingerprint: String = "fp-5d2c9a") async throws -> String? {
        try await state.value(integration: "ops-chat", key: "message:\(fingerprint)")
    }

    @Test("an open is chat.postMessage with the bearer token, JSON with charset, the channel and the message")
    func exactPostMessage() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(Self.settings(peer), state: state) { await $0.deliver(ChatFixture.alert(.open)) }
            #expect(result == SinkResult(outcome: .delivered, statusCode: 200))
            let request = try #require(peer.requests.first)
            #expect(peer.requests.count == 1)
            #expect(request.method == "POST")
            #expect(request.path == "/api/chat.postMessage")
            #expect(request.header("Authorization") == "Bearer \(Self.token)")
            #expect(request.header("Content-Type") == "application/json; charset=utf-8")
            let body = try JSONValue.decode(request.body)
            #expect(body.keys == ["channel", "text", "blocks", "attachments", "unfurl_links", "unfurl_media"])
            #expect(body["channel"]?.stringValue == "#alerts")
            #expect(body["text"]?.stringValue == "[CRITICAL] Disk usage above 80 % on n3")
            #expect(body.slackColour == "#d0021b")
            #expect(body["unfurl_links"] == .bool(false))
            #expect(fake.warnings.isEmpty, "Slack would warn: \(fake.warnings)")
            let message = try #require(fake.messages.first)
            #expect(message.channel == "C0ALERTS01")
            // The channel id and ts Slack answered are remembered for the alert.
            let remembered = try #require(try await Self.stored(state))
            let json = try JSONValue.decode(Array(remembered.utf8))
            #expect(json["channel"]?.stringValue == "C0ALERTS01")
            #expect(json["ts"]?.stringValue == message.ts)
        }
    }

    @Test("lifecycle on injected time: open, update within the interval → thread reply, after it → chat.update, resolve → green edit, state cleared")
    func lifecycle() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let state = InMemorySinkStateStore()
        let clock = ManualClock(Fixture.receivedAt)
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(Self.settings(peer, interval: "5m"), state: state, clock: clock) { sink in
                #expect(await sink.deliver(ChatFixture.alert(.open, severity: .warning, id: "e1")).outcome == .delivered)
                let ts = try #require(fake.messages.first?.ts)
                #expect(fake.messages.first?.colour == "#f5a623")

                // Severity rose one minute later: the message was posted just now, so the update is a thread reply.
                clock.advance(by: .seconds(60))
                #expect(await sink.deliver(ChatFixture.alert(.open, severity: .error, id: "e2")).outcome == .delivered)
                #expect(fake.messages.count == 1)
                #expect(fake.message(ts: ts)?.edits == 0)
                let reply = try #require(fake.replies(to: ts).first)
                #expect(reply.text == "[ERROR] Disk usage above 80 % on n3")
                #expect(reply.channel == "C0ALERTS01")

                // Exactly the interval after the post: the message itself is edited.
                clock.advance(by: .seconds(240))
                #expect(await sink.deliver(ChatFixture.alert(.open, severity: .critical, id: "e3")).outcome == .delivered)
                #expect(fake.messages.count == 1)
                #expect(fake.replies(to: ts).count == 1)
                #expect(fake.message(ts: ts)?.edits == 1)
                #expect(fake.message(ts: ts)?.colour == "#d0021b")
                #expect(fake.message(ts: ts)?.text == "[CRITICAL] Disk usage above 80 % on n3")

                // The resolve edits the same message green, even right after the last edit.
                clock.advance(by: .seconds(10))
                #expect(await sink.deliver(ChatFixture.alert(.resolve, id: "e4")).outcome == .delivered)
            }
            #expect(fake.messages.count == 1)
            let message = try #require(fake.messages.first)
            #expect(message.edits == 2)
            #expect(message.colour == "#2eb67d")
            #expect(message.header == "Resolved: Disk usage above 80 % on n3")
            #expect(message.text == "[RESOLVED] Disk usage above 80 % on n3")
            #expect(try await Self.stored(state) == nil)
            #expect(
                peer.requests.map(\.path) == ["/api/chat.postMessage", "/api/chat.postMessage", "/api/chat.update", "/api/chat.update"]
            )
            let replyBody = try JSONValue.decode(peer.requests[1].body)
            #expect(replyBody["thread_ts"]?.stringValue == message.ts)
            let updateBody = try JSONValue.decode(peer.requests[2].body)
            #expect(updateBody["channel"]?.stringValue == "C0ALERTS01")
            #expect(updateBody["ts"]?.stringValue == message.ts)
            #expect(updateBody["thread_ts"] == nil)
        }
    }

    @Test("an edit moves the interval: the next update within it is a reply again")
    func editRestartsInterval() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let clock = ManualClock(Fixture.receivedAt)
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(Self.settings(peer, interval: "2m"), clock: clock) { sink in
                _ = await sink.deliver(ChatFixture.alert(.open, severity: .info, id: "e1"))
                clock.advance(by: .seconds(121))
                _ = await sink.deliver(ChatFixture.alert(.open, severity: .warning, id: "e2"))
                clock.advance(by: .seconds(119))
                _ = await sink.deliver(ChatFixture.alert(.open, severity: .critical, id: "e3"))
            }
            let ts = try #require(fake.messages.first?.ts)
            #expect(fake.messages.count == 1)
            #expect(fake.message(ts: ts)?.edits == 1)
            #expect(fake.message(ts: ts)?.colour == "#f5a623")
            #expect(fake.replies(to: ts).map(\.colour) == ["#d0021b"])
        }
    }

    @Test("the remembered message survives a restart: a new sink with the same state edits it on resolve")
    func stateSurvivesRestart() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let opened = try await withSlackSink(Self.settings(peer), state: state) { await $0.deliver(ChatFixture.alert(.open)) }
            #expect(opened.outcome == .delivered)
            // A new client and a new sink instance: only the state store is shared.
            let resolved = try await withSlackSink(Self.settings(peer), state: state) { await $0.deliver(ChatFixture.alert(.resolve)) }
            #expect(resolved.outcome == .delivered)
            #expect(fake.messages.count == 1)
            #expect(fake.messages.first?.edits == 1)
            #expect(fake.messages.first?.colour == "#2eb67d")
            #expect(peer.requests.map(\.path) == ["/api/chat.postMessage", "/api/chat.update"])
            #expect(try await Self.stored(state) == nil)
        }
    }

    @Test("a resolve with no remembered message posts a new green message and remembers nothing")
    func resolveWithoutMessage() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(Self.settings(peer), state: state) { await $0.deliver(ChatFixture.alert(.resolve)) }
            #expect(result.outcome == .delivered)
            #expect(fake.messages.count == 1)
            #expect(fake.messages.first?.colour == "#2eb67d")
            #expect(peer.requests.map(\.path) == ["/api/chat.postMessage"])
            #expect(try await Self.stored(state) == nil)
        }
    }

    @Test("message_not_found on chat.update (the message was deleted) posts a new message and remembers it", arguments: [false, true])
    func deletedMessage(resolve: Bool) async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let state = InMemorySinkStateStore()
        let clock = ManualClock(Fixture.receivedAt)
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(Self.settings(peer), state: state, clock: clock) { sink in
                _ = await sink.deliver(ChatFixture.alert(.open, severity: .warning, id: "e1"))
                let first = try #require(fake.messages.first?.ts)
                fake.delete(ts: first)
                clock.advance(by: .seconds(600))
                let next = resolve ? ChatFixture.alert(.resolve, id: "e2") : ChatFixture.alert(.open, severity: .critical, id: "e2")
                #expect(await sink.deliver(next).outcome == .delivered)
            }
            #expect(peer.requests.map(\.path) == ["/api/chat.postMessage", "/api/chat.update", "/api/chat.postMessage"])
            let message = try #require(fake.messages.first)
            #expect(fake.messages.count == 1)
            #expect(message.colour == (resolve ? "#2eb67d" : "#d0021b"))
            let remembered = try await Self.stored(state)
            if resolve {
                #expect(remembered == nil)
            } else {
                #expect(remembered?.contains(message.ts) == true)
            }
        }
    }

    @Test("one-off notifications and test messages are new messages each time and leave no state")
    func notificationsArePosted() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let test = TestNotification.make(integration: "ops-chat", now: Fixture.receivedAt)
            try await withSlackSink(Self.settings(peer), state: state) { sink in
                #expect(await sink.deliver(ChatFixture.notification()).outcome == .delivered)
                #expect(await sink.deliver(ChatFixture.notification()).outcome == .delivered)
                #expect(await sink.deliver(test).outcome == .delivered)
            }
            #expect(fake.messages.count == 3)
            #expect(peer.requests.allSatisfy { $0.path == "/api/chat.postMessage" })
            #expect(fake.messages.last?.header?.hasPrefix("[TEST] ") == true)
            #expect(try await state.value(integration: "ops-chat", key: "message:\(test.notification.event.fingerprint ?? "")") == nil)
        }
    }

    @Test("a failed post remembers nothing, so the retry posts (not edits)")
    func failedPostRemembersNothing() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        fake.fail(.error("internal_error"))
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(Self.settings(peer), state: state) { sink in
                #expect(await sink.deliver(ChatFixture.alert(.open)).outcome == .retryable(retryAfter: nil))
                let remembered = try await Self.stored(state)
                #expect(remembered == nil)
                #expect(await sink.deliver(ChatFixture.alert(.open)).outcome == .delivered)
            }
            #expect(peer.requests.map(\.path) == ["/api/chat.postMessage", "/api/chat.postMessage"])
            #expect(fake.messages.count == 1)
        }
    }

    @Test("with the sink state down nothing is sent and the attempt is retried")
    func stateUnavailable() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(Self.settings(peer), state: UnavailableSinkState()) { await $0.deliver(ChatFixture.alert(.open)) }
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(result.detail?.contains("sink state unavailable") == true)
            #expect(peer.requests.isEmpty)
        }
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var failure: SlackWebAPIFake.Failure
        var outcome: AttemptOutcome
        var status: Int
        var detail: String
        var testDescription: String { "\(detail) → \(outcome)" }
    }

    static let errorCases: [ErrorCase] = {
        var cases: [ErrorCase] = [
            ErrorCase(
                failure: .error("ratelimited", headers: ["Retry-After": "30"]),
                outcome: .retryable(retryAfter: .seconds(30)),
                status: 200,
                detail: "chat.postMessage: ratelimited"
            ),
            ErrorCase(failure: .error("rate_limited"), outcome: .retryable(retryAfter: nil), status: 200, detail: "chat.postMessage: rate_limited"),
            ErrorCase(
                failure: .rateLimited(retryAfter: 7),
                outcome: .retryable(retryAfter: .seconds(7)),
                status: 429,
                detail: "chat.postMessage: HTTP 429: ratelimited"
            ),
            ErrorCase(
                failure: .status(503, "<html>upstream down</html>"),
                outcome: .retryable(retryAfter: nil),
                status: 503,
                detail: "HTTP 503: <html>"
            ),
            ErrorCase(
                failure: .status(200, "<html>captive portal</html>"),
                outcome: .permanent,
                status: 200,
                detail: "chat.postMessage: HTTP 200 without Slack's JSON"
            ),
            ErrorCase(failure: .error("some_new_error"), outcome: .permanent, status: 200, detail: "chat.postMessage: some_new_error"),
        ]
        for code in ["internal_error", "fatal_error", "service_unavailable", "request_timeout"] {
            cases.append(ErrorCase(failure: .error(code), outcome: .retryable(retryAfter: nil), status: 200, detail: "chat.postMessage: \(code)"))
        }
        for code in [
            "invalid_auth", "not_authed", "token_revoked", "account_inactive", "missing_scope", "channel_not_found", "not_in_channel",
            "is_archived", "msg_too_long", "no_text", "invalid_blocks", "msg_blocks_too_long", "too_many_attachments",
        ] {
            cases.append(ErrorCase(failure: .error(code), outcome: .permanent, status: 200, detail: "chat.postMessage: \(code)"))
        }
        return cases
    }()

    @Test("each Web API answer is classified", arguments: errorCases)
    func webAPIAnswers(_ testCase: ErrorCase) async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        fake.fail(testCase.failure)
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(Self.settings(peer), state: state) { await $0.deliver(ChatFixture.alert(.open)) }
            #expect(result.outcome == testCase.outcome)
            #expect(result.statusCode == testCase.status)
            let detail = try #require(result.detail)
            #expect(detail.hasPrefix(testCase.detail), "\(detail)")
            #expect(try await Self.stored(state) == nil)
        }
    }

    @Test("the fake's own refusals: a wrong token, an unknown, archived or unjoined channel")
    func fakeRefusals() async throws {
        let fake = SlackWebAPIFake(
            token: Self.token,
            channels: ["alerts": "C0ALERTS01", "old": "C0OLD0001", "quiet": "C0QUIET01"],
            archived: ["C0OLD0001"],
            notJoined: ["C0QUIET01"]
        )
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let cases: [(settings: [String: JSONValue], code: String)] = [
                (Self.settings(peer).merging(["token": .string("xoxb-wrong-token")]) { $1 }, "invalid_auth"),
                (Self.settings(peer).merging(["channel": .string("#nowhere")]) { $1 }, "channel_not_found"),
                (Self.settings(peer).merging(["channel": .string("#old")]) { $1 }, "is_archived"),
                (Self.settings(peer).merging(["channel": .string("C0QUIET01")]) { $1 }, "not_in_channel"),
            ]
            for (settings, code) in cases {
                let result = try await withSlackSink(settings) { await $0.deliver(ChatFixture.alert(.open)) }
                #expect(result.outcome == .permanent, "\(code)")
                #expect(result.detail?.hasPrefix("chat.postMessage: \(code) (") == true, "\(result.detail ?? "")")
            }
            #expect(fake.allMessages.isEmpty)
        }
    }

    @Test("a failing chat.update is classified like a post and keeps the remembered message")
    func failingUpdate() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(Self.settings(peer), state: state) { sink in
                _ = await sink.deliver(ChatFixture.alert(.open))
                fake.fail(.rateLimited(retryAfter: 3))
                let result = await sink.deliver(ChatFixture.alert(.resolve))
                #expect(result.outcome == .retryable(retryAfter: .seconds(3)))
                #expect(result.detail?.hasPrefix("chat.update: HTTP 429") == true)
                let remembered = try await Self.stored(state)
                #expect(remembered != nil)
                #expect(await sink.deliver(ChatFixture.alert(.resolve)).outcome == .delivered)
            }
            #expect(fake.messages.count == 1)
            #expect(fake.messages.first?.colour == "#2eb67d")
            #expect(try await Self.stored(state) == nil)
        }
    }

    @Test("a timeout and a refused connection are retryable and remember nothing")
    func transportFailures() async throws {
        let fake = SlackWebAPIFake(token: Self.token)
        fake.fail(.slow(.seconds(2)))
        let state = InMemorySinkStateStore()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(Self.settings(peer), timeout: .milliseconds(200), state: state) {
                await $0.deliver(ChatFixture.alert(.open))
            }
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(try await Self.stored(state) == nil)
        }
        let port = try await ScriptedPeer.closedPort()
        let settings: [String: JSONValue] = [
            "token": .string(Self.token), "channel": .string("#alerts"), "api_url": .string("http://127.0.0.1:\(port)/api"),
        ]
        let result = try await withSlackSink(settings, timeout: .seconds(1)) { await $0.deliver(ChatFixture.alert(.open)) }
        #expect(result.outcome == .retryable(retryAfter: nil))
    }
}
