import Foundation
import Testing
import TocsinCore

@Suite("server.managed_integrations: what integrations made through the API may reach on the server's machine")
struct ManagedIntegrationPolicyTests {
    func integration(_ type: String, _ settings: [String: JSONValue], name: String = "made") -> IntegrationConfig {
        IntegrationConfig(name: name, type: type, settings: settings, path: "")
    }

    @Test("defaults: log files in the data directory's logs folder, no server AWS credentials")
    func defaults() throws {
        let loader = ConfigurationLoader(environment: [:], knownIntegrationTypes: ["webhook", "log_file"], dataDirectory: "/var/lib/tocsin")
        let policy = try loader.load(yaml: "server: {listen: '127.0.0.1:9095'}").server.managedIntegrations
        #expect(policy.logDirectory == "/var/lib/tocsin/logs")
        #expect(!policy.allowServerAWSCredentials)
        #expect(TocsinConfiguration.builtInDefault(dataDirectory: "/srv/t").server.managedIntegrations.logDirectory == "/srv/t/logs")
    }

    @Test("both settings are read; every bad value is a problem at its path")
    func parsing() throws {
        let policy = try makeLoader().load(
            yaml: "server: {managed_integrations: {log_directory: /var/log/tocsin, allow_server_aws_credentials: true}}"
        ).server.managedIntegrations
        #expect(policy == ManagedIntegrationPolicy(logDirectory: "/var/log/tocsin", allowServerAWSCredentials: true))
        let problems = configProblems(
            "server: {managed_integrations: {log_directory: /, allow_server_aws_credentials: 'yes', log_dir: /tmp}}"
        )
        #expect(problems.at("server.managed_integrations.log_directory")?.message.contains("root") == true, "\(problems)")
        #expect(problems.at("server.managed_integrations.allow_server_aws_credentials")?.message.contains("true or false") == true)
        #expect(problems.at("server.managed_integrations.log_dir")?.message.contains("unknown key") == true)
        #expect(configProblems("server: {managed_integrations: {log_directory: ''}}").at("server.managed_integrations.log_directory") != nil)
    }

    @Test(
        "a log file path is allowed only as an absolute, plain path of a file inside the directory",
        arguments: [
            ("/var/lib/tocsin/logs/alerts.log", true),
            ("/var/lib/tocsin/logs/team/a/alerts.log", true),
            ("/var/lib/tocsin/logs//alerts.log", true),
            ("/var/lib/tocsin/logs/./alerts.log", false),
            ("/var/lib/tocsin/logs", false),
            ("/var/lib/tocsin/logs/", false),
            ("/var/lib/tocsin/logs/team/", false),
            ("/var/lib/tocsin/logs/../tocsin.db", false),
            ("/var/lib/tocsin/logs/team/../../tocsin.db", false),
            ("/var/lib/tocsin/logs-other/alerts.log", false),
            ("/var/lib/tocsin/logs/a\u{0}/../../../etc/x", false),
            ("/var/lib/tocsin/logs/line\nbreak.log", false),
            ("/etc/cron.d/tocsin", false),
            ("logs/alerts.log", false),
        ]
    )
    func logFilePaths(path: String, allowed: Bool) {
        let policy = ManagedIntegrationPolicy(logDirectory: "/var/lib/tocsin/logs/")
        let problems = policy.problems(for: integration("log_file", ["path": .string(path)]))
        #expect(problems.isEmpty == allowed, "\(path): \(problems)")
        if !allowed {
            #expect(problems.map(\.path) == ["path"])
            #expect(problems.first?.message.contains("/var/lib/tocsin/logs/made.log") == true, "\(problems)")
        }
    }

    @Test("a path that is not a string, or that matches the directory only as Unicode text, is refused")
    func oddPaths() {
        let policy = ManagedIntegrationPolicy(logDirectory: "/srv/caf\u{E9}")
        #expect(policy.problems(for: integration("log_file", ["path": .number(123)])).map(\.path) == ["path"])
        #expect(policy.problems(for: integration("log_file", ["path": .string("/srv/caf\u{E9}/a.log")])).isEmpty)
        // The same characters in decomposed form are other bytes: another directory on disk.
        #expect(policy.problems(for: integration("log_file", ["path": .string("/srv/cafe\u{301}/a.log")])).map(\.path) == ["path"])
    }

    @Test("CloudWatch without keys only when the server's credentials are allowed; other types are not affected")
    func awsCredentials() {
        var policy = ManagedIntegrationPolicy(logDirectory: "/tmp/logs")
        for type in ["cloudwatch_logs", "cloudwatch_metrics"] {
            let ambient = integration(type, ["region": .string("eu-west-1")])
            #expect(policy.problems(for: ambient).map(\.path) == ["access_key_id"], "\(type)")
            #expect(policy.problems(for: ambient).first?.message.contains("allow_server_aws_credentials") == true)
            let keyed = integration(type, ["access_key_id": .string("AKID"), "secret_access_key": .string("s")])
            #expect(policy.problems(for: keyed).isEmpty)
        }
        #expect(policy.problems(for: integration("webhook", ["url": .string("https://example.com/hook")])).isEmpty)
        policy.allowServerAWSCredentials = true
        #expect(policy.problems(for: integration("cloudwatch_metrics", ["region": .string("eu-west-1")])).isEmpty)
    }
}
