import Foundation

/// The cluster consensus detector: every node reports its gossip view; the cluster's alert opens when the nodes'
/// latest views differ or a node's gossip query failed, and resolves when all views are identical and none failed.
///
/// Input, as metric samples:
/// - `gossip_view` with labels `{cluster, node, view}` and value 1, where `view` is a canonical string or hash of the
///   node's view of the cluster (for example the sorted member list with states, hashed);
/// - `gossip_query_failed` with labels `{cluster, node}` and value 1 when the node's gossip query failed
///   (value 0 says the query succeeded; a later `gossip_view` sample also counts as success).
public struct GossipConsensusRule: Sendable, Hashable {
    public var name: String
    public var viewMetric: String
    public var failedMetric: String
    public var clusterLabel: String
    public var nodeLabel: String
    public var viewLabel: String
    /// A node's report counts only while it is at most this old; nodes that stop reporting drop out of the comparison.
    public var window: Duration
    /// How long the disagreement must hold before the alert opens.
    public var forDuration: Duration
    /// How long the cluster must agree before the alert resolves.
    public var clearFor: Duration
    public var severity: Severity
    public var category: Category
    public var description: String

    public init(
        name: String = "ClusterConsensus",
        viewMetric: String = "gossip_view",
        failedMetric: String = "gossip_query_failed",
        clusterLabel: String = "cluster",
        nodeLabel: String = "node",
        viewLabel: String = "view",
        window: Duration = .seconds(90),
        forDuration: Duration = .zero,
        clearFor: Duration = .zero,
        severity: Severity = .critical,
        category: Category = .cluster,
        description: String = BuiltInDetectors.consensusDescription
    ) {
        self.name = name
        self.viewMetric = viewMetric
        self.failedMetric = failedMetric
        self.clusterLabel = clusterLabel
        self.nodeLabel = nodeLabel
        self.viewLabel = viewLabel
        self.window = window
        self.forDuration = forDuration
        self.clearFor = clearFor
        self.severity = severity
        self.category = category
        self.description = description
    }
}

struct GossipConsensusDetector: Sendable {
    let rule: GossipConsensusRule

    struct NodeReport: Sendable {
        var view: String?
        var viewAt: Date?
        var failed = false
        var failedAt: Date?

        var lastAt: Date? { [viewAt, failedAt].compactMap { $0 }.max() }
        /// Failed when the latest report is a failure.
        var isFailed: Bool {
            guard failed, let failedAt else { return false }
            return viewAt.map { failedAt >= $0 } ?? true
        }
    }

    struct ClusterState: Sendable {
        var nodes: [String: NodeReport] = [:]
        var badSince: Date?
        var goodSince: Date?
        var openedAt: Date?
    }

    /// Internal for the stored form (`DetectorStoredForm.swift`).
    var clusters: [String: ClusterState] = [:]

    init(rule: GossipConsensusRule) {
        self.rule = rule
    }

    mutating func ingest(_ samples: [MetricSample], now: Date) -> [Event] {
        var touched: Set<String> = []
        for sample in samples where sample.name == rule.viewMetric || sample.name == rule.failedMetric {
            guard let cluster = sample.labels[rule.clusterLabel], let node = sample.labels[rule.nodeLabel] else { continue }
            var report = clusters[cluster, default: ClusterState()].nodes[node] ?? NodeReport()
            if sample.name == rule.viewMetric {
                guard sample.value != 0, let view = sample.labels[rule.viewLabel] else { continue }
                if let at = report.viewAt, at > sample.timestamp { continue }
                report.view = view
                report.viewAt = sample.timestamp
            } else {
                if let at = report.failedAt, at > sample.timestamp { continue }
                report.failed = sample.value != 0
                report.failedAt = sample.timestamp
            }
            clusters[cluster, default: ClusterState()].nodes[node] = report
            touched.insert(cluster)
        }
        var events: [Event] = []
        for cluster in touched.sorted() { events += evaluate(cluster: cluster, now: now) }
        return events
    }

    mutating func tick(now: Date) -> [Event] {
        var events: [Event] = []
        for cluster in clusters.keys.sorted() { events += evaluate(cluster: cluster, now: now) }
        return events
    }

    private mutating func evaluate(cluster: String, now: Date) -> [Event] {
        guard var state = clusters[cluster] else { return [] }
        defer { clusters[cluster] = state }
        let current = state.nodes.filter { _, report in
            guard let last = report.lastAt else { return false }
            return !now.hasHeld(since: last, for: rule.window)
        }
        let failed = current.filter { $0.value.isFailed }.keys.sorted()
        let views = Dictionary(grouping: current.filter { !$0.value.isFailed && $0.value.view != nil }, by: { $0.value.view ?? "" })
        if current.isEmpty {
            // Nothing is known about the cluster any more: close what is open and start over.
            state.badSince = nil
            state.goodSince = nil
            guard let openedAt = state.openedAt else { return [] }
            state.openedAt = nil
            return [
                event(
                    cluster: cluster,
                    status: .resolved,
                    summary: "Cluster \(cluster): no gossip reports",
                    details: [:],
                    startsAt: openedAt,
                    at: now
                )
            ]
        }
        let bad = !failed.isEmpty || views.count > 1
        if bad {
            state.goodSince = nil
            state.badSince = state.badSince ?? now
        } else {
            state.badSince = nil
            state.goodSince = state.goodSince ?? now
        }
        var nodes: [String: JSONValue] = [:]
        for (node, report) in current { nodes[node] = report.isFailed ? .string("query failed") : .string(report.view ?? "") }
        if state.openedAt == nil, bad, now.hasHeld(since: state.badSince, for: rule.forDuration) {
            state.openedAt = now
            var summary: String
            if failed.isEmpty {
                summary = "Cluster \(cluster): nodes report \(views.count) differing gossip views"
            } else {
                summary = "Cluster \(cluster): gossip query failed on \(failed.joined(separator: ", "))"
                if views.count > 1 { summary += " and nodes report \(views.count) differing gossip views" }
            }
            return [event(cluster: cluster, status: .firing, summary: summary, details: nodes, startsAt: now, at: now)]
        }
        if let openedAt = state.openedAt, !bad, now.hasHeld(since: state.goodSince, for: rule.clearFor) {
            state.openedAt = nil
            return [
                event(
                    cluster: cluster,
                    status: .resolved,
                    summary: "Cluster \(cluster): all \(current.count) node(s) report the same gossip view",
                    details: nodes,
                    startsAt: openedAt,
                    at: now
                )
            ]
        }
        return []
    }

    private func event(
        cluster: String,
        status: AlertEventStatus,
        summary: String,
        details: [String: JSONValue],
        startsAt: Date,
        at time: Date
    ) -> Event {
        let labels = [rule.clusterLabel: cluster, "alertname": rule.name, "detector": "tocsin"]
        return Event(
            id: DetectorText.eventID(rule: rule.name, series: cluster, transition: status.rawValue, at: time),
            kind: .alert,
            severity: rule.severity,
            category: rule.category,
            status: status,
            labels: labels,
            summary: summary,
            description: rule.description,
            details: .object(["nodes": .object(details), "rule": .string(rule.name)]),
            startsAt: startsAt,
            endsAt: status == .resolved ? time : nil,
            receivedAt: time,
            fingerprint: Fingerprint.of(labels: labels),
            source: .api
        )
    }
}
