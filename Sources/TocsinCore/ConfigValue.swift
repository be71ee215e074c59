/// Readers of single configuration values shared by the loader and the section parsers (detectors): each reports a
/// problem at its path instead of throwing, so that a file's problems are all reported at once.
enum ConfigValue {
    /// A mapping; absent or `null` is nil without a problem (an empty section).
    static func mapping(_ value: JSONValue?, at path: String, problems: inout [ConfigProblem]) -> [String: JSONValue]? {
        guard let value else { return nil }
        if case .null = value { return nil }
        guard case .object(let object) = value else {
            problems.append(ConfigProblem(path: path, message: "expected a mapping, got \(value.typeName)"))
            return nil
        }
        return object
    }

    /// A duration such as `30s`, `5m` or `3h`; a bare number is seconds.
    static func duration(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> Duration? {
        let text: String
        switch value {
        case .string(let string): text = string
        case .number(let number): text = ConfigurationLoader.formatNumber(number)
        default:
            problems.append(ConfigProblem(path: path, message: "expected a duration such as 30s, 5m or 3h, got \(value.typeName)"))
            return nil
        }
        guard let duration = DurationParser.parse(text) else {
            problems.append(ConfigProblem(path: path, message: "expected a duration such as 30s, 5m or 3h, got '\(text)'"))
            return nil
        }
        return duration
    }
}
