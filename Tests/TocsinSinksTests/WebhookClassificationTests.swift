import AsyncHTTPClient
import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

@Suite("Webhook answers classified from a real peer", .timeLimit(.minutes(1)))
struct WebhookClassificationTests {
    struct StatusCase: Sendable, CustomTestStringConvertible {
        var status: Int
        var headers: [String: String] = [:]
        var expected: AttemptOutcome

        var testDescription: String {
            let headers = headers.map { " \($0.key): \($0.value)" }.joined()
            return "\(status)\(headers) → \(expected)"
        }
    }

    static let cases: [StatusCase] = [
        StatusCase(status: 200, expected: .delivered),
        StatusCase(status: 201, expected: .delivered),
        StatusCase(status: 202, expected: .delivered),
        StatusCase(status: 204, expected: .delivered),
        StatusCase(status: 503, headers: ["Retry-After": "7"], expected: .retryable(retryAfter: .seconds(7))),
        StatusCase(status: 503, expected: .retryable(retryAfter: nil)),
        StatusCase(status: 429, expected: .retryable(retryAfter: nil)),
        StatusCase(status: 429, headers: ["Retry-After": "30"], expected: .retryable(retryAfter: .seconds(30))),
        StatusCase(status: 408, expected: .retryable(retryAfter: nil)),
        StatusCase(status: 500, expected: .retryable(retryAfter: nil)),
        StatusCase(status: 502, expected: .retryable(retryAfter: nil)),
        StatusCase(status: 504, expected: .retryable(retryAfter: nil)),
        StatusCase(status: 400, expected: .permanent),
        StatusCase(status: 401, expected: .permanent),
        StatusCase(status: 403, expected: .permanent),
        StatusCase(status: 404, expected: .permanent),
        StatusCase(status: 410, expected: .permanent),
        StatusCase(status: 422, expected: .permanent),
    ]

    @Test("status answers are classified, with the status and the start of the answer in the detail", arguments: cases)
    func statusAnswer(_ testCase: StatusCase) async throws {
        let answerBody = "peer says: status \(testCase.status) for this request"
        try await ScriptedPeer.run(.status(testCase.status, headers: testCase.headers, body: answerBody)) { receiver in
            let result = try await withWebhookSink(["url": .string(receiver.url())]) { await $0.deliver(Fixture.outbound(.open)) }
            #expect(result.outcome == testCase.expected)
            #expect(result.statusCode == testCase.status)
            #expect(receiver.requests.count == 1)
            if testCase.expected == .delivered {
                #expect(result.detail == nil)
            } else {
                let detail = try #require(result.detail)
                #expect(detail.contains("\(testCase.status)"))
                #expect(detail.contains(answerBody))
            }
        }
    }

    @Test("Retry-After given as an HTTP date becomes the time until that date")
    func retryAfterHTTPDate() async throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(120))
        try await ScriptedPeer.run(.status(503, headers: ["Retry-After": date])) { receiver in
            let result = try await withWebhookSink(["url": .string(receiver.url())]) { await $0.deliver(Fixture.outbound(.open)) }
            guard case .retryable(let retryAfter) = result.outcome else {
                Issue.record("expected retryable, got \(result.outcome)")
                return
            }
            let wait = try #require(retryAfter, "Retry-After: \(date) was not understood")
            #expect(wait > .seconds(100) && wait <= .seconds(121), "wait \(wait)")
        }
    }

    @Test("a redirect is not followed: the 3xx is reported as a permanent failure")
    func redirectNotFollowed() async throws {
        try await ScriptedPeer.run(.status(301, headers: ["Location": "/elsewhere"])) { receiver in
            let result = try await withWebhookSink(["url": .string(receiver.url("/old"))]) { await $0.deliver(Fixture.outbound(.open)) }
            #expect(result.outcome == .permanent)
            #expect(result.statusCode == 301)
            #expect(receiver.requests.map(\.path) == ["/old"])
        }
    }

    @Test("a refused connection is retryable, with no status and a detail that says so")
    func connectionRefused() async throws {
        let port = try await ScriptedPeer.closedPort()
        let started = ContinuousClock.now
        // AsyncHTTPClient keeps retrying the connection until the attempt's deadline (at most its 5 s connect
        // timeout), so a short delivery timeout keeps this test short.
        let result = try await withWebhookSink(["url": .string("http://127.0.0.1:\(port)/hook")], timeout: .seconds(1)) {
            await $0.deliver(Fixture.outbound(.open))
        }
        let elapsed = ContinuousClock.now - started
        #expect(result.outcome == .retryable(retryAfter: nil))
        #expect(result.statusCode == nil)
        let detail = try #require(result.detail)
        #expect(detail.lowercased().contains("refused"), "detail: \(detail)")
        #expect(elapsed < .seconds(3), "took \(elapsed) with a 1 s timeout")
    }

    @Test("an answer slower than the integration's timeout is retryable, and the sink gives up at the timeout")
    func timeout() async throws {
        // The peer would answer after 20 s; the sink must have given up long before (the bound is loose on purpose:
        // this checks that the timeout acts, not how fast the machine is).
        try await ScriptedPeer.run(.after(.seconds(20), .status(200))) { receiver in
            let started = ContinuousClock.now
            let result = try await withWebhookSink(["url": .string(receiver.url())], timeout: .milliseconds(300)) {
                await $0.deliver(Fixture.outbound(.open))
            }
            let elapsed = ContinuousClock.now - started
            #expect(result.outcome == .retryable(retryAfter: nil))
            #expect(result.statusCode == nil)
            #expect(result.detail?.isEmpty == false)
            #expect(elapsed < .seconds(10), "took \(elapsed) with a 300 ms timeout")
            #expect(receiver.requests.count == 1)
        }
    }

    @Test(
        "a very large answer is read away; the detail keeps only its start",
        arguments: [(200, AttemptOutcome.delivered), (400, .permanent), (503, .retryable(retryAfter: nil))]
    )
    func largeAnswer(status: Int, expected: AttemptOutcome) async throws {
        try await ScriptedPeer.run(.largeBody(status, bytes: 8 * 1024 * 1024)) { receiver in
            // A generous timeout: reading 8 MiB away must not race the deadline on a loaded machine.
            let (result, again) = try await withWebhookSink(["url": .string(receiver.url())], timeout: .seconds(60)) { sink in
                let result = await sink.deliver(Fixture.outbound(.open))
                // The client stays usable: the next delivery through it goes through.
                receiver.script(.status(200))
                return (result, await sink.deliver(Fixture.outbound(.open)))
            }
            #expect(result.outcome == expected)
            #expect(result.statusCode == status)
            #expect((result.detail?.count ?? 0) <= 1024, "detail has \(result.detail?.count ?? 0) characters")
            #expect(again.outcome == .delivered)
            #expect(receiver.requests.count == 2)
        }
    }

    @Test("a sink made by the registry delivers through the shared transport")
    func registrySink() async throws {
        try await ScriptedPeer.run(.status(200)) { receiver in
            let client = HTTPTransport.makeClient()
            let made = SinkRegistry.makeSinks(
                for: [Fixture.integration(name: "hook-a", ["url": .string(receiver.url("/a"))])],
                environment: SinkEnvironment(http: HTTPTransport(client: client))
            )
            var result: SinkResult?
            if case .success(let sinks) = made, let sink = sinks["hook-a"] {
                result = await sink.deliver(Fixture.outbound(.open, integration: "hook-a"))
                await sink.shutdown()
            }
            try await client.shutdown()
            #expect(result?.outcome == .delivered)
            #expect(receiver.requests.map(\.path) == ["/a"])
        }
    }
}
