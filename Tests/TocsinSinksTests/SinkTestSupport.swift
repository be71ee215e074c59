import AsyncHTTPClient
import Foundation
import Testing
import TocsinCore
import TocsinSinks

/// Notifications and integration entries the sink tests share.
enum Fixture {
    /// 2026-01-01T00:00:00Z: whole seconds, so timestamps compare exactly after a round trip.
    static let alertStartsAt = Date(timeIntervalSince1970: 1_767_225_600)
    static let eventStartsAt = alertStartsAt.addingTimeInterval(30)
    static let eventEndsAt = alertStartsAt.addingTimeInterval(600)
    static let receivedAt = alertStartsAt.addingTimeInterval(31)

    static let labels = ["alertname": "DiskUsageHigh", "cluster": "prod-eu", "dc": "dc1", "node": "n3"]
    static let links = [Link(href: "https://grafana.example.com/d/disk?node=n3", text: "Disk dashboard")]

    /// An alert event or a one-off notification event, matching the notification type.
    static func event(
        for type: NotificationType,
        id: String = "evt-0001",
        fingerprint: String = "fp-5d2c9a",
        labels: [String: String] = Fixture.labels,
        description: String? = "Disk usage on n3 is 83 %, above the 80 % warning level."
    ) -> Event {
        let isAlert = type != .notification
        return Event(
            id: id,
            kind: isAlert ? .alert : .notification,
            severity: isAlert ? .critical : .info,
            category: isAlert ? .nodes : .backups,
            status: isAlert ? (type == .resolve ? .resolved : .firing) : nil,
            labels: labels,
            summary: isAlert ? "Disk usage above 80 % on n3" : "Local backup created successfully",
            description: description,
            details: .object(["used_ratio": .number(0.83), "runbook": .string("https://runbooks.example.com/disk")]),
            links: links,
            startsAt: eventStartsAt,
            endsAt: type == .resolve ? eventEndsAt : nil,
            receivedAt: receivedAt,
            fingerprint: isAlert ? fingerprint : nil
        )
    }

    static func outbound(
        _ type: NotificationType,
        deliveryID: String = "d3f0c2a9b8e7d6c5b4a39281",
        notificationID: String? = nil,
        integration: String = "ops-webhook",
        event: Event? = nil
    ) -> OutboundNotification {
        let notification = NotificationRecord(
            id: notificationID ?? "n-\(type.rawValue)-0001",
            type: type,
            event: event ?? self.event(for: type),
            alertStartsAt: type == .notification ? nil : alertStartsAt,
            createdAt: receivedAt
        )
        return OutboundNotification(deliveryID: deliveryID, integration: integration, notification: notification)
    }

    static func integration(
        type: String = "webhook",
        name: String = "ops-webhook",
        index: Int = 0,
        timeout: Duration = .seconds(5),
        _ settings: [String: JSONValue]
    ) -> IntegrationConfig {
        var delivery = DeliveryPolicy()
        delivery.timeout = timeout
        return IntegrationConfig(name: name, type: type, delivery: delivery, settings: settings, path: "integrations[\(index)]")
    }
}

/// Builds a webhook sink through its configuration parser with a fresh client, runs `body`, then shuts the client down.
func withWebhookSink<T>(
    _ settings: [String: JSONValue],
    name: String = "ops-webhook",
    timeout: Duration = .seconds(5),
    _ body: (WebhookSink) async throws -> T
) async throws -> T {
    let client = HTTPTransport.makeClient()
    let result: Result<T, any Error>
    do {
        let integration = Fixture.integration(name: name, timeout: timeout, settings)
        let configuration = try WebhookConfiguration.parse(integration).get()
        result = .success(try await body(WebhookSink(configuration: configuration, transport: HTTPTransport(client: client))))
    } catch {
        result = .failure(error)
    }
    try await client.shutdown()
    return try result.get()
}

/// Records an issue for every named secret that `text` contains: the one check every sink's secret-leak tests make.
func expectNoSecret(
    in text: String?,
    _ secrets: [(name: String, value: String)],
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let text else { return }
    for (name, value) in secrets {
        #expect(!text.contains(value), "\(what) shows the \(name): \(text)", sourceLocation: sourceLocation)
    }
}

/// The problems of a failed configuration result (empty when it succeeded).
func problems<T>(_ result: Result<T, ConfigurationError>) -> [ConfigProblem] {
    switch result {
    case .success: []
    case .failure(let error): error.problems
    }
}

/// A fresh empty directory under the system temporary directory.
func makeTemporaryDirectoryURL() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tocsin-sinks-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { object[key] } else { nil }
    }

    subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { array[index] } else { nil }
    }

    var stringValue: String? {
        if case .string(let text) = self { text } else { nil }
    }

    var keys: Set<String> {
        if case .object(let object) = self { Set(object.keys) } else { [] }
    }

    var count: Int? {
        switch self {
        case .array(let array): array.count
        case .object(let object): object.count
        default: nil
        }
    }

    /// A string → string object as a dictionary; nil when any value is not a string.
    var stringMap: [String: String]? {
        guard case .object(let object) = self else { return nil }
        var result: [String: String] = [:]
        for (key, value) in object {
            guard case .string(let text) = value else { return nil }
            result[key] = text
        }
        return result
    }

    static func decode(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}
