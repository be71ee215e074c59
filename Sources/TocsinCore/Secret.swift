import Foundation

/// A credential from configuration. It never prints: `description`, `debugDescription` and string
/// interpolation all show `<secret>`, so it cannot reach a log line, an error text or an API answer by accident.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The credential itself. Read it only where it is put on the wire.
    public let exposedValue: String

    public init(_ value: String) {
        self.exposedValue = value
    }

    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
    /// `dump` and other mirrors see no children, so reflection cannot reveal the value either.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Replaces every occurrence of the secret in `text` with `<secret>`, for texts that come from
    /// elsewhere (a peer's error message, an underlying library's error) and might echo it back.
    public func redact(_ text: String) -> String {
        guard exposedValue.count >= 4 else { return text }
        return text.replacingAll(exposedValue, with: "<secret>")
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var remaining = Substring(self)
        while let range = remaining.range(of: target) {
            result += remaining[..<range.lowerBound]
            result += replacement
            remaining = remaining[range.upperBound...]
        }
        result += remaining
        return result
    }
}
