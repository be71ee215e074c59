import Crypto
import Foundation
import _CryptoExtras

/// API tokens, console session ids and CSRF tokens: random values, and the forms in which they are stored.
public enum Credentials {
    /// Marks a Tocsin API token, so that secret scanners and people recognise one in a leaked file.
    public static let tokenPrefix = "tocsin_"

    /// A new API token (`tocsin_` and 32 random bytes in base64url), its public id and the hash to store.
    public static func newToken() -> (token: Secret, id: String, hash: String) {
        let token = tokenPrefix + base64URL(randomBytes(32))
        return (Secret(token), hex(randomBytes(6)), sha256Hex(token))
    }

    /// A new console session: the cookie's value and the hash to store.
    public static func newSession() -> (cookieValue: Secret, idHash: String) {
        let value = base64URL(randomBytes(32))
        return (Secret(value), sha256Hex(value))
    }

    /// A new CSRF token for a session.
    public static func newCSRFToken() -> String {
        base64URL(randomBytes(32))
    }

    /// Lowercase hex SHA-256 of `text`: how tokens and session ids are stored and looked up. A plain hash is enough
    /// for them (unlike passwords): they are 256 random bits, beyond any guessing.
    public static func sha256Hex(_ text: String) -> String {
        hex(Array(SHA256.hash(data: Array(text.utf8))))
    }

    /// Compares in time that depends only on the lengths, so that a mismatch's position cannot be measured.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        constantTimeEquals(Array(lhs.utf8), Array(rhs.utf8))
    }

    /// Bytes from the operating system's CSPRNG (through BoringSSL).
    static func randomBytes(_ count: Int) -> [UInt8] {
        SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Array($0) }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    static func unbase64(_ text: Substring) -> [UInt8]? {
        Data(base64Encoded: String(text)).map { Array($0) }
    }
}

/// Password hashing with scrypt. The stored string carries the algorithm, its parameters, the salt and the digest
/// (`scrypt$ln=15,r=8,p=1$SALT$DIGEST`, base64), so that the cost can be raised later without breaking the hashes
/// already stored: each is checked with the parameters it was made with.
public struct PasswordHasher: Sendable, Hashable {
    /// log2 of scrypt's N (CPU and memory cost).
    public var logRounds: Int
    public var blockSize: Int
    public var parallelism: Int

    /// 2^15 × 8 × 128 bytes: 32 MiB of memory and about a tenth of a second per hash, which makes guessing
    /// stolen hashes slow and costly, and sign-in still quick.
    public static let standard = PasswordHasher(logRounds: 15, blockSize: 8, parallelism: 1)

    /// Accepted parameters when reading a stored hash: a forged or corrupt row must not make the server spend
    /// gigabytes or minutes on one sign-in.
    static let logRoundsRange = 10...20

    public init(logRounds: Int, blockSize: Int, parallelism: Int) {
        self.logRounds = logRounds
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// The stored form of `password`, with a fresh random salt.
    public func hash(_ password: Secret) throws -> String {
        let salt = Credentials.randomBytes(16)
        let digest = try derive(password, salt: salt, outputByteCount: 32)
        return "scrypt$ln=\(logRounds),r=\(blockSize),p=\(parallelism)$\(Credentials.base64(salt))$\(Credentials.base64(digest))"
    }

    /// Whether `password` matches a stored hash made by any `PasswordHasher`. A malformed hash matches nothing.
    public static func verify(_ password: Secret, against stored: String) -> Bool {
        guard let parsed = parse(stored), let digest = try? parsed.hasher.derive(password, salt: parsed.salt, outputByteCount: parsed.digest.count)
        else { return false }
        return Credentials.constantTimeEquals(digest, parsed.digest)
    }

    /// Spends the time of one check, for sign-ins naming an unknown user: otherwise the quick answer would tell
    /// which names exist.
    public func burnOneCheck() {
        _ = try? derive(Secret("unknown user"), salt: Array(repeating: 0, count: 16), outputByteCount: 32)
    }

    /// Whether a stored hash was made with weaker parameters than these, and should be remade at the next sign-in.
    public func isWeaker(_ stored: String) -> Bool {
        guard let parsed = Self.parse(stored) else { return true }
        return parsed.hasher.logRounds < logRounds || parsed.hasher.blockSize < blockSize
    }

    private func derive(_ password: Secret, salt: [UInt8], outputByteCount: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.exposedValue.utf8),
            salt: salt,
            outputByteCount: outputByteCount,
            rounds: 1 << logRounds,
            blockSize: blockSize,
            parallelism: parallelism
        )
        return key.withUnsafeBytes { Array($0) }
    }

    private static func parse(_ stored: String) -> (hasher: PasswordHasher, salt: [UInt8], digest: [UInt8])? {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "scrypt" else { return nil }
        var values: [String: Int] = [:]
        for field in parts[1].split(separator: ",") {
            let pair = field.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let number = Int(pair[1]) else { return nil }
            values[String(pair[0])] = number
        }
        guard let logRounds = values["ln"], let blockSize = values["r"], let parallelism = values["p"],
            logRoundsRange.contains(logRounds), (1...32).contains(blockSize), (1...16).contains(parallelism),
            let salt = Credentials.unbase64(parts[2]), let digest = Credentials.unbase64(parts[3]),
            salt.count >= 8, (16...64).contains(digest.count)
        else { return nil }
        return (PasswordHasher(logRounds: logRounds, blockSize: blockSize, parallelism: parallelism), salt, digest)
    }
}
