import TocsinCore

/// One setting of an integration type as a form shows it.
public struct IntegrationField: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Hashable, Encodable {
        case text
        /// Never shown back: answers carry `********` in its place.
        case secret
        case number
        case boolean
        /// A list of strings.
        case list
        /// One of `options`.
        case select
        /// A mapping of names to strings (message templates, metric units).
        case map
        /// A mapping of names to secret strings (a webhook's headers): every value is a secret.
        case secretMap = "secret_map"
        /// A structured value given as JSON (OpsGenie responders).
        case json
    }

    public var key: String
    public var label: String
    public var kind: Kind
    public var required: Bool
    /// The choices of a `select`.
    public var options: [String]?
    public var help: String

    public init(_ key: String, _ label: String, _ kind: Kind, required: Bool = false, options: [String]? = nil, help: String) {
        self.key = key
        self.label = label
        self.kind = kind
        self.required = required
        self.options = options
        self.help = help
    }

    /// Whether the value (or every value of a mapping) is a credential: stored encrypted, answered masked.
    public var isSecret: Bool { kind == .secret || kind == .secretMap }
}

/// An integration type and the settings of its form.
public struct IntegrationTypeDescription: Sendable, Hashable, Encodable {
    public var type: String
    public var label: String
    public var fields: [IntegrationField]
}

/// The settings of each sink type as forms show them, read off each sink's configuration parser. Which keys are
/// secrets matches what the parsers keep as `Secret` (a test checks it against every parser).
public enum IntegrationFields {
    /// What every integration has besides its type's settings: name, type and delivery options.
    public static let common: [IntegrationField] = [
        IntegrationField("name", "Name", .text, required: true, help: "Unique; no spaces. Routing cells name the integration by it."),
        IntegrationField("type", "Type", .select, required: true, options: SinkRegistry.types.sorted(), help: "The service it sends to."),
        IntegrationField("concurrency", "Concurrency", .number, help: "Sends in flight at once (default 4)."),
        IntegrationField("timeout", "Timeout", .text, help: "Deadline of one send, such as 10s (default 10s)."),
        IntegrationField(
            "rate_limit",
            "Rate limit",
            .text,
            help: "COUNT/PERIOD such as 120/min, or none; by default the service's documented limit."
        ),
        IntegrationField("retry", "Retry", .map, help: "initial_backoff, max_backoff and max_age, each a duration."),
        IntegrationField("sources", "Sources", .list, help: "Streams it takes: alerts, notifications, logs, metrics (default: the type's)."),
        IntegrationField("matchers", "Label matchers", .list, help: "Only records whose labels match, such as env=\"prod\"."),
    ]

    /// Each type's settings, by type.
    public static let byType: [String: [IntegrationField]] = [
        "webhook": [
            IntegrationField(
                "url",
                "URL",
                .secret,
                required: true,
                help: "http:// or https:// URL the JSON is posted to; kept secret, as such URLs often carry a token."
            ),
            IntegrationField(
                "format",
                "Format",
                .select,
                options: ["tocsin", "alertmanager"],
                help: "Tocsin's payload (default) or Alertmanager's webhook payload."
            ),
            IntegrationField("headers", "Headers", .secretMap, help: "Extra request headers; their values are kept secret."),
            IntegrationField("username", "Basic auth user", .text, help: "With password: HTTP basic authentication."),
            IntegrationField("password", "Basic auth password", .secret, help: "With username."),
            IntegrationField("bearer_token", "Bearer token", .secret, help: "Sent as Authorization: Bearer; instead of username and password."),
            IntegrationField("secret", "Signing secret", .secret, help: "Signs each body (HMAC-SHA256) so the receiver can check it."),
        ],
        "log_file": [
            IntegrationField(
                "path",
                "File",
                .text,
                required: true,
                help: "Absolute path of the log file, inside server.managed_integrations.log_directory; rotated by size."
            ),
            IntegrationField("max_size_mb", "Rotate at (MB)", .number, help: "Size that starts a new file (default 50)."),
            IntegrationField("max_files", "Files kept", .number, help: "Rotated files kept (default 5)."),
        ],
        "email": [
            IntegrationField("from", "From", .text, required: true, help: "Sender address."),
            IntegrationField("receivers", "Receivers", .list, required: true, help: "Recipient addresses."),
            IntegrationField("subject", "Subject", .text, help: "Mustache template of the subject."),
            IntegrationField("server", "SMTP server", .text, required: true, help: "Host name or IP address."),
            IntegrationField("port", "Port", .number, help: "Default 587 (starttls), 465 (implicit) or 25 (none)."),
            IntegrationField(
                "tls",
                "TLS",
                .select,
                options: ["starttls", "implicit", "none"],
                help: "How the connection is encrypted (default starttls)."
            ),
            IntegrationField("username", "User", .secret, help: "SMTP login, with password."),
            IntegrationField("password", "Password", .secret, help: "SMTP password, with username."),
            IntegrationField("skip_verify", "Skip certificate checks", .boolean, help: "Still encrypted, but the server is not authenticated."),
            IntegrationField("ca", "CA certificate", .text, help: "PEM certificate of a private certificate authority."),
            IntegrationField("templates", "Templates", .map, help: "Mustache overrides: subject, text, html."),
        ],
        "slack": [
            IntegrationField("url", "Incoming webhook URL", .secret, help: "Webhook mode; give either url, or token and channel."),
            IntegrationField("token", "Bot token", .secret, help: "Bot mode (xoxb-…): one message per alert, edited as it changes."),
            IntegrationField("channel", "Channel", .text, help: "Bot mode: where messages go."),
            IntegrationField("api_url", "API URL", .text, help: "Bot mode: the Web API base (default https://slack.com/api)."),
            IntegrationField("update_interval", "Update interval", .text, help: "Bot mode: edit a message at most this often, such as 5m."),
            IntegrationField("templates", "Templates", .map, help: "Mustache overrides: title, text, fallback."),
        ],
        "microsoft_teams": [
            IntegrationField(
                "url",
                "Workflow URL",
                .secret,
                required: true,
                help: "The Teams Workflows webhook URL; its signature is the credential."
            ),
            IntegrationField(
                "format",
                "Card format",
                .select,
                options: ["adaptive_card", "message_card"],
                help: "adaptive_card (Workflows) or message_card (legacy connectors)."
            ),
            IntegrationField("templates", "Templates", .map, help: "Mustache overrides: title, text."),
        ],
        "pagerduty": [
            IntegrationField("routing_key", "Integration key", .secret, required: true, help: "The 32-character Events API v2 key."),
            IntegrationField("region", "Region", .select, options: ["us", "eu"], help: "The account's service region (default us)."),
            IntegrationField("url", "Events URL", .text, help: "A base URL instead of the region's (a proxy)."),
            IntegrationField(
                "notifications_as",
                "Notifications as",
                .select,
                options: ["change", "alert"],
                help: "How one-off notifications are sent (default change)."
            ),
            IntegrationField("source", "Source", .text, help: "A fixed payload.source; by default taken from the labels."),
            IntegrationField("component_label", "Component label", .text, help: "Label for payload.component; empty for none."),
            IntegrationField("group_label", "Group label", .text, help: "Label for payload.group; empty for none."),
            IntegrationField("class_label", "Class label", .text, help: "Label for payload.class; empty for none."),
            IntegrationField("templates", "Templates", .map, help: "Mustache overrides: summary, client."),
        ],
        "opsgenie": [
            IntegrationField("api_key", "API key", .secret, required: true, help: "An Opsgenie API integration key (a UUID)."),
            IntegrationField("region", "Region", .select, options: ["us", "eu"], help: "The account's instance (default us)."),
            IntegrationField("url", "API URL", .text, help: "A base URL instead of the region's (a proxy)."),
            IntegrationField("responders", "Responders", .json, help: "List of {type: team|user|escalation|schedule, id|name|username: …}."),
            IntegrationField("tags", "Tags", .list, help: "Sent on every alert."),
            IntegrationField("templates", "Templates", .map, help: "Mustache overrides: message, description, entity."),
        ],
        "servicenow": [
            IntegrationField("instance", "Instance", .text, help: "The instance name (acme for acme.service-now.com); or give url."),
            IntegrationField("url", "URL", .text, help: "The instance's base URL, instead of instance."),
            IntegrationField("username", "User", .text, required: true, help: "The integration user."),
            IntegrationField("password", "Password", .secret, required: true, help: "The integration user's password."),
            IntegrationField(
                "mode",
                "Mode",
                .select,
                options: ["incident", "event"],
                help: "Incidents (Table API) or Event Management events (default incident)."
            ),
            IntegrationField(
                "notifications",
                "One-off notifications",
                .select,
                options: ["skip", "send"],
                help: "Whether notifications without a resolve are sent."
            ),
            IntegrationField("assignment_group", "Assignment group", .text, help: "Incident mode: sys_id of the group."),
            IntegrationField("caller", "Caller", .text, help: "Incident mode: sys_id of the caller."),
            IntegrationField("category", "Category", .text, help: "Incident mode: the incident category."),
            IntegrationField("close_code", "Close code", .text, help: "Incident mode (default Solved (Permanently))."),
            IntegrationField("resolve_state", "Resolve state", .text, help: "Incident mode: numeric state written on resolve (default 6)."),
            IntegrationField("source", "Source", .text, help: "Event mode: the event source (default Tocsin)."),
            IntegrationField("event_class", "Event class", .text, help: "Event mode."),
            IntegrationField("node_label", "Node label", .text, help: "Event mode: label whose value becomes the node."),
            IntegrationField("resource_label", "Resource label", .text, help: "Event mode: label whose value becomes the resource."),
            IntegrationField("templates", "Templates", .map, help: "Mustache overrides of the mode's fields."),
        ],
        "cloudwatch_logs": awsFields + [
            IntegrationField("group_name", "Log group", .text, required: true, help: "The log group records go to."),
            IntegrationField("stream_name", "Log stream", .text, help: "Stream name template (default tocsin)."),
            IntegrationField("create_missing", "Create missing", .boolean, help: "Create the group and stream when missing (default true)."),
            IntegrationField("flush_interval", "Flush interval", .text, help: "How long records wait for company, such as 5s."),
            IntegrationField("batch_limit", "Batch limit", .number, help: "Deliveries per request (default 100)."),
        ],
        "cloudwatch_metrics": awsFields + [
            IntegrationField("namespace", "Namespace", .text, required: true, help: "The CloudWatch namespace."),
            IntegrationField("protocol", "Protocol", .select, options: ["query", "json"], help: "How PutMetricData travels (default query)."),
            IntegrationField(
                "unit",
                "Unit",
                .select,
                options: CloudWatchMetricsConfiguration.knownUnits,
                help: "Unit of metrics not in units (default None)."
            ),
            IntegrationField("units", "Units", .map, help: "Metric name to unit."),
            IntegrationField("storage_resolution", "Storage resolution", .number, help: "1 (high resolution) or 60 (default)."),
            IntegrationField("dimensions", "Dimensions", .list, help: "Labels that become dimensions; by default every label."),
            IntegrationField("flush_interval", "Flush interval", .text, help: "How long samples wait for company, such as 10s."),
            IntegrationField("batch_limit", "Batch limit", .number, help: "Deliveries per request (default 100)."),
        ],
    ]

    private static let awsFields: [IntegrationField] = [
        IntegrationField("region", "Region", .text, help: "Such as eu-west-1; by default AWS_REGION."),
        IntegrationField("endpoint", "Endpoint", .text, help: "A URL instead of the region's (a proxy, LocalStack)."),
        IntegrationField(
            "access_key_id",
            "Access key id",
            .text,
            help: "With secret_access_key; required unless server.managed_integrations.allow_server_aws_credentials."
        ),
        IntegrationField("secret_access_key", "Secret access key", .secret, help: "With access_key_id."),
        IntegrationField("session_token", "Session token", .secret, help: "For temporary credentials."),
    ]

    /// A type's settings; empty for an unknown type.
    public static func fields(for type: String) -> [IntegrationField] {
        byType[type] ?? []
    }

    /// The keys of a type whose values are secrets.
    public static func secretKeys(for type: String) -> [String: IntegrationField.Kind] {
        var keys: [String: IntegrationField.Kind] = [:]
        for field in fields(for: type) where field.isSecret { keys[field.key] = field.kind }
        return keys
    }

    /// Every type, sorted by name, with a label for people.
    public static var types: [IntegrationTypeDescription] {
        SinkRegistry.types.sorted().map { IntegrationTypeDescription(type: $0, label: labels[$0] ?? $0, fields: fields(for: $0)) }
    }

    private static let labels: [String: String] = [
        "webhook": "Webhook", "log_file": "Log file", "email": "E-mail", "slack": "Slack", "microsoft_teams": "Microsoft Teams",
        "pagerduty": "PagerDuty", "opsgenie": "Opsgenie", "servicenow": "ServiceNow", "cloudwatch_logs": "CloudWatch Logs",
        "cloudwatch_metrics": "CloudWatch Metrics",
    ]

    /// The settings with every secret replaced by `mask`: what answers and pages show.
    public static func masked(_ settings: [String: JSONValue], type: String, mask: String) -> [String: JSONValue] {
        var result = settings
        for (key, kind) in secretKeys(for: type) {
            guard let value = settings[key] else { continue }
            if kind == .secretMap, case .object(let object) = value {
                result[key] = .object(object.mapValues { _ in .string(mask) })
            } else {
                result[key] = .string(mask)
            }
        }
        return result
    }
}
