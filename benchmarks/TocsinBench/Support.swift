// Small helpers shared by the benchmark: clock arithmetic, percentiles,
// progress logging and the loopback-only guard.

import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// All timings use one monotonic clock so that the sender side (POST start)
/// and the receiver side (webhook arrival) can be subtracted directly: both
/// run in this process.
typealias Instant = ContinuousClock.Instant

let benchClock = ContinuousClock()

extension Duration {
    /// The duration as floating-point seconds.
    var inSeconds: Double {
        let parts = self.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// The duration as floating-point milliseconds.
    var inMilliseconds: Double { inSeconds * 1000 }
}

/// Nearest-rank percentile of an already sorted array (p in 0...1).
/// Nearest-rank never interpolates, so p99 is always a latency that was
/// actually observed.
func percentile(_ sorted: [Double], _ p: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// Progress goes to stderr: stdout is reserved for the JSON result lines that
/// run.sh collects.
func progress(_ message: String) {
    var line = "[tocsin-bench] " + message + "\n"
    // write(2) on fd 2 directly: unbuffered, and no shared C `stderr` global
    // (which strict concurrency rightly flags).
    line.withUTF8 { bytes in
        _ = write(2, bytes.baseAddress, bytes.count)
    }
}

/// The benchmark only ever talks to, and listens on, the local machine.
func isLoopbackHost(_ host: String) -> Bool {
    let h = host.lowercased()
    return h == "localhost" || h == "::1" || h == "[::1]" || h.hasPrefix("127.")
}

/// Extracts the host part of an http URL without pulling in a URL parser,
/// e.g. "http://127.0.0.1:9093/x" -> "127.0.0.1", "http://[::1]:80" -> "[::1]".
func hostOfURL(_ url: String) -> String? {
    guard let schemeEnd = url.range(of: "://") else { return nil }
    let rest = url[schemeEnd.upperBound...]
    let authority = rest.prefix { $0 != "/" }
    if authority.hasPrefix("[") {
        guard let close = authority.firstIndex(of: "]") else { return nil }
        return String(authority[...close])
    }
    return String(authority.prefix { $0 != ":" })
}

/// Parses "1,100" into [1, 100]; rejects empty lists and non-positive values.
func parsePositiveList(_ text: String) -> [Int]? {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
    return values.map { $0! }
}

/// Sleeps until `deadline` unless the task was cancelled (then returns early).
func sleep(until deadline: Instant) async {
    if deadline > benchClock.now {
        try? await Task.sleep(until: deadline, clock: benchClock)
    }
}

/// A lock-protected value that child tasks can share. `Mutex` itself is
/// non-copyable, so escaping task closures cannot capture a local one; this
/// class gives them a reference to hold instead.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }
}

/// CPU time (user + system) this process has used so far, in seconds.
/// Reported so that readers can see how much of the machine the harness
/// itself took.
func processCPUSeconds() -> Double {
    var usage = rusage()
    #if canImport(Glibc)
    let who = __rusage_who_t(RUSAGE_SELF.rawValue)
    #else
    let who = RUSAGE_SELF
    #endif
    guard getrusage(who, &usage) == 0 else { return 0 }
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
