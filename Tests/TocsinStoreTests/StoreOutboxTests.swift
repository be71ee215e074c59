import Foundation
import Testing
import TocsinCore
import TocsinStore

@Suite("Store: outbox")
struct StoreOutboxTests {
    static func id(_ notification: String, _ integration: String = "alert-log") -> String {
        deliveryID(notification, integration)
    }

    @Test("a delivery is due only once its next attempt time has come", arguments: StoreKind.allCases)
    func respectsNextAttemptAt(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1")], planner: makePlanner())
            #expect(try await dueIDs(store, "alert-log", now: storeT0.addingTimeInterval(-1)).isEmpty)
            #expect(try await dueIDs(store, "alert-log", now: storeT0) == ["n-1"])
            #expect(try await store.nextDueTime(integration: "alert-log") == storeT0)

            let delivery = try await requireDelivery(store, notification: "n-1", integration: "alert-log")
            let retrying = delivery.after(
                outcome: .retryable(retryAfter: .seconds(30)),
                statusCode: 503,
                error: "unavailable",
                latency: .milliseconds(3),
                now: storeT0,
                policy: DeliveryPolicy(),
                random: 0
            )
            try await store.recordAttempts([retrying])
            #expect(try await dueIDs(store, "alert-log", now: storeT0.addingTimeInterval(29)).isEmpty)
            #expect(try await dueIDs(store, "alert-log", now: storeT0.addingTimeInterval(30)) == ["n-1"])
            #expect(try await store.nextDueTime(integration: "alert-log") == storeT0.addingTimeInterval(30))
            #expect(try await store.delivery(id: delivery.id) == retrying)
        }
    }

    @Test("nextDueTime is nil when nothing is pending", arguments: StoreKind.allCases)
    func nextDueTimeEmpty(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.nextDueTime(integration: "alert-log") == nil)
            _ = try await store.ingest([storeNotification(id: "n-1")], planner: makePlanner())
            let delivery = try await requireDelivery(store, notification: "n-1", integration: "alert-log")
            try await store.recordAttempts([delivery.markedDelivered(at: storeT0)])
            #expect(try await store.nextDueTime(integration: "alert-log") == nil)
        }
    }

    @Test("due deliveries come in creation order, honour the limit and skip those a live claim holds", arguments: StoreKind.allCases)
    func limitAndClaimed(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let events = (1...5).map { storeNotification(id: "n-\($0)") }
            _ = try await store.ingest(events, planner: makePlanner())
            #expect(try await dueIDs(store, "alert-log") == ["n-1", "n-2", "n-3", "n-4", "n-5"])
            #expect(try await dueIDs(store, "alert-log", limit: 2) == ["n-1", "n-2"])
            // A live claim on n-1, n-2 and n-3; n-2 is then released by its (retry-now) attempt: n-1 and n-3 stay held.
            let now = storeT0.addingTimeInterval(3_600)
            let claimed = try await store.claimDueDeliveries(integration: "alert-log", now: now, owner: "a", leaseFor: .seconds(60), limit: 3)
            #expect(claimed.map(\.notification.id) == ["n-1", "n-2", "n-3"])
            let second = try #require(claimed.count == 3 ? claimed[1].delivery : nil)
            #expect(try await store.recordAttempts([second.markedRetrying(at: now, after: .zero)]).isEmpty)
            #expect(try await dueIDs(store, "alert-log") == ["n-2", "n-4", "n-5"])
            // n-2 claimed again: n-1, n-2 and n-3 held.
            let again = try await store.claimDueDeliveries(integration: "alert-log", now: now, owner: "b", leaseFor: .seconds(60), limit: 1)
            #expect(again.map(\.notification.id) == ["n-2"])
            #expect(try await dueIDs(store, "alert-log", limit: 1) == ["n-4"])
            #expect(try await dueIDs(store, "ops-hook").isEmpty)
        }
    }

    @Test("one alert's resolve waits for its open; other alerts and integrations are independent", arguments: StoreKind.allCases)
    func orderPerOrderKey(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeAlert(id: "open-a", severity: .error, node: "a")], planner: makePlanner())
            let resolve = storeAlert(id: "resolve-a", severity: .error, status: .resolved, node: "a", at: storeT0.addingTimeInterval(10))
            _ = try await store.ingest([resolve], planner: makePlanner(now: storeT0.addingTimeInterval(10)))
            _ = try await store.ingest([storeAlert(id: "open-b", severity: .error, node: "b")], planner: makePlanner())

            let pending = try await store.deliveries(status: .pending, integration: nil, before: nil, limit: 100)
            #expect(pending.count == 6)
            #expect(try await dueIDs(store, "alert-log") == ["open-a", "open-b"])
            #expect(try await dueIDs(store, "ops-hook") == ["open-a", "open-b"])

            let open = try await requireDelivery(store, notification: "open-a", integration: "alert-log")
            try await store.recordAttempts([open.markedDelivered(at: storeT0.addingTimeInterval(1))])
            #expect(try await dueIDs(store, "alert-log") == ["resolve-a", "open-b"])
            // ops-hook has not delivered the open yet: its resolve still waits.
            #expect(try await dueIDs(store, "ops-hook") == ["open-a", "open-b"])
        }
    }

    @Test("a blocked resolve does not use up the limit", arguments: StoreKind.allCases)
    func blockedResolveDoesNotTakeLimit(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest(
                [
                    storeAlert(id: "open-a", severity: .info, node: "a"),
                    storeAlert(id: "resolve-a", severity: .info, status: .resolved, node: "a"),
                    storeNotification(id: "n-1"),
                ],
                planner: makePlanner()
            )
            #expect(try await dueIDs(store, "alert-log", limit: 2) == ["open-a", "n-1"])
        }
    }

    @Test("recorded attempts are kept and deliveries filter by status and integration, newest first", arguments: StoreKind.allCases)
    func recordAndFilter(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let events = (1...3).map { storeNotification(id: "n-\($0)", severity: .error) }
            _ = try await store.ingest(events, planner: makePlanner())
            #expect(try await store.counts().deliveries == 6)

            let delivered = try await requireDelivery(store, notification: "n-1", integration: "ops-hook")
                .markedDelivered(at: storeT0.addingTimeInterval(1))
            let failed = try await requireDelivery(store, notification: "n-2", integration: "ops-hook")
                .markedFailed(at: storeT0.addingTimeInterval(2))
            var shortLived = DeliveryPolicy()
            shortLived.maxAge = .seconds(1)
            let dead = try await requireDelivery(store, notification: "n-3", integration: "alert-log").after(
                outcome: .retryable(retryAfter: nil),
                statusCode: 500,
                error: "boom",
                latency: .milliseconds(9),
                now: storeT0.addingTimeInterval(5),
                policy: shortLived,
                random: 0
            )
            #expect(dead.status == .dead)
            try await store.recordAttempts([delivered, failed])
            try await store.recordAttempts([dead])

            func ids(_ status: DeliveryStatus?, _ integration: String?) async throws -> [String] {
                try await store.deliveries(status: status, integration: integration, before: nil, limit: 100).map(\.1.id)
            }
            #expect(try await ids(.delivered, nil) == [delivered.id])
            #expect(try await ids(.failed, nil) == [failed.id])
            #expect(try await ids(.dead, nil) == [dead.id])
            #expect(try await ids(.pending, nil).count == 3)
            #expect(try await ids(.pending, "alert-log") == [Self.id("n-2"), Self.id("n-1")])
            #expect(try await ids(.delivered, "alert-log").isEmpty)
            #expect(try await ids(nil, "ops-hook") == [Self.id("n-3", "ops-hook"), failed.id, delivered.id])

            let all = try await store.deliveries(status: nil, integration: nil, before: nil, limit: 100)
            #expect(all.count == 6)
            #expect(all.map(\.0) == all.map(\.0).sorted(by: >))
            let page = try await store.deliveries(status: nil, integration: nil, before: all[1].0, limit: 2)
            #expect(page.map(\.1.id) == [all[2].1.id, all[3].1.id])

            #expect(try await store.delivery(id: delivered.id) == delivered)
            #expect(try await store.delivery(id: failed.id) == failed)
            #expect(try await store.delivery(id: dead.id) == dead)
            #expect(try await store.delivery(id: "nope") == nil)
            // Done deliveries are not due.
            #expect(try await dueIDs(store, "ops-hook") == ["n-3"])
            #expect(try await dueIDs(store, "alert-log") == ["n-1", "n-2"])

            let counts = try await store.outboxCounts()
            #expect(counts == ["ops-hook": [.delivered: 1, .failed: 1, .pending: 1], "alert-log": [.pending: 2, .dead: 1]])
        }
    }

    @Test("the later of two records for one delivery in one call wins", arguments: StoreKind.allCases)
    func laterRecordWins(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1")], planner: makePlanner())
            let delivery = try await requireDelivery(store, notification: "n-1", integration: "alert-log")
            let first = delivery.after(
                outcome: .retryable(retryAfter: .seconds(1)),
                statusCode: 503,
                error: nil,
                latency: .zero,
                now: storeT0,
                policy: DeliveryPolicy(),
                random: 0
            )
            let second = first.markedDelivered(at: storeT0.addingTimeInterval(2))
            try await store.recordAttempts([first, second])
            #expect(try await store.delivery(id: delivery.id) == second)
        }
    }

    @Test("a manual retry makes a failed or dead delivery pending again and restarts its age", arguments: StoreKind.allCases)
    func manualRetry(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1", severity: .error)], planner: makePlanner())
            let failed = try await requireDelivery(store, notification: "n-1", integration: "ops-hook")
                .markedFailed(at: storeT0.addingTimeInterval(1))
            try await store.recordAttempts([failed])
            #expect(try await dueIDs(store, "ops-hook").isEmpty)

            let retryAt = storeT0.addingTimeInterval(600)
            let retried = try await store.retryDelivery(id: failed.id, now: retryAt)
            #expect(retried.status == .pending)
            #expect(retried.ageStart == retryAt)
            #expect(retried.nextAttemptAt == retryAt)
            #expect(retried.attempts == 1)
            #expect(try await store.delivery(id: failed.id) == retried)
            #expect(try await dueIDs(store, "ops-hook", now: retryAt) == ["n-1"])

            var shortLived = DeliveryPolicy()
            shortLived.maxAge = .seconds(1)
            let dead = retried.after(
                outcome: .retryable(retryAfter: nil),
                statusCode: 500,
                error: nil,
                latency: .zero,
                now: retryAt.addingTimeInterval(10),
                policy: shortLived,
                random: 0
            )
            #expect(dead.status == .dead)
            try await store.recordAttempts([dead])
            #expect(try await store.retryDelivery(id: dead.id, now: retryAt.addingTimeInterval(60)).status == .pending)
        }
    }

    @Test("a manual retry is refused for pending, delivered and unknown deliveries", arguments: StoreKind.allCases)
    func manualRetryRefused(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1", severity: .error)], planner: makePlanner())
            let pending = try await requireDelivery(store, notification: "n-1", integration: "alert-log")
            await #expect(throws: RetryRefusal.notRetryable(.pending)) {
                _ = try await store.retryDelivery(id: pending.id, now: storeT0)
            }
            let delivered = try await requireDelivery(store, notification: "n-1", integration: "ops-hook").markedDelivered(at: storeT0)
            try await store.recordAttempts([delivered])
            await #expect(throws: RetryRefusal.notRetryable(.delivered)) {
                _ = try await store.retryDelivery(id: delivered.id, now: storeT0)
            }
            await #expect(throws: RetryRefusal.notFound) {
                _ = try await store.retryDelivery(id: "d-does-not-exist", now: storeT0)
            }
            // Refusals change nothing and leave the store working.
            #expect(try await store.delivery(id: pending.id) == pending)
            #expect(try await store.delivery(id: delivered.id) == delivered)
            #expect(try await store.ingest([storeNotification(id: "n-2")], planner: makePlanner()).first?.outcome == .notified)
        }
    }
}
