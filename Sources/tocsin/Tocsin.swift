import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TocsinCore
import TocsinServer
import TocsinSinks

@main
struct Tocsin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tocsin",
        abstract: "A self-hosted notification hub: alerts in, notifications out, none lost.",
        version: TocsinVersion.current,
        subcommands: [
            Serve.self, CheckConfig.self, Migrate.self, Route.self, TestIntegration.self, SilenceCommand.self, UserCommand.self, TokenCommand.self,
        ]
    )
}

/// Loads the configuration file, or the built-in default when there is none.
func loadConfiguration(path: String?, dataDirectory: String?) throws -> TocsinConfiguration {
    let directory = dataDirectory ?? ServerSettings.defaultDataDirectory
    guard let path else { return .builtInDefault(dataDirectory: directory) }
    let text: String
    do {
        text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw ValidationError("cannot read configuration file '\(path)'")
    }
    return try SinkRegistry.configurationLoader(dataDirectory: directory).load(yaml: text)
}

/// `loadConfiguration` for the commands that act on a configuration: its problems go to standard error, exit code 2.
func loadConfigurationOrExit(path: String?, dataDirectory: String?) throws -> TocsinConfiguration {
    do {
        return try loadConfiguration(path: path, dataDirectory: dataDirectory)
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(2)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server.")

    @Option(help: "Configuration file (tocsin.yml). Without one, every alert and notification goes to a log file in the data directory.")
    var config: String?

    @Option(help: "Data directory for the default SQLite store and log file.")
    var dataDir: String?

    @Option(help: "Address to listen on, HOST:PORT (overrides server.listen).")
    var listen: String?

    func run() async throws {
        var configuration = try loadConfigurationOrExit(path: config, dataDirectory: dataDir)
        if let listen {
            guard let (host, port) = ConfigurationLoader.parseListen(listen) else {
                throw ValidationError("--listen expects HOST:PORT, got '\(listen)'")
            }
            configuration.server.host = host
            configuration.server.port = port
        }
        let level = Logger.Level(rawValue: configuration.server.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tocsin")
        let runtime: TocsinRuntime
        do {
            runtime = try await TocsinRuntime.make(configuration: configuration, logger: logger)
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        if let hint = try? await runtime.access.missingCredentialsHint() {
            logger.warning("\(hint)")
        }
        let host = configuration.server.host
        let storePath = StoreOpener.describe(configuration.storage)
        let integrations = configuration.integrations.map { "\($0.name) (\($0.type))" }.joined(separator: ", ")
        let app = runtime.application { port in
            let banner = """
                Tocsin \(TocsinVersion.current) listening on http://\(host):\(port)
                  store: \(storePath)
                  integrations: \(integrations.isEmpty ? "none" : integrations)

                """
            FileHandle.standardOutput.write(Data(banner.utf8))
        }
        do {
            try await app.runService()
        } catch {
            await runtime.shutdown()
            throw error
        }
        await runtime.shutdown()
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file; exits non-zero listing every problem."
    )

    @Argument(help: "The configuration file.")
    var file: String

    func run() async throws {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            print("cannot read configuration file '\(file)'")
            throw ExitCode(1)
        }
        // One pass reports structural problems and every sink's own settings together.
        let client = HTTPTransport.makeClient()
        let environment = SinkEnvironment(http: HTTPTransport(client: client))
        var loader = SinkRegistry.configurationLoader()
        loader.validateIntegrations = { integrations in
            guard case .failure(let error) = SinkRegistry.makeSinks(for: integrations, environment: environment) else { return [] }
            return error.problems
        }
        let configuration: TocsinConfiguration
        do {
            configuration = try loader.load(yaml: text)
            try await client.shutdown()
        } catch let error as ConfigurationError {
            try await client.shutdown()
            print(error)
            throw ExitCode(1)
        }
        print("\(file): OK (\(configuration.integrations.count) integration(s))")
    }
}

struct TestIntegration: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-integration",
        abstract: "Send a clearly marked test message through one integration and show the service's answer.",
        discussion: "Exits 0 when the service accepted the message, 1 when it refused it or could not be reached, 2 on a bad configuration."
    )

    @Argument(help: "The integration's name in the configuration file.")
    var name: String

    @Option(help: "Configuration file (tocsin.yml).")
    var config: String

    func run() async throws {
        let configuration = try loadConfigurationOrExit(path: config, dataDirectory: nil)
        guard let integration = configuration.integrations.first(where: { $0.name == name }) else {
            let known = configuration.integrations.map(\.name).joined(separator: ", ")
            FileHandle.standardError.write(Data("no integration named '\(name)' (configured: \(known.isEmpty ? "none" : known))\n".utf8))
            throw ExitCode(2)
        }
        let client = HTTPTransport.makeClient()
        // Sink state stays in memory: a test message must not touch the server's store, which may be in use.
        let environment = SinkEnvironment(http: HTTPTransport(client: client), publicURL: configuration.server.publicURL)
        let sink: any Sink
        switch SinkRegistry.makeSinks(for: [integration], environment: environment) {
        case .success(let sinks):
            guard let built = sinks[integration.name] else { throw ExitCode(2) }
            sink = built
        case .failure(let error):
            try await client.shutdown()
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        let result = await IntegrationTester.send(through: sink, integration: integration, now: Date())
        await sink.shutdown()
        try await client.shutdown()
        print(result.summary)
        if !result.delivered { throw ExitCode(1) }
    }
}

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show which integrations an event would reach, and by which routing cell.")

    @Option(help: "Configuration file; without one, the built-in default.")
    var config: String?

    @Option(help: "Category of the event.")
    var category: String = "metrics"

    @Option(help: "Severity of the event: info, warning, error or critical.")
    var severity: String

    func run() async throws {
        let configuration: TocsinConfiguration
        do {
            configuration = try loadConfiguration(path: config, dataDirectory: nil)
        } catch let error as ConfigurationError {
            print(error)
            throw ExitCode(1)
        }
        guard let category = Category(rawValue: category) else {
            throw ValidationError("unknown category '\(category)' (expected \(Category.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let severity = Severity(rawValue: severity) else {
            throw ValidationError("unknown severity '\(severity)' (expected info, warning, error or critical)")
        }
        let decision = configuration.routing.route(category: category, severity: severity)
        if decision.isUnrouted {
            print("unrouted: no cell, not even default, takes \(category.rawValue)/\(severity.rawValue)")
        }
        for target in decision.targets {
            print("\(target.integration)\tvia \(target.cell)")
        }
    }
}
