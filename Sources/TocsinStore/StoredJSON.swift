import Foundation
import TocsinCore

/// The JSON encoding of values kept in text columns: dates as milliseconds since 1970, keys sorted.
enum StoredJSON {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A `NotificationRecord` in the form `encode` gives, around an event already encoded.
    static func notification(_ record: NotificationRecord, eventJSON: String) -> String {
        var text = "{"
        if let startsAt = record.alertStartsAt { text += "\"alertStartsAt\":\(startsAt.storedMillis)," }
        text += "\"createdAt\":\(record.createdAt.storedMillis),\"event\":\(eventJSON),\"id\":\(quote(record.id)),"
        text += "\"type\":\(quote(record.type.rawValue))}"
        return text
    }

    /// A JSON array of strings.
    static func stringArray(_ values: [String]) -> String {
        "[" + values.map(quote).joined(separator: ",") + "]"
    }

    /// A JSON string literal.
    static func quote(_ value: String) -> String {
        JSONWriter.string(.string(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }
}

extension Date {
    /// Milliseconds since 1970, the form dates take in indexed columns.
    var storedMillis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(storedMillis: Int64) {
        self.init(timeIntervalSince1970: Double(storedMillis) / 1000)
    }
}
