import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TocsinCore
import TocsinStore

/// The detectors of a running server: one `DetectorEngine` fed with every stored metric sample, and ticked
/// regularly so that staleness and the consensus detector's timers are judged even when no sample arrives.
///
/// On SQLite the engine's state lives in memory: after a restart each series is judged afresh from its next samples,
/// and an alert a detector had opened stays open until the detector resolves it again or the alert is resolved by
/// hand. On a store shared by several instances (PostgreSQL) each run goes through the store (`runDetectors`): the
/// state is read back whenever another instance changed it and stored after every run that changes it.
public final class DetectorService: Sendable {
    private struct Held: Sendable {
        var engine: DetectorEngine
        /// The stored version `engine` corresponds to, and its stored text (nil: none, or not to be trusted).
        var version: Int64?
        var storedText: String?
    }

    /// What one run of the detectors works on.
    public enum Work: Sendable {
        case samples([MetricSample], now: Date)
        case tick(now: Date)
    }

    private let held: NIOLockedValueBox<Held>
    private let logger: Logger

    public init(settings: DetectorSettings, logger: Logger = Logger(label: "tocsin.detectors")) {
        held = NIOLockedValueBox(Held(engine: DetectorEngine(settings: settings)))
        self.logger = logger
    }

    public var settings: DetectorSettings { held.withLockedValue { $0.engine.settings } }

    /// Runs the engine held in memory.
    public func run(_ work: Work) -> [Event] {
        held.withLockedValue { Self.apply(work, to: &$0.engine) }
    }

    private static func apply(_ work: Work, to engine: inout DetectorEngine) -> [Event] {
        switch work {
        case .samples(let samples, let now): engine.ingest(samples, now: now)
        case .tick(let now): engine.tick(now: now)
        }
    }

    /// The same run on the stored state, for `Store.runDetectors`.
    public func storedRun(_ work: Work) -> DetectorRun {
        let (held, logger) = (self.held, self.logger)
        return DetectorRun(
            heldVersion: { held.withLockedValue { $0.version } },
            step: { stored, version in
                held.withLockedValue { state in
                    if let stored {
                        do {
                            try state.engine.restore(from: JSONParser.parse(Array(stored.utf8)))
                        } catch {
                            // Losing the state only means judging each series afresh; refusing to run would lose alerts.
                            logger.error("the stored detector state cannot be read; the detectors start afresh", metadata: ["error": "\(error)"])
                            state.engine = DetectorEngine(settings: state.engine.settings)
                        }
                        state.version = version
                        state.storedText = stored
                    }
                    let events = DetectorService.apply(work, to: &state.engine)
                    let text = JSONWriter.string(state.engine.storedForm)
                    guard text != state.storedText || state.version != version else { return (events, nil) }
                    state.version = version + 1
                    state.storedText = text
                    return (events, text)
                }
            },
            failed: { held.withLockedValue { $0.version = nil } }
        )
    }
}

/// Ticks the detectors every `interval` and commits what they raise.
public struct DetectorTicker: Service {
    let detectors: DetectorService
    let ingestor: Ingestor
    let logger: Logger
    let interval: Duration
    let clock: @Sendable () -> Date

    public init(
        detectors: DetectorService,
        ingestor: Ingestor,
        logger: Logger,
        interval: Duration = .seconds(1),
        clock: @escaping @Sendable () -> Date
    ) {
        self.detectors = detectors
        self.ingestor = ingestor
        self.logger = logger
        self.interval = interval
        self.clock = clock
    }

    public func run() async throws {
        await runPeriodically(every: interval, logger: logger, failure: "cannot commit detector events") { try await tick() }
    }

    /// One evaluation at the clock's time; returns how many events it committed.
    @discardableResult
    public func tick() async throws -> Int {
        try await ingestor.runDetectors(detectors, .tick(now: clock()))
    }
}
