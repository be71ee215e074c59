/// What a caller may do. Viewers read, editors also change alerts, silences, deliveries, integrations and routing,
/// admins also manage users, tokens and the audit log. Ingest tokens only send events, logs and metrics: a monitoring
/// agent's credential cannot read or change anything.
public enum AccessRole: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case ingest
    case viewer
    case editor
    case admin

    /// Whether a caller with this role may use an endpoint that needs `access`.
    public func allows(_ access: EndpointAccess) -> Bool {
        switch access {
        case .public: true
        case .ingest: self == .ingest || self == .admin
        case .viewer: self >= .viewer
        case .editor: self >= .editor
        case .admin: self == .admin
        }
    }

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .ingest: 0
        case .viewer: 1
        case .editor: 2
        case .admin: 3
        }
    }
}

/// What an endpoint needs of its caller.
public enum EndpointAccess: String, Sendable, Hashable, Codable, CaseIterable {
    /// Health and readiness probes, the sign-in page and its assets: anyone.
    case `public`
    /// Event, log, metric and Alertmanager ingest: ingest tokens and admins.
    case ingest
    /// Reading alerts, events, deliveries, integrations, routing, silences, metrics.
    case viewer
    /// Changing alerts, silences, deliveries, integrations and routing.
    case editor
    /// Users, tokens and the audit log.
    case admin
}
