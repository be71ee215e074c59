import Foundation
import TocsinCore

/// The settings of an `opsgenie` integration (Opsgenie Alert API v2). Documented in docs/sinks/opsgenie.md.
public struct OpsGenieConfiguration: Sendable {
    /// The Opsgenie instance the account lives in: an EU key is refused by the US host and the other way round.
    public enum Region: String, Sendable, CaseIterable {
        case us
        case eu

        public var baseURL: String {
            switch self {
            case .us: "https://api.opsgenie.com"
            case .eu: "https://api.eu.opsgenie.com"
            }
        }
    }

    /// Who is notified of a created alert: a team, a user, an escalation or a schedule, named one of three ways.
    public struct Responder: Sendable, Hashable {
        public enum Kind: String, Sendable, CaseIterable {
            case team, user, escalation, schedule
        }

        public enum Reference: Sendable, Hashable {
            case id(String)
            case name(String)
            /// Users only.
            case username(String)
        }

        public var kind: Kind
        public var reference: Reference

        public init(kind: Kind, reference: Reference) {
            self.kind = kind
            self.reference = reference
        }

        var jsonValue: JSONValue {
            var object: [String: JSONValue] = ["type": .string(kind.rawValue)]
            switch reference {
            case .id(let id): object["id"] = .string(id)
            case .name(let name): object["name"] = .string(name)
            case .username(let username): object["username"] = .string(username)
            }
            return .object(object)
        }
    }

    /// Limits from the Alert API's field table.
    public enum Limits {
        public static let messageCharacters = 130
        public static let aliasCharacters = 512
        public static let descriptionCharacters = 15_000
        public static let tagCount = 20
        public static let tagCharacters = 50
        /// Keys and values of `details` together.
        public static let detailsCharacters = 8000
        public static let entityCharacters = 512
        public static let noteCharacters = 25_000
        public static let responderCount = 50
    }

    public static let templateSpecs: [TemplateSpec] = [
        TemplateSpec(name: "message", defaultText: "{{#test}}[TEST] {{/test}}{{summary}}"),
        TemplateSpec(
            name: "description",
            defaultText: """
                {{summary}}

                Severity: {{severity}}
                Category: {{category_title}}
                Status: {{status}}
                Started: {{started_at}}
                {{#resolved}}Ended: {{ended_at}}{{/resolved}}

                {{description}}

                {{#has_labels}}
                Labels:
                {{#labels}}
                - {{name}}: {{value}}
                {{/labels}}
                {{/has_labels}}

                {{link}}
                """
        ),
        TemplateSpec(name: "entity", defaultText: "", required: false),
    ]

    /// The labels tried in order for `entity` when its template renders nothing.
    public static let defaultEntityLabels = ["node", "instance", "host", "hostname"]

    public var name: String
    public var apiKey: Secret
    public var region: Region
    /// Requests go to `<baseURL>/v2/alerts…`: the region's host unless `url` overrides it.
    public var baseURL: String
    public var responders: [Responder]
    /// Sent on every alert, before the tags made from labels.
    public var tags: [String]
    public var templates: MessageTemplates
    public var publicURL: String?
    public var timeout: Duration

    public var createURL: String { baseURL + "/v2/alerts" }

    /// `POST <base>/v2/alerts/<alias>/close?identifierType=alias`, the alias percent-encoded as one path segment.
    public func closeURL(alias: String) -> String {
        "\(baseURL)/v2/alerts/\(OpsGenieConfiguration.pathSegment(alias))/close?identifierType=alias"
    }

    /// `POST <base>/v2/alerts/<alias>/acknowledge?identifierType=alias`, the alias encoded as in ``closeURL(alias:)``.
    public func acknowledgeURL(alias: String) -> String {
        "\(baseURL)/v2/alerts/\(OpsGenieConfiguration.pathSegment(alias))/acknowledge?identifierType=alias"
    }

    /// Only RFC 3986 unreserved characters stay as they are; everything else (`/`, `?`, `%`, spaces, non-ASCII) is
    /// encoded, so an alias is always one path segment.
    static func pathSegment(_ text: String) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    var redactor: SecretRedactor {
        var redactor = SecretRedactor()
        redactor.add(apiKey)
        if let password = URLComponents(string: baseURL)?.password, !password.isEmpty { redactor.add(Secret(password)) }
        return redactor
    }

    public init(
        name: String,
        apiKey: Secret,
        region: Region = .us,
        baseURL: String? = nil,
        responders: [Responder] = [],
        tags: [String] = [],
        templates: MessageTemplates = .defaults(OpsGenieConfiguration.templateSpecs),
        publicURL: String? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.name = name
        self.apiKey = apiKey
        self.region = region
        self.baseURL = baseURL ?? region.baseURL
        self.responders = responders
        self.tags = tags
        self.templates = templates
        self.publicURL = publicURL
        self.timeout = timeout
    }

    /// Opsgenie API keys are UUIDs; anything else is answered `422 Key format is not valid!`.
    static func isKeyFormat(_ key: String) -> Bool {
        UUID(uuidString: key) != nil
    }

    public static func parse(_ integration: IntegrationConfig, publicURL: String? = nil) -> Result<OpsGenieConfiguration, ConfigurationError> {
        // The reader handles scalars and mappings; the two list-valued keys are read here and hidden from it, so
        // that it does not report them as unknown.
        var scalars = integration
        scalars.settings["responders"] = nil
        scalars.settings["tags"] = nil
        var reader = SettingsReader(scalars)
        let apiKey = reader.string("api_key", required: true)
        if let key = apiKey, !key.isEmpty, !isKeyFormat(key) {
            // The value is never quoted.
            reader.problem("api_key", "must be an Opsgenie API key (a UUID like 01234567-89ab-cdef-0123-456789abcdef), got \(key.count) characters")
        }
        let region = Region(rawValue: reader.oneOf("region", Region.allCases.map(\.rawValue), default: Region.us.rawValue)) ?? .us
        let baseURL = reader.baseURLOverride()
        let responders = parseResponders(integration.settings["responders"], reader: &reader)
        let tags = parseTags(integration.settings["tags"], reader: &reader)
        let templates = reader.templates(templateSpecs, publicURL: publicURL)
        if let error = reader.finish() { return .failure(error) }
        return .success(
            OpsGenieConfiguration(
                name: integration.name,
                apiKey: Secret(apiKey ?? ""),
                region: region,
                baseURL: baseURL,
                responders: responders,
                tags: tags,
                templates: templates,
                publicURL: publicURL,
                timeout: integration.delivery.timeout
            )
        )
    }

    /// `responders:` a list of `{type: team|user|escalation|schedule, id|name|username: …}`, exactly one reference
    /// each; `username` for users only.
    static func parseResponders(_ value: JSONValue?, reader: inout SettingsReader) -> [Responder] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            reader.problem("responders", "expected a list of responders, got \(value.typeName)")
            return []
        }
        if items.count > Limits.responderCount {
            reader.problem("responders", "at most \(Limits.responderCount) responders, got \(items.count)")
        }
        var responders: [Responder] = []
        for (index, item) in items.enumerated() {
            let path = "responders[\(index)]"
            guard case .object(let object) = item else {
                reader.problem(path, "expected a mapping with type and one of id, name or username, got \(item.typeName)")
                continue
            }
            for key in object.keys.sorted() where !["type", "id", "name", "username"].contains(key) {
                reader.problem("\(path).\(key)", "unknown key for a responder (known: type, id, name, username)")
            }
            var kind: Responder.Kind?
            switch object["type"] {
            case .none: reader.problem("\(path).type", "is required (one of \(Responder.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            case .string(let text)?:
                kind = Responder.Kind(rawValue: text)
                if kind == nil {
                    reader.problem(
                        "\(path).type",
                        "expected one of \(Responder.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'"
                    )
                }
            case let other?: reader.problem("\(path).type", "expected a string, got \(other.typeName)")
            }
            var references: [Responder.Reference] = []
            for key in ["id", "name", "username"] {
                guard let field = object[key] else { continue }
                guard case .string(let text) = field, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                    reader.problem("\(path).\(key)", "expected a non-empty string")
                    continue
                }
                switch key {
                case "id": references.append(.id(text))
                case "name": references.append(.name(text))
                default: references.append(.username(text))
                }
            }
            let given = ["id", "name", "username"].filter { object[$0] != nil }
            if given.isEmpty {
                reader.problem(path, "give one of id, name or username")
            } else if given.count > 1 {
                reader.problem(path, "give only one of id, name or username, not \(given.joined(separator: " and "))")
            }
            if let kind, references.count == 1, case .username = references[0], kind != .user {
                reader.problem("\(path).username", "username names users only; use name or id for a \(kind.rawValue)")
            }
            if let kind, references.count == 1 { responders.append(Responder(kind: kind, reference: references[0])) }
        }
        return responders
    }

    /// `tags:` a list of strings, each within Opsgenie's 50 characters.
    static func parseTags(_ value: JSONValue?, reader: inout SettingsReader) -> [String] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            reader.problem("tags", "expected a list of strings, got \(value.typeName)")
            return []
        }
        if items.count > Limits.tagCount {
            reader.problem("tags", "at most \(Limits.tagCount) tags, got \(items.count)")
        }
        var tags: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let tag) = item else {
                reader.problem("tags[\(index)]", "expected a string, got \(item.typeName)")
                continue
            }
            if tag.trimmingCharacters(in: .whitespaces).isEmpty {
                reader.problem("tags[\(index)]", "must not be empty")
                continue
            }
            if tag.count > Limits.tagCharacters {
                reader.problem("tags[\(index)]", "longer than \(Limits.tagCharacters) characters")
                continue
            }
            tags.append(tag)
        }
        return tags
    }
}
