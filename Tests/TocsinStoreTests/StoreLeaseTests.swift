import Foundation
import Testing
import TocsinCore
import TocsinStore

/// Claims are leases: a claimed delivery belongs to its claimer until its attempt is recorded or the lease expires,
/// and a result recorded under a lease that was since replaced is refused (fencing).
@Suite("Store: delivery leases")
struct StoreLeaseTests {
    static func claim(
        _ store: any Store,
        _ owner: String,
        now: Date,
        leaseFor: Duration = .seconds(120),
        integration: String = "alert-log",
        limit: Int = 100
    ) async throws -> [DueDelivery] {
        try await store.claimDueDeliveries(integration: integration, now: now, owner: owner, leaseFor: leaseFor, limit: limit)
    }

    @Test(
        "a claim takes due deliveries under a lease; before it expires no other claim gets them and they are not listed as due",
        arguments: StoreKind.allCases
    )
    func claimHoldsUntilExpiry(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest((1...3).map { storeNotification(id: "n-\($0)") }, planner: makePlanner())
            let now = storeT0.addingTimeInterval(10)
            #expect(try await dueIDs(store, "alert-log", now: now) == ["n-1", "n-2", "n-3"])

            let claimed = try await Self.claim(store, "a", now: now)
            #expect(claimed.map(\.notification.id) == ["n-1", "n-2", "n-3"])
            for due in claimed {
                #expect(due.delivery.id == deliveryID(due.notification.id))
                #expect(due.delivery.notificationID == due.notification.id)
                #expect(due.delivery.status == .pending)
                #expect(due.delivery.attempts == 0)
                let lease = try #require(due.delivery.lease, "a claimed delivery carries its lease")
                #expect(lease.owner == "a")
                #expect(lease.expiresAt == now.addingTimeInterval(120))
            }

            // Another owner, just before the lease ends: nothing.
            let justBefore = now.addingTimeInterval(119)
            #expect(try await Self.claim(store, "b", now: justBefore).isEmpty)
            #expect(try await dueIDs(store, "alert-log", now: justBefore).isEmpty)
            // The same owner does not get them twice either.
            #expect(try await Self.claim(store, "a", now: justBefore).isEmpty)
            // The rows are untouched by the claim itself.
            for due in claimed {
                let stored = try #require(try await store.delivery(id: due.delivery.id))
                #expect(stored.released == due.delivery.released)
            }

            // A delivery created later is free, and the limit holds.
            _ = try await store.ingest((4...5).map { storeNotification(id: "n-\($0)") }, planner: makePlanner())
            #expect(try await dueIDs(store, "alert-log", now: justBefore) == ["n-4", "n-5"])
            let next = try await Self.claim(store, "b", now: justBefore, limit: 1)
            #expect(next.map(\.notification.id) == ["n-4"])
            #expect(next.first?.delivery.lease?.owner == "b")
            #expect(try await dueIDs(store, "alert-log", now: justBefore) == ["n-5"])
            #expect(try await Self.claim(store, "b", now: justBefore, integration: "ops-hook").isEmpty)
        }
    }

    @Test(
        "after the lease expires another owner gets the delivery with a higher token; the first owner's late result is refused",
        arguments: StoreKind.allCases
    )
    func expiryAndFencing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1"), storeNotification(id: "n-2")], planner: makePlanner())
            let first = try await Self.claim(store, "a", now: storeT0, leaseFor: .seconds(60))
            #expect(first.map(\.notification.id) == ["n-1", "n-2"])
            let firstLeases = try first.map { try #require($0.delivery.lease) }

            // Owner a stalls past its lease; b claims both again.
            let later = storeT0.addingTimeInterval(61)
            #expect(try await dueIDs(store, "alert-log", now: later) == ["n-1", "n-2"])
            let second = try await Self.claim(store, "b", now: later, leaseFor: .seconds(60))
            #expect(second.map(\.notification.id) == ["n-1", "n-2"])
            for (old, renewed) in zip(firstLeases, second.map(\.delivery.lease)) {
                let new = try #require(renewed)
                #expect(new.owner == "b")
                #expect(new.token > old.token, "a new claim takes a higher token: \(new.token) after \(old.token)")
                #expect(new.expiresAt == later.addingTimeInterval(60))
            }
            let rowsBefore = try await second.asyncMap { try #require(try await store.delivery(id: $0.delivery.id)) }

            // a's late result for n-1 is refused and changes nothing.
            let late = first[0].delivery.markedDelivered(at: later.addingTimeInterval(1))
            #expect(try await store.recordAttempts([late]) == [late.id])
            #expect(try await store.delivery(id: late.id) == rowsBefore[0])

            // b's results: n-1 retried, written; in the same call a's stale result for n-2 is refused.
            let fresh = second[0].delivery.markedRetrying(at: later.addingTimeInterval(2), after: .seconds(30))
            let stale = first[1].delivery.markedFailed(at: later.addingTimeInterval(2))
            #expect(try await store.recordAttempts([fresh, stale]) == [stale.id])
            #expect(try await store.delivery(id: fresh.id) == fresh.released)
            #expect(try await store.delivery(id: stale.id) == rowsBefore[1])

            // Once b's result is in, a's old lease is still not the latest: refused again, row unchanged.
            #expect(try await store.recordAttempts([late]) == [late.id])
            #expect(try await store.delivery(id: late.id) == fresh.released)

            // b's own result for n-2 is written.
            let done = second[1].delivery.markedDelivered(at: later.addingTimeInterval(3))
            #expect(try await store.recordAttempts([done]).isEmpty)
            #expect(try await store.delivery(id: done.id) == done.released)
        }
    }

    @Test("a result recorded after its lease expired is written when nobody claimed the delivery since", arguments: StoreKind.allCases)
    func expiredButUnclaimedIsWritten(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1")], planner: makePlanner())
            let claimed = try #require(try await Self.claim(store, "a", now: storeT0, leaseFor: .seconds(10)).first)
            let slow = claimed.delivery.markedDelivered(at: storeT0.addingTimeInterval(30))
            #expect(try await store.recordAttempts([slow]).isEmpty)
            #expect(try await store.delivery(id: slow.id) == slow.released)
            #expect(try await Self.claim(store, "b", now: storeT0.addingTimeInterval(3_600)).isEmpty)
        }
    }

    @Test(
        "a record without a lease is written whatever claims there were, and releases the delivery as any record does",
        arguments: StoreKind.allCases
    )
    func unleasedRecordIsWritten(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1"), storeNotification(id: "n-2")], planner: makePlanner())
            let claimed = try await Self.claim(store, "a", now: storeT0, leaseFor: .seconds(600))
            #expect(claimed.map(\.notification.id) == ["n-1", "n-2"])
            // n-1 fails for good; n-2 is to be retried at once. Neither record carries the lease.
            let failed = try #require(claimed.first?.delivery.released.markedFailed(at: storeT0.addingTimeInterval(1)))
            let retry = try #require(claimed.last?.delivery.released.markedRetrying(at: storeT0.addingTimeInterval(1), after: .zero))
            #expect(try await store.recordAttempts([failed, retry]).isEmpty)
            for record in [failed, retry] {
                let stored = try #require(try await store.delivery(id: record.id))
                #expect(stored.released == record, "the record was not written as given")
                #expect(stored.lease == nil, "the record was written but the row still holds the claim's lease: \(String(describing: stored.lease))")
            }
            // Released: the retry is claimable at once, well within a's lease.
            let again = try await Self.claim(store, "b", now: storeT0.addingTimeInterval(2))
            #expect(again.map(\.notification.id) == ["n-2"], "the retry stays held by the lease it was not recorded under")
        }
    }

    @Test("recording an attempt releases the lease: a pending retry is claimable again once due", arguments: StoreKind.allCases)
    func recordReleases(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeNotification(id: "n-1")], planner: makePlanner())
            // A long lease: only the release can make the retry claimable within it.
            let claimed = try #require(try await Self.claim(store, "a", now: storeT0, leaseFor: .seconds(600)).first)
            let retry = claimed.delivery.markedRetrying(at: storeT0, after: .seconds(30))
            #expect(retry.nextAttemptAt == storeT0.addingTimeInterval(30))
            #expect(try await store.recordAttempts([retry]).isEmpty)
            #expect(try await store.delivery(id: retry.id) == retry.released)

            #expect(try await dueIDs(store, "alert-log", now: storeT0.addingTimeInterval(29)).isEmpty)
            #expect(try await Self.claim(store, "b", now: storeT0.addingTimeInterval(29)).isEmpty)
            #expect(try await store.nextDueTime(integration: "alert-log") == storeT0.addingTimeInterval(30))
            #expect(try await dueIDs(store, "alert-log", now: storeT0.addingTimeInterval(30)) == ["n-1"])

            let again = try #require(try await Self.claim(store, "b", now: storeT0.addingTimeInterval(30), leaseFor: .seconds(600)).first)
            #expect(again.delivery.attempts == 1)
            #expect(again.delivery.lease?.owner == "b")
            #expect((again.delivery.lease?.token ?? .min) > (claimed.delivery.lease?.token ?? .max))
            let delivered = again.delivery.markedDelivered(at: storeT0.addingTimeInterval(31))
            #expect(try await store.recordAttempts([delivered]).isEmpty)
            #expect(try await store.delivery(id: delivered.id) == delivered.released)
            #expect(try await Self.claim(store, "c", now: storeT0.addingTimeInterval(10_000)).isEmpty)
            #expect(try await store.nextDueTime(integration: "alert-log") == nil)
        }
    }

    @Test("an alert's resolve is not claimable while its open is pending, even when the open is leased", arguments: StoreKind.allCases)
    func orderKeysUnderClaims(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeAlert(id: "open-a", severity: .error, node: "a")], planner: makePlanner())
            let resolve = storeAlert(id: "resolve-a", severity: .error, status: .resolved, node: "a", at: storeT0.addingTimeInterval(10))
            _ = try await store.ingest([resolve], planner: makePlanner(now: storeT0.addingTimeInterval(10)))
            _ = try await store.ingest([storeAlert(id: "open-b", severity: .error, node: "b")], planner: makePlanner())

            let now = storeT0.addingTimeInterval(3_600)
            let first = try await Self.claim(store, "a", now: now, leaseFor: .seconds(60))
            #expect(first.map(\.notification.id) == ["open-a", "open-b"])
            #expect(try await Self.claim(store, "b", now: now).isEmpty, "the resolve went out while its open was leased")
            #expect(try await dueIDs(store, "alert-log", now: now).isEmpty)
            // ops-hook is independent.
            #expect(try await Self.claim(store, "b", now: now, integration: "ops-hook").map(\.notification.id) == ["open-a", "open-b"])

            // a's lease expires: the opens are claimed again, the resolve still waits.
            let later = now.addingTimeInterval(61)
            let second = try await Self.claim(store, "c", now: later, leaseFor: .seconds(60))
            #expect(second.map(\.notification.id) == ["open-a", "open-b"])
            let open = try #require(second.first?.delivery)
            #expect(try await store.recordAttempts([open.markedDelivered(at: later)]).isEmpty)
            // The open is delivered: its resolve can go (open-b is still c's).
            let third = try await Self.claim(store, "d", now: later.addingTimeInterval(1))
            #expect(third.map(\.notification.id) == ["resolve-a"])
        }
    }

    @Test("8 concurrent claimers never get the same delivery and together get all 200", arguments: StoreKind.allCases)
    func concurrentClaims(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let ids = (0..<200).map { "n-\($0)" }
            _ = try await store.ingest(ids.map { storeNotification(id: $0) }, planner: makePlanner())
            let now = storeT0.addingTimeInterval(1)
            let claimers = (0..<8).map { (store: store, owner: "owner-\($0)") }
            let claims = try await claimConcurrently(claimers, total: ids.count, now: now, limit: 7)
            let claimedIDs = claims.map(\.due.notification.id)
            let duplicates = Dictionary(grouping: claimedIDs, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            #expect(duplicates.isEmpty, "handed out more than once: \(duplicates)")
            #expect(claims.count == 200)
            #expect(Set(claimedIDs) == Set(ids))
            for claim in claims {
                #expect(claim.due.delivery.lease?.owner == claim.owner)
                #expect(claim.due.delivery.lease?.expiresAt == now.addingTimeInterval(600))
            }
            let owners = Set(claims.map(\.owner))
            print("\(kind): 8 claimers took 200 deliveries; \(owners.count) claimers got some")
            #expect(try await Self.claim(store, "late", now: now).isEmpty)
            #expect(try await dueIDs(store, "alert-log", now: now).isEmpty)
        }
    }
}

extension Sequence {
    /// `map` with an async transform, in order.
    func asyncMap<Mapped>(_ transform: (Element) async throws -> Mapped) async rethrows -> [Mapped] {
        var result: [Mapped] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
