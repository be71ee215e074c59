import Foundation

/// At most `count` sends per `period` to one integration, with bursts of up to `count`.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public var count: Int
    public var period: Duration

    public init(count: Int, period: Duration) {
        self.count = count
        self.period = period
    }

    /// Reads `120/min`, `1/s`, `4/1s`, `60/30s` or `1000/h`.
    public static func parse(_ text: String) -> RateLimit? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[0]), count >= 1, count <= 1_000_000 else { return nil }
        let period: Duration?
        switch parts[1] {
        case "s", "sec", "second": period = .seconds(1)
        case "m", "min", "minute": period = .seconds(60)
        case "h", "hour": period = .seconds(3600)
        default: period = DurationParser.parse(parts[1])
        }
        guard let period, period > .zero else { return nil }
        return RateLimit(count: count, period: period)
    }

    public var description: String { "\(count)/\(DurationParser.format(period))" }

    /// Sends per second.
    var ratePerSecond: Double { Double(count) / period.seconds }
}

/// Which rate limit an integration's deliveries obey.
public enum RateLimitSetting: Sendable, Hashable {
    /// The documented default of the service (each sink type names its own; some have none).
    case serviceDefault
    /// No limit (`rate_limit: none`).
    case unlimited
    case limit(RateLimit)

    /// The limit in force for a sink type whose service documents `serviceDefault`.
    public func resolved(serviceDefault: RateLimit?) -> RateLimit? {
        switch self {
        case .serviceDefault: serviceDefault
        case .unlimited: nil
        case .limit(let limit): limit
        }
    }
}

/// A token bucket that hands out send times rather than refusing: each `reserve` takes the next free slot,
/// so concurrent senders queue in order and a burst of `count` goes out at once. Pure: time is passed in.
public struct TokenBucket: Sendable, Hashable {
    public let limit: RateLimit
    /// Tokens available at `updatedAt`; negative when slots are reserved ahead.
    private var tokens: Double
    private var updatedAt: Date

    public init(limit: RateLimit, now: Date) {
        self.limit = limit
        self.tokens = Double(limit.count)
        self.updatedAt = now
    }

    /// Reserves one send and returns how long the caller must wait before sending (zero when a token is free).
    public mutating func reserve(now: Date) -> Duration {
        let elapsed = max(0, now.timeIntervalSince(updatedAt))
        tokens = min(Double(limit.count), tokens + elapsed * limit.ratePerSecond)
        updatedAt = max(updatedAt, now)
        tokens -= 1
        if tokens >= 0 { return .zero }
        let seconds = -tokens / limit.ratePerSecond
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}
