import Crypto
import Foundation

/// The state of one delivery: one notification to one integration.
public enum DeliveryStatus: String, Codable, Sendable, CaseIterable {
    /// Waiting for its first or next attempt.
    case pending
    /// The integration accepted it.
    case delivered
    /// The integration refused it permanently (any answer but 2xx, 408, 429 and 5xx); retried only by hand.
    case failed
    /// Retrying did not succeed within the integration's maximum age; retried only by hand.
    case dead
}

/// How an attempt ended, as a sink classifies it.
public enum AttemptOutcome: Sendable, Hashable {
    case delivered
    /// Worth trying again; `retryAfter` is the peer's `Retry-After`, if it sent one.
    case retryable(retryAfter: Duration?)
    case permanent
}

/// One instance's hold on a delivery it is sending. Every claim takes a new `token`, so a result recorded under an
/// older claim (an instance that stalled past `expiresAt` while another sent the delivery again) is refused.
public struct DeliveryLease: Codable, Sendable, Hashable {
    public var owner: String
    public var token: Int64
    public var expiresAt: Date

    public init(owner: String, token: Int64, expiresAt: Date) {
        self.owner = owner
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// The stored state of one delivery, and the pure rules that move it.
public struct DeliveryRecord: Codable, Sendable, Hashable {
    public var id: String
    public var notificationID: String
    public var integration: String
    /// Deliveries with the same key go out in order (one alert's open before its resolve).
    public var orderKey: String
    public var status: DeliveryStatus
    public var attempts: Int
    public var createdAt: Date
    /// Start of the window `max_age` is measured from; a manual retry restarts it.
    public var ageStart: Date
    public var nextAttemptAt: Date
    public var lastAttemptAt: Date?
    public var lastStatusCode: Int?
    public var lastError: String?
    public var latencyMilliseconds: Int?
    public var deliveredAt: Date?
    /// Set while an instance holds the delivery to send it (returned by a claim, cleared when its attempt is
    /// recorded). An attempt carrying a lease is recorded only if that lease is still the delivery's latest.
    public var lease: DeliveryLease?

    public init(
        id: String,
        notificationID: String,
        integration: String,
        orderKey: String,
        status: DeliveryStatus,
        attempts: Int,
        createdAt: Date,
        ageStart: Date,
        nextAttemptAt: Date,
        lastAttemptAt: Date? = nil,
        lastStatusCode: Int? = nil,
        lastError: String? = nil,
        latencyMilliseconds: Int? = nil,
        deliveredAt: Date? = nil,
        lease: DeliveryLease? = nil
    ) {
        self.id = id
        self.notificationID = notificationID
        self.integration = integration
        self.orderKey = orderKey
        self.status = status
        self.attempts = attempts
        self.createdAt = createdAt
        self.ageStart = ageStart
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.latencyMilliseconds = latencyMilliseconds
        self.deliveredAt = deliveredAt
        self.lease = lease
    }

    /// A new pending delivery. Its id is derived from the notification and the integration, so it is the same
    /// after any restart and serves as the idempotency key the peer sees.
    public static func new(notification: NotificationRecord, integration: String, now: Date) -> DeliveryRecord {
        DeliveryRecord(
            id: deliveryID(notificationID: notification.id, integration: integration),
            notificationID: notification.id,
            integration: integration,
            orderKey: notification.event.fingerprint ?? notification.id,
            status: .pending,
            attempts: 0,
            createdAt: now,
            ageStart: now,
            nextAttemptAt: now
        )
    }

    public static func deliveryID(notificationID: String, integration: String) -> String {
        let digest = SHA256.hash(data: Array("\(notificationID)\u{0}\(integration)".utf8))
        return "d" + Fingerprint.hex(digest).prefix(23)
    }

    /// The state after an attempt that ended with `outcome`.
    /// - Parameter random: a uniform draw in [0, 1), injected so the jitter is testable.
    public func after(
        outcome: AttemptOutcome,
        statusCode: Int?,
        error: String?,
        latency: Duration,
        now: Date,
        policy: DeliveryPolicy,
        random: Double
    ) -> DeliveryRecord {
        var next = self
        next.attempts += 1
        next.lastAttemptAt = now
        next.lastStatusCode = statusCode
        next.lastError = error
        next.latencyMilliseconds = Int(latency.milliseconds)
        switch outcome {
        case .delivered:
            next.status = .delivered
            next.deliveredAt = now
        case .permanent:
            next.status = .failed
        case .retryable(let retryAfter):
            let delay = RetrySchedule.delay(afterAttempt: next.attempts, retryAfter: retryAfter, policy: policy, random: random)
            let nextAttempt = now.addingTimeInterval(delay.seconds)
            if nextAttempt.timeIntervalSince(ageStart) > policy.maxAge.seconds {
                next.status = .dead
            } else {
                next.status = .pending
                next.nextAttemptAt = nextAttempt
            }
        }
        return next
    }

    /// The state after an operator asked for another try of a failed or dead delivery.
    public func retriedByHand(now: Date) -> DeliveryRecord {
        var next = self
        next.status = .pending
        next.nextAttemptAt = now
        next.ageStart = now
        return next
    }
}

/// Exponential backoff with full jitter, and the peer's `Retry-After` when it gives one.
public enum RetrySchedule {
    /// The wait before the attempt after attempt number `attempt` (1-based).
    public static func delay(afterAttempt attempt: Int, retryAfter: Duration?, policy: DeliveryPolicy, random: Double) -> Duration {
        if let retryAfter {
            // The peer knows when it will be ready; waiting less only earns another refusal.
            return min(max(retryAfter, .zero), policy.maxAge)
        }
        let jittered = ceiling(afterAttempt: attempt, policy: policy).seconds * min(max(random, 0), 1)
        return .milliseconds(Int64(jittered * 1000))
    }

    /// The largest wait full jitter may draw after `attempt`: `initial_backoff · 2^(attempt−1)`, capped at `max_backoff`.
    public static func ceiling(afterAttempt attempt: Int, policy: DeliveryPolicy) -> Duration {
        let exponent = Double(min(attempt - 1, 40))
        return .milliseconds(Int64(min(policy.initialBackoff.seconds * pow(2, exponent), policy.maxBackoff.seconds) * 1000))
    }
}

/// The shared rule for HTTP answers: 2xx delivered; 408, 429 and 5xx worth retrying; any other status permanent.
public enum HTTPStatusClassifier {
    public static func classify(status: Int, retryAfter: Duration?) -> AttemptOutcome {
        switch status {
        case 200..<300: return .delivered
        case 408, 429, 500..<600: return .retryable(retryAfter: retryAfter)
        default: return .permanent
        }
    }

    /// Parses a `Retry-After` header: delta-seconds or an HTTP date.
    public static func parseRetryAfter(_ value: String?, now: Date) -> Duration? {
        guard let value = value?.trimmingWhitespace(), !value.isEmpty else { return nil }
        if let seconds = Int(value) { return .seconds(max(seconds, 0)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                return .milliseconds(Int64(max(date.timeIntervalSince(now), 0) * 1000))
            }
        }
        return nil
    }
}
