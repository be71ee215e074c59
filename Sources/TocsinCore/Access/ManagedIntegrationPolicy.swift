import Foundation

/// `server.managed_integrations`: what an integration made in the console or through the API may reach on the
/// server's own machine.
///
/// Whoever edits `tocsin.yml` already controls the server; an editor of the console does not. Without these limits an
/// editor could make a `log_file` integration append to any file the server may write, or a CloudWatch integration
/// that sends as the server's own AWS identity.
public struct ManagedIntegrationPolicy: Sendable, Hashable {
    /// A managed `log_file` integration writes inside this directory only.
    public var logDirectory: String
    /// Whether a managed CloudWatch integration without keys may use the server's AWS credentials (environment
    /// variables, the shared credentials file).
    public var allowServerAWSCredentials: Bool = false

    public init(logDirectory: String, allowServerAWSCredentials: Bool = false) {
        self.logDirectory = logDirectory
        self.allowServerAWSCredentials = allowServerAWSCredentials
    }

    /// The default log directory for a data directory.
    public static func defaultLogDirectory(dataDirectory: String) -> String {
        dataDirectory + "/logs"
    }

    /// What this policy refuses in a managed integration, each problem at the path of its setting.
    public func problems(for integration: IntegrationConfig) -> [ConfigProblem] {
        switch integration.type {
        case "log_file":
            guard case .string(let path)? = integration.settings["path"] else { return [] }
            let directory = Self.absolute(logDirectory)
            let file = Self.absolute(path)
            guard path.hasPrefix("/"), file.hasPrefix(directory + "/") else {
                return [
                    ConfigProblem(
                        path: "path",
                        message:
                            "an integration made through the API writes inside \(directory) only (server.managed_integrations.log_directory); "
                            + "give an absolute path there, such as \(directory)/\(integration.name).log"
                    )
                ]
            }
            return []
        case "cloudwatch_logs", "cloudwatch_metrics":
            guard !allowServerAWSCredentials, integration.settings["access_key_id"] == nil else { return [] }
            return [
                ConfigProblem(
                    path: "access_key_id",
                    message:
                        "an integration made through the API must give its own access_key_id and secret_access_key "
                        + "(server.managed_integrations.allow_server_aws_credentials is off)"
                )
            ]
        default:
            return []
        }
    }

    /// `path` made absolute against the working directory, with `.` and `..` resolved, so that `..` cannot lead out
    /// of the directory.
    static func absolute(_ path: String) -> String {
        var standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        while standardized.count > 1, standardized.hasSuffix("/") { standardized.removeLast() }
        return standardized
    }
}
