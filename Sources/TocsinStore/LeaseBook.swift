import Foundation
import NIOConcurrencyHelpers
import TocsinCore

/// The delivery leases of a SQLite store, in memory. One process owns a SQLite database, so its claims need not
/// outlive it: after a restart every pending delivery is free again, as the dead process's leases would be.
/// Claims, expiry and fencing behave as PostgreSQL's leases in rows do.
final class LeaseBook: Sendable {
    private struct State {
        var leases: [String: DeliveryLease] = [:]
        var lastToken: Int64 = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Deliveries under a lease that has not expired at `now`.
    func held(at now: Date) -> Set<String> {
        // Expired leases stay: their token still fences until a new claim replaces them.
        state.withLockedValue { state in Set(state.leases.filter { $0.value.expiresAt > now }.keys) }
    }

    /// Leases to `owner` those of `candidates` no live lease holds (a concurrent claim may have taken some since
    /// they were read), and returns them with their leases.
    func take(_ candidates: [DueDelivery], owner: String, now: Date, leaseFor: Duration) -> [DueDelivery] {
        let expiresAt = now.addingTimeInterval(leaseFor.seconds)
        return state.withLockedValue { state in
            var taken: [DueDelivery] = []
            for var candidate in candidates {
                if let lease = state.leases[candidate.delivery.id], lease.expiresAt > now { continue }
                state.lastToken += 1
                let lease = DeliveryLease(owner: owner, token: state.lastToken, expiresAt: expiresAt)
                state.leases[candidate.delivery.id] = lease
                candidate.delivery.lease = lease
                taken.append(candidate)
            }
            return taken
        }
    }

    /// Whether the lease with `token` is still the delivery's latest (expired or not: nobody claimed it since).
    func holds(id: String, token: Int64) -> Bool {
        state.withLockedValue { $0.leases[id]?.token == token }
    }

    func release(_ ids: Set<String>) {
        guard !ids.isEmpty else { return }
        state.withLockedValue { state in
            for id in ids { state.leases[id] = nil }
        }
    }
}
