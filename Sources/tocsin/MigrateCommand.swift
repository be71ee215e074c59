import ArgumentParser
import Foundation
import Logging
import TocsinCore
import TocsinServer
import TocsinStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the database's tables, print the schema version, and stop.",
        discussion: """
            `serve` migrates when it starts; this does it ahead of time (once, before restarting the instances that \
            share a PostgreSQL database) and checks that the database can be reached. Exits 1 when the database \
            cannot be reached or refuses the migration, 2 when the configuration has problems.
            """
    )

    @Option(help: "Configuration file (tocsin.yml).")
    var config: String

    @Option(help: "Data directory for the default SQLite store.")
    var dataDir: String?

    func run() async throws {
        let configuration = try loadConfigurationOrExit(path: config, dataDirectory: dataDir)
        // PostgreSQL's pool logs every failed connection attempt at info; a one-shot command reports its failure once,
        // itself. Debug and trace still show everything.
        let configuredLevel = Logger.Level(rawValue: configuration.server.logLevel) ?? .info
        let level = configuredLevel < .info ? configuredLevel : max(configuredLevel, .warning)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tocsin")
        let storage = configuration.storage
        let name = StoreOpener.describe(storage)
        let version: Int
        do {
            let store = try await StoreOpener.open(storage, instanceID: StoreOpener.instanceID(configuration.server), logger: logger)
            do {
                try await store.migrate()
                version = try await store.schemaVersion()
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        } catch {
            let reason = Self.oneLine(error, redacting: storage.postgres?.password)
            // The PostgreSQL store's errors already say what failed and on which server.
            let message = error is PostgresStoreError ? reason : "cannot migrate \(name): \(reason)"
            FileHandle.standardError.write(Data("tocsin migrate: \(message)\n".utf8))
            throw ExitCode(1)
        }
        print("migrated \(name) to schema version \(version)")
    }

    /// The error on one line, without the password (a library's error text might echo it).
    static func oneLine(_ error: any Error, redacting password: Secret?) -> String {
        var text = String(describing: error)
        if let password { text = password.redact(text) }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }.joined(separator: " ")
    }
}
