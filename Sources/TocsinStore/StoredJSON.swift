import Foundation

/// The JSON encoding of values kept in text columns: dates as milliseconds since 1970, keys sorted.
enum StoredJSON {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(type, from: Data(text.utf8))
    }
}

extension Date {
    /// Milliseconds since 1970, the form dates take in indexed columns.
    var storedMillis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(storedMillis: Int64) {
        self.init(timeIntervalSince1970: Double(storedMillis) / 1000)
    }
}
