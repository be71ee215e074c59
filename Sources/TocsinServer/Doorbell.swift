import NIOConcurrencyHelpers

/// Wakes one waiting loop: a ring while nobody waits is remembered until the next wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func ring() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung, when `timeout` has passed, or when the task is cancelled.
    func wait(timeout: Duration) async {
        if state.withLockedValue({ state in
            let rung = state.rung
            state.rung = false
            return rung
        }) {
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForRing() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (resumeNow, displaced) = state.withLockedValue { state -> (Bool, CheckedContinuation<Void, Never>?) in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return (true, nil)
                    }
                    // One waiter is the contract; a second one wakes the first rather than leaving it suspended
                    // forever (a spurious wake-up is harmless: every loop looks again after waking).
                    let displaced = state.waiter
                    state.waiter = continuation
                    return (false, displaced)
                }
                displaced?.resume()
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
