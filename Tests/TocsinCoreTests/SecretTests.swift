import Testing
import TocsinCore

@Suite("Secret")
struct SecretTests {
    static let value = "hunter2-Sup3rS3cret"

    struct SMTPSettings {
        var host: String
        var password: Secret
    }

    enum Credential {
        case basic(user: String, password: Secret)
    }

    @Test("interpolation, describing and reflecting show <secret>")
    func directPrinting() {
        let secret = Secret(Self.value)
        #expect("\(secret)" == "<secret>")
        #expect(String(describing: secret) == "<secret>")
        #expect(String(reflecting: secret) == "<secret>")
        #expect(secret.description == "<secret>")
        #expect(secret.debugDescription == "<secret>")
        #expect(secret.exposedValue == Self.value)
    }

    @Test("inside collections, optionals, structs and enums it still shows <secret>")
    func nestedPrinting() {
        let secret = Secret(Self.value)
        let settings = SMTPSettings(host: "smtp.example", password: secret)
        let texts = [
            "\([secret])",
            String(describing: [secret]),
            String(reflecting: [secret]),
            "\(["password": secret])",
            String(describing: Optional(secret)),
            String(describing: settings),
            String(reflecting: settings),
            "\(settings)",
            "\(Credential.basic(user: "ops", password: secret))",
            String(reflecting: (1, secret)),
        ]
        for text in texts {
            #expect(!text.contains(Self.value), "leaks: \(text)")
            #expect(text.contains("<secret>"), "\(text)")
        }
    }

    @Test("dump() of a secret or of a struct holding one does not show the value")
    func dumpDoesNotLeak() {
        let secret = Secret(Self.value)
        var direct = ""
        dump(secret, to: &direct)
        #expect(!direct.contains(Self.value), "dump(secret) leaks: \(direct)")
        var nested = ""
        dump(SMTPSettings(host: "smtp.example", password: secret), to: &nested)
        #expect(!nested.contains(Self.value), "dump(settings) leaks: \(nested)")
        var array = ""
        dump([secret], to: &array)
        #expect(!array.contains(Self.value), "dump([secret]) leaks: \(array)")
        let reflected = Mirror(reflecting: secret).children.map { String(describing: $0.value) }
        #expect(!reflected.contains(Self.value), "Mirror children leak: \(reflected)")
    }

    @Test("redact removes every occurrence of the value from a text")
    func redact() {
        let secret = Secret(Self.value)
        let text = "auth failed for ops:\(Self.value) (sent \(Self.value))"
        let redacted = secret.redact(text)
        #expect(!redacted.contains(Self.value))
        #expect(redacted == "auth failed for ops:<secret> (sent <secret>)")
        #expect(secret.redact("nothing to hide") == "nothing to hide")
    }

    @Test("secrets compare by value")
    func equality() {
        #expect(Secret("a-long-one") == Secret("a-long-one"))
        #expect(Secret("a-long-one") != Secret("another-one"))
    }
}
