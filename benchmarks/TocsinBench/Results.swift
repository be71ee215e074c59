// The JSON line format shared by `tocsin-bench run` (writes it), run.sh
// (appends a "process" line with the server's peak RSS) and
// `tocsin-bench report` (reads it). One flat record type with optional
// fields keeps the format easy to read and to extend; keys are snake_case.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct ResultRecord: Codable, Sendable {
    /// "meta", "burst", "steady", "resolve", "totals", "process" (one per
    /// server process) or "postgres" (the PostgreSQL cluster run.sh started).
    var workload: String
    var server: String?
    var phase: String?

    // meta
    var runId: String?
    var startedAt: String?
    /// The base URL, or several comma-separated (instances sharing a store).
    var target: String?
    /// How many base URLs the requests were spread over.
    var targets: Int?
    var note: String?
    var receiverPort: Int?
    var concurrency: Int?
    var warmupAlerts: Int?
    var deliveryTimeoutSeconds: Double?
    var settleSeconds: Double?
    /// True when each workload's alerts were resolved before the next one
    /// started (--isolate); false when they stayed firing until the end.
    var isolated: Bool?

    // workload shape
    var alerts: Int?
    var batchSize: Int?
    var requests: Int?
    var rate: Int?
    var durationSeconds: Double?

    // sending side
    var acknowledged: Int?
    var postErrors: Int?
    var ingestSeconds: Double?
    var ingestPerSecond: Double?
    var achievedRate: Double?
    var maxScheduleLagMs: Double?

    // receiving side
    var expected: Int?
    var received: Int?
    var deliveredSeconds: Double?
    var deliveredPerSecond: Double?
    var timedOut: Bool?
    var latencyP50Ms: Double?
    var latencyP90Ms: Double?
    var latencyP99Ms: Double?
    var latencyMaxMs: Double?

    // correctness
    var lost: Int?
    var duplicates: Int?
    var unexpectedResolved: Int?
    var unknownAlerts: Int?
    var malformedWebhooks: Int?
    var webhookRequests: Int?
    /// With several targets: requests sent to each, and how many of them failed.
    var targetRequests: [Int]?
    var targetFailedRequests: [Int]?
    /// CPU seconds used by tocsin-bench itself (client + receiver).
    var benchCpuSeconds: Double?

    // process and postgres (written by run.sh)
    var pid: Int?
    /// Which of several instances (`server.instance_id`).
    var instance: String?
    var vmhwmKb: Int?
    var vmrssKb: Int?
    /// CPU seconds (user + system) the server used over its whole life.
    var cpuSeconds: Double?
    /// CPU seconds the whole machine was busy from server start to the end
    /// of the run (server + tocsin-bench + anything else).
    var machineCpuSeconds: Double?
    var version: String?
    /// PostgreSQL's durability settings as the server reported them (`fsync`, `synchronous_commit`).
    var fsync: String?
    var synchronousCommit: String?

    init(workload: String) {
        self.workload = workload
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    func jsonLine() -> String {
        // Encoding a struct of optionals and plain numbers cannot fail.
        let data = (try? Self.encoder().encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
