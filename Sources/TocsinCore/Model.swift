import Foundation

/// What flows through Tocsin. Alerts have a lifecycle; the others are one-off.
public enum EventKind: String, Codable, Sendable, CaseIterable {
    case alert
    case notification
    case log
    case metric
}

/// Ordered severity: `info` < `warning` < `error` < `critical`.
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case info
    case warning
    case error
    case critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// The routing area of an event (the AxonOps tabs plus `cluster` for detector findings).
public enum Category: String, Codable, Sendable, CaseIterable {
    case metrics
    case backups
    case serviceChecks = "service_checks"
    case nodes
    case commands
    case repairs
    case rollingRestart = "rolling_restart"
    case cluster
}

/// The state an alert event reports: still true (`firing`) or over (`resolved`).
public enum AlertEventStatus: String, Codable, Sendable {
    case firing
    case resolved
}

/// A hyperlink carried with an event.
public struct Link: Codable, Sendable, Hashable {
    public var href: String
    public var text: String?

    public init(href: String, text: String? = nil) {
        self.href = href
        self.text = text
    }
}

/// Where an event entered Tocsin.
public enum EventSource: String, Codable, Sendable {
    case api
    case alertmanager
    /// Made by Tocsin when an alert was not sent again before its `endsAt`.
    case expiry
}

/// One validated, normalised event as it is stored. Built by the ingest decoders.
public struct Event: Codable, Sendable, Hashable {
    public var id: String
    public var kind: EventKind
    public var severity: Severity
    public var category: Category
    /// Alerts only: whether this event says the alert fires or is over.
    public var status: AlertEventStatus?
    public var labels: [String: String]
    public var summary: String
    public var description: String?
    public var details: JSONValue?
    public var links: [Link]
    /// When the condition started (alerts) or happened (notifications).
    public var startsAt: Date
    /// Alerts only: when the alert resolves itself unless it is sent again.
    public var endsAt: Date?
    public var receivedAt: Date
    /// Alerts only: the identity of the alert across events.
    public var fingerprint: String?
    public var source: EventSource

    public init(
        id: String,
        kind: EventKind,
        severity: Severity,
        category: Category,
        status: AlertEventStatus? = nil,
        labels: [String: String] = [:],
        summary: String,
        description: String? = nil,
        details: JSONValue? = nil,
        links: [Link] = [],
        startsAt: Date,
        endsAt: Date? = nil,
        receivedAt: Date,
        fingerprint: String? = nil,
        source: EventSource = .api
    ) {
        self.id = id
        self.kind = kind
        self.severity = severity
        self.category = category
        self.status = status
        self.labels = labels
        self.summary = summary
        self.description = description
        self.details = details
        self.links = links
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.receivedAt = receivedAt
        self.fingerprint = fingerprint
        self.source = source
    }
}
