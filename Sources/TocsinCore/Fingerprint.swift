import Crypto
import Foundation

/// The identity of an alert across events.
public enum Fingerprint {
    /// A stable hash of the label set: SHA-256 over the labels sorted by name, each name and value
    /// length-prefixed so that no two different label sets can produce the same input.
    public static func of(labels: [String: String]) -> String {
        var hasher = SHA256()
        for (name, value) in labels.sorted(by: { $0.key < $1.key }) {
            for part in [name, value] {
                let bytes = Array(part.utf8)
                hasher.update(data: Array("\(bytes.count):".utf8))
                hasher.update(data: bytes)
            }
        }
        return hex(hasher.finalize()).prefix(16).description
    }

    /// The fingerprint of an explicit alert key given by the sender.
    public static func of(key: String) -> String {
        hex(SHA256.hash(data: Array("key:\(key)".utf8))).prefix(16).description
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { byte in
            let hexDigits = Array("0123456789abcdef")
            return String([hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)]])
        }.joined()
    }
}
