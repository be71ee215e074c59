import Foundation
import Testing
import TocsinCore

/// Decodes with a given catalogue, a fixed clock and ids `cat-1`, `cat-2`, …
func decodeTyped(_ json: String, catalogue: EventCatalogue = .builtIn) -> Result<[Event], IngestError> {
    var counter = 0
    do {
        let events = try NativeEventDecoder.decode(bytes(json), limits: IngestLimits(), catalogue: catalogue, now: coreT0) {
            counter += 1
            return "cat-\(counter)"
        }
        return .success(events)
    } catch {
        return .failure(error)
    }
}

@Suite("Event catalogue")
struct EventCatalogueTests {
    /// Every row of the reference tables (AxonOps backups and repairs, repair Alert After, service checks,
    /// Event Store Cloud notifications) with the severity the table gives it.
    static let reference: [(type: String, category: TocsinCore.Category, severity: Severity)] = [
        // AxonOps backups: Critical.
        ("backup.remote_storage_error", .backups, .critical),
        // AxonOps backups: Warning.
        ("backup.local_snapshot_clear_timeout", .backups, .warning),
        ("backup.local_snapshot_not_found", .backups, .warning),
        ("backup.local_failed", .backups, .warning),
        ("backup.remote_snapshot_clear_timeout", .backups, .warning),
        ("backup.remote_failed", .backups, .warning),
        ("backup.remote_snapshot_not_found", .backups, .warning),
        ("backup.skipped_paused", .backups, .warning),
        ("backup.create_failed", .backups, .warning),
        ("backup.remote_config_failed", .backups, .warning),
        ("backup.snapshot_failed", .backups, .warning),
        ("backup.snapshot_timeout", .backups, .warning),
        ("backup.node_inactive", .backups, .warning),
        // AxonOps backups: Info.
        ("backup.local_created", .backups, .info),
        ("backup.deleted", .backups, .info),
        // AxonOps repairs: Critical.
        ("repair.update_failed", .repairs, .critical),
        ("repair.cassandra_error", .repairs, .critical),
        ("repair.gc_grace_overrun", .repairs, .critical),
        // AxonOps repairs: Warning.
        ("repair.gc_grace_at_risk", .repairs, .warning),
        ("repair.segment_failed", .repairs, .warning),
        ("repair.segment_timeout", .repairs, .warning),
        ("repair.retries_exhausted", .repairs, .warning),
        ("repair.unit_error", .repairs, .warning),
        ("repair.unknown_correlation_id", .repairs, .warning),
        ("repair.connection_timeout", .repairs, .warning),
        ("repair.max_duration_reached", .repairs, .warning),
        // AxonOps service checks.
        ("service_check.success", .serviceChecks, .info),
        ("service_check.warning", .serviceChecks, .warning),
        ("service_check.error", .serviceChecks, .error),
        // Event Store Cloud notifications.
        ("cluster.provisioning_failed", .cluster, .error),
        ("cluster.volume_expansion_failed", .cluster, .error),
    ]

    @Test("every reference-table entry is present with its category and severity; names follow AREA.what")
    func referenceEntries() throws {
        let catalogue = EventCatalogue.builtIn
        for row in Self.reference {
            let entry = try #require(catalogue.entry(row.type), "missing \(row.type)")
            #expect(entry.category == row.category, "\(row.type)")
            #expect(entry.defaultSeverity == row.severity, "\(row.type)")
            #expect(catalogue.severity(of: row.type) == row.severity)
            #expect(!entry.summary.isEmpty && !entry.description.isEmpty && !entry.source.isEmpty)
        }
        #expect(catalogue.entries.filter { $0.category == .backups }.count == 15)
        #expect(catalogue.entries.filter { $0.category == .repairs }.count == 11)
        #expect(catalogue.entry("cluster.provisioning_failed")?.summary == "Cluster instances failed to provision")
        #expect(catalogue.entry("cluster.volume_expansion_failed")?.summary == "Cluster volumes failed to provision")
        for category in [TocsinCore.Category.nodes, .commands, .rollingRestart] {
            #expect(catalogue.entries.contains { $0.category == category }, "no type for \(category)")
        }
        let types = catalogue.entries.map(\.type)
        #expect(types == types.sorted())
        #expect(Set(types).count == types.count)
        let name = /^[a-z_]+\.[a-z_0-9]+$/
        for type in types { #expect(type.wholeMatch(of: name) != nil, "\(type)") }
    }

    @Test("a catalogue event by type and labels alone is complete")
    func decodeByTypeAlone() throws {
        let event = try #require(try decodeTyped(#"{"type":"backup.local_failed","labels":{"node":"n1","cluster":"prod"}}"#).get().first)
        #expect(event.category == .backups)
        #expect(event.severity == .warning)
        #expect(event.kind == .notification)
        #expect(event.summary == "Local backup failed (cluster prod, node n1)")
        #expect(event.labels == ["node": "n1", "cluster": "prod"])
        #expect(event.status == nil)

        let alert = try #require(try decodeTyped(#"{"type":"repair.gc_grace_overrun","labels":{"node":"n1"}}"#).get().first)
        #expect(alert.kind == .alert)
        #expect(alert.status == .firing)
        #expect(alert.severity == .critical)
        #expect(alert.category == .repairs)
        // Two types on one label set are two alerts; an untyped alert keeps its plain label identity.
        let other = try #require(try decodeTyped(#"{"type":"repair.gc_grace_at_risk","labels":{"node":"n1"}}"#).get().first)
        #expect(alert.fingerprint != other.fingerprint)
        #expect(alert.fingerprint != Fingerprint.of(labels: ["node": "n1"]))
        let untyped = try #require(try decodeTyped(#"{"severity":"error","summary":"s","labels":{"node":"n1"}}"#).get().first)
        #expect(untyped.fingerprint == Fingerprint.of(labels: ["node": "n1"]))

        let provisioning = try #require(try decodeTyped(#"{"type":"cluster.provisioning_failed"}"#).get().first)
        #expect(provisioning.summary == "Cluster instances failed to provision")
        #expect(provisioning.category == .cluster)
        #expect(provisioning.severity == .error)
    }

    @Test("explicit kind, summary and matching category win; a category of another area is refused")
    func explicitFields() throws {
        let json = #"{"type":"backup.deleted","kind":"alert","summary":"Gone","category":"backups","labels":{"node":"n1"}}"#
        let event = try #require(try decodeTyped(json).get().first)
        #expect(event.kind == .alert)
        #expect(event.summary == "Gone")
        let error = try #require(decodeTyped(#"{"type":"backup.deleted","category":"repairs"}"#).error)
        #expect(error.field == "category")
        #expect(error.reason == .invalidField)
    }

    @Test("a YAML override changes the severity; an explicit severity in the event wins over both")
    func overrideAndExplicitSeverity() throws {
        let configuration = try makeLoader().load(
            yaml: """
                catalogue:
                  overrides:
                    backup.remote_storage_error: {severity: warning}
                    "backup.local_created": {severity: error}
                """
        )
        let catalogue = configuration.catalogue
        #expect(catalogue.severity(of: "backup.remote_storage_error") == .warning)
        #expect(catalogue.entry("backup.remote_storage_error")?.defaultSeverity == .critical)
        #expect(catalogue.severity(of: "backup.local_created") == .error)
        #expect(catalogue.severity(of: "backup.local_failed") == .warning)
        let overridden = try #require(try decodeTyped(#"{"type":"backup.remote_storage_error"}"#, catalogue: catalogue).get().first)
        #expect(overridden.severity == .warning)
        let explicit = try #require(
            try decodeTyped(#"{"type":"backup.remote_storage_error","severity":"info"}"#, catalogue: catalogue).get().first
        )
        #expect(explicit.severity == .info)
        let builtIn = try #require(try decodeTyped(#"{"type":"backup.remote_storage_error"}"#).get().first)
        #expect(builtIn.severity == .critical)
        #expect(try makeLoader().load(yaml: "routing: {}").catalogue == .builtIn)
    }

    @Test("an unknown type is refused with field type and the known prefixes")
    func unknownType() throws {
        let error = try #require(decodeTyped(#"[{"type":"backup.local_failed"},{"type":"backup.exploded","labels":{"a":"b"}}]"#).error)
        #expect(error.reason == .invalidField)
        #expect(error.field == "[1].type")
        for prefix in ["backup.", "repair.", "service_check.", "cluster.", "node.", "command.", "rolling_restart."] {
            #expect(error.message.contains(prefix), "\(error.message)")
        }
        #expect(decodeTyped(#"{"type":7}"#).error?.field == "type")
    }

    @Test("service check results Success / Warning / Error map to info / warning / error")
    func serviceChecks() throws {
        let expected: [(String, Severity)] = [("Success", .info), ("Warning", .warning), ("Error", .error), ("error", .error)]
        for (result, severity) in expected {
            let json = #"{"type":"service_check","result":"\#(result)","labels":{"check":"cql","node":"n1"}}"#
            let event = try #require(try decodeTyped(json).get().first)
            #expect(event.severity == severity, "\(result)")
            #expect(event.category == .serviceChecks)
            #expect(event.kind == .notification)
            #expect(event.summary.hasSuffix("(node n1, check cql)"))
        }
        #expect(decodeTyped(#"{"type":"service_check","result":"Unknown"}"#).error?.field == "result")
        #expect(decodeTyped(#"{"type":"service_check"}"#).error?.reason == .missingField)
        #expect(decodeTyped(#"{"type":"backup.deleted","result":"Success"}"#).error?.field == "result")
        #expect(decodeTyped(#"{"severity":"info","summary":"s","kind":"notification","result":"Success"}"#).error?.field == "result")
    }

    @Test("catalogue configuration problems are all reported with their paths")
    func configurationProblems() {
        let problems = configProblems(
            """
            catalogue:
              overrides:
                backup.exploded: {severity: warning}
                backup.local_failed: {severity: loud}
                backup.deleted: {colour: red}
                repair.segment_failed: warning
                repair.unit_error:
              extra: 1
            """
        )
        let expected: [(path: String, words: String)] = [
            ("catalogue.overrides.backup.exploded", "backup.exploded"),
            ("catalogue.overrides.backup.local_failed.severity", "loud"),
            ("catalogue.overrides.backup.deleted.colour", "unknown key"),
            ("catalogue.overrides.backup.deleted.severity", "required"),
            ("catalogue.overrides.repair.segment_failed", "mapping"),
            ("catalogue.overrides.repair.unit_error", "mapping"),
            ("catalogue.extra", "unknown key"),
        ]
        for (path, words) in expected {
            let problem = problems.at(path)
            #expect(problem != nil, "no problem reported at \(path); got \(problems)")
            #expect(problem?.message.contains(words) == true, "\(path): \(problem?.message ?? "-")")
        }
        #expect(configProblems("catalogue: [1]").at("catalogue") != nil)
    }
}
