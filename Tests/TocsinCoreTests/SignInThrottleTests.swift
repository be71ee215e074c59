import Foundation
import Testing
import TocsinCore

@Suite("Sign-in throttle: failed password sign-ins per name, on simulated time")
struct SignInThrottleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// One attempt that starts and fails at `offset` seconds; whether it was let through.
    func fail(_ throttle: inout SignInThrottle, _ name: String = "alice", at offset: TimeInterval) -> Bool {
        let now = start.addingTimeInterval(offset)
        guard throttle.startAttempt(name: name, now: now) == nil else { return false }
        throttle.finishAttempt(name: name, succeeded: false, now: now)
        return true
    }

    /// Starts an attempt at `offset` seconds: nil when let through, else the wait.
    func attempt(_ throttle: inout SignInThrottle, _ name: String = "alice", at offset: TimeInterval = 0) -> TimeInterval? {
        throttle.startAttempt(name: name, now: start.addingTimeInterval(offset))
    }

    /// Ends an attempt at `offset` seconds; whether it made the name blocked.
    func finish(_ throttle: inout SignInThrottle, _ name: String = "alice", succeeded: Bool, at offset: TimeInterval = 0) -> Bool {
        throttle.finishAttempt(name: name, succeeded: succeeded, now: start.addingTimeInterval(offset))
    }

    @Test("the fifth failure within the window blocks the name until the oldest failure leaves the window")
    func blocksAfterFailures() {
        var throttle = SignInThrottle(maxFailures: 5, window: .seconds(900))
        for minute in 0..<5 {
            #expect(fail(&throttle, at: Double(minute) * 60))
        }
        // The oldest failure was at 0 s: the name may try again at 900 s.
        #expect(attempt(&throttle, "alice", at: 240) == 660)
        #expect(attempt(&throttle, "alice", at: 899) == 1)
        #expect(attempt(&throttle, "ALICE", at: 240) == nil, "names are compared exactly")
        #expect(attempt(&throttle, "bob", at: 240) == nil, "other names are not affected")
        // At 900 s one more attempt; failing, it leaves the last five at 60…900 s: the next may come at 960 s.
        #expect(fail(&throttle, at: 900))
        #expect(attempt(&throttle, "alice", at: 900) == 60)
    }

    @Test("attempts still being checked count: a burst gets exactly maxFailures checks, the rest wait")
    func burstCountsInFlight() {
        var throttle = SignInThrottle(maxFailures: 5, window: .seconds(900))
        let admitted = (0..<20).filter { _ in throttle.startAttempt(name: "alice", now: start) == nil }.count
        #expect(admitted == 5)
        #expect(attempt(&throttle, "alice") == 1, "refused for now: the checks in flight decide")
        for _ in 0..<5 { throttle.finishAttempt(name: "alice", succeeded: false, now: start) }
        #expect(attempt(&throttle, "alice") == 900)
        // An attempt that reached no verdict (a database failure) frees its place and changes nothing else.
        var other = SignInThrottle(maxFailures: 1, window: .seconds(60))
        #expect(attempt(&other, "bob") == nil)
        other.cancelAttempt(name: "bob")
        #expect(attempt(&other, "bob") == nil)
        #expect(other.trackedNames == 1)
    }

    @Test("failures spread wider than the window never block")
    func slowFailuresNeverBlock() {
        var throttle = SignInThrottle(maxFailures: 3, window: .seconds(60))
        for step in 0..<20 {
            #expect(fail(&throttle, at: Double(step) * 31), "step \(step)")
        }
    }

    @Test("a success clears the name's failures; only the failure that blocks the name says so")
    func successClears() {
        var throttle = SignInThrottle(maxFailures: 2, window: .seconds(60))
        #expect(fail(&throttle, at: 0))
        #expect(attempt(&throttle, "alice") == nil)
        #expect(!finish(&throttle, "alice", succeeded: true))
        #expect(throttle.trackedNames == 0)
        #expect(attempt(&throttle, "alice") == nil)
        #expect(!finish(&throttle, "alice", succeeded: false))
        #expect(attempt(&throttle, "alice") == nil)
        #expect(finish(&throttle, "alice", succeeded: false), "the second failure blocks")
        #expect(attempt(&throttle, "alice") == 60)
    }

    @Test("a flood of made-up names stays within the capacity, forgetting expired names first, then the stalest")
    func boundedTable() {
        var throttle = SignInThrottle(maxFailures: 2, window: .seconds(60), capacity: 100)
        #expect(fail(&throttle, "target", at: 0))
        #expect(fail(&throttle, "target", at: 0))
        for index in 0..<1_000 {
            #expect(fail(&throttle, "made-up-\(index)", at: Double(index) / 100))
            #expect(throttle.trackedNames <= 100)
        }
        // The flood evicted the stalest names, the target among them. Filling the table takes one slow password
        // check per name, so in practice this cannot be done within the window.
        #expect(attempt(&throttle, "target", at: 10) == nil)
        // After the window, a new name makes room by forgetting every expired one.
        #expect(fail(&throttle, "late", at: 3_600))
        #expect(throttle.trackedNames == 2, "the late name and the target, whose attempt above is still in flight")
    }
}
