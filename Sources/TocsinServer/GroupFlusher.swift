import Foundation
import Logging
import ServiceLifecycle
import TocsinCore
import TocsinStore

/// Looks at alert groups whose timer is due (group wait or interval over, repeat due, silence ended, flapping
/// settled) and wakes the integrations that got something to send. The timers live in the store, so a restart
/// picks up where the last process stopped, and a look is stored with what it tells in one transaction.
public struct GroupFlusher: Service {
    let store: any Store
    let noise: NoiseSettings
    let dispatcher: Dispatcher
    let logger: Logger
    let interval: Duration
    let clock: @Sendable () -> Date

    public init(
        store: any Store,
        noise: NoiseSettings,
        dispatcher: Dispatcher,
        logger: Logger,
        interval: Duration = .seconds(1),
        clock: @escaping @Sendable () -> Date
    ) {
        self.store = store
        self.noise = noise
        self.dispatcher = dispatcher
        self.logger = logger
        self.interval = interval
        self.clock = clock
    }

    public func run() async throws {
        await runPeriodically(every: interval, logger: logger, failure: "cannot look at alert groups") { try await flush() }
    }

    /// Looks at every group due now; returns the integrations woken.
    @discardableResult
    public func flush() async throws -> Set<String> {
        let now = clock()
        var woken = Set<String>()
        // Each pass takes at most 500 groups; a storm of groups takes several passes, never an unbounded loop.
        // A read first: with several instances every one of them looks each second, and a write transaction takes
        // the fleet's write lock even when nothing is due.
        for _ in 0..<100 {
            guard let next = try await store.nextGroupLook(), next <= now else { break }
            woken.formUnion(try await store.flushDueGroups(now: now, noise: noise, limit: 500))
        }
        dispatcher.wake(woken)
        return woken
    }
}
