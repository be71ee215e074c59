import Foundation
import Logging
import TocsinCore
import TocsinServer
import TocsinSinks

/// A clock the test moves by hand: the simulated time of the server under test.
public final class ManualClock: Sendable {
    private let current: LockedBox<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = LockedBox(start)
    }

    public var now: Date { current.value }

    public func advance(by duration: Duration) {
        current.withValue { $0 = $0.addingTimeInterval(duration.seconds) }
    }

    public func set(_ date: Date) {
        current.withValue { $0 = date }
    }
}

/// Builds a runtime from YAML in a fresh data directory, as `tocsin serve` would. `{DATA}` in the YAML is replaced
/// by that directory. With a clock, the server lives on its simulated time.
/// With `directory`, it opens that data directory again (a restart).
public func makeRuntime(
    yaml: String,
    clock: ManualClock? = nil,
    name: String = "tocsin-test",
    directory: String? = nil
) async throws -> (TocsinRuntime, String) {
    let directory = directory ?? makeTemporaryDirectory(name)
    let text = yaml.replacingOccurrences(of: "{DATA}", with: directory)
    var configuration = try SinkRegistry.configurationLoader(environment: [:], dataDirectory: directory).load(yaml: text)
    configuration.storage.sqlitePath = directory + "/tocsin.db"
    var logger = Logger(label: name)
    logger.logLevel = .critical
    let now: @Sendable () -> Date
    if let clock { now = { clock.now } } else { now = { Date() } }
    let runtime = try await TocsinRuntime.make(configuration: configuration, logger: logger, clock: now, idlePoll: .milliseconds(50))
    return (runtime, directory)
}
