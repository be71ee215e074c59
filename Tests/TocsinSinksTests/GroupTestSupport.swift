import Foundation
import TocsinCore
import TocsinSinks

/// Group notifications made the way the server makes them: alerts admitted to an `AlertGroup`, the group flushed,
/// and acknowledgements passed on through a `GroupBook`.
enum GroupFixture {
    static let t0 = Fixture.alertStartsAt
    static let key = #"global:{cluster="prod"}"#
    static let policy = GroupingPolicy(
        groupBy: .labels(["cluster"]),
        groupWait: .seconds(30),
        groupInterval: .seconds(300),
        repeatInterval: .seconds(10800)
    )
    /// When the group's first notification goes out (group_wait after the first alert).
    static let flushedAt = t0.addingTimeInterval(30)
    static let acknowledgedAt = t0.addingTimeInterval(60)
    static let resolvedAt = t0.addingTimeInterval(120)

    /// `n01`, `n02`…: the node of the alert at `index` (from 1).
    static func node(_ index: Int) -> String {
        "n" + (index < 10 ? "0" : "") + String(index)
    }

    static func fingerprint(_ index: Int) -> String {
        "fp-disk-\(node(index))"
    }

    /// The firing event of alert `index`, or its resolve.
    static func alert(_ index: Int, firing: Bool = true, at instant: Date = GroupFixture.t0) -> Event {
        Event(
            id: "evt-\(node(index))-\(firing ? "fire" : "resolve")",
            kind: .alert,
            severity: .critical,
            category: .nodes,
            status: firing ? .firing : .resolved,
            labels: ["cluster": "prod", "node": node(index), "alertname": "DiskUsageHigh"],
            summary: "Disk full",
            description: "Disk usage on \(node(index)) is above 95 %.",
            links: [Link(href: "https://grafana.example.com/d/disk?node=\(node(index))", text: "Disk dashboard")],
            startsAt: t0,
            endsAt: firing ? nil : instant,
            receivedAt: instant,
            fingerprint: fingerprint(index)
        )
    }

    /// A group holding `count` firing alerts, flushed once: its integration was told they fire.
    static func notifiedGroup(count: Int, integration: String, policy: GroupingPolicy = GroupFixture.policy) -> (AlertGroup, NotificationRecord) {
        let id = policy.isPerAlert ? "\(integration)|global:\(fingerprint(1))" : "\(integration)|\(key)"
        var group = AlertGroup(
            id: id,
            integration: integration,
            key: String(id.dropFirst(integration.count + 1)),
            labels: policy.isPerAlert ? alert(1).labels : ["cluster": "prod"],
            policy: policy,
            now: t0
        )
        for index in 1...count {
            group.admit(alert(index), firing: true, now: t0, policy: policy, flap: nil)
        }
        let notice = group.flush(now: flushedAt, policy: policy, judge: .none(now: flushedAt))!
        return (group, notice.notification())
    }

    /// The open of a group of `count` alerts (`[FIRING:count]`).
    static func open(count: Int = 12, integration: String) -> NotificationRecord {
        notifiedGroup(count: count, integration: integration).1
    }

    /// The recovery of a group whose `count` alerts all resolved (`[RESOLVED:count]`).
    static func resolve(count: Int = 12, integration: String) -> NotificationRecord {
        var (group, _) = notifiedGroup(count: count, integration: integration)
        for index in 1...count {
            group.admit(alert(index, firing: false, at: resolvedAt), firing: false, now: resolvedAt, policy: policy, flap: nil)
        }
        return group.flush(now: resolvedAt, policy: policy, judge: .none(now: resolvedAt))!.notification()
    }

    /// The next notification of a group of three whose third alert resolved: `[FIRING:2][RESOLVED:1]`, told at
    /// the first group_interval tick after the change.
    static func partlyResolved(integration: String) -> NotificationRecord {
        var (group, _) = notifiedGroup(count: 3, integration: integration)
        group.admit(alert(3, firing: false, at: resolvedAt), firing: false, now: resolvedAt, policy: policy, flap: nil)
        let tick = flushedAt.addingTimeInterval(300)
        return group.flush(now: tick, policy: policy, judge: .none(now: tick))!.notification()
    }

    /// The acknowledgement someone gave every alert of the group, as the server passes it on to `integration`.
    /// With a per-alert policy the group holds one alert and the acknowledgement is that alert's own.
    static func acknowledge(count: Int = 12, integration: String, policy: GroupingPolicy = GroupFixture.policy) -> NotificationRecord {
        let (group, _) = notifiedGroup(count: count, integration: integration, policy: policy)
        var book = GroupBook(settings: NoiseSettings(grouping: policy), groups: [group])
        _ = book.acknowledge(fingerprints: nil, by: "ana", forwardTo: [integration], now: acknowledgedAt)
        return book.deliveries[0].notification
    }

    /// The open of a one-alert group (no grouping): the alert's own notification.
    static func singleOpen(integration: String) -> NotificationRecord {
        notifiedGroup(count: 1, integration: integration, policy: .ungrouped).1
    }

    static func singleAcknowledge(integration: String) -> NotificationRecord {
        acknowledge(count: 1, integration: integration, policy: .ungrouped)
    }

    static func outbound(_ notification: NotificationRecord, integration: String, deliveryID: String = "d0a1b2c3d4e5f60718293a4b")
        -> OutboundNotification
    {
        OutboundNotification(deliveryID: deliveryID, integration: integration, notification: notification)
    }
}
