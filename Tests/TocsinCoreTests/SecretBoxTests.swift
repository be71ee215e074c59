import Foundation
import Testing
import TocsinCore

@Suite("SecretBox: integration secrets encrypted at rest")
struct SecretBoxTests {
    static let keyText = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  // base64 of 32 ASCII bytes

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "secretbox-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a sealed secret opens to the same text, is in the enc:v1: form and never contains the plain text")
    func roundTrip() throws {
        let box = try SecretBox(keyMaterial: Array(Self.keyText.utf8))
        let sealed = try box.seal("xoxb-plain-token-1234")
        #expect(sealed.hasPrefix("enc:v1:"))
        #expect(!sealed.contains("xoxb-plain-token"))
        #expect(try box.open(sealed) == "xoxb-plain-token-1234")
        // A fresh nonce each time: the same secret does not give the same stored text.
        #expect(try box.seal("xoxb-plain-token-1234") != sealed)
    }

    @Test("the key is 32 raw bytes or their base64; anything else is refused with a message that quotes nothing")
    func keyForms() throws {
        let raw = Array("0123456789abcdef0123456789abcdef".utf8)
        let fromRaw = try SecretBox(keyMaterial: raw)
        let fromText = try SecretBox(keyMaterial: Array((Self.keyText + "\n").utf8))
        #expect(try fromText.open(try fromRaw.seal("same key")) == "same key")
        let short = "c2hvcnQta2V5"
        let error = #expect(throws: SecretBoxError.self) { try SecretBox(keyMaterial: Array(short.utf8)) }
        #expect(error?.message.contains("32 bytes") == true)
        #expect(error?.message.contains(short) == false)
    }

    @Test("another key cannot open a secret: a clear error, no crash, no plain text")
    func wrongKey() throws {
        let sealed = try SecretBox(keyMaterial: Array(Self.keyText.utf8)).seal("hunter2-password")
        let other = try SecretBox(keyMaterial: Array(SecretBox.generateKeyText().utf8))
        let error = #expect(throws: SecretBoxError.self) { try other.open(sealed) }
        #expect(error?.message.contains("secrets key differs") == true)
        #expect(error?.message.contains("hunter2") == false)
    }

    @Test("a changed ciphertext is detected, and a value not in the stored form is refused")
    func tampered() throws {
        let box = try SecretBox(keyMaterial: Array(Self.keyText.utf8))
        let sealed = try box.seal("signing-secret")
        var bytes = try #require(Data(base64Encoded: String(sealed.dropFirst(SecretBox.prefix.count))))
        bytes[bytes.count / 2] ^= 0x01
        #expect(throws: SecretBoxError.self) { try box.open(SecretBox.prefix + bytes.base64EncodedString()) }
        #expect(throws: SecretBoxError.self) { try box.open("signing-secret") }
        #expect(throws: SecretBoxError.self) { try box.open("enc:v1:not base64!") }
    }

    @Test("on SQLite without a key, secrets.key is made next to the database, mode 0600, and reused")
    func generatedKeyFile() throws {
        let directory = try temporaryDirectory()
        let source = SecretKeySource(auth: AuthSettings(), environment: [:], sqlitePath: directory + "/tocsin.db")
        #expect(source.generatedKeyFile == directory + "/secrets.key")
        // Reading without create makes nothing.
        #expect(try source.box(create: false) == nil)
        #expect(!FileManager.default.fileExists(atPath: directory + "/secrets.key"))
        let box = try #require(try source.box(create: true))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/secrets.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let sealed = try box.seal("kept across restarts")
        let again = try #require(try source.box(create: false))
        #expect(try again.open(sealed) == "kept across restarts")
    }

    @Test("on PostgreSQL without a key there is no box: nothing is generated")
    func sharedStoreNeedsAKey() throws {
        let source = SecretKeySource(auth: AuthSettings(), environment: [:], sqlitePath: nil)
        #expect(try source.box(create: true) == nil)
        let fromEnvironment = SecretKeySource(auth: AuthSettings(), environment: ["TOCSIN_SECRETS_KEY": Self.keyText], sqlitePath: nil)
        #expect(try fromEnvironment.box(create: true) != nil)
    }

    @Test("server.secrets_key_file wins over the environment; an unreadable file is an error naming it")
    func keyFileSetting() throws {
        let directory = try temporaryDirectory()
        let file = directory + "/key"
        try Data(Array("0123456789abcdef0123456789abcdef".utf8)).write(to: URL(fileURLWithPath: file))
        var auth = AuthSettings()
        auth.secretsKeyFile = file
        let source = SecretKeySource(auth: auth, environment: ["TOCSIN_SECRETS_KEY": SecretBox.generateKeyText()], sqlitePath: nil)
        let sealed = try #require(try source.box(create: false)).seal("x")
        #expect(try SecretBox(keyMaterial: Array("0123456789abcdef0123456789abcdef".utf8)).open(sealed) == "x")
        auth.secretsKeyFile = directory + "/missing"
        let error = #expect(throws: SecretBoxError.self) {
            try SecretKeySource(auth: auth, environment: [:], sqlitePath: nil).box(create: true)
        }
        #expect(error?.message.contains("missing") == true)
    }
}
