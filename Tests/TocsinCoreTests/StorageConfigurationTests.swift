import Foundation
import Testing
import TocsinCore

@Suite("Storage configuration: storage.postgres, storage.lease, server.instance_id")
struct StorageConfigurationTests {
    /// Every password the tests below use; none may appear in any problem's text.
    static let passwords = ["hunter2-pw", "file-pw-9931", "env-pw-4417"]

    func postgres(_ yaml: String, loader: ConfigurationLoader = makeLoader()) throws -> PostgresSettings {
        try #require(try loader.load(yaml: yaml).storage.postgres)
    }

    // MARK: the URL form

    @Test("a URL gives host, port, user, password and database")
    func fullURL() throws {
        let settings = try postgres("storage: {postgres: 'postgres://alerts:hunter2-pw@db.example:6543/tocsin_prod'}")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6543)
        #expect(settings.user == "alerts")
        #expect(settings.password?.exposedValue == "hunter2-pw")
        #expect(settings.database == "tocsin_prod")
        #expect(settings.tls == .prefer)
        #expect(settings.poolSize == 8)
        #expect(settings.schema == nil)
    }

    @Test("an IPv6 address in a URL loses its brackets")
    func ipv6URL() throws {
        let settings = try postgres("storage: {postgres: 'postgres://tocsin@[::1]:5433/tocsin'}")
        #expect(settings.host == "::1")
        #expect(settings.port == 5433)
    }

    @Test("a URL with only a host keeps the defaults for everything else")
    func minimalURL() throws {
        let settings = try postgres("storage: {postgres: 'postgresql://db.example'}")
        var expected = PostgresSettings()
        expected.host = "db.example"
        #expect(settings == expected)
    }

    @Test("the URL's query sets TLS, the CA file, verification, the schema and the pool size")
    func urlQuery() throws {
        let url = "postgres://tocsin@db:5432/tocsin?sslmode=require&ca_file=/etc/ca.pem&skip_verify=true&schema=alerting&pool_size=3"
        let settings = try postgres("storage: {postgres: '\(url)'}")
        #expect(settings.tls == .require)
        #expect(settings.caFile == "/etc/ca.pem")
        #expect(settings.skipVerify)
        #expect(settings.schema == "alerting")
        #expect(settings.poolSize == 3)
    }

    @Test(
        "libpq's sslmode names map to the three modes",
        arguments: [
            ("disable", PostgresSettings.TLSMode.disable), ("allow", .prefer), ("prefer", .prefer), ("require", .require),
            ("verify-ca", .require), ("verify-full", .require),
        ]
    )
    func sslModes(_ mode: String, _ expected: PostgresSettings.TLSMode) throws {
        #expect(try postgres("storage: {postgres: 'postgres://db/tocsin?sslmode=\(mode)'}").tls == expected)
    }

    @Test("a percent-encoded password is decoded")
    func percentEncodedPassword() throws {
        let settings = try postgres("storage: {postgres: 'postgres://tocsin:p%40ss%2Fw0rd@db/tocsin'}")
        #expect(settings.password?.exposedValue == "p@ss/w0rd")
    }

    @Test("${ENV} is substituted in the URL before it is read")
    func urlEnvironment() throws {
        let loader = makeLoader(environment: ["PGHOST": "db.internal", "PGPASSWORD": "env-pw-4417"])
        let settings = try postgres("storage: {postgres: 'postgres://tocsin:${PGPASSWORD}@${PGHOST}/tocsin'}", loader: loader)
        #expect(settings.host == "db.internal")
        #expect(settings.password?.exposedValue == "env-pw-4417")
    }

    @Test(
        "a URL that cannot be used is a problem at storage.postgres",
        arguments: [
            ("mysql://tocsin:hunter2-pw@db/tocsin", "scheme"),
            ("db.example:5432", "URL"),
            ("postgres://tocsin:hunter2-pw@db:70000/tocsin", "port"),
            ("postgres://tocsin:hunter2-pw@db/tocsin?sslmode=sometimes", "sslmode"),
            ("postgres://tocsin:hunter2-pw@db/tocsin?pool_size=0", "pool_size"),
            ("postgres://tocsin:hunter2-pw@db/tocsin?skip_verify=maybe", "skip_verify"),
            ("postgres://tocsin:hunter2-pw@db/tocsin?password=x", "password"),
        ]
    )
    func badURL(_ url: String, _ words: String) {
        let problems = configProblems("storage: {postgres: '\(url)'}")
        let problem = problems.at("storage.postgres")
        #expect(problem?.message.contains(words) == true, "\(problems)")
        #expect(problems.count == 1, "\(problems)")
        expectNoPassword(in: problems)
    }

    @Test("a bad schema in the URL is a problem at storage.postgres.schema")
    func badSchemaInURL() {
        let problems = configProblems("storage: {postgres: 'postgres://db/tocsin?schema=Alerts'}")
        #expect(problems.at("storage.postgres.schema")?.message.contains("lower-case") == true, "\(problems)")
    }

    // MARK: the mapping form

    @Test("a mapping sets every key")
    func fullMapping() throws {
        let yaml = """
            storage:
              postgres:
                host: db.example
                port: 6543
                user: alerts
                database: tocsin_prod
                password: hunter2-pw
                tls: require
                ca_file: /etc/tocsin/ca.pem
                skip_verify: false
                schema: tocsin
                pool_size: 16
            """
        let settings = try postgres(yaml)
        #expect(settings.host == "db.example")
        #expect(settings.port == 6543)
        #expect(settings.user == "alerts")
        #expect(settings.database == "tocsin_prod")
        #expect(settings.password == Secret("hunter2-pw"))
        #expect(settings.tls == .require)
        #expect(settings.caFile == "/etc/tocsin/ca.pem")
        #expect(!settings.skipVerify)
        #expect(settings.schema == "tocsin")
        #expect(settings.poolSize == 16)
    }

    @Test("an empty mapping is PostgreSQL on 127.0.0.1:5432, user and database tocsin, TLS preferred")
    func emptyMapping() throws {
        #expect(try postgres("storage: {postgres: {}}") == PostgresSettings())
        let defaults = PostgresSettings()
        #expect(defaults.host == "127.0.0.1")
        #expect(defaults.port == 5432)
        #expect(defaults.user == "tocsin")
        #expect(defaults.database == "tocsin")
        #expect(defaults.password == nil)
        #expect(defaults.tls == .prefer)
        #expect(defaults.poolSize == 8)
    }

    @Test("password_file is read through readFile, without its trailing line breaks")
    func passwordFile() throws {
        let loader = makeLoader(files: ["/run/secrets/pg": "file-pw-9931\r\n\n"])
        let settings = try postgres("storage: {postgres: {host: db, password_file: /run/secrets/pg}}", loader: loader)
        #expect(settings.password?.exposedValue == "file-pw-9931")
    }

    @Test("${ENV} is substituted in the mapping's strings, the password_file name included")
    func mappingEnvironment() throws {
        let environment = [
            "PGHOST": "db.internal", "PGUSER": "alerts", "PGDATABASE": "alerting", "PGPASSWORD": "env-pw-4417",
            "SECRETS": "/run/secrets", "TLS": "require", "SCHEMA": "tocsin_a",
        ]
        let loader = makeLoader(environment: environment, files: ["/run/secrets/pg": "file-pw-9931\n"])
        let yaml = """
            storage:
              postgres: {host: "${PGHOST}", user: "${PGUSER}", database: "${PGDATABASE}", password: "${PGPASSWORD}",
                         tls: "${TLS}", ca_file: "${SECRETS}/ca.pem", schema: "${SCHEMA}"}
            """
        let settings = try postgres(yaml, loader: loader)
        #expect(settings.host == "db.internal")
        #expect(settings.user == "alerts")
        #expect(settings.database == "alerting")
        #expect(settings.password?.exposedValue == "env-pw-4417")
        #expect(settings.tls == .require)
        #expect(settings.caFile == "/run/secrets/ca.pem")
        #expect(settings.schema == "tocsin_a")
        let fromFile = try postgres("storage: {postgres: {password_file: '${SECRETS}/pg'}}", loader: loader)
        #expect(fromFile.password?.exposedValue == "file-pw-9931")
    }

    @Test("the contents of password_file are not substituted")
    func passwordFileNotSubstituted() throws {
        let loader = makeLoader(environment: ["X": "no"], files: ["/pw": "a${X}b\n"])
        #expect(try postgres("storage: {postgres: {password_file: /pw}}", loader: loader).password?.exposedValue == "a${X}b")
    }

    @Test(
        "every bad value in the mapping is a problem at its path",
        arguments: [
            ("host: ''", "host", "empty"),
            ("host: [a]", "host", "string"),
            ("user: ' '", "user", "empty"),
            ("database: {}", "database", "string"),
            ("port: 0", "port", "port"),
            ("port: 65536", "port", "port"),
            ("port: '5432'", "port", "port"),
            ("port: 54.5", "port", "port"),
            ("tls: verify", "tls", "disable, prefer or require"),
            ("tls: true", "tls", "string"),
            ("ca_file: ''", "ca_file", "empty"),
            ("skip_verify: 'yes'", "skip_verify", "true or false"),
            ("schema: Tocsin", "schema", "lower-case"),
            ("schema: 1tocsin", "schema", "lower-case"),
            ("schema: tocsin-a", "schema", "lower-case"),
            ("schema: pg_tocsin", "schema", "reserved"),
            ("schema: ''", "schema", "lower-case"),
            ("pool_size: 0", "pool_size", "at least 1"),
            ("pool_size: 2.5", "pool_size", "whole number"),
            ("passwd: x", "passwd", "unknown key"),
            ("password: [hunter2-pw]", "password", "string"),
            ("password_file: /missing", "password_file", "cannot read '/missing'"),
            ("password: hunter2-pw, password_file: /run/secrets/pg", "password_file", "not both"),
            ("host: '${NOPE}'", "host", "NOPE"),
        ]
    )
    func badMappingValue(_ entry: String, _ key: String, _ words: String) {
        let loader = makeLoader(files: ["/run/secrets/pg": "file-pw-9931"])
        let problems = configProblems("storage: {postgres: {\(entry)}}", loader: loader)
        let problem = problems.at("storage.postgres.\(key)")
        #expect(problem?.message.contains(words) == true, "\(problems)")
        #expect(problems.count == 1, "\(problems)")
        expectNoPassword(in: problems)
    }

    @Test("storage.postgres that is neither a URL nor a mapping is a problem", arguments: ["null", "[a, b]", "true"])
    func neitherURLNorMapping(_ value: String) {
        let problems = configProblems("storage: {postgres: \(value)}")
        #expect(problems.at("storage.postgres")?.message.contains("postgres:// URL or a mapping") == true, "\(problems)")
    }

    @Test("every problem of a postgres mapping is reported at once")
    func everyProblemAtOnce() {
        let problems = configProblems("storage: {postgres: {host: '', port: -1, tls: maybe, pool_size: 0, colour: blue}}")
        let paths = Set(problems.map(\.path))
        #expect(
            paths == [
                "storage.postgres.host", "storage.postgres.port", "storage.postgres.tls", "storage.postgres.pool_size", "storage.postgres.colour",
            ],
            "\(problems)"
        )
    }

    @Test("sqlite and postgres together are a problem: choose one")
    func sqliteAndPostgres() {
        let problems = configProblems("storage: {sqlite: /var/lib/tocsin/tocsin.db, postgres: 'postgres://db/tocsin'}")
        #expect(problems.at("storage")?.message.contains("choose one") == true, "\(problems)")
        #expect(problems.count == 1)
    }

    @Test("synchronous is SQLite's: with postgres it is a problem rather than silently ignored")
    func synchronousWithPostgres() {
        let problems = configProblems("storage: {synchronous: normal, postgres: 'postgres://db/tocsin'}")
        #expect(problems.at("storage.synchronous")?.message.contains("SQLite only") == true, "\(problems)")
    }

    @Test("without storage.postgres the store is SQLite")
    func sqliteByDefault() throws {
        let storage = try makeLoader().load(yaml: "storage: {sqlite: /tmp/t.db}").storage
        #expect(storage.postgres == nil)
        #expect(storage.sqlitePath == "/tmp/t.db")
    }

    // MARK: secrets

    @Test("the password prints as <secret>, in the settings and in the whole configuration")
    func passwordNeverPrinted() throws {
        let loader = makeLoader(files: ["/pw": "file-pw-9931"])
        let fromURL = try loader.load(yaml: "storage: {postgres: 'postgres://tocsin:hunter2-pw@db/tocsin'}")
        let fromFile = try loader.load(yaml: "storage: {postgres: {password_file: /pw}}")
        for configuration in [fromURL, fromFile] {
            var dumped = ""
            dump(configuration, to: &dumped)
            let texts = [
                "\(configuration)", String(describing: configuration.storage), String(reflecting: configuration.storage), dumped,
            ]
            for text in texts {
                for password in Self.passwords {
                    #expect(!text.contains(password), "password printed in: \(text)")
                }
            }
            let printedPassword = "\(configuration.storage.postgres?.password as Any)"
            #expect(printedPassword.contains("<secret>"))
        }
    }

    @Test("a file with several mistakes around a password never shows the password in a problem or the error")
    func passwordNeverInProblems() {
        let yaml = """
            server: {instance_id: ''}
            storage:
              sqlite: /tmp/t.db
              synchronous: normal
              lease: 1s
              postgres: {host: '', password: hunter2-pw, port: hunter2-pw, tls: hunter, schema: 'Hunter2'}
            """
        do {
            _ = try makeLoader().load(yaml: yaml)
            Issue.record("expected the configuration to be refused")
        } catch let error as ConfigurationError {
            #expect(error.problems.count >= 6, "\(error)")
            #expect(!error.description.contains("hunter2-pw"), "\(error)")
            expectNoPassword(in: error.problems)
        } catch {
            Issue.record("expected ConfigurationError, got \(error)")
        }
    }

    func expectNoPassword(in problems: [ConfigProblem], sourceLocation: SourceLocation = #_sourceLocation) {
        for problem in problems {
            for password in Self.passwords {
                #expect(!problem.description.contains(password), "password in problem: \(problem)", sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: storage.lease

    @Test("the lease defaults to two minutes")
    func leaseDefault() throws {
        #expect(try makeLoader().load(yaml: "").storage.lease == .seconds(120))
    }

    @Test("the lease is a duration of at least 10 seconds", arguments: [("10s", 10), ("2m", 120), ("1h", 3600), ("90", 90), ("1m30s", 90)])
    func leaseValues(_ text: String, _ seconds: Int) throws {
        let storage = try makeLoader().load(yaml: "storage: {lease: '\(text)'}").storage
        #expect(storage.lease == .seconds(seconds))
    }

    @Test(
        "a lease below 10 seconds, or not a duration, is a problem at storage.lease",
        arguments: [
            ("9s", "at least 10s"), ("9999ms", "at least 10s"), ("0", "at least 10s"), ("soon", "duration"), ("-1m", "duration"),
        ]
    )
    func badLease(_ text: String, _ words: String) {
        let problems = configProblems("storage: {lease: '\(text)'}")
        #expect(problems.at("storage.lease")?.message.contains(words) == true, "\(problems)")
        #expect(problems.count == 1, "\(problems)")
    }

    @Test("the lease must be longer than every integration's timeout")
    func leaseLongerThanTimeouts() throws {
        let yaml = """
            storage: {lease: 30s}
            integrations:
              - {name: quick, type: webhook, timeout: 29s}
              - {name: slow, type: webhook, timeout: 30s}
            """
        let problems = configProblems(yaml)
        #expect(problems.count == 1, "\(problems)")
        let problem = try #require(problems.at("storage.lease"))
        #expect(problem.message.contains("'slow'"), "\(problem)")
        #expect(problem.message.contains("30s"), "\(problem)")
        let accepted = try makeLoader().load(yaml: yaml.replacingOccurrences(of: "lease: 30s", with: "lease: 31s"))
        #expect(accepted.storage.lease == .seconds(31))
    }

    // MARK: server.instance_id

    @Test("instance_id names this instance; without it there is none (the runtime picks host name and pid)")
    func instanceID() throws {
        #expect(try makeLoader().load(yaml: "server: {instance_id: tocsin-a}").server.instanceID == "tocsin-a")
        #expect(try makeLoader().load(yaml: "").server.instanceID == nil)
        let loader = makeLoader(environment: ["POD": "tocsin-7f9c"])
        #expect(try loader.load(yaml: "server: {instance_id: '${POD}'}").server.instanceID == "tocsin-7f9c")
        #expect(try makeLoader().load(yaml: "server: {instance_id: 7}").server.instanceID == "7")
    }

    @Test("an empty or non-string instance_id is a problem at server.instance_id", arguments: ["''", "'  '", "[a]", "null"])
    func badInstanceID(_ value: String) {
        let problems = configProblems("server: {instance_id: \(value)}")
        #expect(problems.at("server.instance_id") != nil, "\(problems)")
        #expect(problems.count == 1, "\(problems)")
    }
}
