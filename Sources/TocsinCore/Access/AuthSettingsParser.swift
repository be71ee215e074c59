import Foundation

/// Reads the `server.auth` mapping. Every bad value is a problem at its path; the rest of the section still loads,
/// so that a file's problems are all reported at once.
enum AuthSettingsParser {
    /// A console session shorter than this would sign people out while they work; longer than this, a forgotten
    /// signed-in browser stays a way in for too long.
    static let sessionLifetimeRange: ClosedRange<Duration> = .seconds(5 * 60) ... .seconds(30 * 24 * 3600)

    static func parse(_ value: JSONValue, at path: String, into settings: inout AuthSettings, problems: inout [ConfigProblem]) {
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else { return }
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "mode":
                if let mode = mode(item, at: itemPath, problems: &problems) { settings.mode = mode }
            case "session_lifetime":
                guard let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) else { continue }
                guard sessionLifetimeRange.contains(duration) else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected a duration from 5m to 30d"))
                    continue
                }
                settings.sessionLifetime = duration
            default:
                problems.append(ConfigProblem(path: itemPath, message: "unknown key (expected mode, session_lifetime)"))
            }
        }
    }

    private static func mode(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> AuthSettings.Mode? {
        let expected = "expected auto, on or off"
        switch value {
        // YAML 1.1 readers turn a bare `on` or `off` into a boolean.
        case .bool(let flag): return flag ? .on : .off
        case .string(let text):
            guard let mode = AuthSettings.Mode(rawValue: text) else {
                problems.append(ConfigProblem(path: path, message: "\(expected), got '\(text)'"))
                return nil
            }
            return mode
        default:
            problems.append(ConfigProblem(path: path, message: "\(expected), got \(value.typeName)"))
            return nil
        }
    }
}
