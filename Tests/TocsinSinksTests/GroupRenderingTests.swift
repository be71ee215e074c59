import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// Every sink that writes words shows a group of twelve the same way: the counts (in the summary), the first ten
/// alerts and "… and 2 more" (the description).
@Suite("Group notifications in every sink", .timeLimit(.minutes(1)))
struct GroupRenderingTests {
    /// Records an issue unless `text` shows the counts, the first alert, the tenth, and the rest as a count.
    static func expectGroupShown(in text: String?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = text ?? ""
        for expected in ["[FIRING:12]", "node=n01: Disk full", "node=n10: Disk full", "… and 2 more"] {
            #expect(text.contains(expected), "\(what) lacks '\(expected)':\n\(text)", sourceLocation: sourceLocation)
        }
        #expect(!text.contains("node=n11"), "\(what) lists more than ten alerts", sourceLocation: sourceLocation)
    }

    /// Every string in a JSON value, depth first.
    static func strings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let text): [text]
        case .array(let items): items.flatMap(strings)
        case .object(let object): object.keys.sorted().flatMap { strings(in: object[$0]!) }
        default: []
        }
    }

    static func outbound(_ integration: String) -> OutboundNotification {
        GroupFixture.outbound(GroupFixture.open(integration: integration), integration: integration)
    }

    @Test("webhook, tocsin format: summary and description")
    func webhook() async throws {
        let json = try await WebhookGroupTests.body(GroupFixture.open(integration: "ops-webhook"), format: "tocsin")
        Self.expectGroupShown(in: (json["summary"]?.stringValue ?? "") + "\n" + (json["description"]?.stringValue ?? ""), "the webhook body")
    }

    @Test("slack: the header has the counts, the text section the alert list, the fallback the counts")
    func slack() throws {
        let message = SlackMessage(Self.outbound("ops-chat"), templates: .defaults(SlackMessage.templateSpecs), publicURL: ChatFixture.publicURL)
        let header = try #require(message.blocks.first?["text"]?["text"]?.stringValue)
        #expect(header == "[FIRING:12] DiskUsageHigh (cluster=prod)")
        let section = try #require(message.attachmentBlocks.first?["text"]?["text"]?.stringValue)
        Self.expectGroupShown(in: header + "\n" + section, "the Slack message")
        #expect(message.text == "[CRITICAL] [FIRING:12] DiskUsageHigh (cluster=prod)")
    }

    @Test("microsoft_teams: the card's title has the counts and a text block the alert list; the card is valid")
    func teams() async throws {
        let (result, body, _) = try await TeamsTests.send(Self.outbound("ops-chat"))
        #expect(result.outcome == .delivered)
        let card = try #require(body?["attachments"]?[0]?["content"])
        let title = try #require(card["body"]?[0]?["text"]?.stringValue)
        #expect(title == "[CRITICAL] [FIRING:12] DiskUsageHigh (cluster=prod)")
        let list = Self.strings(in: card).first { $0.hasPrefix("- [CRITICAL] node=n01") }
        Self.expectGroupShown(in: title + "\n" + (list ?? ""), "the Teams card")
        #expect(try await TeamsTests.violations(of: card).isEmpty)
    }

    @Test("microsoft_teams, message_card format: title and section text")
    func teamsMessageCard() throws {
        let body = TeamsCard.body(
            Self.outbound("ops-chat"),
            format: .messageCard,
            templates: .defaults(TeamsCard.templateSpecs),
            publicURL: ChatFixture.publicURL
        )
        let card = try JSONValue.decode(body)
        Self.expectGroupShown(in: (card["title"]?.stringValue ?? "") + "\n" + (card["sections"]?[0]?["text"]?.stringValue ?? ""), "the MessageCard")
    }

    @Test("email: the subject has the counts; the text and HTML parts list the alerts")
    func email() throws {
        let mail = try EmailSinkMessageTests.mail(Self.outbound("ops-email"))
        #expect(mail.subject == "[FIRING] CRITICAL [FIRING:12] DiskUsageHigh (cluster=prod)")
        Self.expectGroupShown(in: mail.parts[0].text, "the text part")
        Self.expectGroupShown(in: mail.parts[1].text, "the HTML part")
        #expect(mail.parts[1].text.contains(#"<p style="white-space: pre-wrap; margin: 0 0 12px 0;">- [CRITICAL] node=n01: Disk full"#))
    }

    @Test("servicenow, incident mode: one incident under the group's key; short description and description")
    func serviceNowIncident() async throws {
        let outbound = Self.outbound("ops-servicenow")
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered)
        }
        let incident = try #require(fake.incidents.first)
        #expect(fake.incidents.count == 1)
        #expect(incident["correlation_id"] == outbound.notification.group?.dedupKey)
        #expect(incident["short_description"] == "[FIRING:12] DiskUsageHigh (cluster=prod)")
        Self.expectGroupShown(in: (incident["short_description"] ?? "") + "\n" + (incident["description"] ?? ""), "the incident")
    }

    @Test("servicenow, event mode: one alert under the group's key; the description lists the alerts")
    func serviceNowEvent() async throws {
        let outbound = Self.outbound("ops-servicenow")
        let fake = ServiceNowTest.fake()
        try await fake.serve { peer in
            let settings = ServiceNowTest.settings(url: peer.url(""), ["mode": .string("event")])
            let result = try await withServiceNowSink(settings) { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered)
        }
        let event = try #require(fake.events.first)
        #expect(event["message_key"] == outbound.notification.group?.dedupKey)
        Self.expectGroupShown(in: event["description"], "the event's description")
    }

    @Test("servicenow drops an acknowledgement instead of opening an incident for it")
    func serviceNowAcknowledgement() async throws {
        let outbound = GroupFixture.outbound(GroupFixture.acknowledge(integration: "ops-servicenow"), integration: "ops-servicenow")
        try await ScriptedPeer.run(.status(500)) { peer in
            let result = try await withServiceNowSink(ServiceNowTest.settings(url: peer.url(""))) { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered)
            #expect(result.detail?.contains("acknowledgement not sent") == true)
            #expect(peer.requests.isEmpty)
        }
    }

    @Test("log_file: the line's summary and description")
    func logFile() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("alerts.log").path
        let sink = try LogFileSinkTests.makeSink(["path": .string(path)])
        #expect(await sink.deliver(Self.outbound("alert-log")) == SinkResult(outcome: .delivered))
        await sink.shutdown()
        let lines = try LogFileSinkTests.lines(of: path)
        try #require(lines.count == 1)
        let line = try JSONValue.decode(Array(lines[0].utf8))
        Self.expectGroupShown(in: (line["summary"]?.stringValue ?? "") + "\n" + (line["description"]?.stringValue ?? ""), "the log line")
    }

    @Test("cloudwatch_logs: the log event's summary and description")
    func cloudWatchLogs() throws {
        let entries = CloudWatchLogsBatcher.entries([Self.outbound("ops-logs")], template: CloudWatchLogsConfiguration.defaultTemplate)
        try #require(entries.count == 1)
        let line = try JSONValue.decode(Array(entries[0].event.message.utf8))
        #expect(line["type"]?.stringValue == "open")
        Self.expectGroupShown(in: (line["summary"]?.stringValue ?? "") + "\n" + (line["description"]?.stringValue ?? ""), "the log event")
    }

    @Test(
        "sinks that write words do not forward acknowledgements; incident platforms do",
        arguments: [
            ("webhook", ["url": JSONValue.string("http://127.0.0.1:9/hook")], false),
            ("log_file", ["path": .string("/tmp/tocsin-never-written.log")], false),
            ("email", EmailFixture.base, false),
            ("slack", ["url": .string("https://hooks.slack.com/services/T0/B0/x")], false),
            ("microsoft_teams", ["url": .string("https://prod.example.com/workflows/1/triggers/manual/paths/invoke?sig=s")], false),
            ("servicenow", ServiceNowTest.settings(url: "https://example.service-now.com"), false),
            ("pagerduty", PagerDutyTest.settings(url: "http://127.0.0.1:9"), true),
            ("opsgenie", OpsGenieTest.settings(url: "http://127.0.0.1:9"), true),
        ]
    )
    func forwardsAcknowledgements(type: String, settings: [String: JSONValue], expected: Bool) throws {
        let factory = try #require(SinkRegistry.factories[type])
        let environment = SinkEnvironment(http: HTTPTransport(client: .shared))
        let sink = try factory.make(Fixture.integration(type: type, name: "ops-\(type)", settings), environment).get()
        #expect(sink.forwardsAcknowledgements == expected)
    }
}
