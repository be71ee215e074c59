import Foundation

/// Failed password sign-ins per user name: after `maxFailures` within `window`, further attempts for that name are
/// refused, without checking the password, until the oldest of those failures is older than `window`.
///
/// It slows down guessing a password online; the slow password hash alone would allow some ten guesses a second.
/// An attempt counts from the moment it starts (`startAttempt`), not only once its password check has failed: a burst
/// of attempts sent at once cannot all get past the count while their checks wait in line.
///
/// It is kept per name, not per client address: behind a reverse proxy every client has the proxy's address. The
/// price is that someone who keeps failing for a name keeps its owner from signing in by password; API tokens still
/// work then, and a successful sign-in is never needed to stop it, only time.
public struct SignInThrottle: Sendable {
    public let maxFailures: Int
    public let window: TimeInterval
    /// Names tracked at most: a flood of made-up names cannot grow the table without bound. When it is full, the
    /// name whose last failure is oldest is forgotten; filling it takes one slow password check per name.
    public let capacity: Int

    private struct Record: Sendable {
        /// Failure times, oldest first, at most `maxFailures`.
        var failures: [Date] = []
        /// Attempts started and not yet finished.
        var inFlight = 0
        var lastActivity: Date
    }

    /// By the exact name: user names are compared exactly everywhere else too.
    private var records: [String: Record] = [:]

    public init(maxFailures: Int = 5, window: Duration = .seconds(15 * 60), capacity: Int = 10_000) {
        self.maxFailures = max(1, maxFailures)
        self.window = window.seconds
        self.capacity = max(1, capacity)
    }

    /// Starts an attempt for `name`: nil when it may go on (it then counts until `finishAttempt`), else how long to
    /// wait before trying again.
    public mutating func startAttempt(name: String, now: Date) -> TimeInterval? {
        var record = records[name] ?? Record(lastActivity: now)
        record.failures.removeAll { now.timeIntervalSince($0) >= window }
        if record.failures.count >= maxFailures, let oldest = record.failures.first {
            return oldest.addingTimeInterval(window).timeIntervalSince(now)
        }
        if record.failures.count + record.inFlight >= maxFailures {
            // Taken by attempts still being checked: their outcome decides, within a second or so.
            return 1
        }
        record.inFlight += 1
        record.lastActivity = now
        store(record, for: name, now: now)
        return nil
    }

    /// Ends an attempt `startAttempt` let through. A failure counts for `window`; a success clears the name's
    /// failures. Answers whether this failure made the name blocked (for a single log line).
    @discardableResult
    public mutating func finishAttempt(name: String, succeeded: Bool, now: Date) -> Bool {
        guard var record = records[name] else { return false }
        record.inFlight = max(0, record.inFlight - 1)
        record.lastActivity = now
        if succeeded {
            record.failures = []
        } else {
            record.failures.removeAll { now.timeIntervalSince($0) >= window }
            record.failures.append(now)
            if record.failures.count > maxFailures { record.failures.removeFirst(record.failures.count - maxFailures) }
        }
        if record.failures.isEmpty && record.inFlight == 0 {
            records[name] = nil
        } else {
            records[name] = record
        }
        return !succeeded && record.failures.count == maxFailures
    }

    /// Ends an attempt that reached no verdict (the database failed): it stops counting, and changes nothing else.
    public mutating func cancelAttempt(name: String) {
        guard var record = records[name] else { return }
        record.inFlight = max(0, record.inFlight - 1)
        records[name] = record.failures.isEmpty && record.inFlight == 0 ? nil : record
    }

    public var trackedNames: Int { records.count }

    private mutating func store(_ record: Record, for name: String, now: Date) {
        if records[name] == nil, records.count >= capacity {
            records = records.filter { _, record in record.inFlight > 0 || now.timeIntervalSince(record.lastActivity) < window }
            if records.count >= capacity,
                let stalest = records.filter({ $0.value.inFlight == 0 }).min(by: { $0.value.lastActivity < $1.value.lastActivity })?.key
            {
                records[stalest] = nil
            }
        }
        records[name] = record
    }
}
