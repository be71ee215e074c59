import Foundation

/// The metric names the built-in pack reads; each can be renamed in configuration.
public struct BuiltInMetricNames: Sendable, Hashable {
    public var loadAverage1m = "load_average_1m"
    public var cpuPhysicalCores = "cpu_physical_cores"
    public var diskUsedPercent = "disk_used_percent"
    public var memoryUsedPercent = "memory_used_percent"
    public var gossipView = "gossip_view"
    public var gossipQueryFailed = "gossip_query_failed"

    public init() {}
}

/// The levels of the built-in pack (the Event Store Cloud issue detectors).
public struct BuiltInLevels: Sendable, Hashable {
    public var loadPerCore = 2.0
    public var diskUsedPercent = 80.0
    public var memoryUsedPercent = 90.0

    public init() {}
}

/// The built-in detector pack: core load, disk usage, memory usage and cluster consensus.
public enum BuiltInDetectors {
    public static let staleness = Staleness(after: .seconds(300), action: .resolve)

    public static let consensusDescription =
        "The nodes of this cluster disagree about the cluster's membership or state, or a node could not answer its gossip "
        + "query. Compare the gossip view of each node (details.nodes), check network connectivity between the nodes and "
        + "the health of the node whose query failed; a split view that lasts is a partition: restore connectivity before "
        + "restarting anything, and do not restart several nodes at once."

    public static func pack(metricNames names: BuiltInMetricNames = BuiltInMetricNames(), levels: BuiltInLevels = BuiltInLevels()) -> DetectorSettings
    {
        let load = ThresholdRule(
            name: "CoreLoadHigh",
            expression: .ratio(numerator: names.loadAverage1m, denominator: names.cpuPhysicalCores),
            comparator: .greaterThan,
            warning: levels.loadPerCore,
            forDuration: .zero,
            clearFor: .seconds(300),
            staleness: staleness,
            summary: "Load average per physical core above \(DetectorText.number(levels.loadPerCore))",
            description: "The node has more runnable work than its cores can serve, so requests queue and latency rises. "
                + "Find what drives the load (top/pidstat: the database, compaction/scavenge, backups, another process), "
                + "reduce or reschedule it, and if the load is the normal workload, scale the node up to more cores."
        )
        let disk = ThresholdRule(
            name: "DiskUsageHigh",
            expression: .metric(names.diskUsedPercent),
            comparator: .greaterThan,
            warning: levels.diskUsedPercent,
            forDuration: .seconds(300),
            clearFor: .zero,
            staleness: staleness,
            summary: "Disk usage consistently above \(DetectorText.number(levels.diskUsedPercent)) %",
            description: "The data volume is filling up; a full disk stops writes. Expand the volume (or scale storage) "
                + "now, then free space: run a scavenge, delete or truncate streams that are no longer needed, "
                + "and remove old backups or logs from the volume."
        )
        let memory = ThresholdRule(
            name: "MemoryUsageHigh",
            expression: .metric(names.memoryUsedPercent),
            comparator: .greaterThan,
            warning: levels.memoryUsedPercent,
            forDuration: .zero,
            clearFor: .seconds(300),
            staleness: staleness,
            summary: "Memory usage above \(DetectorText.number(levels.memoryUsedPercent)) %",
            description: "The node is close to running out of memory and may be killed or start swapping. Check which "
                + "process uses the memory, review cache sizes and projections/subscriptions that hold memory, "
                + "and scale the node up to a larger instance if the usage is expected."
        )
        let consensus = GossipConsensusRule(viewMetric: names.gossipView, failedMetric: names.gossipQueryFailed)
        return DetectorSettings(rules: [load, disk, memory], consensus: consensus)
    }
}
