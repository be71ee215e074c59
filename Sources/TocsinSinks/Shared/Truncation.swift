/// Cuts text to a service's limit with a visible marker, so an over-long field is shortened, never refused.
public enum Truncation {
    /// Appended where text was cut.
    public static let marker = "…[truncated]"

    /// At most `limit` characters (Unicode scalars counted as the services count them: one per character).
    public static func characters(_ text: String, limit: Int, marker: String = marker) -> String {
        guard text.count > limit else { return text }
        let markerLength = min(marker.count, limit)
        return String(text.prefix(limit - markerLength)) + String(marker.prefix(markerLength))
    }

    /// At most `limit` UTF-8 bytes, never splitting a character.
    public static func utf8Bytes(_ text: String, limit: Int, marker: String = marker) -> String {
        guard text.utf8.count > limit else { return text }
        let budget = max(0, limit - marker.utf8.count)
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > budget { break }
            result.append(character)
            used += size
        }
        return marker.utf8.count <= limit ? result + marker : result
    }

    /// Whether `characters` would cut the text.
    public static func exceeds(_ text: String, characters limit: Int) -> Bool {
        text.count > limit
    }
}
