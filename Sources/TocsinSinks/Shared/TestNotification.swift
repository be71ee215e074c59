import Foundation
import TocsinCore

/// The clearly marked message `tocsin test-integration` and `POST /api/v1/integrations/{name}/test` send, and the
/// sample events templates are checked against at load.
public enum TestNotification {
    /// Set to "true" on test messages; templates see it as `{{#test}}`.
    public static let label = "tocsin_test"

    /// An alert-shaped test message: a sink sends it as an open, so the service shows it as it would show a page.
    /// Its key is fresh each time, so a test never touches a real incident.
    public static func make(integration: String, now: Date) -> OutboundNotification {
        let id = "test-\(UUID().uuidString.lowercased())"
        let event = Event(
            id: id,
            kind: .alert,
            severity: .info,
            category: .cluster,
            status: .firing,
            labels: [label: "true", "alertname": "TocsinTest", "integration": integration],
            summary: "Tocsin test message for integration \(integration): no action needed",
            description: "Sent by `tocsin test-integration` or the API to check that this integration reaches its service.",
            startsAt: now,
            receivedAt: now,
            fingerprint: id
        )
        let notification = NotificationRecord(id: id, type: .open, event: event, alertStartsAt: now, createdAt: now)
        return OutboundNotification(deliveryID: id, integration: integration, notification: notification)
    }

    /// An open, a resolve and a one-off notification with every field filled: what templates are rendered against
    /// when the configuration is loaded.
    public static func samples(integration: String) -> [OutboundNotification] {
        let start = Date(timeIntervalSince1970: 1_767_225_600)
        func event(_ type: NotificationType) -> Event {
            Event(
                id: "sample-\(type.rawValue)",
                kind: type == .notification ? .notification : .alert,
                severity: type == .notification ? .info : .error,
                category: type == .notification ? .backups : .nodes,
                status: type == .notification ? nil : (type == .resolve ? .resolved : .firing),
                labels: ["alertname": "DiskUsageHigh", "cluster": "prod", "dc": "dc1", "node": "node-1"],
                summary: type == .notification ? "Backup finished on node-1" : "Disk usage above 80 % on node-1",
                description: "A sample event used to check templates.",
                details: .object(["used_percent": .number(83)]),
                links: [Link(href: "https://grafana.example.com/d/disk", text: "Dashboard")],
                startsAt: start,
                endsAt: type == .resolve ? start.addingTimeInterval(600) : nil,
                receivedAt: start,
                fingerprint: type == .notification ? nil : "sample-fingerprint"
            )
        }
        return [NotificationType.open, .resolve, .notification].map { type in
            OutboundNotification(
                deliveryID: "sample-\(type.rawValue)",
                integration: integration,
                notification: NotificationRecord(
                    id: "sample-\(type.rawValue)",
                    type: type,
                    event: event(type),
                    alertStartsAt: type == .notification ? nil : start,
                    createdAt: start
                )
            )
        }
    }
}
