import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("PagerDuty: acknowledgements and group notifications", .timeLimit(.minutes(1)))
struct PagerDutyGroupTests {
    static let integration = "ops-pagerduty"

    /// An open and the acknowledgement of the same alerts: a one-alert group (the alert's own notifications) or a
    /// group of twelve.
    struct AcknowledgementCase: Sendable, CustomTestStringConvertible {
        var name: String
        var open: NotificationRecord
        var acknowledge: NotificationRecord
        var expectedKey: String

        var testDescription: String { name }
    }

    static let acknowledgementCases: [AcknowledgementCase] = [
        AcknowledgementCase(
            name: "one alert",
            open: GroupFixture.singleOpen(integration: integration),
            acknowledge: GroupFixture.singleAcknowledge(integration: integration),
            expectedKey: "tocsin-\(GroupFixture.fingerprint(1))"
        ),
        AcknowledgementCase(
            name: "a group of twelve",
            open: GroupFixture.open(integration: integration),
            acknowledge: GroupFixture.acknowledge(integration: integration),
            expectedKey: GroupFixture.open(integration: integration).group?.dedupKey ?? "no group"
        ),
    ]

    @Test("an acknowledgement sends the key, the action and the open's dedup key; PagerDuty's alert is acknowledged", arguments: acknowledgementCases)
    func acknowledgementAcknowledges(_ testCase: AcknowledgementCase) async throws {
        #expect(testCase.acknowledge.type == .acknowledge)
        #expect((testCase.acknowledge.group == nil) == (testCase.open.group == nil))
        let fake = PagerDutyFake()
        try await fake.run { peer in
            let results = try await withPagerDutySink(PagerDutyTest.settings(url: peer.url(""))) { sink in
                [
                    await sink.deliver(GroupFixture.outbound(testCase.open, integration: Self.integration)),
                    await sink.deliver(GroupFixture.outbound(testCase.acknowledge, integration: Self.integration)),
                ]
            }
            #expect(results.map(\.outcome) == [.delivered, .delivered])
            #expect(peer.requests.map(\.path) == ["/v2/enqueue", "/v2/enqueue"])
            let open = try JSONValue.decode(peer.requests[0].body)
            let acknowledgement = try JSONValue.decode(peer.requests[1].body)
            #expect(open["dedup_key"]?.stringValue == testCase.expectedKey)
            #expect(
                acknowledgement
                    == .object([
                        "routing_key": .string(PagerDutyTest.routingKey),
                        "event_action": .string("acknowledge"),
                        "dedup_key": .string(testCase.expectedKey),
                    ])
            )
            #expect(try await PagerDutyTest.violations(peer.requests[1].body).isEmpty)
            let alert = try #require(fake.alert(testCase.expectedKey))
            #expect(alert.isOpen)
            #expect(alert.isAcknowledged)
            #expect(fake.count("acknowledge") == 1)
        }
    }

    @Test("the acknowledgement event names its action and key without rendering anything")
    func acknowledgementEvent() {
        let configuration = PagerDutyConfiguration(name: Self.integration, routingKey: Secret(PagerDutyTest.routingKey))
        let group = GroupFixture.acknowledge(integration: Self.integration)
        let event = PagerDutyEvent(GroupFixture.outbound(group, integration: Self.integration), configuration: configuration)
        #expect(event.action == .acknowledge)
        #expect(event.url == "https://events.pagerduty.com/v2/enqueue")
        #expect(event.dedupKey == group.group?.dedupKey)
        #expect(event.body["payload"] == nil)
    }

    @Test("a group's open triggers one alert under the group's key: the counts in the summary, the alert list in custom_details")
    func groupOpen() async throws {
        let notification = GroupFixture.open(integration: Self.integration)
        let group = try #require(notification.group)
        let fake = PagerDutyFake()
        try await fake.run { peer in
            let result = try await withPagerDutySink(PagerDutyTest.settings(url: peer.url(""))) {
                await $0.deliver(GroupFixture.outbound(notification, integration: Self.integration))
            }
            #expect(result.outcome == .delivered)
            let request = try #require(peer.requests.first)
            let body = try JSONValue.decode(request.body)
            #expect(body["event_action"]?.stringValue == "trigger")
            #expect(body["dedup_key"]?.stringValue == group.dedupKey)
            #expect(group.dedupKey.hasPrefix("tocsin-group-"))
            let summary = try #require(body["payload"]?["summary"]?.stringValue)
            #expect(summary == "[FIRING:12] DiskUsageHigh (cluster=prod)")
            #expect(body["payload"]?["severity"]?.stringValue == "critical")
            #expect(body["payload"]?["group"]?.stringValue == "prod")
            #expect(body["payload"]?["class"]?.stringValue == "DiskUsageHigh")
            let details = try #require(body["payload"]?["custom_details"])
            let list = try #require(details["description"]?.stringValue)
            #expect(list.hasPrefix("- [CRITICAL] node=n01: Disk full\n- [CRITICAL] node=n02: Disk full"))
            #expect(list.contains("node=n10"))
            #expect(!list.contains("node=n11"))
            #expect(list.hasSuffix("… and 2 more"))
            #expect(details["labels"] == .object(["cluster": .string("prod"), "alertname": .string("DiskUsageHigh")]))
            #expect(try await PagerDutyTest.violations(request.body).isEmpty)
            #expect(fake.openAlerts.keys.sorted() == [group.dedupKey])
        }
    }

    @Test("a group's recovery resolves the alert its open triggered")
    func groupResolve() async throws {
        let open = GroupFixture.open(integration: Self.integration)
        let resolve = GroupFixture.resolve(integration: Self.integration)
        #expect(resolve.type == .resolve)
        #expect(resolve.event.summary.hasPrefix("[RESOLVED:12]"))
        let fake = PagerDutyFake()
        try await fake.run { peer in
            try await withPagerDutySink(PagerDutyTest.settings(url: peer.url(""))) { sink in
                _ = await sink.deliver(GroupFixture.outbound(open, integration: Self.integration))
                _ = await sink.deliver(GroupFixture.outbound(resolve, integration: Self.integration))
            }
            let keys = try peer.requests.map { try JSONValue.decode($0.body)["dedup_key"]?.stringValue }
            #expect(keys == [open.group?.dedupKey, open.group?.dedupKey])
            #expect(fake.openAlerts.isEmpty)
            #expect(fake.resolvedAlerts.map(\.dedupKey) == [open.group?.dedupKey])
        }
    }
}
