import Foundation
import TocsinCore

/// Reads a sink's type-specific settings, collecting problems with their paths.
public struct SettingsReader {
    public let integration: IntegrationConfig
    public private(set) var problems: [ConfigProblem] = []
    private var used: Set<String> = []

    public init(_ integration: IntegrationConfig) {
        self.integration = integration
    }

    public mutating func string(_ key: String, required: Bool = false) -> String? {
        used.insert(key)
        guard let value = integration.settings[key] else {
            if required { problem(key, "is required") }
            return nil
        }
        switch value {
        case .string(let text):
            if required && text.trimmingCharacters(in: .whitespaces).isEmpty {
                problem(key, "must not be empty")
                return nil
            }
            return text
        case .number(let number): return number.rounded() == number ? String(Int64(number)) : String(number)
        default:
            problem(key, "expected a string, got \(value.typeName)")
            return nil
        }
    }

    public mutating func secret(_ key: String, required: Bool = false) -> Secret? {
        string(key, required: required).map(Secret.init)
    }

    public mutating func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        used.insert(key)
        guard let value = integration.settings[key] else { return fallback }
        guard case .number(let number) = value, number.rounded() == number, range.contains(Int(number)) else {
            problem(key, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            return fallback
        }
        return Int(number)
    }

    public mutating func stringMap(_ key: String) -> [String: String] {
        used.insert(key)
        guard let value = integration.settings[key] else { return [:] }
        guard case .object(let object) = value else {
            problem(key, "expected a mapping of names to strings, got \(value.typeName)")
            return [:]
        }
        var result: [String: String] = [:]
        for (name, item) in object {
            guard case .string(let text) = item else {
                problem("\(key).\(name)", "expected a string, got \(item.typeName)")
                continue
            }
            result[name] = text
        }
        return result
    }

    public mutating func oneOf(_ key: String, _ choices: [String], default fallback: String) -> String {
        guard let text = string(key) else { return fallback }
        guard choices.contains(text) else {
            problem(key, "expected one of \(choices.joined(separator: ", ")), got '\(text)'")
            return fallback
        }
        return text
    }

    /// Whether `text` is an absolute http:// or https:// URL with a host.
    public static func isHTTPURL(_ text: String) -> Bool {
        (text.hasPrefix("https://") || text.hasPrefix("http://")) && URLComponents(string: text)?.host?.isEmpty == false
    }

    /// `url`: a base URL that replaces the one chosen by `region` (for a proxy or a test double), without its
    /// trailing `/`. Giving both is a problem: which one wins would be a guess.
    public mutating func baseURLOverride(_ key: String = "url", instead regionKey: String = "region") -> String? {
        guard let url = string(key) else { return nil }
        if !Self.isHTTPURL(url) {
            problem(key, "must be an http:// or https:// URL")
        } else if integration.settings[regionKey] != nil {
            problem(key, "give either \(regionKey) or \(key), not both")
        } else {
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        return nil
    }

    public mutating func problem(_ key: String, _ message: String) {
        problems.append(ConfigProblem(path: "\(integration.path).\(key)", message: message))
    }

    /// Reports keys that no reader asked for: most often a typo.
    public mutating func finish() -> ConfigurationError? {
        for key in integration.settings.keys.sorted() where !used.contains(key) {
            problem(key, "unknown key for type \(integration.type)")
        }
        return problems.isEmpty ? nil : ConfigurationError(problems: problems)
    }
}
