import Foundation
import Testing
import TocsinTestSupport

/// Starts the real `tocsin` executable on a data directory and learns its port from the banner it prints.
func startTocsinProcess(config: String, dataDirectory: String) async throws -> (ChildProcess, Int) {
    let executable = try #require(
        tocsinExecutable(),
        "the tocsin executable is not built next to the tests: run `swift build` first (scripts/test.sh does)"
    )
    let child = try ChildProcess(
        executable: executable,
        arguments: ["serve", "--config", config, "--data-dir", dataDirectory, "--listen", "127.0.0.1:0"]
    )
    let banner = try #require(
        await child.waitForLine(containing: "listening on http://127.0.0.1:"),
        "tocsin did not start; its output: \(child.lines.joined(separator: "\n"))"
    )
    let port = try #require(Int(banner.split(separator: ":").last ?? ""), "no port in '\(banner)'")
    return (child, port)
}

@Suite("Crash and shutdown of the real executable", .serialized)
struct CrashTests {
    @Test("kill -9 mid-delivery loses nothing that was acknowledged; only in-flight sends repeat, with the same key")
    func testKillNineMidDelivery() async throws {
        // A slow receiver keeps deliveries in flight when the process is killed.
        let receiver = try await RecordingReceiver.start { _, _ in .init(delay: .milliseconds(15)) }
        let directory = makeTemporaryDirectory("tocsin-crash")
        let concurrency = 4
        let config = directory + "/tocsin.yml"
        try """
        integrations:
          - name: hook
            type: webhook
            url: \(receiver.url)
            concurrency: \(concurrency)
            retry: {initial_backoff: 100ms, max_backoff: 1s}
        routing:
          default: [hook]
        """.write(toFile: config, atomically: true, encoding: .utf8)

        let (firstChild, port) = try await startTocsinProcess(config: config, dataDirectory: directory)
        // Post a burst; the kill lands while it is being delivered (and possibly while it is still being posted).
        let acknowledged = LockedBox<Set<String>>([])
        let poster = Task {
            for batch in 0..<40 {
                let range = (batch * 25)..<((batch + 1) * 25)
                guard let answer = try? await TestHTTP.post("http://127.0.0.1:\(port)/api/v1/events", alertBatch(range, prefix: "crash"))
                else { continue }
                if answer.status == 202 {
                    let ids = range.map { "crash-firing-\($0)" }
                    acknowledged.withValue { $0.formUnion(ids) }
                }
            }
        }
        let started = await receiver.waitUntil(timeout: .seconds(60)) { $0.count >= 150 }
        #expect(started, "deliveries did not start")
        firstChild.signal(SIGKILL)
        let status = await firstChild.waitForExit(timeout: .seconds(10))
        #expect(status != nil)
        await poster.value
        let seenAtKill = receiver.requests.count
        let acknowledgedAtKill = acknowledged.value.count

        // Restart on the same data directory; post nothing new.
        let (child, _) = try await startTocsinProcess(config: config, dataDirectory: directory)
        let ids = acknowledged.value
        let complete = await receiver.waitUntil(timeout: .seconds(120)) { requests in
            ids.isSubset(of: Set(requests.compactMap(\.eventID)))
        }
        let requests = receiver.requests
        let received = Set(requests.compactMap(\.eventID))
        let lost = ids.subtracting(received)
        var perEvent: [String: [RecordingReceiver.Received]] = [:]
        for request in requests {
            if let id = request.eventID { perEvent[id, default: []].append(request) }
        }
        let repeated = perEvent.filter { $0.value.count > 1 }
        print(
            """
            crash test: \(ids.count) acknowledged (\(acknowledgedAtKill) when killed), \(seenAtKill) received before the kill, \
            \(received.count) received in all, \(lost.count) lost, \(repeated.count) repeated
            """
        )
        #expect(complete)
        #expect(lost.isEmpty, "lost after kill -9: \(lost.sorted().prefix(10))")
        // Only sends in flight at the kill may repeat: those on the wire (at most `concurrency`) and those answered
        // whose result was waiting for the next group commit (at most one more slot's worth per send).
        #expect(repeated.count <= 2 * concurrency, "\(repeated.count) repeats, more than the sends that can be in flight")
        for (id, copies) in repeated {
            #expect(Set(copies.map { $0.headers["idempotency-key"] ?? "" }).count == 1, "\(id) repeated with different idempotency keys")
        }
        child.signal(SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(20)) == 0)
        await child.stop()
        await receiver.stop()
    }

    @Test("SIGTERM stops intake, lets in-flight sends finish within the grace period, and exits cleanly")
    func testGracefulShutdown() async throws {
        let receiver = try await RecordingReceiver.start { _, _ in .init(delay: .seconds(2)) }
        let directory = makeTemporaryDirectory("tocsin-term")
        let config = directory + "/tocsin.yml"
        try """
        server:
          shutdown_grace: 10s
        integrations:
          - {name: hook, type: webhook, url: "\(receiver.url)", concurrency: 2}
        routing:
          default: [hook]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let (child, port) = try await startTocsinProcess(config: config, dataDirectory: directory)
        #expect(try await TestHTTP.post("http://127.0.0.1:\(port)/api/v1/events", alertBatch(0..<2, prefix: "term")).status == 202)
        // Both sends are in flight (the receiver holds each for 2 s) when the signal comes.
        #expect(await receiver.waitUntil(timeout: .seconds(10)) { $0.count == 2 })
        child.signal(SIGTERM)
        // Intake stops at once, while the two sends are still in flight and the process still runs.
        let intakeClosed = await eventually(timeout: .seconds(5)) { !acceptsConnections(port: port) }
        #expect(intakeClosed)
        #expect(child.isRunning, "the process exited before its in-flight sends could finish")
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "exit status \(String(describing: status)); output: \(child.lines.suffix(5))")
        // The in-flight sends finished and were recorded: after a restart nothing is pending, nothing is sent again.
        let (again, newPort) = try await startTocsinProcess(config: config, dataDirectory: directory)
        let pending = try await TestHTTP.get("http://127.0.0.1:\(newPort)/api/v1/deliveries?status=pending").json()
        #expect((pending?["deliveries"] as? [[String: Any]])?.isEmpty == true)
        let delivered = try await TestHTTP.get("http://127.0.0.1:\(newPort)/api/v1/deliveries?status=delivered").json()
        #expect((delivered?["deliveries"] as? [[String: Any]])?.count == 2)
        #expect(receiver.requests.count == 2)
        again.signal(SIGTERM)
        _ = await again.waitForExit(timeout: .seconds(15))
        await again.stop()
        await receiver.stop()
    }
}
