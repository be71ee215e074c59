import Foundation
import TocsinCore

/// The settings of a `pagerduty` integration (PagerDuty Events API v2). Documented in docs/sinks/pagerduty.md.
public struct PagerDutyConfiguration: Sendable {
    /// The PagerDuty service region the account lives in: each has its own events host.
    public enum Region: String, Sendable, CaseIterable {
        case us
        case eu

        public var baseURL: String {
            switch self {
            case .us: "https://events.pagerduty.com"
            case .eu: "https://events.eu.pagerduty.com"
            }
        }
    }

    /// How one-off notifications (not alerts) are sent.
    public enum NotificationMode: String, Sendable, CaseIterable {
        /// A trigger event with a key of its own: it opens an alert that nobody resolves automatically.
        case alert
        /// A change event (`/v2/change/enqueue`): shown on the service's timeline, never pages anyone.
        case change
    }

    /// The length of an Events API v2 integration key.
    public static let routingKeyLength = 32

    /// The labels tried in order for `payload.source` when no fixed `source` is configured.
    public static let defaultSourceLabels = ["node", "instance", "host", "hostname"]
    /// What `payload.source` says when no label names a machine (the field is required).
    public static let fallbackSource = "tocsin"
    /// `component` names the part of the machine at fault; `node` is the machine itself (the source), so it is
    /// not among them.
    public static let defaultComponentLabels = ["component", "service", "job"]
    public static let defaultGroupLabels = ["cluster"]
    public static let defaultClassLabels = ["alertname"]

    public static let templateSpecs: [TemplateSpec] = [
        TemplateSpec(name: "summary", defaultText: "{{#test}}[TEST] {{/test}}{{summary}}"),
        TemplateSpec(name: "client", defaultText: "Tocsin", required: false),
    ]

    public var name: String
    /// The integration key; it travels in every request body.
    public var routingKey: Secret
    public var region: Region
    /// Where events go: `<baseURL>/v2/enqueue` and `<baseURL>/v2/change/enqueue`. The region's host unless `url`
    /// overrides it.
    public var baseURL: String
    public var notificationsAs: NotificationMode
    /// A fixed `payload.source`; nil takes it from the labels.
    public var source: String?
    /// Label names tried in order; an empty list leaves the field out.
    public var sourceLabels: [String]
    public var componentLabels: [String]
    public var groupLabels: [String]
    public var classLabels: [String]
    public var templates: MessageTemplates
    /// `server.public_url`, for `client_url` and the link to the alert in Tocsin.
    public var publicURL: String?
    public var timeout: Duration

    public var enqueueURL: String { baseURL + "/v2/enqueue" }
    public var changeURL: String { baseURL + "/v2/change/enqueue" }

    /// Every secret value, for redaction: the key, and a password in a proxy URL.
    var redactor: SecretRedactor {
        var redactor = SecretRedactor()
        redactor.add(routingKey)
        if let password = URLComponents(string: baseURL)?.password, !password.isEmpty { redactor.add(Secret(password)) }
        return redactor
    }

    public init(
        name: String,
        routingKey: Secret,
        region: Region = .us,
        baseURL: String? = nil,
        notificationsAs: NotificationMode = .change,
        source: String? = nil,
        sourceLabels: [String] = PagerDutyConfiguration.defaultSourceLabels,
        componentLabels: [String] = PagerDutyConfiguration.defaultComponentLabels,
        groupLabels: [String] = PagerDutyConfiguration.defaultGroupLabels,
        classLabels: [String] = PagerDutyConfiguration.defaultClassLabels,
        templates: MessageTemplates = .defaults(PagerDutyConfiguration.templateSpecs),
        publicURL: String? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.name = name
        self.routingKey = routingKey
        self.region = region
        self.baseURL = baseURL ?? region.baseURL
        self.notificationsAs = notificationsAs
        self.source = source
        self.sourceLabels = sourceLabels
        self.componentLabels = componentLabels
        self.groupLabels = groupLabels
        self.classLabels = classLabels
        self.templates = templates
        self.publicURL = publicURL
        self.timeout = timeout
    }

    public static func parse(_ integration: IntegrationConfig, publicURL: String? = nil) -> Result<PagerDutyConfiguration, ConfigurationError> {
        var reader = SettingsReader(integration)
        let routingKey = reader.string("routing_key", required: true)
        let region = Region(rawValue: reader.oneOf("region", Region.allCases.map(\.rawValue), default: Region.us.rawValue)) ?? .us
        let notificationsAs =
            NotificationMode(rawValue: reader.oneOf("notifications_as", NotificationMode.allCases.map(\.rawValue), default: "change")) ?? .change
        if let key = routingKey, !key.isEmpty {
            // The value itself is never quoted: only its length and its first character say what is wrong.
            if key.count != routingKeyLength {
                reader.problem(
                    "routing_key",
                    "must be the \(routingKeyLength)-character Integration Key of an Events API v2 integration, got \(key.count) characters"
                )
            } else if key.hasPrefix("R") && notificationsAs == .change {
                reader.problem(
                    "routing_key",
                    "starts with R, like a ruleset or event orchestration key, which cannot receive change events; "
                        + "use a service's Events API v2 key or set notifications_as: alert"
                )
            }
        }
        let baseURL = reader.baseURLOverride()
        var source = reader.string("source")
        if let text = source, text.trimmingCharacters(in: .whitespaces).isEmpty {
            reader.problem("source", "must not be empty (leave it out to take the source from the labels)")
            source = nil
        }
        let componentLabels = labelList(&reader, "component_label", default: defaultComponentLabels)
        let groupLabels = labelList(&reader, "group_label", default: defaultGroupLabels)
        let classLabels = labelList(&reader, "class_label", default: defaultClassLabels)
        let templates = reader.templates(templateSpecs, publicURL: publicURL)
        if let error = reader.finish() { return .failure(error) }
        return .success(
            PagerDutyConfiguration(
                name: integration.name,
                routingKey: Secret(routingKey ?? ""),
                region: region,
                baseURL: baseURL,
                notificationsAs: notificationsAs,
                source: source,
                componentLabels: componentLabels,
                groupLabels: groupLabels,
                classLabels: classLabels,
                templates: templates,
                publicURL: publicURL,
                timeout: integration.delivery.timeout
            )
        )
    }

    /// A `*_label` setting: one label name, or an empty string for none; absent keeps the default list.
    private static func labelList(_ reader: inout SettingsReader, _ key: String, default fallback: [String]) -> [String] {
        guard let name = reader.string(key) else { return fallback }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if trimmed != name {
            reader.problem(key, "a label name has no surrounding spaces")
        }
        return trimmed.isEmpty ? [] : [trimmed]
    }
}
