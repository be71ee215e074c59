// The workloads: warm-up, burst, steady and resolve. Each one posts alerts
// to the server under test and then waits (bounded) for the receiver to see
// the matching webhook notifications.

import AsyncHTTPClient
import Hummingbird
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Parameters shared by all workloads.
struct BenchSettings: Sendable {
    /// Base URLs of the instances under test (one, or several sharing a store).
    var targets: [String]
    var serverName: String
    var runID: String
    var concurrency: Int
    var maxInFlight: Int
    var deliveryTimeout: Duration
    var requestTimeoutSeconds: Int64
}

/// Counts requests in flight for the open-loop pacer. A class because an
/// `Atomic` cannot be captured by the escaping child-task closures directly.
private final class InFlight: Sendable {
    let count = Atomic<Int>(0)
}

/// Outcome of posting one request body.
private enum PostOutcome: Sendable {
    case acknowledged(at: Instant)
    case rejected(status: UInt, body: String)
    case failed(String)

    var isAcknowledged: Bool {
        if case .acknowledged = self { return true }
        return false
    }
}

final class Workloads: Sendable {
    let settings: BenchSettings
    let client: HTTPClient
    let ledger: Ledger
    /// Remembers the first few error descriptions so a misconfiguration is
    /// visible without flooding stderr with 10,000 identical lines.
    private let errorSamples = Mutex<[String]>([])
    /// `POST /api/v2/alerts` of each target.
    private let alertsURLs: [String]
    /// Requests sent so far, in all; picks the next target round-robin.
    private let sent = Atomic<Int>(0)
    /// Requests and failed (non-2xx or no answer) requests per target.
    private let perTarget: Mutex<[(requests: Int, failed: Int)]>

    init(settings: BenchSettings, client: HTTPClient, ledger: Ledger) {
        self.settings = settings
        self.client = client
        self.ledger = ledger
        self.alertsURLs = settings.targets.map { $0 + "/api/v2/alerts" }
        self.perTarget = Mutex(Array(repeating: (0, 0), count: settings.targets.count))
    }

    /// For messages: the one URL, or all of them.
    private var alertsURLText: String { alertsURLs.joined(separator: ", ") }

    /// Requests and failed requests per target, in the order of `settings.targets`.
    var requestsPerTarget: [(requests: Int, failed: Int)] { perTarget.withLock { $0 } }

    // MARK: - HTTP

    /// Sends `body` to the next target in turn (round-robin, as a load
    /// balancer would; always the same one when there is only one).
    private func post(_ body: ByteBuffer) async -> PostOutcome {
        let target = alertsURLs.count == 1 ? 0 : sent.wrappingAdd(1, ordering: .relaxed).oldValue % alertsURLs.count
        let outcome = await post(body, to: alertsURLs[target])
        perTarget.withLock { counts in
            counts[target].requests += 1
            if !outcome.isAcknowledged { counts[target].failed += 1 }
        }
        guard alertsURLs.count > 1 else { return outcome }
        // Several targets: say which one failed.
        switch outcome {
        case .acknowledged: return outcome
        case .rejected(let status, let text): return .rejected(status: status, body: "(\(alertsURLs[target])) \(text)")
        case .failed(let description): return .failed("\(alertsURLs[target]): \(description)")
        }
    }

    private func post(_ body: ByteBuffer, to url: String) async -> PostOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        do {
            let response = try await client.execute(request, timeout: .seconds(settings.requestTimeoutSeconds))
            // Always drain the body so the connection goes back to the pool.
            let answer = try await response.body.collect(upTo: 1024 * 1024)
            if (200..<300).contains(response.status.code) {
                return .acknowledged(at: benchClock.now)
            }
            return .rejected(status: response.status.code, body: String(buffer: answer))
        } catch {
            return .failed(String(describing: error))
        }
    }

    /// Posts `body` covering `indices`, marks them acknowledged on 2xx, and
    /// returns the acknowledgement time (nil on failure).
    private func postAlerts(_ body: ByteBuffer, indices: [Int], resolving: Bool) async -> Instant? {
        let started = benchClock.now
        ledger.update(indices) { r in
            if resolving { r.resolvePostStartedAt = started } else { r.postStartedAt = started }
        }
        switch await post(body) {
        case .acknowledged(let at):
            ledger.update(indices) { r in
                if resolving { r.resolveAcknowledged = true } else { r.acknowledged = true }
            }
            return at
        case .rejected(let status, let text):
            noteError("HTTP \(status): \(text.prefix(200))")
            return nil
        case .failed(let description):
            noteError(description)
            return nil
        }
    }

    private func noteError(_ text: String) {
        let isNew = errorSamples.withLock { samples -> Bool in
            guard samples.count < 5, !samples.contains(text) else { return false }
            samples.append(text)
            return true
        }
        if isNew { progress("POST error: \(text)") }
    }

    // MARK: - Sending in closed loop

    /// Posts pre-built bodies with `settings.concurrency` workers, each
    /// sending its next request as soon as the previous one is answered.
    /// Returns (first POST start, last 2xx answer, failed alert count).
    private func postAll(
        _ requests: [(body: ByteBuffer, indices: [Int])],
        resolving: Bool
    ) async -> (start: Instant, lastAck: Instant?, failedAlerts: Int) {
        let next = Locked(0)
        let lastAck = Locked<Instant?>(nil)
        let failed = Locked(0)
        let start = benchClock.now
        await withDiscardingTaskGroup { group in
            for _ in 0..<min(settings.concurrency, requests.count) {
                group.addTask {
                    while true {
                        let i = next.withLock { n -> Int in
                            defer { n += 1 }
                            return n
                        }
                        guard i < requests.count else { return }
                        let request = requests[i]
                        if let at = await self.postAlerts(request.body, indices: request.indices, resolving: resolving) {
                            lastAck.withLock { $0 = max($0 ?? at, at) }
                        } else {
                            failed.withLock { $0 += request.indices.count }
                        }
                    }
                }
            }
        }
        return (start, lastAck.withLock { $0 }, failed.withLock { $0 })
    }

    // MARK: - Waiting for deliveries

    /// Polls the ledger until `expected` distinct alerts of `phases` have been
    /// delivered with the given status, or the delivery timeout (counted from
    /// the end of sending) expires. The poll interval does not affect the
    /// figures: delivery times come from the receiver's own timestamps.
    private func waitForDeliveries(phases: [String], expected: Int, resolved: Bool) async -> Bool {
        let deadline = benchClock.now + settings.deliveryTimeout
        var lastReport = benchClock.now
        while true {
            let seen = resolved ? ledger.resolvedDistinct(in: phases) : ledger.firingDistinct(in: phases)
            if seen >= expected { return true }
            let now = benchClock.now
            if now >= deadline {
                progress("timed out: \(seen)/\(expected) \(resolved ? "resolved" : "firing") notifications received")
                return false
            }
            if now - lastReport >= .seconds(10) {
                progress("  waiting: \(seen)/\(expected) \(resolved ? "resolved" : "firing") notifications received")
                lastReport = now
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: - Workloads

    /// Sends a few alerts and resolves them before anything is measured:
    /// opens connections on both sides and proves that the server really
    /// delivers to the receiver (firing and resolved), so a misconfiguration
    /// fails in seconds instead of after minutes of timeouts.
    func warmup(count: Int) async throws {
        guard count > 0 else { return }
        let phase = "warmup"
        let range = ledger.register(phase: phase, count: count, runID: settings.runID)
        let now = Date()
        ledger.update(range) { $0.startsAt = now }
        let records = ledger.records(range)
        let requests = stride(from: 0, to: count, by: 10).map { lower -> (body: ByteBuffer, indices: [Int]) in
            let upper = min(lower + 10, count)
            let slice = Array(records[lower..<upper])
            return (ByteBuffer(string: AlertPayload.body(slice)), Array(range.lowerBound + lower..<range.lowerBound + upper))
        }
        let sent = await postAll(requests, resolving: false)
        guard sent.lastAck != nil else {
            throw BenchError("warm-up: no POST to \(alertsURLText) was acknowledged")
        }
        let acknowledged = count - sent.failedAlerts
        let firing = await waitForDeliveries(phases: [phase], expected: acknowledged, resolved: false)
        if ledger.firingDistinct(in: [phase]) == 0 {
            throw BenchError(
                "warm-up: the server acknowledged alerts but no webhook arrived within \(settings.deliveryTimeout); "
                    + "is it configured to deliver to this receiver's /webhook?"
            )
        }
        if !firing { progress("warm-up: some firing notifications missing, continuing") }

        let resolveAt = Date().addingTimeInterval(-1)
        let resolveRequests = requests.map { request in
            (
                body: ByteBuffer(string: AlertPayload.body(ledger.records(request.indices), resolveAt: resolveAt)),
                indices: request.indices
            )
        }
        _ = await postAll(resolveRequests, resolving: true)
        let owed = ledger.records(range).filter { $0.resolveAcknowledged && $0.firingCount > 0 }.count
        if !(await waitForDeliveries(phases: [phase], expected: owed, resolved: true)) {
            progress("warm-up: resolved notifications missing; check send_resolved / resolve support, continuing")
        }
        progress("warm-up done: \(ledger.firingDistinct(in: [phase])) firing, \(ledger.resolvedDistinct(in: [phase])) resolved")
    }

    /// Workload 1: `count` distinct alerts, `batchSize` per request, posted as
    /// fast as `concurrency` connections allow.
    func burst(count: Int, batchSize: Int) async -> ResultRecord {
        let phase = "burst-b\(batchSize)"
        progress("\(phase): \(count) alerts, \(batchSize) per request, \(settings.concurrency) connections")
        let range = ledger.register(phase: phase, count: count, runID: settings.runID)
        let now = Date()
        ledger.update(range) { $0.startsAt = now }

        // Build every body before the clock starts so that client-side JSON
        // work is not charged to the server.
        let records = ledger.records(range)
        let indices = Array(range)
        let requests = stride(from: 0, to: count, by: batchSize).map { lower -> (body: ByteBuffer, indices: [Int]) in
            let upper = min(lower + batchSize, count)
            return (ByteBuffer(string: AlertPayload.body(Array(records[lower..<upper]))), Array(indices[lower..<upper]))
        }

        let sent = await postAll(requests, resolving: false)
        let acknowledged = count - sent.failedAlerts
        let complete = await waitForDeliveries(phases: [phase], expected: acknowledged, resolved: false)

        var result = ResultRecord(workload: "burst")
        result.server = settings.serverName
        result.phase = phase
        result.alerts = count
        result.batchSize = batchSize
        result.requests = requests.count
        result.concurrency = settings.concurrency
        result.acknowledged = acknowledged
        result.postErrors = sent.failedAlerts
        if let lastAck = sent.lastAck {
            let seconds = (lastAck - sent.start).inSeconds
            result.ingestSeconds = seconds
            result.ingestPerSecond = seconds > 0 ? Double(acknowledged) / seconds : nil
        }
        let delivered = ledger.records(range).compactMap(\.firingFirstAt)
        result.expected = acknowledged
        result.received = delivered.count
        result.timedOut = !complete
        if complete, let last = delivered.max() {
            let seconds = (last - sent.start).inSeconds
            result.deliveredSeconds = seconds
            result.deliveredPerSecond = seconds > 0 ? Double(delivered.count) / seconds : nil
        }
        progress(
            "\(phase): ingest \(format(result.ingestPerSecond)) alerts/s, delivered \(format(result.deliveredPerSecond)) alerts/s"
                + (complete ? "" : " (INCOMPLETE)")
        )
        return result
    }

    /// Workload 2: open-loop stream of `rate` alerts/s for `seconds`, one
    /// alert per request. Alerts are released on a fixed schedule whatever
    /// the server's answers; latency runs from the start of each POST to the
    /// receiver seeing the alert.
    func steady(rate: Int, seconds: Int) async -> ResultRecord {
        let phase = "steady-\(rate)"
        let count = rate * seconds
        progress("\(phase): \(rate) alerts/s for \(seconds) s (\(count) alerts), open loop")
        let range = ledger.register(phase: phase, count: count, runID: settings.runID)
        let inFlight = InFlight()
        let interval = Duration.seconds(1) / rate
        let lastAck = Locked<Instant?>(nil)
        let failed = Locked(0)
        var maxLag = Duration.zero

        let start = benchClock.now + .milliseconds(10)
        await withDiscardingTaskGroup { group in
            for n in 0..<count {
                let index = range.lowerBound + n
                let due = start + interval * n
                await sleep(until: due)
                // Open loop, but not unbounded: if the server stalls this
                // caps the pile of outstanding requests. Hitting the cap
                // shows up as schedule lag in the results.
                while inFlight.count.load(ordering: .relaxed) >= settings.maxInFlight {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                maxLag = max(maxLag, benchClock.now - due)
                inFlight.count.add(1, ordering: .relaxed)
                group.addTask {
                    defer { inFlight.count.subtract(1, ordering: .relaxed) }
                    // startsAt is the real send time, as a live source would set it.
                    self.ledger.update(CollectionOfOne(index)) { r in
                        r.scheduledAt = due
                        r.startsAt = Date()
                    }
                    let body = ByteBuffer(string: AlertPayload.body([self.ledger.record(index)]))
                    if let at = await self.postAlerts(body, indices: [index], resolving: false) {
                        lastAck.withLock { $0 = max($0 ?? at, at) }
                    } else {
                        failed.withLock { $0 += 1 }
                    }
                }
            }
        }
        let failedCount = failed.withLock { $0 }
        let acknowledged = count - failedCount
        let complete = await waitForDeliveries(phases: [phase], expected: acknowledged, resolved: false)

        let records = ledger.records(range)
        let latencies = records.compactMap { r -> Double? in
            guard r.acknowledged, let sent = r.postStartedAt, let got = r.firingFirstAt else { return nil }
            return (got - sent).inMilliseconds
        }.sorted()
        let postStarts = records.compactMap(\.postStartedAt)

        var result = ResultRecord(workload: "steady")
        result.server = settings.serverName
        result.phase = phase
        result.alerts = count
        result.batchSize = 1
        result.requests = count
        result.rate = rate
        result.durationSeconds = Double(seconds)
        result.concurrency = settings.concurrency
        result.acknowledged = acknowledged
        result.postErrors = failedCount
        if let first = postStarts.min(), let last = postStarts.max(), last > first {
            // n sends span n-1 intervals.
            result.achievedRate = Double(postStarts.count - 1) / (last - first).inSeconds
        }
        result.maxScheduleLagMs = maxLag.inMilliseconds
        if let lastAck = lastAck.withLock({ $0 }) {
            result.ingestSeconds = (lastAck - start).inSeconds
        }
        result.expected = acknowledged
        result.received = latencies.count
        result.timedOut = !complete
        if complete, let last = records.compactMap(\.firingFirstAt).max() {
            result.deliveredSeconds = (last - start).inSeconds
        }
        result.latencyP50Ms = percentile(latencies, 0.50)
        result.latencyP90Ms = percentile(latencies, 0.90)
        result.latencyP99Ms = percentile(latencies, 0.99)
        result.latencyMaxMs = latencies.last
        progress(
            "\(phase): p50 \(format(result.latencyP50Ms)) ms, p99 \(format(result.latencyP99Ms)) ms, "
                + "achieved \(format(result.achievedRate)) alerts/s" + (complete ? "" : " (INCOMPLETE)")
        )
        return result
    }

    /// Workload 3: resolve every alert the measured workloads created, by
    /// posting it again with `endsAt` in the past, `batchSize` per request.
    func resolveAll(phases: [String], name: String, batchSize: Int) async -> ResultRecord {
        let indices = ledger.indices { phases.contains($0.phase) && $0.acknowledged }
        progress("\(name): \(indices.count) alerts, \(batchSize) per request, \(settings.concurrency) connections")
        let records = ledger.records(indices)
        // One second in the past: unambiguously resolved on arrival.
        let resolveAt = Date().addingTimeInterval(-1)
        let requests = stride(from: 0, to: indices.count, by: batchSize).map { lower -> (body: ByteBuffer, indices: [Int]) in
            let upper = min(lower + batchSize, indices.count)
            return (
                ByteBuffer(string: AlertPayload.body(Array(records[lower..<upper]), resolveAt: resolveAt)),
                Array(indices[lower..<upper])
            )
        }
        let sent = await postAll(requests, resolving: true)
        // Only alerts whose firing notification arrived are owed a resolve.
        let owed = ledger.records(indices).filter { $0.resolveAcknowledged && $0.firingCount > 0 }.count
        let complete = await waitForDeliveries(phases: phases, expected: owed, resolved: true)

        let after = ledger.records(indices)
        let latencies = after.compactMap { r -> Double? in
            guard let sentAt = r.resolvePostStartedAt, let got = r.resolvedFirstAt else { return nil }
            return (got - sentAt).inMilliseconds
        }.sorted()

        var result = ResultRecord(workload: "resolve")
        result.server = settings.serverName
        result.phase = name
        result.alerts = indices.count
        result.batchSize = batchSize
        result.requests = requests.count
        result.concurrency = settings.concurrency
        result.acknowledged = indices.count - sent.failedAlerts
        result.postErrors = sent.failedAlerts
        if let lastAck = sent.lastAck {
            let seconds = (lastAck - sent.start).inSeconds
            result.ingestSeconds = seconds
            result.ingestPerSecond = seconds > 0 ? Double(indices.count - sent.failedAlerts) / seconds : nil
        }
        result.expected = owed
        result.received = latencies.count
        result.timedOut = !complete
        if complete, let last = after.compactMap(\.resolvedFirstAt).max() {
            let seconds = (last - sent.start).inSeconds
            result.deliveredSeconds = seconds
            result.deliveredPerSecond = seconds > 0 ? Double(latencies.count) / seconds : nil
        }
        result.latencyP50Ms = percentile(latencies, 0.50)
        result.latencyP90Ms = percentile(latencies, 0.90)
        result.latencyP99Ms = percentile(latencies, 0.99)
        result.latencyMaxMs = latencies.last
        progress(
            "\(name): all \(latencies.count) resolved notifications after \(format(result.deliveredSeconds)) s"
                + (complete ? "" : " (INCOMPLETE)")
        )
        return result
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Short human formatting for progress lines.
func format(_ value: Double?) -> String {
    guard let value else { return "-" }
    if value >= 100 { return String(Int(value.rounded())) }
    return String((value * 10).rounded() / 10)
}
