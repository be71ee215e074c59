import Foundation
import Testing
import TocsinCore
import TocsinStore

@Suite("Store: queries")
struct StoreQueryTests {
    @Test("expiredAlerts returns only open alerts whose expiresAt is at or before now, soonest first", arguments: StoreKind.allCases)
    func expiredAlerts(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest(
                [
                    storeAlert(id: "a", severity: .warning, node: "a", endsAt: storeT0.addingTimeInterval(100)),
                    storeAlert(id: "b", severity: .warning, node: "b", endsAt: storeT0.addingTimeInterval(500)),
                    storeAlert(id: "c", severity: .warning, node: "c", endsAt: storeT0.addingTimeInterval(50)),
                    storeAlert(id: "d", severity: .warning, node: "d"),
                    storeAlert(id: "c-resolved", severity: .warning, status: .resolved, node: "c", at: storeT0.addingTimeInterval(10)),
                ],
                planner: makePlanner()
            )
            func nodes(_ offset: TimeInterval, limit: Int = 100) async throws -> [String] {
                try await store.expiredAlerts(now: storeT0.addingTimeInterval(offset), limit: limit).compactMap { $0.labels["node"] }
            }
            #expect(try await nodes(99).isEmpty)
            #expect(try await nodes(100) == ["a"])
            #expect(try await nodes(10_000) == ["a", "b"])
            #expect(try await nodes(10_000, limit: 1) == ["a"])
        }
    }

    @Test("an alert sent again with a later endsAt is no longer expired", arguments: StoreKind.allCases)
    func refreshedAlertNotExpired(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeAlert(id: "a1", severity: .warning, endsAt: storeT0.addingTimeInterval(100))], planner: makePlanner())
            let later = storeT0.addingTimeInterval(90)
            _ = try await store.ingest(
                [storeAlert(id: "a2", severity: .warning, at: later, endsAt: later.addingTimeInterval(300))],
                planner: makePlanner(now: later)
            )
            #expect(try await store.expiredAlerts(now: storeT0.addingTimeInterval(101), limit: 10).isEmpty)
            #expect(try await store.expiredAlerts(now: later.addingTimeInterval(300), limit: 10).count == 1)
        }
    }

    @Test("the expiry sweep resolves an expired alert through ingest, once", arguments: StoreKind.allCases)
    func expirySweep(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeAlert(id: "a1", severity: .error, endsAt: storeT0.addingTimeInterval(100))], planner: makePlanner())
            let sweep = storeT0.addingTimeInterval(200)
            let expired = try await store.expiredAlerts(now: sweep, limit: 10)
            let alert = try #require(expired.first)
            let expiry = EventProcessor.expiryEvent(for: alert, now: sweep)
            let first = try await store.ingest([expiry], planner: makePlanner(now: sweep))
            #expect(first.first?.outcome == .resolved)
            #expect(first.first?.integrations == ["ops-hook", "alert-log"])
            let second = try await store.ingest([EventProcessor.expiryEvent(for: alert, now: sweep.addingTimeInterval(5))], planner: makePlanner())
            #expect(second.first?.outcome == nil)
            #expect(try await store.expiredAlerts(now: sweep, limit: 10).isEmpty)
        }
    }

    @Test("events(before:limit:) pages through the history newest first", arguments: StoreKind.allCases)
    func eventPaging(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for index in 1...5 {
                _ = try await store.ingest([storeNotification(id: "n-\(index)")], planner: makePlanner())
            }
            let first = try await store.events(before: nil, limit: 2)
            #expect(first.map(\.event.id) == ["n-5", "n-4"])
            let second = try await store.events(before: try #require(first.last).sequence, limit: 2)
            #expect(second.map(\.event.id) == ["n-3", "n-2"])
            let third = try await store.events(before: try #require(second.last).sequence, limit: 2)
            #expect(third.map(\.event.id) == ["n-1"])
            #expect(try await store.events(before: try #require(third.last).sequence, limit: 2).isEmpty)
            let all = try await store.events(before: nil, limit: 100)
            #expect(all.map(\.sequence) == all.map(\.sequence).sorted(by: >))
            #expect(Set(all.map(\.sequence)).count == 5)
            #expect(all.allSatisfy { $0.outcome == .notified && $0.integrations == ["alert-log"] })
        }
    }

    @Test("openAlerts filters by category, severity and labels", arguments: StoreKind.allCases)
    func openAlertFilters(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest(
                [
                    storeAlert(id: "a", severity: .warning, node: "n1", category: .metrics),
                    storeAlert(id: "b", severity: .error, node: "n2", category: .backups),
                    storeAlert(id: "c", severity: .error, node: "n3", category: .metrics),
                    storeAlert(id: "d", severity: .error, node: "n1", alertname: "HighLoad", category: .metrics),
                    storeAlert(id: "e", severity: .critical, node: "n4", alertname: "Gone", category: .metrics),
                    storeAlert(id: "e-resolved", severity: .critical, status: .resolved, node: "n4", alertname: "Gone"),
                ],
                planner: makePlanner()
            )
            func ids(_ filter: AlertFilter) async throws -> Set<String> {
                Set(try await store.openAlerts(filter).map(\.lastEventID))
            }
            #expect(try await ids(AlertFilter()) == ["a", "b", "c", "d"])
            #expect(try await ids(AlertFilter(category: .metrics)) == ["a", "c", "d"])
            #expect(try await ids(AlertFilter(severity: .error)) == ["b", "c", "d"])
            #expect(try await ids(AlertFilter(labels: ["node": "n1"])) == ["a", "d"])
            #expect(try await ids(AlertFilter(labels: ["node": "n1", "alertname": "HighLoad"])) == ["d"])
            #expect(try await ids(AlertFilter(category: .metrics, severity: .error)) == ["c", "d"])
            #expect(try await ids(AlertFilter(category: .metrics, severity: .error, labels: ["node": "n3"])) == ["c"])
            #expect(try await ids(AlertFilter(labels: ["node": "n9"])).isEmpty)
            #expect(try await ids(AlertFilter(category: .nodes)).isEmpty)
            #expect(try await store.openAlerts(AlertFilter(limit: 2)).count == 2)
            #expect(try await store.openAlerts(AlertFilter(labels: ["node": "n1"], limit: 1)).count == 1)
        }
    }
}

@Suite("Store: concurrency")
struct StoreConcurrencyTests {
    @Test(
        "20 concurrent ingests of 50 distinct events each all succeed and store every event once (SQLite: in shared transactions)",
        arguments: StoreKind.allCases
    )
    func concurrentIngest(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let planner = makePlanner()
            let results = try await withThrowingTaskGroup(of: [IngestedEvent].self) { group in
                for batch in 0..<20 {
                    group.addTask {
                        let events = (0..<50).map { index in
                            index.isMultiple(of: 2)
                                ? storeAlert(id: "b\(batch)-e\(index)", severity: .error, node: "b\(batch)-n\(index)")
                                : storeNotification(id: "b\(batch)-e\(index)")
                        }
                        return try await store.ingest(events, planner: planner)
                    }
                }
                var all: [[IngestedEvent]] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.count == 20)
            #expect(results.allSatisfy { $0.count == 50 })
            // SQLite's group commit: requests that queued while a transaction ran shared the next one.
            if kind == .sqlite {
                let sqlite = try #require(store as? SQLiteStore)
                #expect(sqlite.committedTransactions < 20, "\(sqlite.committedTransactions) transactions for 20 concurrent requests")
                print("group commit: 20 concurrent requests in \(sqlite.committedTransactions) transactions")
            }
            let flat = results.flatMap { $0 }
            #expect(flat.allSatisfy { $0.outcome == .opened || $0.outcome == .notified }, "an event was not processed")
            let expected = Set((0..<20).flatMap { batch in (0..<50).map { "b\(batch)-e\($0)" } })
            #expect(Set(flat.map(\.id)) == expected)

            let counts = try await store.counts()
            #expect(counts.events == 1_000)
            #expect(counts.alerts == 500)
            #expect(counts.deliveries == 500 * 2 + 500)
            let history = try await store.events(before: nil, limit: 5_000)
            #expect(history.count == 1_000)
            #expect(Set(history.map(\.event.id)) == expected)
            #expect(Set(history.map(\.sequence)).count == 1_000)
        }
    }

    @Test("concurrent posts of the same events store each once, and exactly one post processes each", arguments: StoreKind.allCases)
    func concurrentDuplicates(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let planner = makePlanner()
            let events = (0..<50).map { storeNotification(id: "same-\($0)") }
            let results = try await withThrowingTaskGroup(of: [IngestedEvent].self) { group in
                for _ in 0..<10 {
                    group.addTask { try await store.ingest(events, planner: planner) }
                }
                var all: [IngestedEvent] = []
                for try await result in group { all += result }
                return all
            }
            #expect(results.count == 500)
            let processed = results.filter { $0.outcome != nil }
            #expect(processed.count == 50)
            #expect(Set(processed.map(\.id)).count == 50)
            let counts = try await store.counts()
            #expect(counts.events == 50)
            #expect(counts.deliveries == 50)
        }
    }
}
