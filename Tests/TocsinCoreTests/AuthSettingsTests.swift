import Foundation
import Testing
import TocsinCore

@Suite("server.auth settings and credentials")
struct AuthSettingsTests {
    @Test("without a server.auth section: auto, 12 hours, on unless the server listens on loopback only")
    func defaults() throws {
        let configuration = try makeLoader().load(yaml: "server: {listen: '127.0.0.1:9095'}")
        let auth = configuration.server.auth
        #expect(auth.mode == .auto)
        #expect(auth.sessionLifetime == .seconds(12 * 3600))
        #expect(auth.secretsKeyFile == nil)
        #expect(!auth.isEnabled(listensOnLoopbackOnly: configuration.server.listensOnLoopbackOnly))
        let wide = try makeLoader().load(yaml: "server: {listen: '0.0.0.0:9095'}")
        #expect(wide.server.auth.isEnabled(listensOnLoopbackOnly: wide.server.listensOnLoopbackOnly))
    }

    @Test("mode, session lifetime and the secrets key file are read; on and off also as YAML booleans")
    func readsValues() throws {
        let yaml = """
            server:
              listen: "0.0.0.0:9095"
              secrets_key_file: /etc/tocsin/secrets.key
              auth:
                mode: off
                session_lifetime: 8h
            """
        let server = try makeLoader().load(yaml: yaml).server
        #expect(server.auth.mode == .off)
        #expect(server.auth.sessionLifetime == .seconds(8 * 3600))
        #expect(server.auth.secretsKeyFile == "/etc/tocsin/secrets.key")
        #expect(!server.auth.isEnabled(listensOnLoopbackOnly: false))
        let on = try makeLoader().load(yaml: "server: {auth: {mode: \"on\"}}").server
        #expect(on.auth.mode == .on)
        #expect(on.auth.isEnabled(listensOnLoopbackOnly: true))
    }

    @Test("every bad value is a problem at its path")
    func problems() {
        let yaml = """
            server:
              secrets_key_file: ""
              auth:
                mode: sometimes
                session_lifetime: 1m
                realm: tocsin
            """
        let problems = configProblems(yaml)
        let expected: [(path: String, words: String)] = [
            ("server.auth.mode", "sometimes"),
            ("server.auth.session_lifetime", "5m to 30d"),
            ("server.auth.realm", "unknown key"),
            ("server.secrets_key_file", "empty"),
        ]
        for (path, words) in expected {
            let problem = problems.at(path)
            #expect(problem?.message.contains(words) == true, "\(path): \(problem?.message ?? "no problem reported") in \(problems)")
        }
        #expect(configProblems("server: {auth: [on]}").at("server.auth")?.message.contains("mapping") == true)
        #expect(configProblems("server: {auth: {session_lifetime: soon}}").at("server.auth.session_lifetime") != nil)
        #expect(configProblems("server: {auth: {mode: 3}}").at("server.auth.mode")?.message.contains("auto, on or off") == true)
    }

    @Test("a warning at start-up only when authentication is off on a server others can reach")
    func startupWarning() {
        var auth = AuthSettings()
        auth.mode = .off
        let warning = auth.startupWarning(host: "0.0.0.0", listensOnLoopbackOnly: false)
        #expect(warning?.contains("0.0.0.0") == true)
        #expect(auth.startupWarning(host: "127.0.0.1", listensOnLoopbackOnly: true) == nil)
        auth.mode = .auto
        #expect(auth.startupWarning(host: "0.0.0.0", listensOnLoopbackOnly: false) == nil)
    }

    @Test("tokens are 32 random bytes behind a prefix, stored as their SHA-256 in lowercase hex")
    func tokens() {
        let first = Credentials.newToken()
        let second = Credentials.newToken()
        #expect(first.token.exposedValue.hasPrefix("tocsin_"))
        #expect(first.token.exposedValue.count == 7 + 43)
        #expect(first.token != second.token)
        #expect(first.id != second.id)
        #expect(first.id.count == 12)
        #expect(first.hash == Credentials.sha256Hex(first.token.exposedValue))
        #expect(first.hash.count == 64 && first.hash.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(!first.hash.contains(first.token.exposedValue))
        #expect(Credentials.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect("\(first.token)" == "<secret>")
    }

    @Test("a password hash names its algorithm and cost, is salted, and checks only the right password")
    func passwords() throws {
        let hasher = PasswordHasher.standard
        let password = Secret("correct horse battery staple")
        let stored = try hasher.hash(password)
        #expect(stored.hasPrefix("scrypt$ln=15,r=8,p=1$"))
        #expect(!stored.contains(password.exposedValue))
        #expect(try hasher.hash(password) != stored, "each hash has its own salt")
        #expect(PasswordHasher.verify(password, against: stored))
        #expect(!PasswordHasher.verify(Secret("correct horse battery stapler"), against: stored))
        #expect(!hasher.isWeaker(stored))
    }

    @Test("a hash made with other parameters still checks; malformed or extravagant ones match nothing")
    func otherParameters() throws {
        let cheap = PasswordHasher(logRounds: 10, blockSize: 8, parallelism: 1)
        let password = Secret("another long password")
        let stored = try cheap.hash(password)
        #expect(stored.hasPrefix("scrypt$ln=10,r=8,p=1$"))
        #expect(PasswordHasher.verify(password, against: stored))
        #expect(PasswordHasher.standard.isWeaker(stored))
        let parts = stored.split(separator: "$")
        #expect(!PasswordHasher.verify(password, against: "scrypt$ln=30,r=8,p=1$\(parts[2])$\(parts[3])"))
        #expect(!PasswordHasher.verify(password, against: "scrypt$ln=10,r=8$\(parts[2])$\(parts[3])"))
        #expect(!PasswordHasher.verify(password, against: "pbkdf2$whatever"))
        #expect(!PasswordHasher.verify(password, against: ""))
    }

    @Test("constant-time comparison compares whole values")
    func constantTime() {
        #expect(Credentials.constantTimeEquals("abc", "abc"))
        #expect(!Credentials.constantTimeEquals("abc", "abd"))
        #expect(!Credentials.constantTimeEquals("abc", "abcd"))
        #expect(!Credentials.constantTimeEquals("", "a"))
    }
}
