import Foundation
import Testing
import TocsinCore

/// A fixed instant that the core tests measure everything from (2023-11-14T22:13:20Z).
let coreT0 = Date(timeIntervalSince1970: 1_700_000_000)

struct MissingTestFile: Error {
    var path: String
}

/// A loader with an injected environment and an in-memory file system; no real I/O.
func makeLoader(environment: [String: String] = [:], files: [String: String] = [:]) -> ConfigurationLoader {
    ConfigurationLoader(
        environment: environment,
        readFile: { path in
            guard let text = files[path] else { throw MissingTestFile(path: path) }
            return text
        },
        knownIntegrationTypes: ["webhook", "log_file"]
    )
}

/// The problems a configuration text produces; fails the test when it loads without any.
func configProblems(
    _ yaml: String,
    loader: ConfigurationLoader = makeLoader(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> [ConfigProblem] {
    do {
        _ = try loader.load(yaml: yaml)
        Issue.record("expected the configuration to be refused", sourceLocation: sourceLocation)
        return []
    } catch let error as ConfigurationError {
        return error.problems
    } catch {
        Issue.record("expected ConfigurationError, got \(error)", sourceLocation: sourceLocation)
        return []
    }
}

extension [ConfigProblem] {
    /// The problem at `path`, if any.
    func at(_ path: String) -> ConfigProblem? {
        first { $0.path == path }
    }
}

/// An alert event with the fingerprint the native decoder would give it.
func alertEvent(
    id: String,
    severity: Severity,
    category: TocsinCore.Category = .metrics,
    status: AlertEventStatus = .firing,
    labels: [String: String] = ["alertname": "DiskFull", "node": "n3"],
    summary: String = "Disk almost full on n3",
    at received: Date,
    endsAt: Date? = nil,
    source: EventSource = .api
) -> Event {
    Event(
        id: id,
        kind: .alert,
        severity: severity,
        category: category,
        status: status,
        labels: labels,
        summary: summary,
        startsAt: received,
        endsAt: endsAt,
        receivedAt: received,
        fingerprint: Fingerprint.of(labels: labels),
        source: source
    )
}

func notificationEvent(id: String, severity: Severity, category: TocsinCore.Category, at received: Date) -> Event {
    Event(
        id: id,
        kind: .notification,
        severity: severity,
        category: category,
        summary: "Local backup created successfully",
        startsAt: received,
        receivedAt: received
    )
}

func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
