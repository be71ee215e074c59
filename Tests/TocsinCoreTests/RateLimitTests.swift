import Foundation
import Testing
import TocsinCore

@Suite("Rate limits: parsing and the token bucket on simulated time")
struct RateLimitTests {
    @Test(
        "rate_limit values parse to count and period",
        arguments: [
            ("120/min", 120, 60.0), ("1/s", 1, 1.0), ("4/1s", 4, 1.0), ("60/30s", 60, 30.0), ("1000/h", 1000, 3600.0),
            (" 10 / 2m ", 10, 120.0),
        ]
    )
    func parses(text: String, count: Int, seconds: Double) throws {
        let limit = try #require(RateLimit.parse(text))
        #expect(limit.count == count)
        #expect(limit.period.seconds == seconds)
    }

    @Test("malformed rate limits are refused", arguments: ["", "10", "/s", "0/s", "-1/s", "ten/s", "10/fortnight", "10/0s", "1/2/3"])
    func refuses(text: String) {
        #expect(RateLimit.parse(text) == nil)
    }

    @Test("a full bucket lets a burst of `count` through at once, then spaces sends at the refill rate")
    func burstThenSpacing() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        var bucket = TokenBucket(limit: RateLimit(count: 2, period: .seconds(1)), now: start)
        #expect(bucket.reserve(now: start) == .zero)
        #expect(bucket.reserve(now: start) == .zero)
        // The third and fourth sends queue behind the refill: one token every half second.
        #expect(bucket.reserve(now: start) == .milliseconds(500))
        #expect(bucket.reserve(now: start) == .milliseconds(1000))
        // 1.5 s later the queue has drained and one token has come back.
        #expect(bucket.reserve(now: start.addingTimeInterval(1.5)) == .zero)
        #expect(bucket.reserve(now: start.addingTimeInterval(1.5)) == .milliseconds(500))
    }

    @Test("an idle bucket never holds more than `count` tokens")
    func capacityIsBounded() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        var bucket = TokenBucket(limit: RateLimit(count: 3, period: .seconds(60)), now: start)
        let later = start.addingTimeInterval(86_400)
        for _ in 0..<3 { #expect(bucket.reserve(now: later) == .zero) }
        #expect(bucket.reserve(now: later) == .seconds(20))
    }

    @Test("120/min: the 121st send of a burst waits half a second")
    func pagerDutyDefault() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        var bucket = TokenBucket(limit: RateLimit(count: 120, period: .seconds(60)), now: start)
        for _ in 0..<120 { #expect(bucket.reserve(now: start) == .zero) }
        #expect(bucket.reserve(now: start) == .milliseconds(500))
    }

    @Test("the setting resolves to the service default, none, or the integration's own")
    func settingResolution() {
        let service = RateLimit(count: 1, period: .seconds(1))
        let own = RateLimit(count: 5, period: .seconds(1))
        #expect(RateLimitSetting.serviceDefault.resolved(serviceDefault: service) == service)
        #expect(RateLimitSetting.serviceDefault.resolved(serviceDefault: nil) == nil)
        #expect(RateLimitSetting.unlimited.resolved(serviceDefault: service) == nil)
        #expect(RateLimitSetting.limit(own).resolved(serviceDefault: service) == own)
    }
}
