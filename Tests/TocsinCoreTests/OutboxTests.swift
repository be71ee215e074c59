import Foundation
import Testing
import TocsinCore

@Suite("Outbox rules")
struct OutboxTests {
    /// 1 s doubling up to 60 s, dead after one hour.
    static let policy: DeliveryPolicy = {
        var policy = DeliveryPolicy()
        policy.initialBackoff = .seconds(1)
        policy.maxBackoff = .seconds(60)
        policy.maxAge = .seconds(3_600)
        return policy
    }()

    static func pending(attempts: Int = 0, ageStart: Date = coreT0) -> DeliveryRecord {
        DeliveryRecord(
            id: "d-1",
            notificationID: "n-1",
            integration: "ops-hook",
            orderKey: "fp",
            status: .pending,
            attempts: attempts,
            createdAt: ageStart,
            ageStart: ageStart,
            nextAttemptAt: ageStart
        )
    }

    /// min(cap, base·2^(n-1)) in seconds.
    static func expectedCeiling(_ attempt: Int) -> Double {
        min(60, pow(2, Double(attempt - 1)))
    }

    @Test("full jitter lies within [0, min(cap, base·2^(n-1))]", arguments: [0.0, 0.5, 0.999])
    func jitterBounds(_ random: Double) {
        for attempt in 1...12 {
            let ceiling = Self.expectedCeiling(attempt)
            let delay = RetrySchedule.delay(afterAttempt: attempt, retryAfter: nil, policy: Self.policy, random: random).seconds
            #expect(delay >= 0, "attempt \(attempt)")
            #expect(delay <= ceiling, "attempt \(attempt): \(delay) > \(ceiling)")
            #expect(abs(delay - ceiling * random) < 0.002, "attempt \(attempt): \(delay) is not \(random) of \(ceiling)")
            #expect(RetrySchedule.ceiling(afterAttempt: attempt, policy: Self.policy).seconds == ceiling)
        }
    }

    @Test("the ceiling doubles and stops at max_backoff")
    func ceilingGrowth() {
        let ceilings = (1...8).map { RetrySchedule.ceiling(afterAttempt: $0, policy: Self.policy) }
        #expect(ceilings == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        #expect(RetrySchedule.ceiling(afterAttempt: 10_000, policy: Self.policy) == .seconds(60))
    }

    @Test("a retryable attempt schedules the next one with jittered backoff")
    func retryableSchedules() {
        let now = coreT0.addingTimeInterval(10)
        let next = Self.pending(attempts: 2).after(
            outcome: .retryable(retryAfter: nil),
            statusCode: 503,
            error: "service unavailable",
            latency: .milliseconds(42),
            now: now,
            policy: Self.policy,
            random: 0.5
        )
        // Third attempt: ceiling 4 s, half of it.
        #expect(next.status == .pending)
        #expect(next.attempts == 3)
        #expect(next.nextAttemptAt == now.addingTimeInterval(2))
        #expect(next.lastAttemptAt == now)
        #expect(next.lastStatusCode == 503)
        #expect(next.lastError == "service unavailable")
        #expect(next.latencyMilliseconds == 42)
        #expect(next.deliveredAt == nil)
        #expect(next.ageStart == coreT0)
    }

    @Test("Retry-After overrides the backoff", arguments: [0.0, 0.999])
    func retryAfterOverrides(_ random: Double) {
        let now = coreT0.addingTimeInterval(10)
        let next = Self.pending().after(
            outcome: .retryable(retryAfter: .seconds(120)),
            statusCode: 429,
            error: nil,
            latency: .zero,
            now: now,
            policy: Self.policy,
            random: random
        )
        #expect(next.status == .pending)
        #expect(next.nextAttemptAt == now.addingTimeInterval(120))
        #expect(RetrySchedule.delay(afterAttempt: 1, retryAfter: .seconds(120), policy: Self.policy, random: random) == .seconds(120))
    }

    @Test("a retry whose next attempt would be past max_age is dead")
    func deadAfterMaxAge() {
        let now = coreT0.addingTimeInterval(3_590)
        let record = Self.pending(attempts: 4)
        // Fifth attempt: ceiling 16 s; 0.999 of it lands past t0 + 1 h.
        let dead = record.after(
            outcome: .retryable(retryAfter: nil),
            statusCode: 500,
            error: "boom",
            latency: .zero,
            now: now,
            policy: Self.policy,
            random: 0.999
        )
        #expect(dead.status == .dead)
        #expect(dead.attempts == 5)
        #expect(dead.lastStatusCode == 500)
        // The same attempt drawing zero jitter is still inside the window.
        let alive = record.after(
            outcome: .retryable(retryAfter: nil),
            statusCode: 500,
            error: "boom",
            latency: .zero,
            now: now,
            policy: Self.policy,
            random: 0
        )
        #expect(alive.status == .pending)
        #expect(alive.nextAttemptAt == now)
    }

    @Test("a Retry-After beyond max_age dead-letters the delivery")
    func retryAfterPastMaxAge() {
        let next = Self.pending().after(
            outcome: .retryable(retryAfter: .seconds(7_200)),
            statusCode: 503,
            error: nil,
            latency: .zero,
            now: coreT0.addingTimeInterval(1),
            policy: Self.policy,
            random: 0
        )
        #expect(next.status == .dead)
    }

    @Test("a permanent refusal fails at once")
    func permanentFails() {
        let record = Self.pending()
        let next = record.after(
            outcome: .permanent,
            statusCode: 400,
            error: "bad request",
            latency: .milliseconds(7),
            now: coreT0,
            policy: Self.policy,
            random: 0
        )
        #expect(next.status == .failed)
        #expect(next.attempts == 1)
        #expect(next.lastStatusCode == 400)
        #expect(next.lastError == "bad request")
        #expect(next.deliveredAt == nil)
        #expect(next.nextAttemptAt == record.nextAttemptAt)
    }

    @Test("a delivered attempt records when")
    func delivered() {
        let now = coreT0.addingTimeInterval(3)
        let next = Self.pending().after(
            outcome: .delivered,
            statusCode: 204,
            error: nil,
            latency: .milliseconds(12),
            now: now,
            policy: Self.policy,
            random: 0.5
        )
        #expect(next.status == .delivered)
        #expect(next.deliveredAt == now)
        #expect(next.lastAttemptAt == now)
        #expect(next.attempts == 1)
        #expect(next.latencyMilliseconds == 12)
        #expect(next.lastStatusCode == 204)
    }

    @Test("a manual retry makes a dead delivery pending and restarts its age")
    func retriedByHand() {
        let dead = Self.pending(attempts: 4).after(
            outcome: .retryable(retryAfter: nil),
            statusCode: 500,
            error: "boom",
            latency: .zero,
            now: coreT0.addingTimeInterval(3_590),
            policy: Self.policy,
            random: 0.999
        )
        #expect(dead.status == .dead)
        let byHand = coreT0.addingTimeInterval(7_200)
        let retried = dead.retriedByHand(now: byHand)
        #expect(retried.status == .pending)
        #expect(retried.nextAttemptAt == byHand)
        #expect(retried.ageStart == byHand)
        #expect(retried.attempts == 5)
        // With the age restarted, the next failure is retried rather than dead.
        let again = retried.after(
            outcome: .retryable(retryAfter: nil),
            statusCode: 500,
            error: nil,
            latency: .zero,
            now: byHand,
            policy: Self.policy,
            random: 0.999
        )
        #expect(again.status == .pending)
    }

    @Test("2xx is delivered", arguments: [200, 201, 202, 204, 299])
    func classifyDelivered(_ status: Int) {
        #expect(HTTPStatusClassifier.classify(status: status, retryAfter: nil) == .delivered)
    }

    @Test("408, 429 and 5xx are retryable, carrying Retry-After", arguments: [408, 429, 500, 502, 503, 504])
    func classifyRetryable(_ status: Int) {
        #expect(HTTPStatusClassifier.classify(status: status, retryAfter: nil) == .retryable(retryAfter: nil))
        #expect(HTTPStatusClassifier.classify(status: status, retryAfter: .seconds(5)) == .retryable(retryAfter: .seconds(5)))
    }

    @Test("other 4xx are permanent", arguments: [400, 401, 403, 404, 405, 409, 410, 413, 422])
    func classifyPermanent(_ status: Int) {
        #expect(HTTPStatusClassifier.classify(status: status, retryAfter: .seconds(5)) == .permanent)
    }

    @Test("Retry-After in delta-seconds")
    func retryAfterSeconds() {
        #expect(HTTPStatusClassifier.parseRetryAfter("120", now: coreT0) == .seconds(120))
        #expect(HTTPStatusClassifier.parseRetryAfter(" 7 ", now: coreT0) == .seconds(7))
        #expect(HTTPStatusClassifier.parseRetryAfter("0", now: coreT0) == .zero)
    }

    @Test("Retry-After as an HTTP date")
    func retryAfterDate() throws {
        // Wed, 21 Oct 2015 07:28:00 GMT
        let now = Date(timeIntervalSince1970: 1_445_412_480)
        let delay = try #require(HTTPStatusClassifier.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now))
        #expect(abs(delay.seconds - 30) < 1)
        let past = try #require(HTTPStatusClassifier.parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now: now))
        #expect(past == .zero)
    }

    @Test("unparseable Retry-After is nil", arguments: [nil, "", "soon", "12.5s", "Someday, 99 Foo 2015"] as [String?])
    func retryAfterGarbage(_ value: String?) {
        #expect(HTTPStatusClassifier.parseRetryAfter(value, now: coreT0) == nil)
    }

    @Test("delivery ids are stable per notification and integration, and differ across them")
    func deliveryIDs() {
        let id = DeliveryRecord.deliveryID(notificationID: "evt-1", integration: "ops-hook")
        #expect(id == DeliveryRecord.deliveryID(notificationID: "evt-1", integration: "ops-hook"))
        #expect(id != DeliveryRecord.deliveryID(notificationID: "evt-1", integration: "alert-log"))
        #expect(id != DeliveryRecord.deliveryID(notificationID: "evt-2", integration: "ops-hook"))
        // The separator keeps the two parts apart.
        #expect(
            DeliveryRecord.deliveryID(notificationID: "a", integration: "bc") != DeliveryRecord.deliveryID(notificationID: "ab", integration: "c")
        )
    }

    @Test("a new delivery is pending now, ordered by the alert's fingerprint")
    func newDelivery() {
        let event = alertEvent(id: "evt-1", severity: .error, at: coreT0)
        let notification = NotificationRecord(id: "evt-1", type: .open, event: event, alertStartsAt: coreT0, createdAt: coreT0)
        let delivery = DeliveryRecord.new(notification: notification, integration: "ops-hook", now: coreT0)
        #expect(delivery.id == DeliveryRecord.deliveryID(notificationID: "evt-1", integration: "ops-hook"))
        #expect(delivery.status == .pending)
        #expect(delivery.attempts == 0)
        #expect(delivery.nextAttemptAt == coreT0)
        #expect(delivery.ageStart == coreT0)
        #expect(delivery.orderKey == event.fingerprint)

        let oneOff = notificationEvent(id: "evt-2", severity: .info, category: .backups, at: coreT0)
        let record = NotificationRecord(id: "evt-2", type: .notification, event: oneOff, alertStartsAt: nil, createdAt: coreT0)
        #expect(DeliveryRecord.new(notification: record, integration: "ops-hook", now: coreT0).orderKey == "evt-2")
    }
}
