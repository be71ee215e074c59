import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a secret could not be sealed or opened. The message never holds the key or the secret.
public struct SecretBoxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Encrypts integration secrets kept in the database (AES-256-GCM): a stolen database or backup does not give away
/// the credentials without the key, and a changed ciphertext is detected instead of decrypting to garbage.
///
/// Stored form: `enc:v1:` and the base64 of nonce (12 bytes), ciphertext and tag (16 bytes).
public struct SecretBox: Sendable {
    public static let prefix = "enc:v1:"
    public static let keyByteCount = 32

    private let key: SymmetricKey

    /// `material`: the 32 bytes of the key, or the base64 text of them (surrounding white space ignored).
    public init(keyMaterial material: [UInt8]) throws(SecretBoxError) {
        if material.count == Self.keyByteCount {
            key = SymmetricKey(data: material)
            return
        }
        let text = String(decoding: material, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let decoded = Data(base64Encoded: text), decoded.count == Self.keyByteCount else {
            throw SecretBoxError("the secrets key must be 32 bytes, given raw or as base64 text (openssl rand -base64 32)")
        }
        key = SymmetricKey(data: decoded)
    }

    /// A new random key, as the base64 text that `init(keyMaterial:)` and `TOCSIN_SECRETS_KEY` take.
    public static func generateKeyText() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    public static func isSealed(_ text: String) -> Bool {
        text.hasPrefix(prefix)
    }

    public func seal(_ plainText: String) throws(SecretBoxError) -> String {
        do {
            let box = try AES.GCM.seal(Data(plainText.utf8), using: key)
            guard let combined = box.combined else { throw SecretBoxError("cannot encrypt the secret") }
            return Self.prefix + combined.base64EncodedString()
        } catch let error as SecretBoxError {
            throw error
        } catch {
            throw SecretBoxError("cannot encrypt the secret")
        }
    }

    public func open(_ stored: String) throws(SecretBoxError) -> String {
        guard Self.isSealed(stored), let combined = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))) else {
            throw SecretBoxError("the stored secret is not in the enc:v1: form")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            let plain = try AES.GCM.open(box, using: key)
            guard let text = String(data: plain, encoding: .utf8) else { throw SecretBoxError("the stored secret is not text") }
            return text
        } catch let error as SecretBoxError {
            throw error
        } catch {
            throw SecretBoxError(
                "the stored secret cannot be decrypted: the secrets key differs from the one it was stored with, or the value was changed"
            )
        }
    }
}

/// Where the secrets key comes from: `server.secrets_key_file`, else `TOCSIN_SECRETS_KEY`, else (SQLite only) a key
/// file made next to the database on first need.
public struct SecretKeySource: Sendable, Hashable {
    public var keyFile: String?
    /// The base64 key of `TOCSIN_SECRETS_KEY`.
    public var environmentKey: String?
    /// Where the key is generated when neither is set; nil with a shared (PostgreSQL) database, where every
    /// instance must have the same key and one made up here would not be.
    public var generatedKeyFile: String?

    public init(keyFile: String?, environmentKey: String?, generatedKeyFile: String?) {
        self.keyFile = keyFile
        self.environmentKey = environmentKey
        self.generatedKeyFile = generatedKeyFile
    }

    /// The file name of a generated key, in the SQLite database's directory.
    public static let generatedFileName = "secrets.key"

    /// The sources for a configuration: `sqlitePath` is nil when the store is PostgreSQL.
    public init(auth: AuthSettings, environment: [String: String], sqlitePath: String?) {
        self.keyFile = auth.secretsKeyFile
        self.environmentKey = environment["TOCSIN_SECRETS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        self.generatedKeyFile = sqlitePath.map { path in
            let directory = (path as NSString).deletingLastPathComponent
            return (directory.isEmpty ? "." : directory) + "/" + Self.generatedFileName
        }
    }

    /// The box, or nil when no key is set and none may be generated. With `create`, a missing generated key file is
    /// made (mode 0600); without it, nil is returned instead, for readers that have nothing to decrypt yet.
    public func box(create: Bool) throws(SecretBoxError) -> SecretBox? {
        if let keyFile {
            guard let data = FileManager.default.contents(atPath: keyFile) else {
                throw SecretBoxError("cannot read the secrets key file '\(keyFile)' (server.secrets_key_file)")
            }
            do {
                return try SecretBox(keyMaterial: Array(data))
            } catch {
                throw SecretBoxError("server.secrets_key_file '\(keyFile)': \(error.message)")
            }
        }
        if let environmentKey {
            do {
                return try SecretBox(keyMaterial: Array(environmentKey.utf8))
            } catch {
                throw SecretBoxError("TOCSIN_SECRETS_KEY: \(error.message)")
            }
        }
        guard let generatedKeyFile else { return nil }
        if let data = FileManager.default.contents(atPath: generatedKeyFile) {
            do {
                return try SecretBox(keyMaterial: Array(data))
            } catch {
                throw SecretBoxError("the secrets key file '\(generatedKeyFile)': \(error.message)")
            }
        }
        guard create else { return nil }
        return try Self.generate(at: generatedKeyFile)
    }

    /// Writes a new key file readable by its owner only. Made with O_EXCL: should another process make it first,
    /// its key is the one used.
    private static func generate(at path: String) throws(SecretBoxError) -> SecretBox {
        let text = SecretBox.generateKeyText() + "\n"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if descriptor < 0 {
            if errno == EEXIST, let data = FileManager.default.contents(atPath: path) {
                return try SecretBox(keyMaterial: Array(data))
            }
            throw SecretBoxError("cannot create the secrets key file '\(path)'")
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else {
            unlink(path)
            throw SecretBoxError("cannot write the secrets key file '\(path)'")
        }
        return try SecretBox(keyMaterial: Array(text.utf8))
    }
}
