import Foundation
import Testing
import TocsinCore
import TocsinSinks

@Suite("Integration fields: the form of each sink type matches what the sink parses")
struct IntegrationFieldsTests {
    /// Valid settings of each type, every value distinct, so that a `Secret` found in the parsed configuration can be
    /// traced to the key it came from. Mutually exclusive keys get a second sample.
    static let samples: [String: [[String: JSONValue]]] = [
        "webhook": [
            [
                "url": "https://hooks.example.com/u-webhook-url", "format": "tocsin", "headers": .object(["X-Key": "header-value-1"]),
                "bearer_token": "bearer-token-1", "secret": "signing-secret-1",
            ],
            ["url": "https://hooks.example.com/u-webhook-url-2", "username": "plain-user", "password": "basic-password-1", "format": "alertmanager"],
        ],
        "log_file": [["path": "/tmp/tocsin-fields.log", "max_size_mb": 10, "max_files": 2]],
        "email": [
            [
                "from": "tocsin@example.com", "receivers": .array(["ops@example.com"]), "subject": "S {{summary}}", "server": "smtp.example.com",
                "port": 587, "tls": "starttls", "username": "smtp-user-1", "password": "smtp-password-1", "skip_verify": false,
                "templates": .object(["text": "{{summary}}"]),
            ]
        ],
        "slack": [
            ["url": "https://hooks.slack.com/services/T0/B0/slack-url-1", "channel": "#ops", "templates": .object(["title": "{{summary}}"])],
            ["token": "xoxb-slack-token-1", "channel": "#ops", "api_url": "https://slack.example.com/api", "update_interval": "5m"],
        ],
        "microsoft_teams": [
            ["url": "https://teams.example.com/workflows?sig=teams-url-1", "format": "adaptive_card", "templates": .object(["title": "{{summary}}"])]
        ],
        "pagerduty": [
            [
                "routing_key": "abcdefghijklmnopqrstuvwxyz012345", "region": "eu", "notifications_as": "alert", "source": "fixed-source",
                "component_label": "component", "group_label": "cluster", "class_label": "alertname",
                "templates": .object(["summary": "{{summary}}"]),
            ],
            ["routing_key": "bcdefghijklmnopqrstuvwxyz0123456", "url": "https://pagerduty.example.com"],
        ],
        "opsgenie": [
            [
                "api_key": "01234567-89ab-cdef-0123-456789abcdef", "region": "eu", "tags": .array(["tocsin"]),
                "responders": .array([.object(["type": "team", "name": "ops"])]), "templates": .object(["message": "{{summary}}"]),
            ],
            ["api_key": "11234567-89ab-cdef-0123-456789abcdef", "url": "https://opsgenie.example.com"],
        ],
        "servicenow": [
            [
                "instance": "acme", "username": "svc-user", "password": "servicenow-password-1", "mode": "incident", "notifications": "send",
                "assignment_group": "group-id", "caller": "caller-id", "category": "software", "close_code": "Solved", "resolve_state": "6",
                "templates": .object(["short_description": "{{summary}}"]),
            ],
            [
                "url": "https://sn.example.com", "username": "svc-user-2", "password": "servicenow-password-2", "mode": "event",
                "source": "Tocsin", "event_class": "tocsin", "node_label": "node", "resource_label": "component",
            ],
        ],
        "cloudwatch_logs": [
            [
                "region": "eu-west-1", "endpoint": "http://127.0.0.1:4566", "access_key_id": "AKIDPLAIN", "secret_access_key": "aws-secret-key-1",
                "session_token": "aws-session-token-1", "group_name": "tocsin", "stream_name": "tocsin", "create_missing": true,
                "flush_interval": "5s", "batch_limit": 10,
            ]
        ],
        "cloudwatch_metrics": [
            [
                "namespace": "Tocsin/Test", "region": "eu-west-1", "endpoint": "http://127.0.0.1:4566", "access_key_id": "AKIDPLAIN2",
                "secret_access_key": "aws-secret-key-2", "session_token": "aws-session-token-2", "protocol": "json", "unit": "Count",
                "units": .object(["latency": "Seconds"]), "storage_resolution": 60, "dimensions": .array(["node"]), "flush_interval": "10s",
                "batch_limit": 10,
            ]
        ],
    ]

    /// Keys a form offers that the samples leave out, with why.
    static let unsampled: [String: Set<String>] = ["email": ["ca"]]  // needs a real PEM certificate

    /// Parses settings with the type's own configuration parser.
    static func parse(_ type: String, _ settings: [String: JSONValue]) -> Result<Any, ConfigurationError> {
        let integration = IntegrationConfig(name: "sample", type: type, settings: settings, path: "integrations[0]")
        switch type {
        case "webhook": return WebhookConfiguration.parse(integration).map { $0 }
        case "log_file": return LogFileConfiguration.parse(integration).map { $0 }
        case "email": return EmailConfiguration.parse(integration).map { $0 }
        case "slack": return SlackConfiguration.parse(integration).map { $0 }
        case "microsoft_teams": return TeamsConfiguration.parse(integration).map { $0 }
        case "pagerduty": return PagerDutyConfiguration.parse(integration).map { $0 }
        case "opsgenie": return OpsGenieConfiguration.parse(integration).map { $0 }
        case "servicenow": return ServiceNowConfiguration.parse(integration).map { $0 }
        case "cloudwatch_logs": return CloudWatchLogsConfiguration.parse(integration).map { $0 }
        case "cloudwatch_metrics": return CloudWatchMetricsConfiguration.parse(integration).map { $0 }
        default: return .failure(ConfigurationError(problems: [ConfigProblem(path: type, message: "no parser in this test")]))
        }
    }

    /// Every `Secret` held anywhere in a parsed configuration.
    static func secrets(in value: Any, depth: Int = 0) -> Set<String> {
        if let secret = value as? Secret { return [secret.exposedValue] }
        // Credential holders hide their fields from mirrors; their secrets are read directly.
        if let credentials = value as? SMTPCredentials { return [credentials.username.exposedValue, credentials.password.exposedValue] }
        if let credentials = value as? AWSCredentials {
            return Set([credentials.secretAccessKey, credentials.sessionToken].compactMap { $0?.exposedValue })
        }
        guard depth < 12 else { return [] }
        var found: Set<String> = []
        for child in Mirror(reflecting: value).children {
            found.formUnion(secrets(in: child.value, depth: depth + 1))
        }
        return found
    }

    @Test("every sink type has fields, and only the registry's types do")
    func everyTypeHasFields() {
        #expect(Set(IntegrationFields.byType.keys) == SinkRegistry.types)
        #expect(Set(Self.samples.keys) == SinkRegistry.types)
        #expect(IntegrationFields.types.map(\.type) == SinkRegistry.types.sorted())
    }

    @Test("the fields marked secret are exactly the values the sink's parser keeps as Secret", arguments: SinkRegistry.types.sorted())
    func secretsMatchTheParser(type: String) throws {
        let secretKeys = IntegrationFields.secretKeys(for: type)
        for sample in try #require(Self.samples[type]) {
            let parsed: Any
            switch Self.parse(type, sample) {
            case .success(let configuration): parsed = configuration
            case .failure(let error):
                Issue.record("\(type) sample does not parse: \(error)")
                continue
            }
            var expected: Set<String> = []
            for (key, value) in sample where secretKeys[key] != nil {
                switch value {
                case .string(let text): expected.insert(text)
                case .object(let map): for case .string(let text) in map.values { expected.insert(text) }
                default: Issue.record("\(type).\(key): a secret sample must be a string or a mapping")
                }
            }
            #expect(Self.secrets(in: parsed) == expected, "\(type): Secret values of the parsed configuration vs the fields marked secret")
        }
    }

    @Test("every field is a key the sink reads (the samples use each one and parse)", arguments: SinkRegistry.types.sorted())
    func fieldsAreRealKeys(type: String) throws {
        let sampled = Set(try #require(Self.samples[type]).flatMap(\.keys))
        let offered = Set(IntegrationFields.fields(for: type).map(\.key)).subtracting(Self.unsampled[type] ?? [])
        #expect(sampled == offered)
        for field in IntegrationFields.fields(for: type) where field.kind == .select {
            #expect(field.options?.isEmpty == false, "\(type).\(field.key) is a select without options")
        }
    }

    @Test("masking replaces every secret, and every value of a secret mapping, and nothing else")
    func masking() {
        let settings: [String: JSONValue] = [
            "url": "https://hooks.example.com/x", "headers": .object(["A": "1", "B": "2"]), "username": "plain", "format": "tocsin",
        ]
        let masked = IntegrationFields.masked(settings, type: "webhook", mask: "********")
        #expect(masked["url"] == "********")
        #expect(masked["headers"] == .object(["A": "********", "B": "********"]))
        #expect(masked["username"] == "plain")
        #expect(masked["format"] == "tocsin")
    }
}

// The samples above read as the YAML they stand for.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
