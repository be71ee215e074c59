import Foundation
import Testing
import TocsinCore
import TocsinStore

@Suite("Store: ingest")
struct StoreIngestTests {
    @Test("ingest stores the event, the alert, the notification and one delivery per routed integration", arguments: StoreKind.allCases)
    func ingestWritesEverything(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let event = storeAlert(id: "evt-1", severity: .error)
            let results = try await store.ingest([event], planner: makePlanner())
            #expect(results.count == 1)
            #expect(results.first?.id == "evt-1")
            #expect(results.first?.outcome == .opened)
            #expect(results.first?.integrations == ["ops-hook", "alert-log"])

            let counts = try await store.counts()
            #expect(counts.events == 1)
            #expect(counts.alerts == 1)
            #expect(counts.deliveries == 2)

            let history = try await store.events(before: nil, limit: 10)
            #expect(history.count == 1)
            #expect(history.first?.event == event)
            #expect(history.first?.outcome == .opened)
            #expect(history.first?.integrations == ["ops-hook", "alert-log"])

            let alerts = try await store.openAlerts(AlertFilter())
            #expect(alerts.map(\.fingerprint) == [event.fingerprint])
            #expect(alerts.first?.notifiedIntegrations == ["ops-hook", "alert-log"])
            #expect(alerts.first?.lastEventID == "evt-1")

            for integration in ["ops-hook", "alert-log"] {
                let delivery = try await requireDelivery(store, notification: "evt-1", integration: integration)
                #expect(delivery.status == .pending)
                #expect(delivery.attempts == 0)
                #expect(delivery.integration == integration)
                #expect(delivery.orderKey == event.fingerprint)
                #expect(delivery.nextAttemptAt == storeT0)
                let due = try await store.dueDeliveries(integration: integration, now: storeT0, limit: 10)
                #expect(due.map(\.delivery.id) == [delivery.id])
                let notification = try #require(due.first?.notification)
                #expect(notification.id == "evt-1")
                #expect(notification.type == .open)
                #expect(notification.event.summary == event.summary)
                #expect(notification.alertStartsAt == storeT0)
            }
        }
    }

    @Test("a batch mixes alerts and notifications; an unrouted event is recorded without deliveries", arguments: StoreKind.allCases)
    func batchAndUnrouted(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let routed = try await store.ingest(
                [storeAlert(id: "a-1", severity: .warning), storeNotification(id: "n-1")],
                planner: makePlanner()
            )
            #expect(routed.map(\.outcome) == [.opened, .notified])
            #expect(routed.map(\.integrations) == [["ops-hook"], ["alert-log"]])

            let unrouted = try await store.ingest([storeNotification(id: "n-2")], planner: makePlanner(routing: RoutingMatrix()))
            #expect(unrouted.first?.outcome == .unrouted)
            #expect(unrouted.first?.integrations == [])

            let counts = try await store.counts()
            #expect(counts.events == 3)
            #expect(counts.alerts == 1)
            #expect(counts.deliveries == 2)
            let history = try await store.events(before: nil, limit: 10)
            #expect(history.first?.event.id == "n-2")
            #expect(history.first?.outcome == .unrouted)
        }
    }

    @Test("an ingest whose writes fail stores nothing of the batch", arguments: StoreKind.allCases)
    func ingestIsAtomic(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            // The second event's plan reuses the first notification's id: the insert fails mid-batch.
            let colliding: EventPlanner = { event, current in
                var plan = EventProcessor.plan(event: event, current: current, routing: storeRouting, now: storeT0)
                plan.notification?.id = "n-1"
                return plan
            }
            await #expect(throws: (any Error).self) {
                _ = try await store.ingest([storeNotification(id: "n-1"), storeNotification(id: "n-2")], planner: colliding)
            }
            let counts = try await store.counts()
            #expect(counts.events == 0)
            #expect(counts.alerts == 0)
            #expect(counts.deliveries == 0)
            // The store is still usable, and the ids were not burnt.
            let results = try await store.ingest([storeNotification(id: "n-1")], planner: makePlanner())
            #expect(results.first?.outcome == .notified)
        }
    }

    @Test("re-ingesting an event id returns no outcome and changes nothing", arguments: StoreKind.allCases)
    func reingestIsHarmless(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let event = storeAlert(id: "evt-1", severity: .error)
            _ = try await store.ingest([event], planner: makePlanner())
            let before = try await store.counts()
            let alertBefore = try await store.openAlerts(AlertFilter())

            var changed = event
            changed.severity = .critical
            changed.summary = "something else"
            let later = storeT0.addingTimeInterval(60)
            let again = try await store.ingest([event, changed], planner: makePlanner(now: later))
            #expect(again.map(\.id) == ["evt-1", "evt-1"])
            #expect(again.allSatisfy { $0.outcome == nil && $0.integrations.isEmpty })

            let after = try await store.counts()
            #expect(after == before)
            #expect(try await store.openAlerts(AlertFilter()) == alertBefore)
            #expect(try await store.events(before: nil, limit: 10).map(\.event.summary) == [event.summary])
        }
    }

    @Test("the same id twice in one call is stored once", arguments: StoreKind.allCases)
    func duplicateWithinOneCall(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let event = storeNotification(id: "n-1")
            let results = try await store.ingest([event, event], planner: makePlanner())
            #expect(results.map(\.outcome) == [.notified, nil])
            #expect(try await store.counts().events == 1)
            #expect(try await store.counts().deliveries == 1)
        }
    }

    @Test("alert state carries from one ingest to the next: update, escalate, resolve", arguments: StoreKind.allCases)
    func lifecycleThroughTheStore(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let open = try await store.ingest([storeAlert(id: "e1", severity: .warning)], planner: makePlanner())
            #expect(open.first?.outcome == .opened)
            let again = try await store.ingest([storeAlert(id: "e2", severity: .warning)], planner: makePlanner())
            #expect(again.first?.outcome == .updated)
            let escalated = try await store.ingest([storeAlert(id: "e3", severity: .error)], planner: makePlanner())
            #expect(escalated.first?.outcome == .escalated)
            #expect(escalated.first?.integrations == ["ops-hook", "alert-log"])
            // The routing changes; the resolve still goes to who was told.
            let resolved = try await store.ingest(
                [storeAlert(id: "e4", severity: .info, status: .resolved)],
                planner: makePlanner(routing: RoutingMatrix(defaultRoute: ["someone-else"]))
            )
            #expect(resolved.first?.outcome == .resolved)
            #expect(resolved.first?.integrations == ["ops-hook", "alert-log"])
            #expect(try await store.openAlerts(AlertFilter()).isEmpty)
            let ignored = try await store.ingest([storeAlert(id: "e5", severity: .info, status: .resolved)], planner: makePlanner())
            #expect(ignored.first?.outcome == .ignored)
            let counts = try await store.counts()
            #expect(counts.events == 5)
            #expect(counts.alerts == 1)
            #expect(counts.deliveries == 1 + 2 + 2)
        }
    }

    @Test("alert state changed by an earlier event in the same call is seen by the next", arguments: StoreKind.allCases)
    func sameCallSequence(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let results = try await store.ingest(
                [
                    storeAlert(id: "e1", severity: .warning),
                    storeAlert(id: "e2", severity: .error),
                    storeAlert(id: "e3", severity: .error, status: .resolved),
                ],
                planner: makePlanner()
            )
            #expect(results.map(\.outcome) == [.opened, .escalated, .resolved])
            #expect(results.last?.integrations == ["ops-hook", "alert-log"])
        }
    }

    @Test("migrate twice is harmless", arguments: StoreKind.allCases)
    func migrateTwice(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.ingest([storeAlert(id: "evt-1", severity: .error)], planner: makePlanner())
            try await store.migrate()
            try await store.migrate()
            let counts = try await store.counts()
            #expect(counts.events == 1)
            #expect(counts.deliveries == 2)
            let more = try await store.ingest([storeNotification(id: "n-1")], planner: makePlanner())
            #expect(more.first?.outcome == .notified)
            try await store.ping()
        }
    }

    @Test("reopening the same database keeps everything", arguments: StoreKind.allCases)
    func reopenKeepsEverything(kind: StoreKind) async throws {
        try await withStoreLocation(kind) { location in
            let first = try await location.open(synchronousFull: true)
            let delivered: DeliveryRecord
            let before: (events: Int, alerts: Int, deliveries: Int)
            let historyBefore: [StoredEvent]
            do {
                _ = try await first.ingest(
                    [storeAlert(id: "evt-1", severity: .error), storeNotification(id: "n-1")],
                    planner: makePlanner()
                )
                let delivery = try await requireDelivery(first, notification: "evt-1", integration: "ops-hook")
                delivered = delivery.markedDelivered(at: storeT0.addingTimeInterval(2))
                try await first.recordAttempts([delivered])
                before = try await first.counts()
                historyBefore = try await first.events(before: nil, limit: 10)
            } catch {
                try? await first.close()
                throw error
            }
            try await first.close()

            let second = try await location.open()
            do {
                let after = try await second.counts()
                #expect(after == before)
                #expect(try await second.events(before: nil, limit: 10) == historyBefore)
                #expect(try await second.delivery(id: delivered.id) == delivered)
                let alerts = try await second.openAlerts(AlertFilter())
                #expect(alerts.map(\.notifiedIntegrations) == [["ops-hook", "alert-log"]])
                let resolve = try await second.ingest(
                    [storeAlert(id: "evt-2", severity: .error, status: .resolved, at: storeT0.addingTimeInterval(60))],
                    planner: makePlanner(routing: RoutingMatrix())
                )
                #expect(resolve.first?.outcome == .resolved)
                #expect(resolve.first?.integrations == ["ops-hook", "alert-log"])
            } catch {
                try? await second.close()
                throw error
            }
            try await second.close()
        }
    }
}
