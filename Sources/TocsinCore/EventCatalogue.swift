import Foundation

/// One known event type: what a sender names with `type` instead of spelling out category, severity,
/// kind and summary.
///
/// Type names are lower-case `snake_case` in two parts, `AREA.WHAT`:
/// - `AREA` is the singular of the routing area: `backup`, `repair`, `service_check`, `cluster`, `node`,
///   `command`, `rolling_restart`.
/// - `WHAT` names the subject first and the outcome last: `_failed` (a process or request failed), `_error`
///   (an error reported by something else), `_timeout` (a request or step timed out), `_not_found`,
///   `_created`, `_deleted`; a state is named as such (`node_inactive`, `max_duration_reached`).
public struct CatalogueEntry: Sendable, Hashable, Codable {
    /// `backup.local_failed`.
    public var type: String
    public var category: Category
    /// The severity an event of this type gets when neither the event nor the configuration gives one.
    public var defaultSeverity: Severity
    public var kind: EventKind
    /// The one-line text an event of this type gets when it gives no `summary`.
    public var summary: String
    /// The wording of the reference table the entry comes from.
    public var description: String
    /// Where the entry comes from: the product and the documentation table.
    public var source: String

    public init(
        type: String,
        category: Category,
        defaultSeverity: Severity,
        kind: EventKind,
        summary: String,
        description: String,
        source: String
    ) {
        self.type = type
        self.category = category
        self.defaultSeverity = defaultSeverity
        self.kind = kind
        self.summary = summary
        self.description = description
        self.source = source
    }

    /// The summary an event gets: the entry's summary, followed by where it happened when the labels say so
    /// (`Local backup failed (cluster prod, node n1)`).
    public func summary(labels: [String: String]) -> String {
        var places: [String] = []
        for name in CatalogueEntry.placeLabels {
            if let value = labels[name], !value.isEmpty { places.append("\(name) \(value)") }
        }
        return places.isEmpty ? summary : "\(summary) (\(places.joined(separator: ", ")))"
    }

    /// Labels named in a catalogue event's summary, in this order, when present.
    public static let placeLabels = ["cluster", "dc", "rack", "node", "hostname", "keyspace", "table", "repair", "check"]
}

/// The known event types, with the severity overrides of the configuration applied.
public struct EventCatalogue: Sendable, Hashable {
    /// Every entry, sorted by type.
    public let entries: [CatalogueEntry]
    /// Severities that replace an entry's default (`catalogue.overrides` in the configuration).
    public let overrides: [String: Severity]
    private let byType: [String: CatalogueEntry]

    /// Fails on a type that is not among `entries`.
    public init(entries: [CatalogueEntry], overrides: [String: Severity] = [:]) {
        self.entries = entries.sorted { $0.type < $1.type }
        var byType: [String: CatalogueEntry] = [:]
        for entry in entries { byType[entry.type] = entry }
        self.byType = byType
        precondition(overrides.keys.allSatisfy { byType[$0] != nil }, "catalogue overrides name unknown types")
        self.overrides = overrides
    }

    /// The entry for a type, or nil.
    public func entry(_ type: String) -> CatalogueEntry? { byType[type] }

    /// The severity an event of this type gets when it gives none: the override, else the default.
    public func severity(of type: String) -> Severity? {
        guard let entry = byType[type] else { return nil }
        return overrides[type] ?? entry.defaultSeverity
    }

    /// The same entries with these overrides (replacing any before).
    public func withOverrides(_ overrides: [String: Severity]) -> EventCatalogue {
        EventCatalogue(entries: entries, overrides: overrides)
    }

    /// The distinct `AREA.` prefixes, sorted, for messages.
    public var prefixes: [String] {
        Array(Set(entries.map { String($0.type.prefix { $0 != "." }) + "." })).sorted()
    }

    /// The area of service-check results; `{"type":"service_check","result":"Error"}` is read as `service_check.error`.
    public static let serviceCheckType = "service_check"

    /// The catalogue documented by AxonOps and Event Store Cloud, without overrides.
    public static let builtIn = EventCatalogue(entries: builtInEntries)

    static let backupSource = "AxonOps: docs/integrations/overview.md, Backups"
    static let repairSource = "AxonOps: docs/integrations/overview.md, Repairs"

    static func backup(_ what: String, _ severity: Severity, _ summary: String, _ description: String, kind: EventKind = .notification)
        -> CatalogueEntry
    {
        CatalogueEntry(
            type: "backup.\(what)",
            category: .backups,
            defaultSeverity: severity,
            kind: kind,
            summary: summary,
            description: description,
            source: backupSource
        )
    }

    static func repair(_ what: String, _ severity: Severity, _ summary: String, _ description: String, kind: EventKind = .notification)
        -> CatalogueEntry
    {
        CatalogueEntry(
            type: "repair.\(what)",
            category: .repairs,
            defaultSeverity: severity,
            kind: kind,
            summary: summary,
            description: description,
            source: repairSource
        )
    }

    static let builtInEntries: [CatalogueEntry] = [
        // AxonOps backups: Critical.
        backup(
            "remote_storage_error",
            .critical,
            "Remote storage provider returned an error",
            "Any error returned by a third-party remote storage provider"
        ),
        // AxonOps backups: Warning.
        backup("local_snapshot_clear_timeout", .warning, "Clearing local snapshots timed out", "Clearing local snapshots timed out"),
        backup("local_snapshot_not_found", .warning, "Local snapshot not found", "Local snapshot not found"),
        backup("local_failed", .warning, "Local backup failed", "Local backup process errors"),
        backup("remote_snapshot_clear_timeout", .warning, "Clearing remote snapshot timed out", "Clearing remote snapshot timed out"),
        backup("remote_failed", .warning, "Remote backup failed", "Remote backup process errors"),
        backup("remote_snapshot_not_found", .warning, "Remote snapshot not found", "Remote snapshot not found"),
        backup("skipped_paused", .warning, "Backup not triggered: backups are paused", "Backup not triggered because backups are paused"),
        backup("create_failed", .warning, "Failed to create backup", "Failed to create backup"),
        backup("remote_config_failed", .warning, "Failed to create remote config for backups", "Failed to create remote config for backups"),
        backup("snapshot_failed", .warning, "Creating the Cassandra snapshot failed", "Creating the Cassandra snapshot failed"),
        backup("snapshot_timeout", .warning, "Snapshot request timed out", "Snapshot request timed out"),
        backup("node_inactive", .warning, "Cassandra node inactive", "Cassandra node inactive", kind: .alert),
        // AxonOps backups: Info.
        backup("local_created", .info, "Local backup created", "Local backup created successfully"),
        backup("deleted", .info, "Backup deleted", "Backup deleted successfully"),
        // AxonOps repairs: Critical.
        repair(
            "update_failed",
            .critical,
            "Updating repairs failed",
            "Update-repairs error (e.g. tables created or dropped during a repair)"
        ),
        repair("cassandra_error", .critical, "Cassandra repair error", "Any Cassandra repair error"),
        repair(
            "gc_grace_overrun",
            .critical,
            "Repair will finish after the gc_grace deadline",
            "Job more than 60% done but projected to finish after the gc_grace deadline",
            kind: .alert
        ),
        // AxonOps repairs: Warning.
        repair(
            "gc_grace_at_risk",
            .warning,
            "Repair projected past the gc_grace deadline",
            "Job more than 40% done but projected past gc_grace",
            kind: .alert
        ),
        repair("segment_failed", .warning, "Repair segment failed", "Segment failed"),
        repair("segment_timeout", .warning, "Repair segment timed out", "Segment timed out"),
        repair("retries_exhausted", .warning, "Repair failed after retries", "Error after N retries"),
        repair("unit_error", .warning, "Repair unit error", "Repair unit errors"),
        repair("unknown_correlation_id", .warning, "Repair error for an unknown correlation ID", "Errors for an unknown correlation ID"),
        repair("connection_timeout", .warning, "Repair request timed out", "Request timed out after N connection attempts"),
        CatalogueEntry(
            type: "repair.max_duration_reached",
            category: .repairs,
            defaultSeverity: .warning,
            kind: .alert,
            summary: "Scheduled repair has reached its maximum duration",
            description: "Scheduled repair {name} has reached its maximum duration of {duration} (Alert After)",
            source: "AxonOps: docs/operations/cassandra/repair/index.md, Alert After"
        ),
        // AxonOps service checks: results Success / Warning / Error.
        CatalogueEntry(
            type: "service_check.success",
            category: .serviceChecks,
            defaultSeverity: .info,
            kind: .notification,
            summary: "Service check succeeded",
            description: "Service check result Success",
            source: "AxonOps: docs/monitoring/servicechecks/notifications.md"
        ),
        CatalogueEntry(
            type: "service_check.warning",
            category: .serviceChecks,
            defaultSeverity: .warning,
            kind: .notification,
            summary: "Service check warning",
            description: "Service check result Warning",
            source: "AxonOps: docs/monitoring/servicechecks/notifications.md"
        ),
        CatalogueEntry(
            type: "service_check.error",
            category: .serviceChecks,
            defaultSeverity: .error,
            kind: .notification,
            summary: "Service check failed",
            description: "Service check result Error",
            source: "AxonOps: docs/monitoring/servicechecks/notifications.md"
        ),
        // AxonOps nodes, commands, rolling restarts: routing tabs without a documented list of events.
        CatalogueEntry(
            type: "node.event",
            category: .nodes,
            defaultSeverity: .info,
            kind: .notification,
            summary: "Node event",
            description: "A notification raised by a node (no documented list of events)",
            source: "AxonOps: docs/integrations/overview.md, Nodes routing tab"
        ),
        CatalogueEntry(
            type: "command.event",
            category: .commands,
            defaultSeverity: .info,
            kind: .notification,
            summary: "Command event",
            description: "A generic task notification (no documented list of events)",
            source: "AxonOps: docs/integrations/overview.md, Commands routing tab"
        ),
        CatalogueEntry(
            type: "rolling_restart.event",
            category: .rollingRestart,
            defaultSeverity: .info,
            kind: .notification,
            summary: "Rolling restart event",
            description: "A notification of the rolling-restart feature (no documented list of events)",
            source: "AxonOps: docs/integrations/overview.md, Rolling Restart routing tab"
        ),
        // Event Store Cloud notifications.
        CatalogueEntry(
            type: "cluster.provisioning_failed",
            category: .cluster,
            defaultSeverity: .error,
            kind: .notification,
            summary: "Cluster instances failed to provision",
            description: "Instances failed to provision; the resource is marked defunct",
            source: "Event Store Cloud: docs/cloud/dedicated/integrations/README.md, notifications"
        ),
        CatalogueEntry(
            type: "cluster.volume_expansion_failed",
            category: .cluster,
            defaultSeverity: .error,
            kind: .notification,
            summary: "Cluster volumes failed to provision",
            description: "Volume expansion failed",
            source: "Event Store Cloud: docs/cloud/dedicated/integrations/README.md, notifications"
        ),
    ]
}
