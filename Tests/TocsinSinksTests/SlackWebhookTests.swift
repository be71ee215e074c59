import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Slack incoming webhook", .timeLimit(.minutes(1)))
struct SlackWebhookTests {
    static let hookPath = "/services/T0001/B0001/abcdefghijklmnop"

    @Test("an open is one POST of a Block Kit message: header, red attachment with description, facts and labels as fields, link buttons")
    func exactRequest() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath)), "channel": .string("#ops")]) {
                await $0.deliver(ChatFixture.alert(.open))
            }
            #expect(result == SinkResult(outcome: .delivered, statusCode: 200))
            let request = try #require(peer.requests.first)
            #expect(peer.requests.count == 1)
            #expect(request.method == "POST")
            #expect(request.path == Self.hookPath)
            #expect(request.query.isEmpty)
            #expect(request.header("Content-Type") == "application/json")
            #expect(request.header("Authorization") == nil)
            let body = try JSONValue.decode(request.body)
            #expect(body.keys == ["text", "blocks", "attachments", "channel"])
            #expect(body["channel"]?.stringValue == "#ops")
            #expect(body["text"]?.stringValue == "[CRITICAL] Disk usage above 80 % on n3")
            #expect(body["blocks"]?.count == 1)
            #expect(body["blocks"]?[0]?["type"]?.stringValue == "header")
            #expect(
                body["blocks"]?[0]?["text"]
                    == .object(["type": .string("plain_text"), "text": .string("Disk usage above 80 % on n3"), "emoji": .bool(true)])
            )
            let attachment = try #require(body["attachments"]?[0])
            #expect(body["attachments"]?.count == 1)
            #expect(attachment["color"]?.stringValue == "#d0021b")
            #expect(attachment["fallback"]?.stringValue == "[CRITICAL] Disk usage above 80 % on n3")
            let blocks = attachment["blocks"]?.arrayValue ?? []
            #expect(blocks.map { $0["type"]?.stringValue ?? "" } == ["section", "section", "actions"])
            #expect(
                blocks.first?["text"]
                    == .object(["type": .string("mrkdwn"), "text": .string("Disk usage on n3 is 83 %, above the 80 % warning level.")])
            )
            #expect(
                body.slackFields == [
                    "*Severity*\nCRITICAL", "*Category*\nNodes", "*Started*\n2026-01-01T00:00:00Z",
                    "*alertname*\nDiskUsageHigh", "*cluster*\nprod-eu", "*dc*\ndc1", "*node*\nn3",
                ]
            )
            let buttons = blocks.last?["elements"]?.arrayValue ?? []
            #expect(buttons.count == 2)
            #expect(buttons.first?["text"]?["text"]?.stringValue == "Open in Tocsin")
            #expect(buttons.first?["url"]?.stringValue == ChatFixture.alertPage)
            #expect(buttons.first?["style"]?.stringValue == "primary")
            #expect(buttons.last?["text"]?["text"]?.stringValue == "Disk dashboard")
            #expect(buttons.last?["url"]?.stringValue == "https://grafana.example.com/d/disk?node=n3")
            // The fake checked the message against Slack's rules and accepted it.
            #expect(fake.messages.count == 1)
        }
    }

    @Test("without a public URL there is no Tocsin button, and no channel key when none is configured")
    func withoutPublicURL() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath))], publicURL: nil) {
                await $0.deliver(ChatFixture.alert(.open))
            }
            #expect(result.outcome == .delivered)
            let body = try JSONValue.decode(try #require(peer.requests.first).body)
            #expect(body["channel"] == nil)
            #expect(body.slackButtonURLs == ["https://grafana.example.com/d/disk?node=n3"])
        }
    }

    struct ColourCase: Sendable, CustomTestStringConvertible {
        var type: NotificationType
        var severity: Severity
        var colour: String
        var testDescription: String { "\(type.rawValue) \(severity.rawValue) → \(colour)" }
    }

    static let colourCases: [ColourCase] = [
        ColourCase(type: .open, severity: .critical, colour: "#d0021b"),
        ColourCase(type: .open, severity: .error, colour: "#d0021b"),
        ColourCase(type: .open, severity: .warning, colour: "#f5a623"),
        ColourCase(type: .open, severity: .info, colour: "#439fe0"),
        ColourCase(type: .resolve, severity: .critical, colour: "#2eb67d"),
        ColourCase(type: .resolve, severity: .warning, colour: "#2eb67d"),
        ColourCase(type: .notification, severity: .info, colour: "#439fe0"),
        ColourCase(type: .notification, severity: .warning, colour: "#f5a623"),
    ]

    @Test("the attachment colour follows the severity and turns green on resolve", arguments: colourCases)
    func colour(_ testCase: ColourCase) async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let outbound =
                testCase.type == .notification
                ? ChatFixture.notification(severity: testCase.severity) : ChatFixture.alert(testCase.type, severity: testCase.severity)
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath))]) { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered)
            #expect(fake.messages.first?.colour == testCase.colour)
        }
    }

    @Test("a resolve says so in its header, fallback and fields; a notification shows when it happened")
    func resolveAndNotificationWording() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            try await withSlackSink(["url": .string(peer.url(Self.hookPath))]) { sink in
                #expect(await sink.deliver(ChatFixture.alert(.resolve)).outcome == .delivered)
                #expect(await sink.deliver(ChatFixture.notification()).outcome == .delivered)
            }
            let resolve = try #require(fake.messages.first?.body)
            #expect(resolve.slackBlockText("header") == "Resolved: Disk usage above 80 % on n3")
            #expect(resolve["text"]?.stringValue == "[RESOLVED] Disk usage above 80 % on n3")
            #expect(resolve.slackFields.contains("*Resolved*\n2026-01-01T00:10:00Z"))
            let notification = try #require(fake.messages.last?.body)
            #expect(notification["text"]?.stringValue == "[INFO] Local backup created successfully")
            #expect(notification.slackFields.prefix(3) == ["*Severity*\nINFO", "*Category*\nBackups", "*At*\n2026-01-01T00:00:30Z"])
        }
    }

    @Test("text from events is escaped for mrkdwn: no mention, link or entity can be injected")
    func markdownEscaping() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let outbound = ChatFixture.alert(
                .open,
                description: "<!channel> look at <https://evil.example.com|this> & that",
                labels: ["team": "<@U123> & co"],
                summary: "Disk <full> & more"
            )
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath))]) { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered)
            let body = try #require(fake.messages.first?.body)
            #expect(body.slackBlockText("section") == "&lt;!channel&gt; look at &lt;https://evil.example.com|this&gt; &amp; that")
            #expect(body.slackFields.contains("*team*\n&lt;@U123&gt; &amp; co"))
            #expect(body["text"]?.stringValue == "[CRITICAL] Disk &lt;full&gt; &amp; more")
            // The header is plain text, which Slack does not parse.
            #expect(body.slackBlockText("header") == "Disk <full> & more")
        }
    }

    @Test("templates under templates: replace the defaults")
    func templateOverrides() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let settings: [String: JSONValue] = [
                "url": .string(peer.url(Self.hookPath)),
                "templates": .object([
                    "title": .string("{{label.node}}: {{summary}}"),
                    "text": .string("*{{status_upper}}* in {{label.cluster}}"),
                    "fallback": .string("{{severity}} {{fingerprint}}"),
                ]),
            ]
            let result = try await withSlackSink(settings) { await $0.deliver(ChatFixture.alert(.open)) }
            #expect(result.outcome == .delivered)
            let body = try #require(fake.messages.first?.body)
            #expect(body.slackBlockText("header") == "n3: Disk usage above 80 % on n3")
            #expect(body.slackBlockText("section") == "*FIRING* in prod-eu")
            #expect(body["text"]?.stringValue == "critical fp-5d2c9a")
        }
    }

    @Test("a huge event is cut to every Slack limit with the marker, and the fake (which checks the limits) accepts it")
    func truncation() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            var labels: [String: String] = [:]
            for index in 0..<600 { labels[String(format: "label_%03d", index)] = String(repeating: "v", count: 40) }
            labels["huge"] = String(repeating: "h", count: 5000)
            let outbound = ChatFixture.alert(
                .open,
                description: String(repeating: "The disk & the node are full. ", count: 1000),
                labels: labels,
                summary: String(repeating: "S", count: 50_000)
            )
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath))]) { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered, "\(result)")
            let body = try #require(fake.messages.first?.body)
            let blocks = body.slackBlocks
            #expect(blocks.count <= 50)
            let header = try #require(body.slackBlockText("header"))
            #expect(header.count == 150)
            #expect(header.hasSuffix(Truncation.marker))
            let section = try #require(body.slackBlockText("section"))
            #expect(section.count == 3000)
            #expect(section.hasSuffix(Truncation.marker))
            // Every `&` before the marker still starts a whole `&amp;`: the cut left no half entity.
            let kept = section.dropLast(Truncation.marker.count)
            #expect(kept.components(separatedBy: "&").dropFirst().allSatisfy { $0.hasPrefix("amp;") }, "half an entity before the marker")
            for block in blocks where block["fields"] != nil {
                let fields = block["fields"]?.arrayValue ?? []
                #expect(fields.count <= 10)
                for field in fields { #expect((field["text"]?.stringValue?.count ?? 0) <= 2000) }
            }
            #expect(body.slackBlockTextLength <= 12_000)
            let fields = body.slackFields
            let hugeField = try #require(fields.first { $0.hasPrefix("*huge*") })
            #expect(hugeField.count == 2000 && hugeField.hasSuffix(Truncation.marker))
            let marker = try #require(fields.last)
            #expect(marker.hasPrefix("*\(Truncation.marker)*\n"))
            let shown = fields.filter { $0.hasPrefix("*label_") || $0.hasPrefix("*huge*") }.count
            #expect(marker.hasSuffix("\(601 - shown) more labels not shown"))
            let text = try #require(body["text"]?.stringValue)
            #expect(text.count == 40_000)
            #expect(text.hasSuffix(Truncation.marker))
            #expect(fake.messages.first?.textTruncated == false)
        }
    }

    @Test("labels are only cut when they do not fit: 40 short labels are all shown")
    func manyShortLabelsFit() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            var labels: [String: String] = [:]
            for index in 0..<40 { labels["l\(index)"] = "value-\(index)" }
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath))]) {
                await $0.deliver(ChatFixture.alert(.open, labels: labels))
            }
            #expect(result.outcome == .delivered)
            let fields = try #require(fake.messages.first?.body.slackFields)
            #expect(fields.count == 43)
            #expect(!fields.contains { $0.contains(Truncation.marker) })
        }
    }

    struct AnswerCase: Sendable, CustomTestStringConvertible {
        var failure: SlackWebhookFake.Failure?
        var status: Int
        var outcome: AttemptOutcome
        var detail: String?
        var testDescription: String { "\(status) \(detail ?? "ok") → \(outcome)" }
    }

    static let answerCases: [AnswerCase] = [
        AnswerCase(failure: nil, status: 200, outcome: .delivered),
        AnswerCase(failure: .status(400, "invalid_payload"), status: 400, outcome: .permanent, detail: "HTTP 400: invalid_payload"),
        AnswerCase(failure: .status(400, "no_text"), status: 400, outcome: .permanent, detail: "HTTP 400: no_text"),
        AnswerCase(failure: .status(400, "invalid_blocks"), status: 400, outcome: .permanent, detail: "HTTP 400: invalid_blocks"),
        AnswerCase(failure: .status(400, "user_not_found"), status: 400, outcome: .permanent, detail: "HTTP 400: user_not_found"),
        AnswerCase(failure: .actionProhibited, status: 403, outcome: .permanent, detail: "HTTP 403: action_prohibited"),
        AnswerCase(failure: .channelNotFound, status: 404, outcome: .permanent, detail: "HTTP 404: channel_not_found"),
        AnswerCase(failure: .channelIsArchived, status: 410, outcome: .permanent, detail: "HTTP 410: channel_is_archived"),
        AnswerCase(failure: .noService, status: 404, outcome: .permanent, detail: "HTTP 404: no_service"),
        AnswerCase(failure: .rollupError, status: 500, outcome: .retryable(retryAfter: nil), detail: "HTTP 500: rollup_error"),
        AnswerCase(failure: .status(503, "<html>Service Unavailable</html>"), status: 503, outcome: .retryable(retryAfter: nil), detail: "HTTP 503"),
        AnswerCase(failure: .rateLimited(retryAfter: 30), status: 429, outcome: .retryable(retryAfter: .seconds(30)), detail: "HTTP 429"),
    ]

    @Test("each documented webhook answer is classified", arguments: answerCases)
    func answers(_ testCase: AnswerCase) async throws {
        let fake = SlackWebhookFake()
        if let failure = testCase.failure { fake.fail(failure) }
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath))]) { await $0.deliver(ChatFixture.alert(.open)) }
            #expect(result.outcome == testCase.outcome)
            #expect(result.statusCode == testCase.status)
            if let expected = testCase.detail {
                let detail = try #require(result.detail)
                #expect(detail.hasPrefix(expected), "\(detail)")
            } else {
                #expect(result.detail == nil)
            }
        }
    }

    @Test("a message the fake refuses as invalid_blocks really fails: the fake's checks bite")
    func fakeRefusesInvalidBlocks() async throws {
        let fake = SlackWebhookFake()
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let client = HTTPTransport.makeClient()
            let tooLong = JSONValue.object([
                "text": .string("x"),
                "blocks": .array([
                    .object([
                        "type": .string("section"),
                        "text": .object(["type": .string("mrkdwn"), "text": .string(String(repeating: "a", count: 3001))]),
                    ])
                ]),
            ])
            let answer: HTTPAnswer
            do {
                answer = try await HTTPTransport(client: client).post(
                    url: peer.url(Self.hookPath),
                    headers: [],
                    body: JSONWriter.write(tooLong),
                    timeout: .seconds(5)
                )
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
            #expect(answer.status == 400)
            #expect(answer.bodyPrefix == "invalid_blocks")
            #expect(fake.messages.isEmpty)
        }
    }

    @Test("a timeout and a refused connection are retryable")
    func transportFailures() async throws {
        let fake = SlackWebhookFake()
        fake.fail(.slow(.seconds(2)))
        try await ScriptedPeer.run { peer in
            peer.handle(fake.handler)
            let result = try await withSlackSink(["url": .string(peer.url(Self.hookPath))], timeout: .milliseconds(200)) {
                await $0.deliver(ChatFixture.alert(.open))
            }
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(result.detail?.isEmpty == false)
        }
        let port = try await ScriptedPeer.closedPort()
        let result = try await withSlackSink(["url": .string("http://127.0.0.1:\(port)\(Self.hookPath)")], timeout: .seconds(1)) {
            await $0.deliver(ChatFixture.alert(.open))
        }
        #expect(result.outcome == .retryable(retryAfter: nil))
    }
}
