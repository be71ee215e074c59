import Foundation
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinStore
import TocsinTestSupport

/// Noise control end to end on simulated time: alerts pushed at t seconds, notifications expected at exact instants.
@Suite("Noise control acceptance")
struct NoiseControlAcceptanceTests {
    static func yaml(grouping: String? = nil, routingExtra: String = "") -> String {
        """
        integrations:
          - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook"}
          - {name: pager, type: pagerduty, routing_key: "0123456789abcdef0123456789abcdef", url: "http://127.0.0.1:9"}
        routing:
        \(grouping.map { "  grouping: \($0)" } ?? "")
        \(routingExtra)
          global:
            warning: [hook, pager]
            error: [hook, pager]
            critical: [hook, pager]
        """
    }

    static let grouped = "{group_by: [cluster, alertname], group_wait: 30s, group_interval: 5m, repeat_interval: 1h}"

    @Test("group_wait: alerts pushed at 0, 5 and 10 s are told together at 30 s, and nothing before")
    func groupWait() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml(grouping: Self.grouped))
        defer { Task { await harness.shutdown() } }
        for (index, second) in [0.0, 5, 10].enumerated() {
            try await harness.push(nodeAlert("DiskFull", node: index + 1), at: second)
        }
        try await harness.run(until: 29.999)
        #expect(try await harness.told("hook").isEmpty)
        try await harness.run(until: 30)
        let told = try await harness.told("hook")
        try #require(told.count == 1)
        let open = told[0]
        #expect(open.type == .open)
        #expect(open.createdAt == harness.at(30))
        #expect(open.nodes == ["n01", "n02", "n03"])
        let group = try #require(open.group)
        #expect(group.firingCount == 3)
        #expect(open.event.summary.hasPrefix("[FIRING:3] DiskFull"))
        #expect(open.event.fingerprint == group.dedupKey)
        #expect(group.dedupKey.hasPrefix("tocsin-group-"))
        let pager = try await harness.told("pager")
        #expect(pager.map(\.event.fingerprint) == [group.dedupKey], "the same group on another integration has the same dedup key")
    }

    @Test("group_interval: a change after the first notification is told at the next tick (330 s), not before")
    func groupInterval() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml(grouping: Self.grouped))
        defer { Task { await harness.shutdown() } }
        try await harness.push(nodeAlert("DiskFull", node: 1), at: 0)
        try await harness.run(until: 30)
        try await harness.push(nodeAlert("DiskFull", node: 2), at: 40)
        try await harness.push(nodeAlert("DiskFull", node: 3), at: 100)
        try await harness.run(until: 329.999)
        #expect(try await harness.told("hook").count == 1)
        try await harness.run(until: 330)
        let told = try await harness.told("hook")
        try #require(told.count == 2)
        #expect(told[1].createdAt == harness.at(330))
        #expect(told[1].nodes == ["n01", "n02", "n03"])
        #expect(told[1].group?.isRepeat == false)
        #expect(told[1].event.fingerprint == told[0].event.fingerprint, "one incident: the dedup key does not change")
    }

    @Test("repeat_interval: an unchanged group is told again once an hour has passed, at a group_interval tick")
    func repeatInterval() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml(grouping: Self.grouped))
        defer { Task { await harness.shutdown() } }
        try await harness.push(nodeAlert("DiskFull", node: 1), at: 0)
        try await harness.run(until: 3629)
        #expect(try await harness.told("hook").count == 1)
        try await harness.run(until: 7300)
        let told = try await harness.told("hook")
        // First at 30 s; ticks every 300 s from there; the first tick at least 3600 s later is 3630 s, then 7230 s.
        #expect(told.map { harness.seconds($0.createdAt) } == [30, 3630, 7230])
        #expect(told.dropFirst().allSatisfy { $0.group?.isRepeat == true })
    }

    @Test("without grouping every alert is told at once, as its own notification, and repeated every 3 hours")
    func ungroupedDefaults() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml())
        defer { Task { await harness.shutdown() } }
        let labels = nodeAlert("DiskFull", node: 1)
        let pushed = try await harness.push(labels, at: 0)
        var told = try await harness.told("hook")
        #expect(told.map(\.id) == [pushed.id], "the notification is the event's own")
        #expect(told.first?.group == nil)
        #expect(told.first?.event.fingerprint == harness.fingerprint(labels))
        try await harness.run(until: 10_799)
        #expect(try await harness.told("hook").count == 1)
        try await harness.run(until: 10_800)
        told = try await harness.told("hook")
        #expect(told.map { harness.seconds($0.createdAt) } == [0, 10_800])
        #expect(told.last?.type == .open)
        #expect(told.last?.event.fingerprint == harness.fingerprint(labels))
        try await harness.resolve(labels, at: 11_000)
        told = try await harness.told("hook")
        #expect(told.last?.type == .resolve)
        #expect(told.last?.createdAt == harness.at(11_000))
    }

    @Test("acknowledging an alert stops its repeats and acknowledges it in PagerDuty; a rise in severity notifies again")
    func acknowledgeAlert() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml())
        defer { Task { await harness.shutdown() } }
        let labels = nodeAlert("DiskFull", node: 1)
        let fingerprint = harness.fingerprint(labels)
        try await harness.push(labels, at: 0)
        try await harness.run(until: 60)
        let answer = try await harness.api { client in
            try await client.post("/api/v1/alerts/\(fingerprint)/ack", #"{"by": "alice"}"#)
        }
        #expect(answer.status == .ok)
        let body = try answer.json()
        #expect(body["forwardedTo"] as? [String] == ["pager"])
        #expect(body["acknowledgedBy"] as? String == "alice")
        let pager = try await harness.told("pager")
        #expect(pager.map(\.type) == [.open, .acknowledge])
        #expect(pager.last?.event.fingerprint == fingerprint, "the acknowledgement names the incident the open created")
        #expect(try await harness.told("hook").map(\.type) == [.open], "a webhook has no acknowledgement to pass on")
        let alerts = try await harness.runtime.store.openAlerts(AlertFilter())
        #expect(alerts.first?.acknowledgedBy == "alice")

        try await harness.run(until: 5 * 3600)
        #expect(try await harness.told("hook").count == 1, "no repeat while acknowledged")
        try await harness.push(labels, severity: .error, at: 5 * 3600)
        var hook = try await harness.told("hook")
        #expect(hook.map(\.event.severity) == [.warning, .error], "the rise is told at once")
        #expect(try await harness.runtime.store.openAlerts(AlertFilter()).first?.acknowledgedBy == nil)
        try await harness.run(until: 8 * 3600)
        hook = try await harness.told("hook")
        #expect(hook.map { harness.seconds($0.createdAt) } == [0, 5 * 3600, 8 * 3600], "repeats resume at the new severity")

        let missing = try await harness.api { client in try await client.post("/api/v1/alerts/nope/ack", "") }
        #expect(missing.status == .notFound)
    }

    @Test("acknowledging a group by its dedup key acknowledges all its alerts and the incident")
    func acknowledgeGroup() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml(grouping: Self.grouped))
        defer { Task { await harness.shutdown() } }
        for node in 1...3 { try await harness.push(nodeAlert("DiskFull", node: node), at: Double(node)) }
        try await harness.run(until: 31)
        let key = try #require(try await harness.told("hook").first?.group?.dedupKey)
        let answer = try await harness.api { client in try await client.post("/api/v1/groups/\(key)/ack", #"{"by": "bob"}"#) }
        #expect(answer.status == .ok)
        #expect((try answer.json()["alerts"] as? [String])?.count == 3)
        let pager = try await harness.told("pager")
        #expect(pager.map(\.type) == [.open, .acknowledge])
        #expect(pager.last?.event.fingerprint == key)
        try await harness.run(until: 4 * 3600)
        #expect(try await harness.told("hook").count == 1, "an acknowledged group is not repeated")
        let missing = try await harness.api { client in try await client.post("/api/v1/groups/tocsin-group-nope/ack", "") }
        #expect(missing.status == .notFound)
    }

    @Test("a silenced alert is recorded but not told, and is told when the silence ends")
    func silenceEnds() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml())
        defer { Task { await harness.shutdown() } }
        let created = try await harness.api { client in
            try await client.post(
                "/api/v1/silences",
                #"{"matchers": ["cluster=\"prod\""], "duration": "1h", "created_by": "alice", "comment": "disk swap"}"#
            )
        }
        #expect(created.status == .created)
        let silence = try #require(try created.json()["silence"] as? [String: Any])
        #expect(silence["state"] as? String == "active")
        let muted = try await harness.push(nodeAlert("DiskFull", node: 1), at: 10)
        #expect(muted.outcome == .silenced)
        try await harness.push(nodeAlert("DiskFull", node: 1, cluster: "dev"), at: 20)
        try await harness.run(until: 3599)
        #expect(try await harness.told("hook").map(\.nodes) == [["n01"]])
        #expect(try await harness.told("hook").first?.event.labels["cluster"] == "dev")
        let history = try await harness.runtime.store.events(before: nil, limit: 10)
        #expect(history.contains { $0.outcome == .silenced }, "the muted alert is in the history")
        try await harness.run(until: 3600)
        let told = try await harness.told("hook")
        #expect(told.count == 2)
        #expect(told.last?.event.labels["cluster"] == "prod")
        #expect(told.last?.createdAt == harness.at(3600))
    }

    @Test("a silence that is incomplete or cannot be stored is refused with the field at fault, and nothing is stored")
    func silenceRefusals() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml())
        defer { Task { await harness.shutdown() } }
        let cases: [(body: String, field: String)] = [
            (#"{"duration": "1h", "created_by": "a", "comment": "c"}"#, "matchers"),
            (#"{"matchers": ["cluster=~\"(\""], "duration": "1h", "created_by": "a", "comment": "c"}"#, "matchers[0]"),
            (#"{"matchers": ["cluster=\"a\\\\\"b\""], "duration": "1h", "created_by": "a", "comment": "c"}"#, "matchers[0]"),
            (#"{"matchers": ["cluster=~\".*\""], "duration": "1h", "created_by": "a", "comment": "c"}"#, "matchers"),
            (#"{"matchers": ["cluster=\"prod\""], "created_by": "a", "comment": "c"}"#, "ends_at"),
            (#"{"matchers": ["cluster=\"prod\""], "duration": "1h", "comment": "c"}"#, "created_by"),
            (#"{"matchers": ["cluster=\"prod\""], "duration": "1h", "created_by": "a"}"#, "comment"),
            (#"{"matchers": ["cluster=\"prod\""], "duration": "soon", "created_by": "a", "comment": "c"}"#, "duration"),
            (
                #"{"matchers": ["cluster=\"prod\""], "schedule": {"cron": "61 * * * *", "duration": "1h"}, "created_by": "a", "comment": "c"}"#,
                "schedule.cron"
            ),
            (#"{"matchers": ["cluster=\"prod\""], "ends_at": "2020-01-01T00:00:00Z", "created_by": "a", "comment": "c"}"#, "ends_at"),
            (#"{"matchers": ["cluster=\"prod\""], "duration": "1h", "created_by": "a", "comment": "c", "extra": 1}"#, "extra"),
        ]
        for (body, field) in cases {
            let answer = try await harness.api { client in try await client.post("/api/v1/silences", body) }
            #expect(answer.status == .badRequest, "\(body)")
            let error = try answer.json()["error"] as? [String: Any]
            #expect(error?["field"] as? String == field, "\(body)")
        }
        // The reasons for a body that is not JSON, and for JSON that is not an object, are the ones the ingest API uses.
        for (body, reason) in [("{not json", "malformed_json"), ("[1, 2]", "invalid_field")] {
            let answer = try await harness.api { client in try await client.post("/api/v1/silences", body) }
            #expect(answer.status == .badRequest, "\(body)")
            #expect((try answer.json()["error"] as? [String: Any])?["reason"] as? String == reason, "\(body)")
        }
        #expect(try await harness.runtime.store.silences(endingAfter: nil).isEmpty)
    }

    @Test("expiring a silence early tells the alerts it muted at once; a recovery is never muted")
    func expireSilence() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml())
        defer { Task { await harness.shutdown() } }
        let told = nodeAlert("DiskFull", node: 2)
        try await harness.push(told, at: 0)
        let created = try await harness.api { client in
            try await client.post(
                "/api/v1/silences",
                #"{"matchers": ["alertname=\"DiskFull\""], "duration": "2h", "created_by": "alice", "comment": "known"}"#
            )
        }
        let id = try #require((try created.json()["silence"] as? [String: Any])?["id"] as? String)
        try await harness.push(nodeAlert("DiskFull", node: 1), at: 10)
        try await harness.resolve(told, at: 20)
        #expect(try await harness.told("hook").map(\.type) == [.open, .resolve], "the recovery of a told alert goes out")
        try await harness.run(until: 600)
        let expired = try await harness.api { client in
            try await client.execute(uri: "/api/v1/silences/\(id)", method: .delete)
        }
        #expect(expired.status == .ok)
        #expect((try expired.json()["silence"] as? [String: Any])?["state"] as? String == "expired")
        let hook = try await harness.told("hook")
        #expect(hook.count == 3)
        #expect(hook.last?.nodes == ["n01"])
        #expect(hook.last?.createdAt == harness.at(600))
        let listed = try await harness.api { client in try await client.get("/api/v1/silences?state=expired") }
        #expect((try listed.json()["silences"] as? [Any])?.count == 1)
    }

    @Test("a recurring maintenance window scoped to dc=eu mutes eu alerts only while the window is open")
    func recurringWindow() async throws {
        // Saturday 2026-11-21 01:00 UTC; the window opens every Saturday at 02:00 for 4 hours.
        let start = try #require(Timestamp.parse("2026-11-21T01:00:00Z"))
        let harness = try await NoiseHarness(yaml: Self.yaml(grouping: "{group_by: '...', repeat_interval: 24h}"), start: start)
        defer { Task { await harness.shutdown() } }
        let created = try await harness.api { client in
            try await client.post(
                "/api/v1/silences",
                #"{"matchers": ["dc=\"eu\""], "schedule": {"cron": "0 2 * * 6", "duration": "4h"}, "created_by": "ops", "comment": "weekly"}"#
            )
        }
        #expect(created.status == .created)
        #expect((try created.json()["silence"] as? [String: Any])?["state"] as? String == "pending")
        let before = try await harness.push(nodeAlert("DiskFull", node: 1, extra: ["dc": "eu"]), at: 1800)
        #expect(before.outcome == .opened, "the window is not open at 01:30")
        let eu = try await harness.push(nodeAlert("DiskFull", node: 2, extra: ["dc": "eu"]), at: 5400)
        #expect(eu.outcome == .silenced)
        let us = try await harness.push(nodeAlert("DiskFull", node: 3, extra: ["dc": "us"]), at: 5400)
        #expect(us.outcome == .opened)
        try await harness.run(until: 17_999)
        #expect(try await harness.told("hook").map(\.nodes) == [["n01"], ["n03"]])
        try await harness.run(until: 18_000)
        let told = try await harness.told("hook")
        #expect(told.last?.nodes == ["n02"])
        #expect(told.last?.createdAt == harness.at(18_000), "told when the window closes at 06:00")
    }

    @Test("inhibition: ClusterDown mutes the node alerts of its cluster; they are told when it resolves")
    func inhibition() async throws {
        let rules = """
              inhibit_rules:
                - source_matchers: ['alertname="ClusterDown"']
                  target_matchers: ['alertname=~"Node.*"']
                  equal: [cluster]
            """
        let harness = try await NoiseHarness(yaml: Self.yaml(routingExtra: rules))
        defer { Task { await harness.shutdown() } }
        let clusterDown = ["alertname": "ClusterDown", "cluster": "prod"]
        try await harness.push(clusterDown, severity: .critical, category: .cluster, at: 0)
        let muted = try await harness.push(nodeAlert("NodeDown", node: 1), at: 10)
        #expect(muted.outcome == .inhibited)
        let other = try await harness.push(nodeAlert("NodeDown", node: 2, cluster: "dev"), at: 10)
        #expect(other.outcome == .opened, "equal: [cluster] — another cluster's node is not inhibited")
        try await harness.resolve(clusterDown, category: .cluster, at: 100)
        try await harness.run(until: 100)
        let told = try await harness.told("hook")
        #expect(told.map(\.event.labels["alertname"]) == ["ClusterDown", "NodeDown", "ClusterDown", "NodeDown"])
        #expect(told.last?.nodes == ["n01"])
        #expect(told.last?.createdAt == harness.at(100))
    }

    @Test("flap damping: an alert that keeps flapping is held firing, then resolved once when it settles")
    func flapDamping() async throws {
        let flap = "  flap_damping: {window: 10m, max_changes: 3, settle: 5m}"
        let harness = try await NoiseHarness(yaml: Self.yaml(routingExtra: flap))
        defer { Task { await harness.shutdown() } }
        let labels = nodeAlert("NodeDown", node: 7)
        for (index, second) in stride(from: 0.0, through: 150, by: 30).enumerated() {
            try await harness.push(labels, firing: index % 2 == 0, at: second)
        }
        // Changes at 0 (open), 30, 60, 90: the fourth change within 10 minutes makes it flap; 120 and 150 are held.
        try await harness.run(until: 449)
        #expect(try await harness.told("hook").map(\.type) == [.open, .resolve, .open])
        let groups = try await harness.runtime.store.alertGroups(limit: 10)
        #expect(groups.first?.members.first?.flapping == true)
        try await harness.run(until: 450)
        let told = try await harness.told("hook")
        #expect(told.map(\.type) == [.open, .resolve, .open, .resolve], "settled 5 minutes after its last change: one resolve")
        #expect(told.last?.createdAt == harness.at(450))
    }

    @Test("prompt recovery: a group whose alerts have all resolved is told at once, not at its next tick")
    func promptRecovery() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml(grouping: Self.grouped))
        defer { Task { await harness.shutdown() } }
        for node in 1...3 { try await harness.push(nodeAlert("DiskFull", node: node), at: 0) }
        try await harness.run(until: 30)
        try await harness.resolve(nodeAlert("DiskFull", node: 1), at: 400)
        try await harness.resolve(nodeAlert("DiskFull", node: 2), at: 410)
        try await harness.resolve(nodeAlert("DiskFull", node: 3), at: 420)
        try await harness.run(until: 420)
        let told = try await harness.told("hook")
        try #require(told.count == 2)
        #expect(told[1].type == .resolve)
        #expect(told[1].createdAt == harness.at(420))
        #expect(told[1].group?.resolvedCount == 3)
        #expect(told[1].event.summary.hasPrefix("[RESOLVED:3] DiskFull"))
        #expect(told[1].event.fingerprint == told[0].event.fingerprint)
        try await harness.run(until: 5000)
        #expect(try await harness.told("hook").count == 2, "an empty group is gone: no repeat")
        #expect(try await harness.runtime.store.alertGroups(limit: 10).isEmpty)
    }

    @Test("time-window grouping: everything on the route within 10 minutes of the incident's start is one incident")
    func timeWindow() async throws {
        let window = "{group_by: [], window: 10m, group_wait: 0s, group_interval: 1m, repeat_interval: 3h}"
        let harness = try await NoiseHarness(yaml: Self.yaml(grouping: window))
        defer { Task { await harness.shutdown() } }
        try await harness.push(nodeAlert("DiskFull", node: 1, cluster: "a"), at: 0)
        try await harness.push(nodeAlert("NodeDown", node: 2, cluster: "b"), at: 300)
        try await harness.push(nodeAlert("DiskFull", node: 3, cluster: "c"), at: 700)
        try await harness.run(until: 700)
        let told = try await harness.told("hook")
        #expect(told.map { harness.seconds($0.createdAt) } == [0, 300, 700])
        #expect(told[0].event.fingerprint == told[1].event.fingerprint, "within the window: the same incident")
        #expect(told[1].nodes == ["n01", "n02"])
        #expect(told[2].event.fingerprint != told[0].event.fingerprint, "after the window: a new incident")
        #expect(told[2].nodes == ["n03"])
    }

    @Test("a restart in the middle of group_wait: the group is still told, exactly once")
    func restartDuringGroupWait() async throws {
        let clock = ManualClock(NoiseHarness.epoch)
        let yaml = Self.yaml(grouping: Self.grouped)
        let first = try await NoiseHarness(yaml: yaml, clock: clock)
        try await first.push(nodeAlert("DiskFull", node: 1), at: 0)
        try await first.push(nodeAlert("DiskFull", node: 2), at: 5)
        try await first.run(until: 10)
        await first.shutdown()

        let second = try await NoiseHarness(yaml: yaml, directory: first.directory, clock: clock)
        try await second.run(until: 29)
        #expect(try await second.told("hook").isEmpty)
        try await second.run(until: 30)
        let told = try await second.told("hook")
        #expect(told.count == 1)
        #expect(told.first?.nodes == ["n01", "n02"])
        #expect(told.first?.createdAt == second.at(30))
        await second.shutdown()

        let third = try await NoiseHarness(yaml: yaml, directory: first.directory, clock: clock)
        defer { Task { await third.shutdown() } }
        try await third.runtime.groups.flush()
        try await third.run(until: 3000)
        #expect(try await third.told("hook").count == 1, "told once, whatever the restarts")
        #expect(try await third.told("pager").count == 1)
    }
}
