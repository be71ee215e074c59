import Foundation
import Testing
import TocsinCore

@Suite("Alert lifecycle (EventProcessor.plan)")
struct AlertLifecycleTests {
    /// info → chat; warning → chat + ops-hook; error (and critical) → pager.
    static let routing = RoutingMatrix(
        global: [
            .info: RoutingCell(integrations: ["chat"]),
            .warning: RoutingCell(integrations: ["chat", "ops-hook"]),
            .error: RoutingCell(integrations: ["pager"]),
        ]
    )

    /// A routing changed after the alert opened: everything goes elsewhere.
    static let changedRouting = RoutingMatrix(defaultRoute: ["someone-else"])

    static let labels = ["alertname": "DiskFull", "node": "n3"]
    static let fingerprint = Fingerprint.of(labels: labels)

    func process(_ event: Event, _ current: AlertRecord?, routing: RoutingMatrix = routing) -> EventPlan {
        EventProcessor.plan(event: event, current: current, routing: routing, now: event.receivedAt)
    }

    /// Opens the alert at `severity` and returns the stored state.
    func opened(_ severity: Severity, endsAt: Date? = nil) throws -> AlertRecord {
        let plan = process(alertEvent(id: "open-1", severity: severity, at: coreT0, endsAt: endsAt), nil)
        #expect(plan.outcome == .opened)
        return try #require(plan.alert)
    }

    @Test("a new alert opens and is notified to its route")
    func opens() throws {
        let event = alertEvent(id: "e1", severity: .warning, at: coreT0, endsAt: coreT0.addingTimeInterval(300))
        let plan = process(event, nil)
        #expect(plan.outcome == .opened)
        #expect(plan.integrations == ["chat", "ops-hook"])
        #expect(plan.route?.integrations == ["chat", "ops-hook"])
        let notification = try #require(plan.notification)
        #expect(notification.type == .open)
        #expect(notification.id == "e1")
        #expect(notification.event.fingerprint == Self.fingerprint)
        #expect(notification.alertStartsAt == coreT0)
        #expect(notification.createdAt == coreT0)
        let alert = try #require(plan.alert)
        #expect(alert.fingerprint == Self.fingerprint)
        #expect(alert.status == .open)
        #expect(alert.severity == .warning)
        #expect(alert.notifiedIntegrations == ["chat", "ops-hook"])
        #expect(alert.notifiedSeverity == .warning)
        #expect(alert.expiresAt == coreT0.addingTimeInterval(300))
        #expect(alert.lastEventID == "e1")
        #expect(alert.resolvedAt == nil)
    }

    @Test("an alert without a fingerprint is identified by its labels")
    func fingerprintFromLabels() throws {
        var event = alertEvent(id: "e1", severity: .info, at: coreT0)
        event.fingerprint = nil
        let plan = process(event, nil)
        #expect(plan.alert?.fingerprint == Self.fingerprint)
        #expect(plan.notification?.event.fingerprint == Self.fingerprint)
    }

    @Test("re-sending at the same severity updates the state and notifies nobody")
    func resendSameSeverity() throws {
        let current = try opened(.warning)
        let later = coreT0.addingTimeInterval(60)
        let resend = alertEvent(id: "e2", severity: .warning, summary: "Disk still full", at: later, endsAt: later.addingTimeInterval(300))
        let plan = process(resend, current)
        #expect(plan.outcome == .updated)
        #expect(plan.notification == nil)
        #expect(plan.integrations.isEmpty)
        let alert = try #require(plan.alert)
        #expect(alert.status == .open)
        #expect(alert.lastSeenAt == later)
        #expect(alert.lastEventID == "e2")
        #expect(alert.summary == "Disk still full")
        #expect(alert.expiresAt == later.addingTimeInterval(300))
        #expect(alert.startsAt == coreT0)
        #expect(alert.notifiedIntegrations == ["chat", "ops-hook"])
    }

    @Test("a lower severity updates and notifies nobody")
    func lowerSeverity() throws {
        let current = try opened(.error)
        let plan = process(alertEvent(id: "e2", severity: .info, at: coreT0.addingTimeInterval(60)), current)
        #expect(plan.outcome == .updated)
        #expect(plan.notification == nil)
        #expect(plan.integrations.isEmpty)
        #expect(plan.alert?.severity == .info)
        #expect(plan.alert?.notifiedSeverity == .error)
        #expect(plan.alert?.notifiedIntegrations == ["pager"])
    }

    @Test("falling and rising back to the notified severity does not notify again")
    func fallAndRiseBack() throws {
        let current = try opened(.warning)
        let fallen = try #require(process(alertEvent(id: "e2", severity: .info, at: coreT0.addingTimeInterval(60)), current).alert)
        let plan = process(alertEvent(id: "e3", severity: .warning, at: coreT0.addingTimeInterval(120)), fallen)
        #expect(plan.outcome == .updated)
        #expect(plan.notification == nil)
    }

    @Test("a higher severity escalates to the union of who knows and the new route")
    func escalates() throws {
        let current = try opened(.info)
        #expect(current.notifiedIntegrations == ["chat"])
        let plan = process(alertEvent(id: "e2", severity: .error, at: coreT0.addingTimeInterval(60)), current)
        #expect(plan.outcome == .escalated)
        #expect(plan.integrations == ["chat", "pager"])
        let notification = try #require(plan.notification)
        #expect(notification.type == .open)
        #expect(notification.id == "e2")
        #expect(notification.event.severity == .error)
        #expect(notification.alertStartsAt == coreT0)
        let alert = try #require(plan.alert)
        #expect(alert.notifiedIntegrations == ["chat", "pager"])
        #expect(alert.notifiedSeverity == .error)
        #expect(alert.startsAt == coreT0)
    }

    @Test("escalation lists an integration that is in both sets once")
    func escalationWithoutDuplicates() throws {
        let current = try opened(.info)
        let plan = process(alertEvent(id: "e2", severity: .warning, at: coreT0.addingTimeInterval(60)), current)
        #expect(plan.outcome == .escalated)
        #expect(plan.integrations == ["chat", "ops-hook"])
    }

    @Test("the resolve goes to exactly the integrations told it opened, whatever the routing says now")
    func resolveGoesToNotified() throws {
        let opened = try opened(.info)
        let escalated = try #require(process(alertEvent(id: "e2", severity: .error, at: coreT0.addingTimeInterval(60)), opened).alert)
        let resolvedAt = coreT0.addingTimeInterval(600)
        let resolve = Event(
            id: "e3",
            kind: .alert,
            severity: .info,
            category: .metrics,
            status: .resolved,
            summary: "",
            startsAt: resolvedAt,
            receivedAt: resolvedAt,
            fingerprint: Self.fingerprint
        )
        let plan = process(resolve, escalated, routing: Self.changedRouting)
        #expect(plan.outcome == .resolved)
        #expect(plan.integrations == ["chat", "pager"])
        #expect(!plan.integrations.contains("someone-else"))
        let notification = try #require(plan.notification)
        #expect(notification.type == .resolve)
        #expect(notification.id == "e3")
        #expect(notification.alertStartsAt == coreT0)
        // The recovery describes the alert as it was notified.
        #expect(notification.event.summary == "Disk almost full on n3")
        #expect(notification.event.severity == .error)
        #expect(notification.event.labels == Self.labels)
        let alert = try #require(plan.alert)
        #expect(alert.status == .resolved)
        #expect(alert.resolvedAt == resolvedAt)
        #expect(alert.notifiedIntegrations.isEmpty)
        #expect(alert.notifiedSeverity == nil)
        #expect(alert.expiresAt == nil)
        #expect(alert.lastEventID == "e3")
    }

    @Test("the resolved time is the event's endsAt when it gives one")
    func resolvedAtFromEndsAt() throws {
        let current = try opened(.warning)
        let endsAt = coreT0.addingTimeInterval(500)
        let resolve = alertEvent(id: "e2", severity: .warning, status: .resolved, at: coreT0.addingTimeInterval(900), endsAt: endsAt)
        #expect(process(resolve, current).alert?.resolvedAt == endsAt)
    }

    @Test("a resolve of an unknown alert is ignored")
    func resolveUnknown() {
        let plan = process(alertEvent(id: "e1", severity: .warning, status: .resolved, at: coreT0), nil)
        #expect(plan.outcome == .ignored)
        #expect(plan.alert == nil)
        #expect(plan.notification == nil)
        #expect(plan.integrations.isEmpty)
    }

    @Test("a resolve of an already resolved alert is ignored")
    func resolveTwice() throws {
        let current = try opened(.warning)
        let resolve = alertEvent(id: "e2", severity: .warning, status: .resolved, at: coreT0.addingTimeInterval(60))
        let resolved = try #require(process(resolve, current).alert)
        let again = alertEvent(id: "e3", severity: .warning, status: .resolved, at: coreT0.addingTimeInterval(120))
        let plan = process(again, resolved)
        #expect(plan.outcome == .ignored)
        #expect(plan.notification == nil)
        #expect(plan.integrations.isEmpty)
        #expect(plan.alert == nil)
    }

    @Test("firing again after a resolve opens the alert anew")
    func refireAfterResolve() throws {
        let current = try opened(.error)
        let resolve = alertEvent(id: "e2", severity: .error, status: .resolved, at: coreT0.addingTimeInterval(60))
        let resolved = try #require(process(resolve, current).alert)
        let refireAt = coreT0.addingTimeInterval(3_600)
        let plan = process(alertEvent(id: "e3", severity: .info, at: refireAt), resolved)
        #expect(plan.outcome == .opened)
        #expect(plan.integrations == ["chat"])
        #expect(plan.notification?.type == .open)
        let alert = try #require(plan.alert)
        #expect(alert.status == .open)
        #expect(alert.startsAt == refireAt)
        #expect(alert.resolvedAt == nil)
        #expect(alert.notifiedIntegrations == ["chat"])
        #expect(alert.notifiedSeverity == .info)
    }

    @Test("an alert that nothing routes is kept open but unrouted; its resolve tells nobody")
    func unroutedAlert() throws {
        let plan = process(alertEvent(id: "e1", severity: .critical, at: coreT0), nil, routing: RoutingMatrix())
        #expect(plan.outcome == .unrouted)
        #expect(plan.notification == nil)
        #expect(plan.integrations.isEmpty)
        let alert = try #require(plan.alert)
        #expect(alert.status == .open)
        #expect(alert.notifiedIntegrations.isEmpty)
        let resolve = self.process(alertEvent(id: "e2", severity: .critical, status: .resolved, at: coreT0.addingTimeInterval(60)), alert)
        #expect(resolve.outcome == .resolved)
        #expect(resolve.notification == nil)
        #expect(resolve.integrations.isEmpty)
        #expect(resolve.alert?.status == .resolved)
    }

    @Test("a notification is notified to its route, or unrouted")
    func notifications() throws {
        let routed = process(notificationEvent(id: "n1", severity: .info, category: .backups, at: coreT0), nil)
        #expect(routed.outcome == .notified)
        #expect(routed.integrations == ["chat"])
        #expect(routed.alert == nil)
        let notification = try #require(routed.notification)
        #expect(notification.type == .notification)
        #expect(notification.id == "n1")
        #expect(notification.alertStartsAt == nil)

        let unrouted = process(notificationEvent(id: "n2", severity: .info, category: .backups, at: coreT0), nil, routing: RoutingMatrix())
        #expect(unrouted.outcome == .unrouted)
        #expect(unrouted.notification == nil)
        #expect(unrouted.integrations.isEmpty)
        #expect(unrouted.route?.isUnrouted == true)
    }

    @Test("the expiry event resolves an alert that was not sent again")
    func expiryResolves() throws {
        let current = try opened(.warning, endsAt: coreT0.addingTimeInterval(300))
        let sweep = coreT0.addingTimeInterval(301)
        let expiry = EventProcessor.expiryEvent(for: current, now: sweep)
        #expect(expiry.source == .expiry)
        #expect(expiry.kind == .alert)
        #expect(expiry.status == .resolved)
        #expect(expiry.fingerprint == current.fingerprint)
        #expect(expiry.receivedAt == sweep)
        #expect(expiry.endsAt == coreT0.addingTimeInterval(300))
        #expect(EventProcessor.expiryEvent(for: current, now: sweep.addingTimeInterval(5)).id == expiry.id)
        let plan = process(expiry, current, routing: Self.changedRouting)
        #expect(plan.outcome == .resolved)
        #expect(plan.integrations == ["chat", "ops-hook"])
        #expect(plan.notification?.type == .resolve)
        #expect(plan.alert?.resolvedAt == coreT0.addingTimeInterval(300))
    }

    @Test("a stale expiry loses to a re-send that moved expiresAt past it")
    func staleExpiryIgnored() throws {
        let current = try opened(.warning, endsAt: coreT0.addingTimeInterval(300))
        // The sweeper read the alert and decided it expired at t0+301...
        let expiry = EventProcessor.expiryEvent(for: current, now: coreT0.addingTimeInterval(301))
        // ...but meanwhile a re-send moved expiresAt on.
        let resendAt = coreT0.addingTimeInterval(290)
        let resend = alertEvent(id: "e2", severity: .warning, at: resendAt, endsAt: resendAt.addingTimeInterval(300))
        let refreshed = try #require(process(resend, current).alert)
        let plan = process(expiry, refreshed)
        #expect(plan.outcome == .ignored)
        #expect(plan.notification == nil)
        #expect(plan.alert == nil)
    }

    @Test("an expiry whose expiresAt is exactly at the sweep still resolves")
    func expiryAtBoundary() throws {
        let current = try opened(.warning, endsAt: coreT0.addingTimeInterval(300))
        let expiry = EventProcessor.expiryEvent(for: current, now: coreT0.addingTimeInterval(300))
        #expect(process(expiry, current).outcome == .resolved)
    }
}
