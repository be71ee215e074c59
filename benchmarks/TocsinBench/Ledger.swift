// The ledger is the single source of truth for what was sent and what came
// back. The sending workloads and the webhook receiver both write to it, so
// latency is computed from one record per alert instead of from two logs
// that would have to be joined afterwards.

import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything known about one synthetic alert.
struct AlertRecord: Sendable {
    /// Unique value of the `bench_id` label; the receiver matches on it.
    let id: String
    /// Workload phase the alert belongs to, e.g. "burst-b100".
    let phase: String
    /// `startsAt` as sent; the resolve must repeat it (Alertmanager rejects an
    /// `endsAt` earlier than `startsAt`, and both servers key on labels only).
    var startsAt: Date = Date(timeIntervalSince1970: 0)

    var scheduledAt: Instant?
    var postStartedAt: Instant?
    var acknowledged = false

    var firingFirstAt: Instant?
    var firingCount = 0

    var resolvePostStartedAt: Instant?
    var resolveAcknowledged = false
    var resolvedFirstAt: Instant?
    var resolvedCount = 0
}

/// Tallies of one phase, computed at the end of the run.
struct PhaseTally: Sendable {
    var alerts = 0
    var acknowledged = 0
    var firingReceived = 0
    var firingLost = 0
    var firingDuplicates = 0
    var resolveAcknowledged = 0
    var resolvedReceived = 0
    var resolvedLost = 0
    var resolvedDuplicates = 0
    /// Resolved notifications for alerts the bench never resolved.
    var unexpectedResolved = 0
}

/// Thread-safe store of all alert records. One lock is enough: even at
/// 1,000 alerts/s the critical sections are a few dictionary operations.
final class Ledger: Sendable {
    private struct State {
        var records: [AlertRecord] = []
        var indexByID: [String: Int] = [:]
        /// Distinct alerts seen at least once, per phase and status; kept
        /// incrementally so that waiting for deliveries is a cheap poll.
        var firingDistinct: [String: Int] = [:]
        var resolvedDistinct: [String: Int] = [:]
        var webhookRequests = 0
        var malformedRequests = 0
        var unknownAlerts = 0
    }

    private let state = Mutex(State())

    /// Registers `count` alerts of `phase` with ids "<run>-<phase>-<n>" and
    /// returns their indices.
    func register(phase: String, count: Int, runID: String) -> Range<Int> {
        state.withLock { s in
            let start = s.records.count
            s.records.reserveCapacity(start + count)
            for n in 0..<count {
                let id = "\(runID)-\(phase)-\(n)"
                s.indexByID[id] = s.records.count
                s.records.append(AlertRecord(id: id, phase: phase))
            }
            return start..<(start + count)
        }
    }

    func record(_ index: Int) -> AlertRecord {
        state.withLock { $0.records[index] }
    }

    func records(_ indices: some Sequence<Int>) -> [AlertRecord] {
        state.withLock { s in indices.map { s.records[$0] } }
    }

    /// Indices of every record matching `predicate`, in registration order.
    func indices(where predicate: (AlertRecord) -> Bool) -> [Int] {
        state.withLock { s in s.records.indices.filter { predicate(s.records[$0]) } }
    }

    func update(_ indices: some Sequence<Int>, _ body: (inout AlertRecord) -> Void) {
        state.withLock { s in
            for i in indices { body(&s.records[i]) }
        }
    }

    /// Called by the receiver for every alert of a webhook POST.
    func recordDeliveries(_ deliveries: [(id: String, resolved: Bool)], at time: Instant) {
        state.withLock { s in
            s.webhookRequests += 1
            for delivery in deliveries {
                guard let i = s.indexByID[delivery.id] else {
                    s.unknownAlerts += 1
                    continue
                }
                let phase = s.records[i].phase
                if delivery.resolved {
                    if s.records[i].resolvedFirstAt == nil {
                        s.records[i].resolvedFirstAt = time
                        s.resolvedDistinct[phase, default: 0] += 1
                    }
                    s.records[i].resolvedCount += 1
                } else {
                    if s.records[i].firingFirstAt == nil {
                        s.records[i].firingFirstAt = time
                        s.firingDistinct[phase, default: 0] += 1
                    }
                    s.records[i].firingCount += 1
                }
            }
        }
    }

    func noteMalformedWebhook() {
        state.withLock { $0.malformedRequests += 1 }
    }

    func firingDistinct(in phases: [String]) -> Int {
        state.withLock { s in phases.reduce(0) { $0 + s.firingDistinct[$1, default: 0] } }
    }

    func resolvedDistinct(in phases: [String]) -> Int {
        state.withLock { s in phases.reduce(0) { $0 + s.resolvedDistinct[$1, default: 0] } }
    }

    var receiverCounters: (webhookRequests: Int, malformed: Int, unknownAlerts: Int) {
        state.withLock { ($0.webhookRequests, $0.malformedRequests, $0.unknownAlerts) }
    }

    /// Lost and duplicate counts of one phase.
    func tally(phase: String) -> PhaseTally {
        state.withLock { s in
            var t = PhaseTally()
            for r in s.records where r.phase == phase {
                t.alerts += 1
                if r.acknowledged { t.acknowledged += 1 }
                if r.firingCount > 0 { t.firingReceived += 1 }
                // Lost = the server acknowledged the alert but never delivered it.
                if r.acknowledged && r.firingCount == 0 { t.firingLost += 1 }
                t.firingDuplicates += max(0, r.firingCount - 1)
                if r.resolveAcknowledged { t.resolveAcknowledged += 1 }
                if r.resolvedCount > 0 { t.resolvedReceived += 1 }
                // A resolve is only owed for alerts whose firing notification
                // went out: Alertmanager (rightly) does not announce the end of
                // an alert it never announced.
                if r.resolveAcknowledged && r.firingCount > 0 && r.resolvedCount == 0 {
                    t.resolvedLost += 1
                }
                t.resolvedDuplicates += max(0, r.resolvedCount - 1)
                if !r.resolveAcknowledged && r.resolvedCount > 0 { t.unexpectedResolved += 1 }
            }
            return t
        }
    }
}
