import Foundation
import Testing
import TocsinCore
import TocsinTestSupport

/// Three real `tocsin serve` processes share one PostgreSQL schema behind a client that spreads requests over them
/// and retries a refused request on another one, as a load balancer does. One is killed with SIGKILL in the middle
/// of a burst: what it acknowledged is in the shared database, and what it had claimed but not recorded is sent by
/// the others once its leases expire.
@Suite("A fleet of instances on one PostgreSQL database", .serialized)
struct FleetTests {
    static let alertCount = 10_000
    static let batchSize = 100
    static let requestsInFlight = 8
    /// The burst is cut when this many alerts are acknowledged.
    static let killAfter = 4_000
    /// Sends in flight on the killed instance are the only ones that may reach the receiver twice: at most the
    /// webhook's `concurrency` (the default) on the wire and as many again answered but not yet recorded (see
    /// `Dispatcher`).
    static let duplicateBound = 2 * DeliveryPolicy().concurrency

    @Test(
        "three instances, one killed mid-burst: every acknowledged alert opens and resolves, in order; only the dead one's sends repeat",
        .timeLimit(.minutes(10))
    )
    func testFleetSurvivesTheDeathOfAnInstance() async throws {
        let started = ContinuousClock.now
        let hex = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))
        let tag = "fleet-\(hex)"
        // Fails (never skips) when no PostgreSQL is configured, saying how to get one.
        let databaseURL = try TestPostgres.url(schema: "fleet_\(hex)")
        // A short hold keeps sends on the wire, so that the kill finds some in flight.
        let receiver = try await RecordingReceiver.start { _, _ in .init(delay: .milliseconds(10)) }
        let root = makeTemporaryDirectory("tocsin-fleet")
        let members = try ["fleet-a", "fleet-b", "fleet-c"].map { name in
            try FleetMember(name: name, root: root, databaseURL: databaseURL, receiverURL: receiver.url)
        }
        do {
            try await runScenario(members: members, receiver: receiver, tag: tag, started: started)
        } catch {
            await finish(members, receiver: receiver)
            throw error
        }
        await finish(members, receiver: receiver)
    }

    private func runScenario(members: [FleetMember], receiver: RecordingReceiver, tag: String, started: ContinuousClock.Instant) async throws {
        // Started together, as a deployment starts them: the migration of the fresh schema runs under its lock.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in members { group.addTask { try await member.start() } }
            try await group.waitForAll()
        }
        let root = URL(fileURLWithPath: members[0].directory).deletingLastPathComponent().path
        print("fleet test: instances \(members.map { "\($0.name) on :\($0.port)" }.joined(separator: ", ")) (data directories in \(root))")

        // 1–2. The firing burst, with one instance killed when 40% is acknowledged and restarted on its port.
        let firing = PhaseLedger(status: "firing")
        let victim = members[1]
        let chaos = Task { () throws -> KillReport in
            while firing.acknowledgedCount < Self.killAfter && !firing.isFinished && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(5))
            }
            let acknowledgedAtKill = firing.acknowledgedCount
            let receivedAtKill = receiver.requests.count
            let killedAt = ContinuousClock.now
            await victim.kill()
            let killDate = Date()
            // Its live claims, as the shared database shows them: what the others must send once the leases expire.
            let held = try await claimsHeld(by: victim.name, at: killDate, asSeenBy: members[0])
            // Down until a client has been refused by it (bounded), as a balancer would notice, then back in the rotation.
            _ = await eventually(timeout: .seconds(3)) { firing.failures(of: victim.name) > 0 }
            try await victim.restart()
            return KillReport(
                killDate: killDate,
                held: held,
                acknowledgedAtKill: acknowledgedAtKill,
                receivedAtKill: receivedAtKill,
                downFor: ContinuousClock.now - killedAt,
                acknowledgedAtRestart: firing.acknowledgedCount
            )
        }
        let firingStarted = ContinuousClock.now
        await postPhase(firing, tag: tag, members: members)
        let firingTook = ContinuousClock.now - firingStarted
        let kill = try await chaos.value
        let firingReport = firing.report
        print(
            """
            fleet test: firing burst posted in \(seconds(firingTook)) (\(receiver.requests.count) receipts so far); \(victim.name) killed \
            at \(kill.acknowledgedAtKill) acknowledged (\(kill.receivedAtKill) receipts so far) holding \(kill.held.count) claims, down \
            \(seconds(kill.downFor)), restarted at \(kill.acknowledgedAtRestart) acknowledged; \(firingReport.summary)
            """
        )
        #expect(kill.acknowledgedAtKill < Self.alertCount, "the kill did not land in the middle of the burst")
        #expect(firingReport.unexpected.isEmpty, "unexpected answers: \(firingReport.unexpected.prefix(10))")
        try #require(
            firingReport.acknowledged.count == Self.alertCount,
            "only \(firingReport.acknowledged.count) of \(Self.alertCount) firing alerts acknowledged; batches given up: \(firingReport.abandoned)"
        )

        // 3. Every alert resolved the same way, across the three (the restarted one included).
        let resolving = PhaseLedger(status: "resolved")
        let resolveStarted = ContinuousClock.now
        await postPhase(resolving, tag: tag, members: members)
        let resolveTook = ContinuousClock.now - resolveStarted
        let resolveReport = resolving.report
        print("fleet test: resolves posted in \(seconds(resolveTook)) (\(receiver.requests.count) receipts so far); \(resolveReport.summary)")
        #expect(resolveReport.unexpected.isEmpty, "unexpected answers: \(resolveReport.unexpected.prefix(10))")
        try #require(
            resolveReport.acknowledged.count == Self.alertCount,
            "only \(resolveReport.acknowledged.count) of \(Self.alertCount) resolves acknowledged; batches given up: \(resolveReport.abandoned)"
        )

        // 4. Until the receiver has an open and a resolve of every alert and no instance has anything pending.
        let drainStarted = ContinuousClock.now
        let drainDeadline = drainStarted + .seconds(240)
        var tally = ReceiptTally(tag: tag)
        var drained = false
        var lastProgress = drainStarted
        while ContinuousClock.now < drainDeadline && !Task.isCancelled {
            tally.absorb(receiver.requests)
            if ContinuousClock.now - lastProgress >= .seconds(10) {
                lastProgress = ContinuousClock.now
                print(
                    """
                    fleet test: draining for \(seconds(lastProgress - drainStarted)): \(tally.processed) receipts, \(tally.firstOpen.count) opened, \
                    \(tally.firstResolve.count) resolved
                    """
                )
            }
            if tally.firstOpen.count >= Self.alertCount && tally.firstResolve.count >= Self.alertCount,
                await pendingEverywhere(members) == 0
            {
                drained = true
                break
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        let drainTook = ContinuousClock.now - drainStarted
        tally.absorb(receiver.requests)
        if !drained { await printDrainDiagnostics(members: members, tally: tally) }
        #expect(drained, "not drained within \(seconds(drainTook)): see the diagnostics above")

        // 5. What reached the receiver, and what the fleet's database says.
        let missingOpens = firingReport.acknowledged.subtracting(tally.firstOpen.keys).sorted()
        let missingResolves = resolveReport.acknowledged.subtracting(tally.firstResolve.keys).sorted()
        let unpaired = tally.firstResolve.filter { alert, resolve in (tally.firstOpen[alert] ?? Int.max) > resolve }.keys.sorted()
        let repeatedOpens = tally.openDeliveries.filter { $0.value.count > 1 }.keys.sorted()
        let repeatedResolves = tally.resolveDeliveries.filter { $0.value.count > 1 }.keys.sorted()
        let duplicates = tally.copies.filter { $0.value > 1 }
        let extraCopies = duplicates.values.reduce(0) { $0 + $1 - 1 }
        for (id, count) in duplicates.sorted(by: { $0.key < $1.key }) {
            let arrivals = tally.arrivals[id] ?? []
            let gaps = arrivals.dropFirst().map { String(format: "%.1fs", $0.timeIntervalSince(arrivals[0])) }
            print("fleet test: delivery \(id) (\(tally.described[id] ?? "?")) received \(count) times, again after \(gaps.joined(separator: ", "))")
        }

        // The dead process's claims: each delivered, and by nobody while its lease still ran (a receipt just after the
        // kill may still be the dead process's own send, already on its way).
        let heldNeverReceived = kill.held.keys.filter { tally.copies[$0] == nil }.sorted()
        let sentUnderLiveLease = kill.held.filter { id, expiry in
            (tally.arrivals[id] ?? []).contains { $0 > kill.killDate.addingTimeInterval(1) && $0 < expiry.addingTimeInterval(-0.1) }
        }.keys.sorted()
        let heldReceivedBeforeKill = kill.held.keys.filter { (tally.arrivals[$0]?.first ?? .distantFuture) <= kill.killDate.addingTimeInterval(1) }
        let leaseEnds = kill.held.values.map { $0.timeIntervalSince(kill.killDate) }
        print(
            """
            fleet test: \(victim.name) held \(kill.held.count) claims when killed (leases ending \
            \(String(format: "%.1f–%.1f s", leaseEnds.min() ?? 0, leaseEnds.max() ?? 0)) later), \(heldReceivedBeforeKill.count) of them \
            already at the receiver; \(kill.held.count - heldNeverReceived.count) received after all
            """
        )

        let failed = try await deliveries(on: members[0], status: "failed")
        let dead = try await deliveries(on: members[0], status: "dead")
        let openAlerts = try await TestHTTP.get(members[0].baseURL + "/api/v1/alerts?limit=10000").json()?["alerts"] as? [[String: Any]]
        var staleAttempts = 0.0
        var delivered: Double?
        for member in members {
            let metrics = try await TestHTTP.get(member.baseURL + "/metrics").body
            staleAttempts += metricValue(metrics, "tocsin_delivery_stale_attempts_total") ?? 0
            delivered = delivered ?? metricValue(metrics, "tocsin_outbox_deliveries", status: "delivered")
        }

        let total = ContinuousClock.now - started
        print(
            """
            fleet test: \(firingReport.acknowledged.count) firing and \(resolveReport.acknowledged.count) resolves acknowledged by 3 instances \
            (\(victim.name) SIGKILLed at \(kill.acknowledgedAtKill), \(firingReport.retriedBatches + resolveReport.retriedBatches) requests retried \
            elsewhere); receiver: \(tally.firstOpen.count) alerts opened, \(tally.firstResolve.count) resolved, \(tally.processed) receipts, \
            \(duplicates.count) delivery ids received more than once (\(extraCopies) extra copies, bound \(Self.duplicateBound)); \
            \(missingOpens.count) opens and \(missingResolves.count) resolves missing, \(unpaired.count) unpaired, \(failed.count) failed, \
            \(dead.count) dead, \(Int(delivered ?? -1)) deliveries delivered in the database, \(Int(staleAttempts)) stale attempt results, \
            \(openAlerts?.count ?? -1) alerts open; \(seconds(total)) in all (firing \(seconds(firingTook)), resolves \(seconds(resolveTook)), \
            drain \(seconds(drainTook)))
            """
        )

        #expect(tally.strange.isEmpty, "receipts not understood: \(tally.strange.prefix(10))")
        #expect(missingOpens.isEmpty, "acknowledged alerts never delivered firing: \(missingOpens.count), e.g. \(missingOpens.prefix(10))")
        #expect(missingResolves.isEmpty, "acknowledged resolves never delivered: \(missingResolves.count), e.g. \(missingResolves.prefix(10))")
        #expect(unpaired.isEmpty, "resolves received before their alert's open: \(unpaired.count), e.g. \(unpaired.prefix(10))")
        #expect(repeatedOpens.isEmpty, "alerts opened by more than one delivery: \(repeatedOpens.prefix(10))")
        #expect(repeatedResolves.isEmpty, "alerts resolved by more than one delivery: \(repeatedResolves.prefix(10))")
        #expect(
            extraCopies <= Self.duplicateBound,
            "\(extraCopies) repeated receipts, more than the \(Self.duplicateBound) sends one instance can have in flight"
        )
        #expect(
            !kill.held.isEmpty,
            "\(victim.name) held no claims when killed: the lease takeover was not exercised (or the deliveries API no longer shows leases)"
        )
        #expect(heldNeverReceived.isEmpty, "claims of the killed instance never delivered: \(heldNeverReceived)")
        #expect(sentUnderLiveLease.isEmpty, "claims of the killed instance sent again before their lease expired: \(sentUnderLiveLease)")
        #expect(failed.isEmpty && dead.isEmpty, "failed: \(failed.prefix(5)), dead: \(dead.prefix(5))")
        #expect(delivered == Double(2 * Self.alertCount), "deliveries delivered in the database: \(String(describing: delivered))")
        #expect(openAlerts?.isEmpty == true, "alerts still open: \(openAlerts?.count ?? -1)")
    }

    /// Posts every alert of the phase in batches, `requestsInFlight` at a time; a batch goes to instance `batch % 3`
    /// and, when that one does not acknowledge it, to the next, with the same event ids.
    private func postPhase(_ ledger: PhaseLedger, tag: String, members: [FleetMember]) async {
        let next = LockedBox(0)
        let batches = Self.alertCount / Self.batchSize
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.requestsInFlight {
                group.addTask {
                    while true {
                        let batch = next.withValue { counter -> Int? in
                            guard counter < batches else { return nil }
                            defer { counter += 1 }
                            return counter
                        }
                        guard let batch else { return }
                        await postBatch(batch, ledger: ledger, tag: tag, members: members)
                    }
                }
            }
        }
        ledger.finish()
    }

    private func postBatch(_ batch: Int, ledger: PhaseLedger, tag: String, members: [FleetMember]) async {
        let range = (batch * Self.batchSize)..<((batch + 1) * Self.batchSize)
        let body = fleetBatch(range, tag: tag, status: ledger.status)
        let deadline = ContinuousClock.now + .seconds(120)
        var target = batch % members.count
        var attempts = 0
        while ContinuousClock.now < deadline && !Task.isCancelled {
            let member = members[target]
            attempts += 1
            let failure: String
            do {
                let answer = try await TestHTTP.post(member.baseURL + "/api/v1/events", body)
                if (200..<300).contains(answer.status) {
                    ledger.acknowledge(range, answer: answer.json(), tag: tag, retried: attempts > 1)
                    return
                }
                failure = "HTTP \(answer.status): \(answer.body.prefix(200))"
            } catch {
                failure = "\(error)"
            }
            ledger.fail(member.name, failure)
            target = (target + 1) % members.count
            if attempts % members.count == 0 { try? await Task.sleep(for: .milliseconds(200)) }
        }
        ledger.abandon(batch)
    }

    /// The pending deliveries under a live lease of `owner`, with the lease's expiry, as `member` reads them.
    private func claimsHeld(by owner: String, at now: Date, asSeenBy member: FleetMember) async throws -> [String: Date] {
        var held: [String: Date] = [:]
        var before: Int?
        repeat {
            let answer = try await TestHTTP.get(
                member.baseURL + "/api/v1/deliveries?status=pending&limit=10000" + (before.map { "&before=\($0)" } ?? "")
            )
            let page = try #require(answer.json(), "deliveries answer \(answer.status): \(answer.body.prefix(300))")
            for item in page["deliveries"] as? [[String: Any]] ?? [] {
                guard let delivery = item["delivery"] as? [String: Any], let id = delivery["id"] as? String,
                    let lease = delivery["lease"] as? [String: Any], lease["owner"] as? String == owner,
                    let expiry = (lease["expiresAt"] as? String).flatMap({ Timestamp.parse($0) }), expiry > now
                else { continue }
                held[id] = expiry
            }
            before = page["next"] as? Int
        } while before != nil
        return held
    }

    /// Pending deliveries in the shared database as every instance reports them (the most any one reports; nil
    /// when one does not answer).
    private func pendingEverywhere(_ members: [FleetMember]) async -> Int? {
        var most = 0
        for member in members {
            guard let pending = try? await deliveries(on: member, status: "pending", limit: 100) else { return nil }
            most = max(most, pending.count)
        }
        return most
    }

    private func deliveries(on member: FleetMember, status: String, limit: Int = 100) async throws -> [[String: Any]] {
        let answer = try await TestHTTP.get(member.baseURL + "/api/v1/deliveries?status=\(status)&limit=\(limit)")
        guard let items = answer.json()?["deliveries"] as? [[String: Any]] else {
            throw FleetError("\(member.name) answered \(answer.status) to GET deliveries: \(answer.body.prefix(300))")
        }
        return items.compactMap { $0["delivery"] as? [String: Any] }
    }

    private func printDrainDiagnostics(members: [FleetMember], tally: ReceiptTally) async {
        print("fleet test: not drained; \(tally.firstOpen.count) alerts opened and \(tally.firstResolve.count) resolved at the receiver")
        for member in members {
            let metrics = (try? await TestHTTP.get(member.baseURL + "/metrics").body) ?? ""
            let lines = metrics.split(separator: "\n").filter { $0.hasPrefix("tocsin_outbox_deliveries") || $0.hasPrefix("tocsin_delivery_stale") }
            print("fleet test: \(member.name) metrics: \(lines.joined(separator: "; "))")
        }
        for delivery in (try? await deliveries(on: members[0], status: "pending", limit: 20)) ?? [] {
            let fields = ["id", "orderKey", "attempts", "nextAttemptAt", "lastAttemptAt", "lastError"].map { "\($0)=\(delivery[$0] ?? "-")" }
            print("fleet test: pending \(fields.joined(separator: " "))")
        }
    }

    /// Stops the instances, keeps their output in their data directories, and names the files.
    private func finish(_ members: [FleetMember], receiver: RecordingReceiver) async {
        for member in members { await member.stop() }
        for member in members {
            let path = member.directory + "/output.log"
            let output = member.output
            try? output.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let worrying = output.filter { $0.contains("warning") || $0.contains("error") || $0.contains("critical") }
            print("fleet test: \(member.name) output (\(output.count) lines, \(worrying.count) warnings or errors) in \(path)")
            for line in worrying.prefix(5) { print("fleet test:   \(line)") }
        }
        await receiver.stop()
    }
}

/// The environment variable naming the PostgreSQL database the fleet runs on.
/// Native events for the alerts in `range`: firing (with severity and summary) or resolved (labels only).
private func fleetBatch(_ range: Range<Int>, tag: String, status: String) -> String {
    let items = range.map { index in
        let common = #""id":"\#(tag)-\#(status)-\#(index)","status":"\#(status)","labels":{"test":"\#(tag)","n":"\#(index)"}"#
        return status == "firing" ? #"{\#(common),"severity":"error","category":"nodes","summary":"fleet alert \#(index)"}"# : "{\(common)}"
    }
    return "[" + items.joined(separator: ",") + "]"
}

private func seconds(_ duration: Duration) -> String {
    let (whole, attoseconds) = duration.components
    return String(format: "%.1f s", Double(whole) + Double(attoseconds) / 1e18)
}

/// The value of a metric summed over its series (those with `status` when given), from a Prometheus text page.
private func metricValue(_ page: String, _ name: String, status: String? = nil) -> Double? {
    var total: Double?
    for line in page.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        if let status, !line.contains("status=\"\(status)\"") { continue }
        guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
        total = (total ?? 0) + value
    }
    return total
}

/// One `tocsin serve` of the fleet: its configuration, data directory and port, and every process it has been.
private final class FleetMember: Sendable {
    let name: String
    let directory: String
    private let config: String
    private let incarnations = LockedBox<[ChildProcess]>([])
    private let boundPort = LockedBox(0)

    init(name: String, root: String, databaseURL: String, receiverURL: String) throws {
        self.name = name
        directory = root + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        config = directory + "/tocsin.yml"
        // The webhook's timeout is below the lease, as the configuration requires.
        try """
        server:
          instance_id: \(name)
        storage:
          postgres: "\(databaseURL)"
          lease: 10s
        integrations:
          - name: hook
            type: webhook
            url: \(receiverURL)
            timeout: 5s
        routing:
          default: [hook]
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    var port: Int { boundPort.value }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The output of every process this member has been, in order.
    var output: [String] {
        incarnations.value.enumerated().flatMap { index, child in ["--- \(name) process \(index + 1) (pid \(child.pid)) ---"] + child.lines }
    }

    /// Starts the process on `port` (0: a free one) and waits for its banner.
    func start(port: Int = 0) async throws {
        let executable = try #require(
            tocsinExecutable(),
            "the tocsin executable is not built next to the tests: run `swift build` first (scripts/test.sh does)"
        )
        let child = try ChildProcess(
            executable: executable,
            arguments: ["serve", "--config", config, "--data-dir", directory, "--listen", "127.0.0.1:\(port)"]
        )
        incarnations.withValue { $0.append(child) }
        guard let banner = await child.waitForLine(containing: "listening on http://127.0.0.1:", timeout: .seconds(90)) else {
            await child.stop()
            throw FleetError("\(name) did not start; its output:\n\(child.lines.suffix(30).joined(separator: "\n"))")
        }
        let bound = try #require(Int(banner.split(separator: ":").last ?? ""), "no port in '\(banner)'")
        boundPort.withValue { $0 = bound }
    }

    /// Starts again on the same port; on another only if that one was taken meanwhile.
    func restart() async throws {
        let port = self.port
        do {
            try await start(port: port)
        } catch let error as FleetError where error.description.localizedCaseInsensitiveContains("in use") {
            print("fleet test: \(name) could not listen on :\(port) again (\(error)); restarting on a free port")
            try await start()
        }
    }

    func kill() async {
        guard let child = incarnations.value.last else { return }
        child.signal(SIGKILL)
        _ = await child.waitForExit(timeout: .seconds(10))
    }

    /// SIGTERM, a bounded wait, then SIGKILL if it still runs.
    func stop() async {
        guard let child = incarnations.value.last, child.isRunning else { return }
        child.signal(SIGTERM)
        _ = await child.waitForExit(timeout: .seconds(20))
        await child.stop()
    }
}

private struct FleetError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

private struct KillReport: Sendable {
    var killDate: Date
    /// The killed process's live claims at its death: delivery id → lease expiry.
    var held: [String: Date]
    var acknowledgedAtKill: Int
    var receivedAtKill: Int
    var downFor: Duration
    var acknowledgedAtRestart: Int
}

/// What the client learned while posting one phase: acknowledged alerts, answers, refusals.
private final class PhaseLedger: Sendable {
    struct Report: Sendable {
        var acknowledged: Set<Int> = []
        var outcomes: [String: Int] = [:]
        /// Answers that are not what the phase expects (an outcome other than the phase's or `duplicate`, an id
        /// missing from the answer).
        var unexpected: [String] = []
        var failures: [String: Int] = [:]
        var sampleFailures: [String] = []
        var retriedBatches = 0
        var abandoned: [Int] = []
        var finished = false

        var summary: String {
            let outcomes = self.outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let failures = self.failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return """
                \(acknowledged.count) acknowledged (outcomes: \(outcomes)); \(retriedBatches) requests acknowledged only by another instance; \
                refusals: \(failures.isEmpty ? "none" : failures)\(sampleFailures.isEmpty ? "" : ", e.g. \(sampleFailures.joined(separator: " | "))")
                """
        }
    }

    let status: String
    private let state = LockedBox(Report())
    private let count = LockedBox(0)

    init(status: String) {
        self.status = status
    }

    var report: Report { state.value }
    var acknowledgedCount: Int { count.value }
    var isFinished: Bool { state.value.finished }

    func failures(of member: String) -> Int { state.value.failures[member] ?? 0 }

    func acknowledge(_ range: Range<Int>, answer: [String: Any]?, tag: String, retried: Bool) {
        var outcomes: [String: String] = [:]
        for item in answer?["accepted"] as? [[String: Any]] ?? [] {
            if let id = item["id"] as? String { outcomes[id] = item["outcome"] as? String ?? "?" }
        }
        let expected = status == "firing" ? "opened" : "resolved"
        state.withValue { report in
            for index in range {
                let id = "\(tag)-\(status)-\(index)"
                let outcome = outcomes[id] ?? "absent from the answer"
                report.outcomes[outcome, default: 0] += 1
                if outcome != expected && outcome != "duplicate" { report.unexpected.append("\(id): \(outcome)") }
                report.acknowledged.insert(index)
            }
            if retried { report.retriedBatches += 1 }
        }
        count.withValue { $0 += range.count }
    }

    func fail(_ member: String, _ failure: String) {
        state.withValue { report in
            report.failures[member, default: 0] += 1
            if report.sampleFailures.count < 3 { report.sampleFailures.append("\(member): \(failure.prefix(160))") }
        }
    }

    func abandon(_ batch: Int) { state.withValue { $0.abandoned.append(batch) } }

    func finish() { state.withValue { $0.finished = true } }
}

/// What the receiver got, read incrementally: for each alert the arrival of its first open and first resolve, the
/// delivery ids that carried them, and how many times each delivery id arrived.
private struct ReceiptTally {
    let tag: String
    var processed = 0
    var copies: [String: Int] = [:]
    var arrivals: [String: [Date]] = [:]
    var described: [String: String] = [:]
    var firstOpen: [Int: Int] = [:]
    var firstResolve: [Int: Int] = [:]
    var openDeliveries: [Int: Set<String>] = [:]
    var resolveDeliveries: [Int: Set<String>] = [:]
    var strange: [String] = []

    init(tag: String) {
        self.tag = tag
    }

    mutating func absorb(_ requests: [RecordingReceiver.Received]) {
        guard requests.count > processed else { return }
        for arrival in processed..<requests.count {
            let request = requests[arrival]
            guard let id = request.headers["x-tocsin-delivery"], request.headers["idempotency-key"] == id,
                let body = request.json(), body["deliveryId"] as? String == id,
                let status = body["status"] as? String, let labels = body["labels"] as? [String: String],
                labels["test"] == tag, let alert = labels["n"].flatMap({ Int($0) }),
                let fingerprint = body["fingerprint"] as? String
            else {
                strange.append("#\(arrival): \(request.headers) \(request.text.prefix(200))")
                continue
            }
            copies[id, default: 0] += 1
            arrivals[id, default: []].append(request.receivedAt)
            described[id] = "alert \(alert) \(fingerprint) \(status)"
            switch status {
            case "open" where body["eventId"] as? String == "\(tag)-firing-\(alert)":
                if firstOpen[alert] == nil { firstOpen[alert] = arrival }
                openDeliveries[alert, default: []].insert(id)
            case "resolved" where body["eventId"] as? String == "\(tag)-resolved-\(alert)":
                if firstResolve[alert] == nil { firstResolve[alert] = arrival }
                resolveDeliveries[alert, default: []].insert(id)
            default:
                strange.append("#\(arrival): \(status) event \(body["eventId"] ?? "-") for alert \(alert)")
            }
        }
        processed = requests.count
    }
}
