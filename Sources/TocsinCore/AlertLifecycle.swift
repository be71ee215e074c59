import Foundation

/// Whether a stored alert is still firing.
public enum AlertStatus: String, Codable, Sendable {
    case open
    case resolved
}

/// The stored state of one alert (one fingerprint).
public struct AlertRecord: Codable, Sendable, Hashable {
    public var fingerprint: String
    public var status: AlertStatus
    public var severity: Severity
    public var category: Category
    public var labels: [String: String]
    public var summary: String
    public var description: String?
    public var links: [Link]
    public var startsAt: Date
    public var lastSeenAt: Date
    /// When the alert resolves itself unless it is sent again (Alertmanager's `endsAt`).
    public var expiresAt: Date?
    public var resolvedAt: Date?
    /// The integrations told that the alert opened in its current open period: its recovery goes to exactly these.
    public var notifiedIntegrations: [String]
    /// The highest severity notified in the current open period; only a rise above it notifies again.
    public var notifiedSeverity: Severity?
    public var lastEventID: String
    /// Who acknowledged the alert and when, in its current open period at its current severity.
    public var acknowledgedBy: String?
    public var acknowledgedAt: Date?

    public init(
        fingerprint: String,
        status: AlertStatus,
        severity: Severity,
        category: Category,
        labels: [String: String],
        summary: String,
        description: String?,
        links: [Link],
        startsAt: Date,
        lastSeenAt: Date,
        expiresAt: Date?,
        resolvedAt: Date?,
        notifiedIntegrations: [String],
        notifiedSeverity: Severity?,
        lastEventID: String,
        acknowledgedBy: String? = nil,
        acknowledgedAt: Date? = nil
    ) {
        self.fingerprint = fingerprint
        self.status = status
        self.severity = severity
        self.category = category
        self.labels = labels
        self.summary = summary
        self.description = description
        self.links = links
        self.startsAt = startsAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.resolvedAt = resolvedAt
        self.notifiedIntegrations = notifiedIntegrations
        self.notifiedSeverity = notifiedSeverity
        self.lastEventID = lastEventID
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
    }
}

/// What processing an event did, recorded with the event in the history.
public enum EventOutcome: String, Codable, Sendable, CaseIterable {
    /// An alert opened (or re-opened after it had resolved) and was notified.
    case opened
    /// An open alert's severity rose above what was notified, and it was notified again.
    case escalated
    /// An open alert was sent again without a rise in severity: state refreshed, nobody notified.
    case updated
    /// An open alert resolved; its recovery went to the integrations told it opened.
    case resolved
    /// A resolve for an alert that is unknown or already resolved: recorded and ignored.
    case ignored
    /// A notification was routed to at least one integration.
    case notified
    /// Nothing in the routing matrix, not even `default`, took the event.
    case unrouted
    /// An alert opened, escalated or resolved, and every integration's group left it out: a silence matched it.
    case silenced
    /// As `silenced`, but an open alert matching an inhibit rule muted it.
    case inhibited
}

/// What an outbound notification tells an integration.
public enum NotificationType: String, Codable, Sendable {
    /// An alert opened, or its severity rose.
    case open
    /// An alert is over.
    case resolve
    /// A one-off notification.
    case notification
    /// A batch of log records or metric samples (`records` holds them).
    case records
    /// Someone acknowledged the alert (or every firing alert of the group): incident platforms acknowledge it too.
    case acknowledge
}

/// One thing to tell integrations, made from one event. Its id is the event's id.
public struct NotificationRecord: Codable, Sendable, Hashable {
    public var id: String
    public var type: NotificationType
    public var event: Event
    /// For alerts: when the alert first opened in this period.
    public var alertStartsAt: Date?
    public var createdAt: Date
    /// For `records`: the log records or metric samples, all of them; the dispatcher hands each integration the
    /// ones its matchers accept.
    public var records: RecordBatch?
    /// For a group's notification: the group and its alerts (`event` then stands for the whole group).
    public var group: GroupPayload?

    public init(
        id: String,
        type: NotificationType,
        event: Event,
        alertStartsAt: Date?,
        createdAt: Date,
        records: RecordBatch? = nil,
        group: GroupPayload? = nil
    ) {
        self.id = id
        self.type = type
        self.event = event
        self.alertStartsAt = alertStartsAt
        self.createdAt = createdAt
        self.records = records
        self.group = group
    }
}

/// The plan for one event: how the alert's stored state changes and which deliveries the outbox gains.
public struct EventPlan: Sendable, Hashable {
    public var outcome: EventOutcome
    public var alert: AlertRecord?
    public var notification: NotificationRecord?
    /// The integrations the notification goes to (an outbox row each).
    public var integrations: [String]
    public var route: RouteDecision?

    public init(
        outcome: EventOutcome,
        alert: AlertRecord?,
        notification: NotificationRecord?,
        integrations: [String],
        route: RouteDecision?
    ) {
        self.outcome = outcome
        self.alert = alert
        self.notification = notification
        self.integrations = integrations
        self.route = route
    }
}

/// The alert state machine and the routing step, as one pure function of an event and the alert's current state.
public enum EventProcessor {
    public static func plan(event: Event, current: AlertRecord?, routing: RoutingMatrix, now: Date) -> EventPlan {
        switch event.kind {
        case .alert:
            return planAlert(event: event, current: current, routing: routing, now: now)
        case .notification, .log, .metric:
            let route = routing.route(event)
            let notification = NotificationRecord(id: event.id, type: .notification, event: event, alertStartsAt: nil, createdAt: now)
            return EventPlan(
                outcome: route.isUnrouted ? .unrouted : .notified,
                alert: nil,
                notification: route.isUnrouted ? nil : notification,
                integrations: route.integrations,
                route: route
            )
        }
    }

    private static func planAlert(event: Event, current: AlertRecord?, routing: RoutingMatrix, now: Date) -> EventPlan {
        let fingerprint = event.fingerprint ?? Fingerprint.of(labels: event.labels)
        let isOpen = current?.status == .open
        if event.status == .resolved {
            guard var alert = current, isOpen else {
                return EventPlan(outcome: .ignored, alert: nil, notification: nil, integrations: [], route: nil)
            }
            // An expiry decided on a stale read loses to a re-send that moved `expiresAt` on or removed it.
            if event.source == .expiry, alert.expiresAt.map({ $0 > event.receivedAt }) ?? true {
                return EventPlan(outcome: .ignored, alert: nil, notification: nil, integrations: [], route: nil)
            }
            alert.status = .resolved
            alert.resolvedAt = event.endsAt ?? event.receivedAt
            alert.lastSeenAt = event.receivedAt
            alert.lastEventID = event.id
            alert.expiresAt = nil
            var resolveEvent = event
            resolveEvent.fingerprint = fingerprint
            // The recovery describes the alert as it was notified, so that a resolve carrying only a key still reads well.
            resolveEvent.severity = alert.notifiedSeverity ?? alert.severity
            resolveEvent.category = alert.category
            if resolveEvent.summary.isEmpty { resolveEvent.summary = alert.summary }
            if resolveEvent.labels.isEmpty { resolveEvent.labels = alert.labels }
            if resolveEvent.description == nil { resolveEvent.description = alert.description }
            if resolveEvent.links.isEmpty { resolveEvent.links = alert.links }
            let targets = alert.notifiedIntegrations
            let notification = NotificationRecord(
                id: event.id,
                type: .resolve,
                event: resolveEvent,
                alertStartsAt: alert.startsAt,
                createdAt: now
            )
            alert.notifiedIntegrations = []
            alert.notifiedSeverity = nil
            alert.acknowledgedBy = nil
            alert.acknowledgedAt = nil
            return EventPlan(
                outcome: .resolved,
                alert: alert,
                notification: targets.isEmpty ? nil : notification,
                integrations: targets,
                route: nil
            )
        }

        let route = routing.route(event)
        if var alert = current, isOpen {
            alert.lastSeenAt = event.receivedAt
            alert.expiresAt = event.endsAt
            alert.lastEventID = event.id
            alert.severity = event.severity
            alert.labels = event.labels
            alert.summary = event.summary
            alert.description = event.description
            alert.links = event.links
            alert.category = event.category
            let notified = alert.notifiedSeverity
            guard notified == nil || event.severity > notified! else {
                return EventPlan(outcome: .updated, alert: alert, notification: nil, integrations: [], route: nil)
            }
            // A rise in severity is told to everyone who already knows plus whoever the new severity routes to.
            var targets = alert.notifiedIntegrations
            for name in route.integrations where !targets.contains(name) { targets.append(name) }
            if targets.isEmpty {
                return EventPlan(outcome: .unrouted, alert: alert, notification: nil, integrations: [], route: route)
            }
            alert.notifiedIntegrations = targets
            alert.notifiedSeverity = event.severity
            // An acknowledgement holds for the severity it was given at; a rise needs a new one.
            alert.acknowledgedBy = nil
            alert.acknowledgedAt = nil
            var openEvent = event
            openEvent.fingerprint = fingerprint
            let notification = NotificationRecord(
                id: event.id,
                type: .open,
                event: openEvent,
                alertStartsAt: alert.startsAt,
                createdAt: now
            )
            return EventPlan(outcome: .escalated, alert: alert, notification: notification, integrations: targets, route: route)
        }

        var openEvent = event
        openEvent.fingerprint = fingerprint
        let alert = AlertRecord(
            fingerprint: fingerprint,
            status: .open,
            severity: event.severity,
            category: event.category,
            labels: event.labels,
            summary: event.summary,
            description: event.description,
            links: event.links,
            startsAt: event.startsAt,
            lastSeenAt: event.receivedAt,
            expiresAt: event.endsAt,
            resolvedAt: nil,
            notifiedIntegrations: route.integrations,
            notifiedSeverity: route.isUnrouted ? nil : event.severity,
            lastEventID: event.id
        )
        guard !route.isUnrouted else {
            return EventPlan(outcome: .unrouted, alert: alert, notification: nil, integrations: [], route: route)
        }
        let notification = NotificationRecord(id: event.id, type: .open, event: openEvent, alertStartsAt: event.startsAt, createdAt: now)
        return EventPlan(outcome: .opened, alert: alert, notification: notification, integrations: route.integrations, route: route)
    }

    /// The event that resolves an alert whose `expiresAt` has passed without it being sent again.
    /// Its id is derived from the alert and the last event that refreshed it, so that sweeping twice resolves once.
    public static func expiryEvent(for alert: AlertRecord, now: Date) -> Event {
        let expiry = alert.expiresAt ?? now
        return Event(
            id: "expired-\(alert.fingerprint)-\(alert.lastEventID)",
            kind: .alert,
            severity: alert.severity,
            category: alert.category,
            status: .resolved,
            labels: alert.labels,
            summary: alert.summary,
            description: alert.description,
            links: alert.links,
            startsAt: alert.startsAt,
            endsAt: expiry,
            receivedAt: now,
            fingerprint: alert.fingerprint,
            source: .expiry
        )
    }
}
