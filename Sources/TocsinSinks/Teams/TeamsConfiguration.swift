import Foundation
import TocsinCore

/// The settings of a `microsoft_teams` integration.
public struct TeamsConfiguration: Sendable {
    public enum Format: String, Sendable {
        /// An Adaptive Card in a `message` activity: what a Teams Workflows ("When a Teams webhook request is
        /// received") URL expects.
        case adaptiveCard = "adaptive_card"
        /// A legacy MessageCard, for an Office 365 connector URL (connectors are being retired).
        case messageCard = "message_card"
    }

    public var name: String
    /// The workflow or connector URL: its `sig` query value (or connector path) is the only credential.
    public var url: Secret
    public var format: Format
    public var timeout: Duration
    public var templates: MessageTemplates

    var redactor: SecretRedactor {
        var redactor = SecretRedactor()
        redactor.addURL(url)
        return redactor
    }

    public static func parse(_ integration: IntegrationConfig, publicURL: String? = nil) -> Result<TeamsConfiguration, ConfigurationError> {
        var reader = SettingsReader(integration)
        let url = reader.string("url", required: true) ?? ""
        if !url.isEmpty && !SettingsReader.isHTTPURL(url) {
            reader.problem("url", "must start with https:// (a Teams Workflows webhook URL)")
        }
        let format = Format(rawValue: reader.oneOf("format", [Format.adaptiveCard.rawValue, Format.messageCard.rawValue], default: "adaptive_card"))
        let templates = reader.templates(TeamsCard.templateSpecs, publicURL: publicURL)
        if let error = reader.finish() { return .failure(error) }
        return .success(
            TeamsConfiguration(
                name: integration.name,
                url: Secret(url),
                format: format ?? .adaptiveCard,
                timeout: integration.delivery.timeout,
                templates: templates
            )
        )
    }
}
