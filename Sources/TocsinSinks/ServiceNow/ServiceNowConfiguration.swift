import Foundation
import TocsinCore

/// The settings of a `servicenow` integration (docs/sinks/servicenow.md).
public struct ServiceNowConfiguration: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Incidents through the Table API, found again by `correlation_id`.
        case incident
        /// Events pushed to Event Management, grouped into alerts by `message_key`.
        case event
    }

    /// What happens to one-off notifications (they have no resolve, so they would stay open in ServiceNow).
    public enum OneOffNotifications: String, Sendable, CaseIterable {
        /// Not sent; the delivery is recorded as delivered with a detail saying so.
        case skip
        /// Sent like an alert's open, keyed by the event id.
        case send
    }

    public var name: String
    /// `https://<instance>.service-now.com` or the configured `url`, without a trailing slash.
    public var baseURL: String
    public var username: String
    public var password: Secret
    public var mode: Mode
    public var notifications: OneOffNotifications
    /// sys_id of the `assignment_group` set on new incidents.
    public var assignmentGroup: String?
    /// sys_id of the user set as `caller_id` on new incidents.
    public var caller: String?
    public var category: String?
    public var closeCode: String
    /// The `state` written on resolve: 6 (Resolved) unless the instance uses another model.
    public var resolveState: String
    /// Event Management `source`.
    public var source: String
    public var eventClass: String?
    /// The label whose value becomes the event's `node`; nil tries `node`, `instance`, then `host`.
    public var nodeLabel: String?
    public var resourceLabel: String?
    public var templates: MessageTemplates
    /// Budget for the whole attempt (a find and a create or update share it).
    public var timeout: Duration

    /// Every secret value, for redaction: the password and the `Authorization` value built from it.
    var redactor: SecretRedactor {
        var redactor = SecretRedactor()
        redactor.addBasic(username: username, password: password)
        return redactor
    }

    /// Labels tried for the event's `node` when `node_label` is not set.
    static let defaultNodeLabels = ["node", "instance", "host"]

    static let incidentOnlyKeys = ["assignment_group", "caller", "category", "close_code", "resolve_state"]
    static let eventOnlyKeys = ["source", "event_class", "node_label", "resource_label"]

    /// The template names and defaults of each mode.
    public static func templateSpecs(for mode: Mode) -> [TemplateSpec] {
        switch mode {
        case .incident:
            [
                TemplateSpec(name: "short_description", defaultText: "{{summary}}"),
                TemplateSpec(name: "description", defaultText: defaultDescription),
                TemplateSpec(name: "work_notes", defaultText: defaultWorkNotes),
                TemplateSpec(name: "close_notes", defaultText: "Resolved by Tocsin: {{summary}}"),
            ]
        case .event:
            [
                TemplateSpec(name: "description", defaultText: defaultDescription),
                TemplateSpec(name: "type", defaultText: "{{category_title}}"),
                TemplateSpec(name: "metric_name", defaultText: "{{label.alertname}}", required: false),
            ]
        }
    }

    /// Plain text: ServiceNow shows `description` as written, line breaks included.
    static let defaultDescription = """
        {{summary}}
        {{^empty(description)}}

        {{description}}
        {{/empty(description)}}

        Severity: {{severity}}
        Category: {{category_title}}
        Started: {{started_at}}
        {{#resolved}}
        Ended: {{ended_at}}
        {{/resolved}}
        {{#has_labels}}

        Labels:
        {{#labels}}
        - {{name}}: {{value}}
        {{/labels}}
        {{/has_labels}}
        {{#has_details}}

        Details:
        {{#details}}
        - {{name}}: {{value}}
        {{/details}}
        {{/has_details}}
        {{#has_links}}

        Links:
        {{#links}}
        - {{text}}: {{href}}
        {{/links}}
        {{/has_links}}
        {{^empty(link)}}

        In Tocsin: {{link}}
        {{/empty(link)}}
        """

    /// Added to an open incident when the alert is sent again with a higher severity.
    static let defaultWorkNotes = """
        Tocsin: the alert is now {{severity}}: {{summary}}
        {{^empty(link)}}
        {{link}}
        {{/empty(link)}}
        """

    public static func parse(_ integration: IntegrationConfig, publicURL: String? = nil) -> Result<ServiceNowConfiguration, ConfigurationError> {
        var reader = SettingsReader(integration)
        let baseURL = readBaseURL(&reader)
        let username = reader.string("username", required: true) ?? ""
        let password = reader.secret("password", required: true) ?? Secret("")
        let mode = Mode(rawValue: reader.oneOf("mode", Mode.allCases.map(\.rawValue), default: Mode.incident.rawValue)) ?? .incident
        let notifications =
            OneOffNotifications(
                rawValue: reader.oneOf("notifications", OneOffNotifications.allCases.map(\.rawValue), default: OneOffNotifications.skip.rawValue)
            ) ?? .skip

        // Every key of both modes is read, so that one given for the other mode is reported as such, not as unknown.
        let assignmentGroup = nonEmpty(&reader, "assignment_group")
        let caller = nonEmpty(&reader, "caller")
        let category = nonEmpty(&reader, "category")
        let closeCode = nonEmpty(&reader, "close_code") ?? "Solved (Permanently)"
        let resolveState = nonEmpty(&reader, "resolve_state") ?? "6"
        if resolveState.isEmpty || !resolveState.allSatisfy(\.isASCIIDigit) {
            reader.problem("resolve_state", "expected the numeric value of an incident state, such as \"6\" (Resolved)")
        }
        let source = nonEmpty(&reader, "source") ?? "Tocsin"
        let eventClass = nonEmpty(&reader, "event_class")
        let nodeLabel = nonEmpty(&reader, "node_label")
        let resourceLabel = nonEmpty(&reader, "resource_label")
        let otherModeKeys = mode == .incident ? eventOnlyKeys : incidentOnlyKeys
        for key in otherModeKeys where integration.settings[key] != nil {
            reader.problem(key, "applies only to mode: \(mode == .incident ? "event" : "incident")")
        }

        let templates = reader.templates(templateSpecs(for: mode), publicURL: publicURL)
        if let error = reader.finish() { return .failure(error) }
        return .success(
            ServiceNowConfiguration(
                name: integration.name,
                baseURL: baseURL,
                username: username,
                password: password,
                mode: mode,
                notifications: notifications,
                assignmentGroup: assignmentGroup,
                caller: caller,
                category: category,
                closeCode: closeCode,
                resolveState: resolveState,
                source: source,
                eventClass: eventClass,
                nodeLabel: nodeLabel,
                resourceLabel: resourceLabel,
                templates: templates,
                timeout: integration.delivery.timeout
            )
        )
    }

    /// `instance` (a name) or `url` (a full base URL): exactly one of them.
    private static func readBaseURL(_ reader: inout SettingsReader) -> String {
        let given = (instance: reader.integration.settings["instance"] != nil, url: reader.integration.settings["url"] != nil)
        let instance = reader.string("instance")
        let url = reader.string("url")
        if !given.instance && !given.url {
            reader.problem("instance", "give the instance name (acme for https://acme.service-now.com) or a full url")
            return ""
        }
        if given.instance && given.url {
            reader.problem("url", "give either instance or url, not both")
            return ""
        }
        switch (instance, url) {
        case (nil, nil), (.some, .some):
            // A value of the wrong type, already reported by the reader.
            return ""
        case (let name?, nil):
            let valid = !name.isEmpty && name.count <= 63 && name.allSatisfy { $0.isASCIILetterOrDigit || $0 == "-" }
            guard valid else {
                reader.problem(
                    "instance",
                    "expected the instance name only, such as acme for https://acme.service-now.com (use url for any other address)"
                )
                return ""
            }
            return "https://\(name.lowercased()).service-now.com"
        case (nil, let url?):
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), let components = URLComponents(string: url),
                let host = components.host, !host.isEmpty
            else {
                reader.problem("url", "must be an http:// or https:// URL such as https://acme.service-now.com")
                return ""
            }
            if components.user != nil || components.password != nil {
                reader.problem("url", "must not carry credentials; give username and password")
                return ""
            }
            if components.query != nil || components.fragment != nil {
                reader.problem("url", "must be the instance's base URL, without a query or fragment")
                return ""
            }
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            return base
        }
    }

    /// A string setting that is absent, or present and not blank.
    private static func nonEmpty(_ reader: inout SettingsReader, _ key: String) -> String? {
        guard let text = reader.string(key) else { return nil }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            reader.problem(key, "must not be empty")
            return nil
        }
        return text
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
