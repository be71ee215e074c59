import Foundation
import Testing
import TocsinCore
import TocsinStore

/// Two `PostgresStore`s on one schema, as two Tocsin instances sharing a database: what one writes, the other
/// must see at once, and racing each other must not make anything twice.
@Suite("PostgreSQL: several instances on one database")
struct StoreMultiInstanceTests {
    /// group_by alertname, group_wait 30s, group_interval 5m, repeat_interval 1h.
    static let grouped = NoiseSettings(
        grouping: GroupingPolicy(
            groupBy: .labels(["alertname"]),
            groupWait: .seconds(30),
            groupInterval: .seconds(300),
            repeatInterval: .seconds(3_600)
        )
    )

    static let integrations = ["ops-hook", "alert-log"]

    /// Runs both ingests at once.
    static func ingestConcurrently(
        _ first: any Store,
        _ firstEvents: [Event],
        _ second: any Store,
        _ secondEvents: [Event],
        noise: NoiseSettings = .standard
    ) async throws -> ([IngestedEvent], [IngestedEvent]) {
        async let one = first.ingest(firstEvents, records: [], planner: makePlanner(), noise: noise)
        async let two = second.ingest(secondEvents, records: [], planner: makePlanner(), noise: noise)
        let (a, b) = try await (one, two)
        return (a.events, b.events)
    }

    /// The fingerprints an integration was told opened, with how many times each.
    static func opensTold(_ store: any Store, _ integration: String) async throws -> [String: Int] {
        var told: [String: Int] = [:]
        for due in try await store.outbox(integration: integration, limit: 10_000) where due.notification.type == .open {
            told[due.notification.event.fingerprint ?? "?", default: 0] += 1
        }
        return told
    }

    @Test("the same alert event posted to both instances at once is stored once and notified once per integration")
    func sameEventBothInstances() async throws {
        try await withTwoInstances { first, second in
            let rounds = 20
            for round in 0..<rounds {
                let event = storeAlert(id: "evt-\(round)", severity: .error, node: "n\(round)")
                let (a, b) = try await Self.ingestConcurrently(first, [event], second, [event])
                let outcomes = (a + b).map(\.outcome)
                #expect(outcomes.compactMap { $0 } == [.opened], "round \(round): outcomes \(outcomes)")
            }
            let counts = try await second.counts()
            #expect(counts.events == rounds)
            #expect(counts.alerts == rounds)
            #expect(counts.deliveries == rounds * 2)
            #expect(try await first.openAlerts(AlertFilter()).count == rounds)
            for integration in Self.integrations {
                let told = try await Self.opensTold(first, integration)
                #expect(told.count == rounds, "\(integration): \(told.count) alerts told")
                #expect(told.values.allSatisfy { $0 == 1 }, "\(integration) was told an alert opened more than once: \(told.filter { $0.value > 1 })")
            }
        }
    }

    @Test("two events of one alert (different ids, one fingerprint) posted to both instances at once open it once")
    func sameFingerprintBothInstances() async throws {
        try await withTwoInstances { first, second in
            let rounds = 20
            for round in 0..<rounds {
                let viaFirst = storeAlert(id: "x-\(round)-a", severity: .error, node: "m\(round)")
                let viaSecond = storeAlert(id: "x-\(round)-b", severity: .error, node: "m\(round)")
                #expect(viaFirst.fingerprint == viaSecond.fingerprint)
                let (a, b) = try await Self.ingestConcurrently(first, [viaFirst], second, [viaSecond])
                let outcomes = (a + b).map(\.outcome)
                #expect(outcomes.filter { $0 == .opened }.count == 1, "round \(round): outcomes \(outcomes)")
                #expect(outcomes.filter { $0 == .updated }.count == 1, "round \(round): outcomes \(outcomes)")
            }
            let counts = try await first.counts()
            #expect(counts.events == rounds * 2)
            #expect(counts.alerts == rounds)
            #expect(counts.deliveries == rounds * 2, "one open per alert and integration")
            for integration in Self.integrations {
                let told = try await Self.opensTold(second, integration)
                #expect(told.count == rounds, "\(integration): \(told.count) alerts told")
                #expect(told.values.allSatisfy { $0 == 1 }, "\(integration) was told an alert opened more than once: \(told.filter { $0.value > 1 })")
            }
        }
    }

    @Test("a silence saved through one instance mutes an alert ingested through the other right afterwards; its end unmutes it there")
    func silenceAcrossInstances() async throws {
        try await withTwoInstances { first, second in
            // The second instance works first, so anything it keeps about silences predates the silence.
            let before = try await second.ingest(
                [storeAlert(id: "before", severity: .error, node: "n0")],
                records: [],
                planner: makePlanner(),
                noise: .standard
            )
            #expect(before.events.first?.outcome == .opened)
            #expect(try await second.silences(endingAfter: storeT0).isEmpty)

            let silence = Silence(
                id: "s-1",
                matchers: [try LabelMatcher.parse("node=\"n1\"")],
                startsAt: storeT0.addingTimeInterval(-60),
                endsAt: storeT0.addingTimeInterval(3_600),
                createdBy: "ops",
                comment: "maintenance",
                createdAt: storeT0.addingTimeInterval(-60),
                updatedAt: storeT0.addingTimeInterval(-60)
            )
            try await first.saveSilence(silence, now: storeT0)
            #expect(try await second.silences(endingAfter: storeT0).map(\.id) == ["s-1"])
            #expect(try await second.silence(id: "s-1") == silence)

            let mutedAt = storeT0.addingTimeInterval(1)
            let muted = storeAlert(id: "muted", severity: .error, node: "n1", at: mutedAt)
            let other = storeAlert(id: "other", severity: .error, node: "n2", at: mutedAt)
            let results = try await second.ingest([muted, other], records: [], planner: makePlanner(now: mutedAt), noise: .standard)
            #expect(results.events.map(\.outcome) == [.silenced, .opened], "the silence saved through the first instance was not applied")
            for integration in Self.integrations {
                let told = try await second.outbox(integration: integration, limit: 100).map(\.notification.id)
                #expect(told == ["before", "other"], "\(integration) was told \(told)")
            }

            // The silence ends early, through the first instance; the second looks at the muted alert's group.
            let endAt = storeT0.addingTimeInterval(10)
            var ended = silence
            ended.endsAt = endAt
            ended.updatedAt = endAt
            try await first.saveSilence(ended, now: endAt)
            #expect(try await second.nextGroupLook() == endAt)
            #expect(try await second.flushDueGroups(now: endAt, noise: .standard, limit: 100) == Set(Self.integrations))
            for integration in Self.integrations {
                let told = try await Self.opensTold(first, integration)
                #expect(told[muted.fingerprint!] == 1, "\(integration) was not told of the alert once its silence ended")
            }
            let after = storeAlert(id: "after", severity: .error, node: "n1", alertname: "CPU", at: endAt)
            let afterResult = try await second.ingest([after], records: [], planner: makePlanner(now: endAt), noise: .standard)
            #expect(afterResult.events.first?.outcome == .opened)
        }
    }

    @Test("groups flushed by both instances at once are told once per integration")
    func groupFlushBothInstances() async throws {
        try await withTwoInstances { first, second in
            let groups = 5
            var events: [Event] = []
            for group in 0..<groups {
                for node in 1...3 {
                    events.append(storeAlert(id: "g\(group)-n\(node)", severity: .error, node: "n\(node)", alertname: "Alert\(group)"))
                }
            }
            let admitted = try await first.ingest(events, records: [], planner: makePlanner(), noise: Self.grouped)
            #expect(admitted.events.allSatisfy { $0.outcome == .opened })
            #expect(try await second.counts().deliveries == 0, "group_wait: nothing is told at once")
            let due = storeT0.addingTimeInterval(30)
            #expect(try await second.nextGroupLook() == due)

            async let toldByFirst = first.flushDueGroups(now: due, noise: Self.grouped, limit: 500)
            async let toldBySecond = second.flushDueGroups(now: due, noise: Self.grouped, limit: 500)
            let (one, two) = try await (toldByFirst, toldBySecond)
            #expect(one.union(two) == Set(Self.integrations))
            for integration in Self.integrations {
                let told = try await second.outbox(integration: integration, limit: 100).map(\.notification)
                #expect(told.count == groups, "\(integration) was told \(told.count) notifications for \(groups) groups")
                #expect(Set(told.compactMap { $0.group?.dedupKey }).count == groups)
                #expect(told.allSatisfy { $0.group?.alerts.count == 3 })
            }
            #expect(try await first.counts().deliveries == groups * 2)
            let stored = try await first.alertGroups(limit: 100)
            #expect(stored.count == groups * 2)
            #expect(stored.allSatisfy { $0.notificationCount == 1 }, "\(stored.map(\.notificationCount))")

            // A fourth alert joins every group through the second instance; the instances look at the next due
            // instant a second apart, at once.
            let joinAt = storeT0.addingTimeInterval(40)
            let joins = (0..<groups).map { storeAlert(id: "g\($0)-n4", severity: .error, node: "n4", alertname: "Alert\($0)", at: joinAt) }
            let joined = try await second.ingest(joins, records: [], planner: makePlanner(now: joinAt), noise: Self.grouped)
            #expect(joined.events.allSatisfy { $0.outcome == .opened })
            let next = try #require(try await first.nextGroupLook())
            #expect(next > joinAt)
            async let again = first.flushDueGroups(now: next, noise: Self.grouped, limit: 500)
            async let againLater = second.flushDueGroups(now: next.addingTimeInterval(1), noise: Self.grouped, limit: 500)
            let (three, four) = try await (again, againLater)
            #expect(three.union(four) == Set(Self.integrations))
            for integration in Self.integrations {
                let told = try await first.outbox(integration: integration, limit: 100).map(\.notification)
                #expect(told.count == groups * 2, "\(integration) was told \(told.count) notifications for \(groups) groups' two looks")
            }
            #expect(try await second.alertGroups(limit: 100).allSatisfy { $0.notificationCount == 2 })
        }
    }

    @Test("claims from both instances at once never hand out one delivery twice, and together take them all")
    func claimsAcrossInstances() async throws {
        try await withTwoInstances { first, second in
            let ids = (0..<200).map { "n-\($0)" }
            _ = try await first.ingest(ids.map { storeNotification(id: $0) }, planner: makePlanner())
            let now = storeT0.addingTimeInterval(1)
            let claimers = (0..<8).map { claimer in
                claimer.isMultiple(of: 2)
                    ? (store: first as any Store, owner: "instance-a-\(claimer)") : (store: second, owner: "instance-b-\(claimer)")
            }
            let claims = try await claimConcurrently(claimers, total: ids.count, now: now, limit: 5)
            let claimedIDs = claims.map(\.due.notification.id)
            let duplicates = Dictionary(grouping: claimedIDs, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            #expect(duplicates.isEmpty, "handed out more than once: \(duplicates)")
            #expect(Set(claimedIDs) == Set(ids))
            #expect(claims.allSatisfy { $0.due.delivery.lease?.owner == $0.owner })
            // What a claim answered is what the rows hold.
            for claim in claims.prefix(20) {
                #expect(try await second.delivery(id: claim.due.delivery.id)?.lease == claim.due.delivery.lease)
            }
            #expect(try await first.dueDeliveries(integration: "alert-log", now: now, limit: 10).isEmpty)
        }
    }

    @Test("migrate run by both instances at once on a fresh schema succeeds, and both agree on the version")
    func concurrentMigrate() async throws {
        for attempt in 0..<3 {
            try await withTwoInstances(migrate: false) { first, second in
                async let one: Void = first.migrate()
                async let two: Void = second.migrate()
                _ = try await (one, two)
                let versions = (try await first.schemaVersion(), try await second.schemaVersion())
                #expect(versions.0 == versions.1, "attempt \(attempt)")
                #expect(versions.0 == expectedSchemaVersion(.postgres), "attempt \(attempt)")
                // Both work on the one schema, and migrating again is harmless.
                _ = try await first.ingest([storeNotification(id: "n-\(attempt)")], planner: makePlanner())
                #expect(try await second.counts().events == 1)
                async let three: Void = first.migrate()
                async let four: Void = second.migrate()
                _ = try await (three, four)
                #expect(try await second.schemaVersion() == versions.0)
                #expect(try await first.counts().events == 1)
            }
        }
    }
}
