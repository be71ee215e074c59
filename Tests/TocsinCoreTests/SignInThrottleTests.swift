import Foundation
import Testing
import TocsinCore

@Suite("Sign-in throttle: failed password sign-ins per name, on simulated time")
struct SignInThrottleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("the fifth failure within the window blocks the name until the oldest failure leaves the window")
    func blocksAfterFailures() {
        var throttle = SignInThrottle(maxFailures: 5, window: .seconds(900))
        for minute in 0..<4 {
            throttle.recordFailure(name: "alice", now: start.addingTimeInterval(Double(minute) * 60))
            #expect(throttle.waitBeforeAttempt(name: "alice", now: start.addingTimeInterval(Double(minute) * 60)) == nil)
        }
        throttle.recordFailure(name: "alice", now: start.addingTimeInterval(240))
        // The oldest failure was at 0 s: the name may try again at 900 s.
        #expect(throttle.waitBeforeAttempt(name: "alice", now: start.addingTimeInterval(240)) == 660)
        #expect(throttle.waitBeforeAttempt(name: "ALICE", now: start.addingTimeInterval(899)) == 1, "names are compared case-folded")
        #expect(throttle.waitBeforeAttempt(name: "bob", now: start.addingTimeInterval(240)) == nil, "other names are not affected")
        #expect(throttle.waitBeforeAttempt(name: "alice", now: start.addingTimeInterval(900)) == nil)
        // One more failure then: the oldest of the last five is now the one at 60 s.
        throttle.recordFailure(name: "alice", now: start.addingTimeInterval(900))
        #expect(throttle.waitBeforeAttempt(name: "alice", now: start.addingTimeInterval(900)) == 60)
    }

    @Test("failures spread wider than the window never block")
    func slowFailuresNeverBlock() {
        var throttle = SignInThrottle(maxFailures: 3, window: .seconds(60))
        for step in 0..<20 {
            let now = start.addingTimeInterval(Double(step) * 31)
            #expect(throttle.waitBeforeAttempt(name: "alice", now: now) == nil, "step \(step)")
            throttle.recordFailure(name: "alice", now: now)
        }
    }

    @Test("a success clears the name's failures")
    func successClears() {
        var throttle = SignInThrottle(maxFailures: 2, window: .seconds(60))
        throttle.recordFailure(name: "alice", now: start)
        throttle.recordSuccess(name: "Alice")
        throttle.recordFailure(name: "alice", now: start)
        #expect(throttle.waitBeforeAttempt(name: "alice", now: start) == nil)
        throttle.recordFailure(name: "alice", now: start)
        #expect(throttle.waitBeforeAttempt(name: "alice", now: start) == 60)
    }

    @Test("a flood of made-up names stays within the capacity, forgetting expired names first, then the stalest")
    func boundedTable() {
        var throttle = SignInThrottle(maxFailures: 2, window: .seconds(60), capacity: 100)
        throttle.recordFailure(name: "target", now: start)
        throttle.recordFailure(name: "target", now: start)
        for index in 0..<1_000 {
            throttle.recordFailure(name: "made-up-\(index)", now: start.addingTimeInterval(Double(index) / 100))
            #expect(throttle.trackedNames <= 100)
        }
        // The flood evicted the stalest names, the target among them: its owner is not kept out any longer.
        #expect(throttle.waitBeforeAttempt(name: "target", now: start.addingTimeInterval(10)) == nil)
        // After the window, a new name makes room by forgetting every expired one.
        throttle.recordFailure(name: "late", now: start.addingTimeInterval(3_600))
        #expect(throttle.trackedNames == 1)
    }
}
