import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TocsinCore
import TocsinServer
import TocsinSinks
import TocsinTestSupport

/// A clock the test moves by hand: the simulated time of the server under test.
final class ManualClock: Sendable {
    private let current: LockedBox<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = LockedBox(start)
    }

    var now: Date { current.value }

    func advance(by duration: Duration) {
        current.withValue { $0 = $0.addingTimeInterval(duration.seconds) }
    }
}

/// Builds a runtime from YAML in a fresh data directory. `{DATA}` in the YAML is replaced by that directory.
func makeRuntime(yaml: String, clock: ManualClock? = nil) async throws -> (TocsinRuntime, String) {
    let directory = makeTemporaryDirectory("tocsin-server")
    let text = yaml.replacingOccurrences(of: "{DATA}", with: directory)
    var configuration = try ConfigurationLoader(environment: [:], knownIntegrationTypes: SinkRegistry.types, dataDirectory: directory)
        .load(yaml: text)
    configuration.storage.sqlitePath = directory + "/tocsin.db"
    var logger = Logger(label: "tocsin-test")
    logger.logLevel = .critical
    let now: @Sendable () -> Date
    if let clock { now = { clock.now } } else { now = { Date() } }
    let runtime = try await TocsinRuntime.make(configuration: configuration, logger: logger, clock: now, idlePoll: .milliseconds(50))
    return (runtime, directory)
}

/// The log-file-only configuration most API tests use.
let logFileYAML = """
    integrations:
      - name: alert-log
        type: log_file
        path: "{DATA}/notifications.log"
      - name: backup-log
        type: log_file
        path: "{DATA}/backups.log"
    routing:
      global:
        warning: [alert-log]
        error: [alert-log]
      backups:
        info: [backup-log]
    """

extension TestResponse {
    var text: String { String(buffer: body) }

    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}
