import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Webhook payloads on the wire", .timeLimit(.minutes(1)))
struct WebhookPayloadTests {
    // MARK: format: tocsin

    @Test(
        "tocsin format: a POST of JSON whose status follows the notification type",
        arguments: [(NotificationType.open, "open"), (.resolve, "resolved"), (.notification, "notification")]
    )
    func tocsinPayload(type: NotificationType, expectedStatus: String) async throws {
        let outbound = Fixture.outbound(type)
        let event = outbound.notification.event
        try await ScriptedPeer.run(.status(200)) { receiver in
            let result = try await withWebhookSink(["url": .string(receiver.url("/hooks/tocsin")), "format": .string("tocsin")]) {
                await $0.deliver(outbound)
            }
            #expect(result == SinkResult(outcome: .delivered, statusCode: 200, detail: nil))

            let requests = receiver.requests
            try #require(requests.count == 1)
            let request = requests[0]
            #expect(request.method == "POST")
            #expect(request.path == "/hooks/tocsin")
            #expect(request.header("Content-Type") == "application/json")

            let payload = try JSONDecoder().decode(TocsinPayload.self, from: Data(request.body))
            #expect(payload.version == "1")
            #expect(payload.status == expectedStatus)
            #expect(payload.deliveryId == outbound.deliveryID)
            #expect(payload.notificationId == outbound.notification.id)
            #expect(payload.integration == "ops-webhook")
            #expect(payload.kind == event.kind.rawValue)
            #expect(payload.eventId == event.id)
            #expect(payload.fingerprint == event.fingerprint)
            #expect(payload.severity == event.severity.rawValue)
            #expect(payload.category == event.category.rawValue)
            #expect(payload.labels == event.labels)
            #expect(payload.summary == event.summary)
            #expect(payload.description == event.description)
            #expect(payload.details == event.details)
            #expect(payload.links == event.links)
            let expectedStart = type == .notification ? Fixture.eventStartsAt : Fixture.alertStartsAt
            #expect(Timestamp.parse(payload.startsAt) == expectedStart)
            if type == .resolve {
                #expect(payload.endsAt.flatMap(Timestamp.parse) == Fixture.eventEndsAt)
            } else {
                #expect(payload.endsAt == nil)
            }

            // The documented field names, checked on the raw JSON rather than through the same Codable type.
            let json = try JSONValue.decode(request.body)
            let required: Set<String> = [
                "version", "deliveryId", "notificationId", "integration", "status", "kind", "eventId", "severity",
                "category", "labels", "summary", "description", "details", "links", "startsAt",
            ]
            #expect(required.isSubset(of: json.keys), "missing: \(required.subtracting(json.keys).sorted())")
            #expect(json["version"] == .string("1"))
            #expect(json["links"]?[0]?["href"] == .string(Fixture.links[0].href))
            #expect(json["links"]?[0]?["text"] == .string("Disk dashboard"))
            #expect(json.keys.contains("fingerprint") == (type != .notification))
        }
    }

    @Test("tocsin format: Idempotency-Key is the delivery id, the same on every send of one delivery")
    func idempotencyKey() async throws {
        let first = Fixture.outbound(.open, deliveryID: "d-aaaaaaaaaaaaaaaaaaaaaaa")
        let other = Fixture.outbound(.open, deliveryID: "d-bbbbbbbbbbbbbbbbbbbbbbb")
        try await ScriptedPeer.run(.status(503), .status(200)) { receiver in
            let results = try await withWebhookSink(["url": .string(receiver.url())]) { sink in
                [await sink.deliver(first), await sink.deliver(first), await sink.deliver(other)]
            }
            #expect(results.map(\.outcome) == [.retryable(retryAfter: nil), .delivered, .delivered])
            let keys = receiver.requests.map { $0.values(of: "Idempotency-Key") }
            #expect(keys == [[first.deliveryID], [first.deliveryID], [other.deliveryID]])
            // The body names the same delivery too, so a receiver may deduplicate on either.
            let bodies = try receiver.requests.map { try JSONDecoder().decode(TocsinPayload.self, from: Data($0.body)) }
            #expect(bodies.map(\.deliveryId) == [first.deliveryID, first.deliveryID, other.deliveryID])
        }
    }

    @Test("the format defaults to tocsin")
    func defaultFormat() async throws {
        try await ScriptedPeer.run(.status(204)) { receiver in
            let result = try await withWebhookSink(["url": .string(receiver.url())]) { await $0.deliver(Fixture.outbound(.open)) }
            #expect(result.outcome == .delivered)
            let request = try #require(receiver.requests.first)
            #expect(try JSONValue.decode(request.body)["version"] == .string("1"))
        }
    }

    // MARK: format: alertmanager

    /// The fields Alertmanager's documentation lists for the webhook payload (version 4) and for each alert
    /// (prometheus.io/docs/alerting/latest/configuration/#webhook_config).
    static let alertmanagerFields: Set<String> = [
        "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
        "commonAnnotations", "externalURL", "alerts",
    ]
    static let alertmanagerAlertFields: Set<String> = [
        "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
    ]

    @Test(
        "alertmanager format: version 4 with one alert, firing or resolved",
        arguments: [(NotificationType.open, "firing"), (.resolve, "resolved")]
    )
    func alertmanagerPayload(type: NotificationType, expectedStatus: String) async throws {
        let outbound = Fixture.outbound(type, integration: "am-bridge")
        let event = outbound.notification.event
        try await ScriptedPeer.run(.status(200)) { receiver in
            let settings: [String: JSONValue] = ["url": .string(receiver.url("/api/alerts")), "format": .string("alertmanager")]
            let result = try await withWebhookSink(settings, name: "am-bridge") { await $0.deliver(outbound) }
            #expect(result.outcome == .delivered)

            let request = try #require(receiver.requests.first)
            #expect(request.method == "POST")
            #expect(request.path == "/api/alerts")
            #expect(request.header("Content-Type") == "application/json")
            let json = try JSONValue.decode(request.body)
            #expect(json.keys == Self.alertmanagerFields)
            #expect(json["version"] == .string("4"))
            #expect(json["status"] == .string(expectedStatus))
            #expect(json["receiver"] == .string("am-bridge"))
            #expect(json["truncatedAlerts"] == .number(0))
            #expect(json["groupKey"]?.stringValue?.isEmpty == false)
            #expect(json["alerts"]?.count == 1)

            let alert = try #require(json["alerts"]?[0])
            #expect(alert.keys == Self.alertmanagerAlertFields)
            #expect(alert["status"] == .string(expectedStatus))
            let labels = try #require(alert["labels"]?.stringMap)
            #expect(labels["alertname"] == "DiskUsageHigh")
            for (key, value) in event.labels { #expect(labels[key] == value, "label \(key)") }
            let annotations = try #require(alert["annotations"]?.stringMap)
            #expect(annotations["summary"] == event.summary)
            #expect(annotations["description"] == event.description)
            #expect(alert["startsAt"]?.stringValue.flatMap(Timestamp.parse) == Fixture.alertStartsAt)
            if type == .open {
                #expect(alert["endsAt"] == .string("0001-01-01T00:00:00Z"))
            } else {
                #expect(alert["endsAt"]?.stringValue.flatMap(Timestamp.parse) == Fixture.eventEndsAt)
            }
            #expect(alert["fingerprint"]?.stringValue?.isEmpty == false)
            #expect(json["commonLabels"]?.stringMap?["alertname"] == "DiskUsageHigh")
        }
    }

    @Test("alertmanager format: an alert without an alertname label still gets one")
    func alertmanagerAlertname() async throws {
        var labels = Fixture.labels
        labels["alertname"] = nil
        let outbound = Fixture.outbound(.open, event: Fixture.event(for: .open, labels: labels))
        try await ScriptedPeer.run(.status(200)) { receiver in
            _ = try await withWebhookSink(["url": .string(receiver.url()), "format": .string("alertmanager")]) {
                await $0.deliver(outbound)
            }
            let request = try #require(receiver.requests.first)
            let alertname = try JSONValue.decode(request.body)["alerts"]?[0]?["labels"]?["alertname"]?.stringValue
            #expect(alertname?.isEmpty == false)
        }
    }

    @Test("alertmanager format: groupKey is stable across sends and from open to resolve, distinct per alert")
    func alertmanagerGroupKey() async throws {
        let open = Fixture.outbound(.open, deliveryID: "d-open", notificationID: "n-1")
        let resolve = Fixture.outbound(.resolve, deliveryID: "d-resolve", notificationID: "n-2")
        let otherAlert = Fixture.outbound(
            .open,
            deliveryID: "d-other",
            notificationID: "n-3",
            event: Fixture.event(for: .open, id: "evt-0002", fingerprint: "fp-other")
        )
        try await ScriptedPeer.run(.status(200)) { receiver in
            _ = try await withWebhookSink(["url": .string(receiver.url()), "format": .string("alertmanager")]) { sink in
                for outbound in [open, open, resolve, otherAlert] { _ = await sink.deliver(outbound) }
            }
            let keys = try receiver.requests.map { try JSONValue.decode($0.body)["groupKey"]?.stringValue }
            try #require(keys.count == 4)
            #expect(keys[0] != nil)
            #expect(keys[0] == keys[1])
            #expect(keys[0] == keys[2])
            #expect(keys[0] != keys[3])
        }
    }
}
