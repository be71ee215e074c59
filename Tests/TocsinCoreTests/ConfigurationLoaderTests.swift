import Foundation
import Testing
import TocsinCore

@Suite("Configuration loader")
struct ConfigurationLoaderTests {
    @Test("every problem of a file is reported at once")
    func reportsAllProblems() {
        let yaml = """
            bogus_section: 1
            integrations:
              - {name: a, type: webhook, timeout: soon}
              - {name: a, type: webhook}
              - {type: webhook}
              - {name: c}
              - {name: d, type: carrier_pigeon}
            routing:
              global:
                warning: [nobody]
                urgent: [a]
              weather:
                info: [a]
            """
        let problems = configProblems(yaml)
        let expected: [(path: String, words: String)] = [
            ("bogus_section", "unknown section"),
            ("integrations[0].timeout", "soon"),
            ("integrations[1].name", "duplicate"),
            ("integrations[2].name", "required"),
            ("integrations[3].type", "required"),
            ("integrations[4].type", "carrier_pigeon"),
            ("routing.global.warning", "nobody"),
            ("routing.global.urgent", "urgent"),
            ("routing.weather", "weather"),
        ]
        for (path, words) in expected {
            let problem = problems.at(path)
            #expect(problem != nil, "no problem reported at \(path); got \(problems)")
            #expect(problem?.message.contains(words) == true, "\(path): \(problem?.message ?? "-")")
        }
        #expect(problems.count == expected.count, "\(problems)")
    }

    @Test("the error's description lists every problem with its path")
    func errorDescription() {
        let error = ConfigurationError(problems: [
            ConfigProblem(path: "routing.weather", message: "unknown category"),
            ConfigProblem(path: "server.listen", message: "bad"),
        ])
        #expect(error.description.contains("2 problem"))
        #expect(error.description.contains("routing.weather: unknown category"))
        #expect(error.description.contains("server.listen: bad"))
    }

    @Test("text that is not YAML is one problem, not a crash")
    func invalidYAML() {
        let problems = configProblems("integrations: [unclosed\n  - {")
        #expect(problems.count == 1)
        #expect(problems.first?.path == "(file)")
    }

    @Test("a top level that is not a mapping is refused")
    func topLevelNotMapping() {
        let problems = configProblems("- just\n- a list\n")
        #expect(problems.first?.message.contains("mapping") == true)
    }

    @Test("an empty file gives the defaults")
    func emptyFile() throws {
        let config = try makeLoader().load(yaml: "")
        #expect(config.integrations.isEmpty)
        #expect(config.server == ServerSettings())
        #expect(config.routing == RoutingMatrix())
        #expect(config.storage.sqlitePath.hasSuffix("/tocsin.db"))
    }

    @Test("${NAME} is replaced from the injected environment")
    func environmentSubstitution() throws {
        let yaml = """
            integrations:
              - name: ops-hook
                type: webhook
                url: "http://${HOOK_HOST}:${HOOK_PORT}/webhook"
                headers: {Authorization: "Bearer ${TOKEN}"}
            """
        let loader = makeLoader(environment: ["HOOK_HOST": "hooks.example", "HOOK_PORT": "8443", "TOKEN": "t0k3n"])
        let config = try loader.load(yaml: yaml)
        let integration = try #require(config.integrations.first)
        #expect(integration.settings["url"] == .string("http://hooks.example:8443/webhook"))
        #expect(integration.settings["headers"] == .object(["Authorization": .string("Bearer t0k3n")]))
    }

    @Test("a variable missing from the environment is a problem naming it")
    func missingEnvironmentVariable() {
        let yaml = """
            integrations:
              - {name: ops-hook, type: webhook, url: "http://${HOOK_HOST}/webhook"}
            """
        let problems = configProblems(yaml, loader: makeLoader(environment: ["OTHER": "x"]))
        let problem = problems.at("integrations[0].url")
        #expect(problem?.message.contains("HOOK_HOST") == true, "\(problems)")
    }

    @Test("the process environment is not consulted when one is injected")
    func injectedEnvironmentOnly() {
        let yaml = """
            integrations:
              - {name: ops-hook, type: webhook, url: "http://${PATH}/webhook"}
            """
        let problems = configProblems(yaml, loader: makeLoader(environment: [:]))
        #expect(problems.at("integrations[0].url")?.message.contains("PATH") == true)
    }

    @Test("password_file is read through readFile, without its trailing newline")
    func passwordFile() throws {
        let yaml = """
            integrations:
              - {name: mail, type: webhook, password_file: /run/secrets/smtp}
            """
        let loader = makeLoader(files: ["/run/secrets/smtp": "s3cr3t-value\n"])
        let integration = try #require(try loader.load(yaml: yaml).integrations.first)
        #expect(integration.settings["password"] == .string("s3cr3t-value"))
        #expect(integration.settings["password_file"] == nil)
    }

    @Test("a *_file path may itself come from the environment")
    func passwordFileFromEnvironment() throws {
        let yaml = """
            integrations:
              - {name: mail, type: webhook, password_file: "${SECRETS}/smtp"}
            """
        let loader = makeLoader(environment: ["SECRETS": "/run/secrets"], files: ["/run/secrets/smtp": "pw\r\n"])
        let integration = try #require(try loader.load(yaml: yaml).integrations.first)
        #expect(integration.settings["password"] == .string("pw"))
    }

    @Test("giving both password and password_file is a problem")
    func passwordAndPasswordFile() {
        let yaml = """
            integrations:
              - {name: mail, type: webhook, password: inline, password_file: /run/secrets/smtp}
            """
        let problems = configProblems(yaml, loader: makeLoader(files: ["/run/secrets/smtp": "x"]))
        let problem = problems.at("integrations[0].password_file")
        #expect(problem?.message.contains("not both") == true, "\(problems)")
    }

    @Test("an unreadable *_file is a problem naming the file")
    func unreadableFile() {
        let yaml = """
            integrations:
              - {name: mail, type: webhook, password_file: /nowhere}
            """
        let problems = configProblems(yaml)
        #expect(problems.at("integrations[0].password_file")?.message.contains("/nowhere") == true, "\(problems)")
    }

    @Test("server settings parse, listen included")
    func serverSection() throws {
        let yaml = """
            server:
              listen: "0.0.0.0:8080"
              max_body_bytes: 65536
              max_events_per_request: 50
              resolve_timeout: 10m
              shutdown_grace: 2s
              log_level: debug
            """
        let server = try makeLoader().load(yaml: yaml).server
        #expect(server.host == "0.0.0.0")
        #expect(server.port == 8080)
        #expect(server.maxBodyBytes == 65536)
        #expect(server.maxEventsPerRequest == 50)
        #expect(server.resolveTimeout == .seconds(600))
        #expect(server.shutdownGrace == .seconds(2))
        #expect(server.logLevel == "debug")
    }

    @Test("listen accepts a bracketed IPv6 host")
    func listenIPv6() throws {
        let server = try makeLoader().load(yaml: "server: {listen: \"[::1]:9000\"}").server
        #expect(server.host == "::1")
        #expect(server.port == 9000)
    }

    @Test(
        "a listen value that is not HOST:PORT is a problem",
        arguments: ["nonsense", "host:", ":8080", "host:70000", "host:port", "9095"]
    )
    func badListen(_ listen: String) {
        let problems = configProblems("server: {listen: \"\(listen)\"}")
        #expect(problems.at("server.listen") != nil, "\(problems)")
    }

    @Test("parseListen splits host and port")
    func parseListen() throws {
        let (host, port) = try #require(ConfigurationLoader.parseListen("127.0.0.1:9095"))
        #expect(host == "127.0.0.1")
        #expect(port == 9095)
        #expect(ConfigurationLoader.parseListen("localhost:65536") == nil)
    }

    @Test("server and storage keys are checked")
    func serverAndStorageProblems() {
        let yaml = """
            server:
              log_level: chatty
              max_events_per_request: 0
              resolve_timeout: forever
              colour: blue
            storage:
              synchronous: sometimes
            """
        let problems = configProblems(yaml)
        #expect(problems.at("server.log_level") != nil)
        #expect(problems.at("server.max_events_per_request") != nil)
        #expect(problems.at("server.resolve_timeout")?.message.contains("forever") == true)
        #expect(problems.at("server.colour") != nil)
        #expect(problems.at("storage.synchronous") != nil)
        #expect(problems.count == 5, "\(problems)")
    }

    @Test("storage settings parse")
    func storageSection() throws {
        let storage = try makeLoader().load(yaml: "storage: {sqlite: /var/lib/tocsin/t.db, synchronous: normal}").storage
        #expect(storage.sqlitePath == "/var/lib/tocsin/t.db")
        #expect(storage.synchronousFull == false)
    }

    @Test("retry settings, timeout and concurrency parse into the delivery policy")
    func retrySettings() throws {
        let yaml = """
            integrations:
              - name: ops-hook
                type: webhook
                url: "http://127.0.0.1:9099/webhook"
                concurrency: 8
                timeout: 5s
                retry: {initial_backoff: 2s, max_backoff: 1m, max_age: 1h}
              - {name: alert-log, type: log_file, path: /tmp/x.log}
            """
        let config = try makeLoader().load(yaml: yaml)
        let hook = try #require(config.integrations.first { $0.name == "ops-hook" })
        #expect(hook.type == "webhook")
        #expect(hook.path == "integrations[0]")
        #expect(hook.delivery.initialBackoff == .seconds(2))
        #expect(hook.delivery.maxBackoff == .seconds(60))
        #expect(hook.delivery.maxAge == .seconds(3600))
        #expect(hook.delivery.concurrency == 8)
        #expect(hook.delivery.timeout == .seconds(5))
        #expect(hook.settings["url"] == .string("http://127.0.0.1:9099/webhook"))
        #expect(hook.settings["retry"] == nil)
        #expect(hook.settings["concurrency"] == nil)
        let log = try #require(config.integrations.first { $0.name == "alert-log" })
        #expect(log.delivery == DeliveryPolicy())
        #expect(log.settings["path"] == .string("/tmp/x.log"))
    }

    @Test("rate_limit and server.public_url parse; bad values are problems with their paths")
    func rateLimitAndPublicURL() throws {
        let yaml = """
            server: {public_url: "https://tocsin.example.com/"}
            integrations:
              - {name: a, type: webhook, url: "http://127.0.0.1:1/x", rate_limit: 60/30s}
              - {name: b, type: webhook, url: "http://127.0.0.1:1/x", rate_limit: none}
              - {name: c, type: webhook, url: "http://127.0.0.1:1/x"}
            """
        let config = try makeLoader().load(yaml: yaml)
        #expect(config.server.publicURL == "https://tocsin.example.com")
        #expect(config.integrations[0].delivery.rateLimit == .limit(RateLimit(count: 60, period: .seconds(30))))
        #expect(config.integrations[1].delivery.rateLimit == .unlimited)
        #expect(config.integrations[2].delivery.rateLimit == .serviceDefault)
        #expect(config.integrations[0].settings["rate_limit"] == nil)

        let problems = configProblems(
            """
            server: {public_url: "tocsin.example.com"}
            integrations:
              - {name: a, type: webhook, url: "http://127.0.0.1:1/x", rate_limit: fast}
            """
        )
        #expect(problems.at("server.public_url")?.message.contains("tocsin.example.com") == true, "\(problems)")
        #expect(problems.at("integrations[0].rate_limit")?.message.contains("fast") == true, "\(problems)")
    }

    @Test("bad retry and concurrency settings are problems")
    func badRetrySettings() {
        let yaml = """
            integrations:
              - name: ops-hook
                type: webhook
                concurrency: 0
                retry: {initial_backoff: 5m, max_backoff: 1m, max_age: often, jitter: full}
            """
        let problems = configProblems(yaml)
        #expect(problems.at("integrations[0].concurrency") != nil)
        #expect(problems.at("integrations[0].retry.max_age")?.message.contains("often") == true)
        #expect(problems.at("integrations[0].retry.jitter") != nil)
        #expect(problems.at("integrations[0].retry")?.message.contains("initial_backoff") == true, "\(problems)")
    }

    @Test("routing problems: override in global, bad cell shapes")
    func routingShapes() {
        let yaml = """
            integrations:
              - {name: a, type: webhook}
            routing:
              global:
                info: {integrations: [a], override: true}
              nodes:
                info: a
                warning: [a, 3]
                error: {integrations: [a], override: "yes", extra: 1}
            """
        let problems = configProblems(yaml)
        #expect(problems.at("routing.global.info.override") != nil)
        #expect(problems.at("routing.nodes.info") != nil)
        #expect(problems.at("routing.nodes.warning[1]") != nil)
        #expect(problems.at("routing.nodes.error.override") != nil)
        #expect(problems.at("routing.nodes.error.extra") != nil)
        #expect(problems.count == 5, "\(problems)")
    }

    @Test("a valid file loads every section")
    func validFile() throws {
        let yaml = """
            server: {listen: "127.0.0.1:9095"}
            storage: {sqlite: /tmp/t.db}
            integrations:
              - {name: ops-hook, type: webhook, url: "http://127.0.0.1:9099/webhook"}
            routing:
              service_checks:
                critical: {integrations: [ops-hook], override: true}
              rolling_restart:
                info: [ops-hook]
            """
        let config = try makeLoader().load(yaml: yaml)
        #expect(config.integrations.map(\.name) == ["ops-hook"])
        #expect(config.routing.categories[.serviceChecks]?[.critical] == RoutingCell(integrations: ["ops-hook"], override: true))
        #expect(config.routing.categories[.rollingRestart]?[.info] == RoutingCell(integrations: ["ops-hook"]))
    }
}
