import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Webhook payloads of group notifications", .timeLimit(.minutes(1)))
struct WebhookGroupTests {
    static let integration = "ops-webhook"

    /// Delivers one notification to a receiver with the given format; the JSON body it received.
    static func body(_ notification: NotificationRecord, format: String) async throws -> JSONValue {
        try await ScriptedPeer.run(.status(200)) { receiver in
            let result = try await withWebhookSink(["url": .string(receiver.url()), "format": .string(format)], name: Self.integration) {
                await $0.deliver(GroupFixture.outbound(notification, integration: Self.integration))
            }
            #expect(result.outcome == .delivered)
            return try JSONValue.decode(try #require(receiver.requests.first).body)
        }
    }

    // MARK: format: tocsin

    @Test("tocsin format: a group's open stands for the group and carries a group object with every alert")
    func tocsinGroupOpen() async throws {
        let notification = GroupFixture.open(integration: Self.integration)
        let group = try #require(notification.group)
        let json = try await Self.body(notification, format: "tocsin")
        let payload = try JSONDecoder().decode(TocsinPayload.self, from: Data(JSONWriter.write(json)))
        #expect(payload.status == "open")
        #expect(payload.fingerprint == group.dedupKey)
        #expect(payload.summary == "[FIRING:12] DiskUsageHigh (cluster=prod)")
        let description = try #require(payload.description)
        #expect(description.hasPrefix("- [CRITICAL] node=n01: Disk full\n"))
        #expect(description.hasSuffix("- [CRITICAL] node=n10: Disk full\n… and 2 more"))
        #expect(payload.labels == ["cluster": "prod", "alertname": "DiskUsageHigh"])

        let object = try #require(payload.group)
        #expect(object.key == GroupFixture.key)
        #expect(object.dedupKey == group.dedupKey)
        #expect(object.groupLabels == ["cluster": "prod"])
        #expect(object.commonLabels == ["cluster": "prod", "alertname": "DiskUsageHigh"])
        #expect(object.firing == 12)
        #expect(object.resolved == 0)
        #expect(object.isRepeat == false)
        #expect(object.alerts.map(\.fingerprint) == (1...12).map(GroupFixture.fingerprint))
        #expect(
            object.alerts[0]
                == TocsinGroupPayload.Alert(
                    fingerprint: "fp-disk-n01",
                    status: "firing",
                    severity: "critical",
                    category: "nodes",
                    labels: ["cluster": "prod", "node": "n01", "alertname": "DiskUsageHigh"],
                    summary: "Disk full",
                    startsAt: "2026-01-01T00:00:00.000Z",
                    endsAt: nil,
                    flapping: false
                )
        )

        // The documented field names, on the raw JSON.
        let raw = try #require(json["group"])
        #expect(raw.keys == ["key", "dedupKey", "groupLabels", "commonLabels", "firing", "resolved", "repeat", "alerts"])
        #expect(raw["repeat"] == .bool(false))
        #expect(raw["firing"] == .number(12))
        #expect(raw["alerts"]?[0]?.keys == ["fingerprint", "status", "severity", "category", "labels", "summary", "startsAt", "flapping"])
    }

    @Test("tocsin format: resolved alerts of a group carry their end; the counts follow")
    func tocsinGroupPartlyResolved() async throws {
        let notification = GroupFixture.partlyResolved(integration: Self.integration)
        #expect(notification.event.summary == "[FIRING:2][RESOLVED:1] DiskUsageHigh (cluster=prod)")
        let json = try await Self.body(notification, format: "tocsin")
        let group = try #require(json["group"])
        #expect(group["firing"] == .number(2))
        #expect(group["resolved"] == .number(1))
        #expect(json["status"]?.stringValue == "open")
        let statuses = (0..<3).map { group["alerts"]?[$0]?["status"]?.stringValue }
        #expect(statuses == ["firing", "firing", "resolved"])
        #expect(group["alerts"]?[2]?["fingerprint"]?.stringValue == "fp-disk-n03")
        #expect(group["alerts"]?[2]?["endsAt"]?.stringValue.flatMap(Timestamp.parse) == GroupFixture.resolvedAt)
        #expect(group["alerts"]?[0]?["endsAt"] == nil)
    }

    @Test("tocsin format: a one-alert group's notification is the alert's own, without a group object")
    func tocsinSingleAlert() async throws {
        let json = try await Self.body(GroupFixture.singleOpen(integration: Self.integration), format: "tocsin")
        #expect(!json.keys.contains("group"))
        #expect(json["fingerprint"]?.stringValue == "fp-disk-n01")
        #expect(json["summary"]?.stringValue == "Disk full")
    }

    // MARK: format: alertmanager

    @Test("alertmanager format: a group's open is a real group: its key, labels and one alert per group alert")
    func alertmanagerGroupOpen() async throws {
        let json = try await Self.body(GroupFixture.open(integration: Self.integration), format: "alertmanager")
        #expect(json.keys == WebhookPayloadTests.alertmanagerFields)
        #expect(json["version"] == .string("4"))
        #expect(json["groupKey"] == .string(GroupFixture.key))
        #expect(json["status"] == .string("firing"))
        #expect(json["receiver"] == .string(Self.integration))
        #expect(json["truncatedAlerts"] == .number(0))
        #expect(json["groupLabels"]?.stringMap == ["cluster": "prod"])
        #expect(
            json["commonLabels"]?.stringMap == ["cluster": "prod", "alertname": "DiskUsageHigh", "severity": "critical", "category": "nodes"]
        )
        // Every alert has its own description and link: only the summary is common.
        #expect(json["commonAnnotations"]?.stringMap == ["summary": "Disk full"])
        #expect(json["alerts"]?.count == 12)
        for index in 1...12 {
            let alert = try #require(json["alerts"]?[index - 1])
            #expect(alert.keys == WebhookPayloadTests.alertmanagerAlertFields)
            #expect(alert["status"] == .string("firing"))
            #expect(alert["fingerprint"] == .string(GroupFixture.fingerprint(index)))
            #expect(alert["labels"]?["node"] == .string(GroupFixture.node(index)))
            #expect(
                alert["annotations"]?.stringMap == [
                    "summary": "Disk full", "description": "Disk usage on \(GroupFixture.node(index)) is above 95 %.",
                ]
            )
            #expect(alert["startsAt"] == .string("2026-01-01T00:00:00.000Z"))
            #expect(alert["endsAt"] == .string(AlertmanagerWebhookSchema.zeroTime))
            #expect(alert["generatorURL"] == .string("https://grafana.example.com/d/disk?node=\(GroupFixture.node(index))"))
        }
    }

    @Test("alertmanager format: the group fires while any alert fires; resolved alerts carry their end")
    func alertmanagerGroupPartlyResolved() async throws {
        let json = try await Self.body(GroupFixture.partlyResolved(integration: Self.integration), format: "alertmanager")
        #expect(json["status"] == .string("firing"))
        #expect(json["alerts"]?.count == 3)
        #expect(json["alerts"]?[2]?["status"] == .string("resolved"))
        #expect(json["alerts"]?[2]?["endsAt"]?.stringValue.flatMap(Timestamp.parse) == GroupFixture.resolvedAt)
        #expect(json["alerts"]?[0]?["endsAt"] == .string(AlertmanagerWebhookSchema.zeroTime))
    }

    @Test("alertmanager format: a group's recovery is resolved at both levels, under the same group key")
    func alertmanagerGroupResolved() async throws {
        let json = try await Self.body(GroupFixture.resolve(integration: Self.integration), format: "alertmanager")
        #expect(json["status"] == .string("resolved"))
        #expect(json["groupKey"] == .string(GroupFixture.key))
        #expect(json["alerts"]?.count == 12)
        let statuses = Set((0..<12).compactMap { json["alerts"]?[$0]?["status"]?.stringValue })
        #expect(statuses == ["resolved"])
    }

    @Test("alertmanager format: a one-alert group's notification reads as before, one alert keyed by its fingerprint")
    func alertmanagerSingleAlert() async throws {
        let json = try await Self.body(GroupFixture.singleOpen(integration: Self.integration), format: "alertmanager")
        #expect(json["groupKey"] == .string(#"{}:{fingerprint="fp-disk-n01"}"#))
        #expect(json["groupLabels"]?.stringMap == [:])
        #expect(json["alerts"]?.count == 1)
        #expect(json["commonLabels"] == json["alerts"]?[0]?["labels"])
        #expect(json["commonAnnotations"] == json["alerts"]?[0]?["annotations"])
    }

    struct SchemaCase: Sendable, CustomTestStringConvertible {
        var name: String
        var notification: NotificationRecord

        var testDescription: String { name }
    }

    static let schemaCases: [SchemaCase] = [
        SchemaCase(name: "an alert's open", notification: Fixture.outbound(.open).notification),
        SchemaCase(name: "an alert's recovery", notification: Fixture.outbound(.resolve).notification),
        SchemaCase(name: "a one-off notification", notification: Fixture.outbound(.notification).notification),
        SchemaCase(name: "a one-alert group's open", notification: GroupFixture.singleOpen(integration: integration)),
        SchemaCase(name: "a group's open", notification: GroupFixture.open(integration: integration)),
        SchemaCase(name: "a group partly resolved", notification: GroupFixture.partlyResolved(integration: integration)),
        SchemaCase(name: "a group's recovery", notification: GroupFixture.resolve(integration: integration)),
    ]

    @Test("alertmanager format: bodies have the shape of Alertmanager's webhook message and follow its rules", arguments: schemaCases)
    func alertmanagerSchema(_ testCase: SchemaCase) async throws {
        let json = try await Self.body(testCase.notification, format: "alertmanager")
        let violations = try await AlertmanagerWebhookSchema.violations(JSONWriter.write(json))
        #expect(violations.isEmpty, "\(violations)")
    }

    @Test("the Alertmanager schema check finds what is wrong in a broken body (the check is not vacuous)")
    func alertmanagerSchemaCatchesErrors() async throws {
        let payload = AlertmanagerPayload(
            GroupFixture.outbound(GroupFixture.partlyResolved(integration: Self.integration), integration: Self.integration)
        )
        guard case .object(var object) = payload.jsonValue, case .array(var alerts) = object["alerts"], case .object(var first) = alerts[0] else {
            Issue.record("the payload is not an object with alerts")
            return
        }
        first["startsAt"] = .string("yesterday")
        first["extra"] = .bool(true)
        alerts[0] = .object(first)
        object["alerts"] = .array(alerts)
        object["version"] = .string("3")
        let schemaText = try await AlertmanagerWebhookSchema.violations(JSONWriter.write(.object(object))).joined(separator: "\n")
        #expect(schemaText.contains("alerts/0/startsAt"))
        #expect(schemaText.contains("extra"))
        #expect(schemaText.contains("version"))

        var wrongRules = payload.jsonValue
        if case .object(var fields) = wrongRules {
            fields["status"] = .string("resolved")
            fields["commonLabels"] = .object(["node": .string("n01")])
            wrongRules = .object(fields)
        }
        let rulesText = try await AlertmanagerWebhookSchema.violations(JSONWriter.write(wrongRules)).joined(separator: "\n")
        #expect(rulesText.contains("status: resolved with a firing alert"))
        #expect(rulesText.contains("commonLabels"))
    }
}
