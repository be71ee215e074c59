import Foundation

/// Failed password sign-ins per user name: after `maxFailures` within `window`, further attempts for that name are
/// refused, without checking the password, until the oldest of those failures is older than `window`.
///
/// It slows down guessing a password online; the slow password hash alone would allow some ten guesses a second.
/// It is kept per name, not per client address: behind a reverse proxy every client has the proxy's address. The
/// price is that someone who keeps failing for a name keeps its owner from signing in by password; API tokens still
/// work then, and a successful sign-in is never needed to stop it, only time.
public struct SignInThrottle: Sendable {
    public let maxFailures: Int
    public let window: TimeInterval
    /// Names tracked at most: a flood of made-up names cannot grow the table without bound.
    public let capacity: Int
    /// Failure times per name (case-folded), oldest first, each list at most `maxFailures` long.
    private var failures: [String: [Date]] = [:]

    public init(maxFailures: Int = 5, window: Duration = .seconds(15 * 60), capacity: Int = 10_000) {
        self.maxFailures = max(1, maxFailures)
        self.window = window.seconds
        self.capacity = max(1, capacity)
    }

    /// How long `name` must wait before its next attempt; `nil` when it may try now.
    public func waitBeforeAttempt(name: String, now: Date) -> TimeInterval? {
        guard let times = failures[Self.key(name)], times.count >= maxFailures, let oldest = times.first else { return nil }
        let wait = oldest.addingTimeInterval(window).timeIntervalSince(now)
        return wait > 0 ? wait : nil
    }

    public mutating func recordFailure(name: String, now: Date) {
        let key = Self.key(name)
        var times = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
        times.append(now)
        if times.count > maxFailures { times.removeFirst(times.count - maxFailures) }
        if failures[key] == nil, failures.count >= capacity { forgetExpired(now: now) }
        if failures[key] == nil, failures.count >= capacity, let evicted = oldestName() { failures[evicted] = nil }
        failures[key] = times
    }

    /// A correct password clears the name's failures.
    public mutating func recordSuccess(name: String) {
        failures[Self.key(name)] = nil
    }

    public var trackedNames: Int { failures.count }

    private mutating func forgetExpired(now: Date) {
        failures = failures.filter { _, times in times.last.map { now.timeIntervalSince($0) < window } ?? false }
    }

    private func oldestName() -> String? {
        failures.min { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) }?.key
    }

    private static func key(_ name: String) -> String { name.lowercased() }
}
