import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Opsgenie: acknowledgements and group notifications", .timeLimit(.minutes(1)))
struct OpsGenieGroupTests {
    static let integration = "ops-opsgenie"
    /// Opsgenie's answer to every accepted create, acknowledge and close.
    static let accepted = ScriptedAnswer.json(202, #"{"result":"Request will be processed","took":0.1,"requestId":"43a29c5c-1a2b"}"#)

    struct AcknowledgementCase: Sendable, CustomTestStringConvertible {
        var name: String
        var open: NotificationRecord
        var acknowledge: NotificationRecord
        var expectedAlias: String

        var testDescription: String { name }
    }

    static let acknowledgementCases: [AcknowledgementCase] = [
        AcknowledgementCase(
            name: "one alert",
            open: GroupFixture.singleOpen(integration: integration),
            acknowledge: GroupFixture.singleAcknowledge(integration: integration),
            expectedAlias: "tocsin-\(GroupFixture.fingerprint(1))"
        ),
        AcknowledgementCase(
            name: "a group of twelve",
            open: GroupFixture.open(integration: integration),
            acknowledge: GroupFixture.acknowledge(integration: integration),
            expectedAlias: GroupFixture.open(integration: integration).group?.dedupKey ?? "no group"
        ),
    ]

    @Test(
        "an acknowledgement is POST /v2/alerts/{alias}/acknowledge?identifierType=alias with the open's alias, source and note",
        arguments: acknowledgementCases
    )
    func acknowledgementRequest(_ testCase: AcknowledgementCase) async throws {
        #expect(testCase.acknowledge.type == .acknowledge)
        try await ScriptedPeer.run(Self.accepted) { peer in
            let results = try await withOpsGenieSink(OpsGenieTest.settings(url: peer.url(""))) { sink in
                [
                    await sink.deliver(GroupFixture.outbound(testCase.open, integration: Self.integration)),
                    await sink.deliver(GroupFixture.outbound(testCase.acknowledge, integration: Self.integration)),
                ]
            }
            #expect(results == [SinkResult(outcome: .delivered, statusCode: 202), SinkResult(outcome: .delivered, statusCode: 202)])
            try #require(peer.requests.count == 2)
            let create = peer.requests[0]
            #expect(create.path == "/v2/alerts")
            #expect(try JSONValue.decode(create.body)["alias"]?.stringValue == testCase.expectedAlias)
            let request = peer.requests[1]
            #expect(request.method == "POST")
            #expect(request.path == "/v2/alerts/\(testCase.expectedAlias)/acknowledge")
            #expect(request.query == "identifierType=alias")
            #expect(request.header("Authorization") == "GenieKey \(OpsGenieTest.apiKey)")
            #expect(request.header("Content-Type") == "application/json")
            #expect(try JSONValue.decode(request.body) == .object(["source": .string("Tocsin"), "note": .string("Acknowledged in Tocsin")]))
            let violations = try await JSONSchemaCheck.violations(
                of: request.body,
                schemaFile: OpsGenieTest.schemaFile,
                pointer: "/definitions/AcknowledgeAlertPayload"
            )
            #expect(violations.isEmpty, "\(violations)")
        }
    }

    @Test("the acknowledge URL encodes the alias as one path segment and follows the region")
    func acknowledgeURL() throws {
        let configuration = try OpsGenieConfiguration.parse(
            OpsGenieTest.integration(["api_key": .string(OpsGenieTest.apiKey), "region": .string("eu")])
        ).get()
        #expect(configuration.acknowledgeURL(alias: "a/b c") == "https://api.eu.opsgenie.com/v2/alerts/a%2Fb%20c/acknowledge?identifierType=alias")
        let request = OpsGenieRequest(
            GroupFixture.outbound(GroupFixture.singleAcknowledge(integration: Self.integration), integration: Self.integration),
            configuration: configuration
        )
        #expect(request.action == .acknowledge)
        #expect(request.url == "https://api.eu.opsgenie.com/v2/alerts/tocsin-fp-disk-n01/acknowledge?identifierType=alias")
    }

    @Test("a 404 from Opsgenie on an acknowledgement is delivered with a detail; a 404 that is not Opsgenie's stays permanent")
    func acknowledgementOfNoAlert() async throws {
        let outbound = GroupFixture.outbound(GroupFixture.acknowledge(integration: Self.integration), integration: Self.integration)
        let opsgenie404 = ScriptedAnswer.json(404, #"{"message":"Alert does not exist","took":0.002,"requestId":"r-1"}"#)
        let proxy404 = ScriptedAnswer.status(404, headers: ["Content-Type": "text/html"], body: "<html>Not Found</html>")
        try await ScriptedPeer.run(opsgenie404, proxy404) { peer in
            let results = try await withOpsGenieSink(OpsGenieTest.settings(url: peer.url(""))) { sink in
                [await sink.deliver(outbound), await sink.deliver(outbound)]
            }
            #expect(results[0].outcome == .delivered)
            #expect(results[0].statusCode == 404)
            #expect(results[0].detail?.contains("nothing to acknowledge") == true)
            #expect(results[0].detail?.contains("Alert does not exist") == true)
            #expect(results[1].outcome == .permanent)
        }
    }

    @Test("a group's open creates one alert under the group's alias: the counts in the message, the alert list in the description")
    func groupOpen() async throws {
        let notification = GroupFixture.open(integration: Self.integration)
        let group = try #require(notification.group)
        let fake = OpsGenieTest.fake()
        try await fake.run { peer in
            let result = try await withOpsGenieSink(OpsGenieTest.settings(url: peer.url(""))) {
                await $0.deliver(GroupFixture.outbound(notification, integration: Self.integration))
            }
            #expect(result.outcome == .delivered)
            let request = try #require(peer.requests.first)
            let body = try JSONValue.decode(request.body)
            #expect(body["message"]?.stringValue == "[FIRING:12] DiskUsageHigh (cluster=prod)")
            #expect(body["alias"]?.stringValue == group.dedupKey)
            #expect(body["priority"]?.stringValue == "P1")
            let description = try #require(body["description"]?.stringValue)
            #expect(description.hasPrefix("[FIRING:12] DiskUsageHigh (cluster=prod)"))
            #expect(description.contains("- [CRITICAL] node=n01: Disk full\n"))
            #expect(description.contains("- [CRITICAL] node=n10: Disk full\n… and 2 more"))
            #expect(!description.contains("node=n11"))
            #expect(try await OpsGenieTest.violations(create: request.body).isEmpty)
            #expect(fake.alert(group.dedupKey)?.isOpen == true)
        }
    }

    @Test("a group's recovery closes the alert its open created")
    func groupResolve() async throws {
        let open = GroupFixture.open(integration: Self.integration)
        let resolve = GroupFixture.resolve(integration: Self.integration)
        let alias = try #require(open.group?.dedupKey)
        let fake = OpsGenieTest.fake()
        try await fake.run { peer in
            try await withOpsGenieSink(OpsGenieTest.settings(url: peer.url(""))) { sink in
                _ = await sink.deliver(GroupFixture.outbound(open, integration: Self.integration))
                _ = await sink.deliver(GroupFixture.outbound(resolve, integration: Self.integration))
            }
            #expect(peer.requests.map(\.path) == ["/v2/alerts", "/v2/alerts/\(alias)/close"])
            let note = try JSONValue.decode(peer.requests[1].body)["note"]?.stringValue
            #expect(note?.hasSuffix(": [RESOLVED:12] DiskUsageHigh (cluster=prod)") == true)
            #expect(fake.alert(alias)?.isOpen == false)
        }
    }
}
