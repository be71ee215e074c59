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
            guard let value = integration.settings["path"] else { return [] }
            let directory = Self.absolute(logDirectory)
            guard case .string(let path) = value, Self.isPlainPath(path, inside: directory) else {
                return [
                    ConfigProblem(
                        path: "path",
                        message:
                            "an integration made through the API writes inside \(directory) only (server.managed_integrations.log_directory); "
                            + "give an absolute path there, without . or .. parts, such as \(directory)/\(integration.name).log"
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

    /// Whether `path` names a file below `directory`, as the sink will open it: absolute, no control characters (a
    /// NUL would cut the path short at the system call), no `.` or `..` parts, and `directory` as a prefix of its
    /// bytes (not of its characters: Unicode equivalence must not let a different directory pass).
    static func isPlainPath(_ path: String, inside directory: String) -> Bool {
        guard path.hasPrefix("/"), !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !parts.contains(where: { $0 == "." || $0 == ".." }), parts.last?.isEmpty == false else { return false }
        let prefix = Array((directory == "/" ? "/" : directory + "/").utf8)
        let bytes = Array(path.utf8)
        return bytes.count > prefix.count && bytes.starts(with: prefix)
    }

    /// `path` made absolute against the working directory, with `.` and `..` resolved, so that `..` cannot lead out
    /// of the directory.
    static func absolute(_ path: String) -> String {
        var standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        while standardized.count > 1, standardized.hasSuffix("/") { standardized.removeLast() }
        return standardized
    }
}
