// tocsin-bench: load generator + webhook receiver used by benchmarks/run.sh
// to compare Tocsin with Prometheus Alertmanager.
//
//   tocsin-bench run --target http://127.0.0.1:9093 --receiver-port 9999 ...
//       starts the receiver, runs the workloads against the target and
//       prints one JSON object per workload on stdout. --target may name
//       several instances (comma-separated); requests go round-robin.
//   tocsin-bench report --alertmanager am.jsonl --tocsin tocsin.jsonl
//       prints both side by side with ratios and writes a markdown table.

import ArgumentParser
import AsyncHTTPClient
import Hummingbird

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@main
struct TocsinBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tocsin-bench",
        abstract: "Benchmark Tocsin against Prometheus Alertmanager through a webhook receiver.",
        subcommands: [RunCommand.self, ReportCommand.self, RecordsCommand.self, DetectorsCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the workloads against one server and print JSON results (one object per line)."
    )

    @Option(
        help: """
            Base URL of the server under test (loopback only), e.g. http://127.0.0.1:9093; several instances of one \
            server comma-separated (requests are spread round-robin over them, as a load balancer would).
            """
    )
    var target: String

    @Option(help: "Name recorded in the results, e.g. alertmanager or tocsin.")
    var serverName: String = "server"

    @Option(help: "Free-text note recorded in the results (e.g. the server's grouping settings).")
    var note: String?

    @Option(help: "Address the webhook receiver listens on (loopback only).")
    var receiverHost: String = "127.0.0.1"

    @Option(help: "Port of the webhook receiver; 0 picks a free one (the server must then be told separately).")
    var receiverPort: Int = 0

    @Option(help: "Path polled on every target until it answers 2xx before starting, e.g. /-/ready or /readyz.")
    var readyPath: String?

    @Option(help: "Seconds to wait for the ready path.")
    var readyTimeout: Int = 60

    @Option(help: "Comma-separated workloads to run, in this order: burst, steady, resolve.")
    var workloads: String = "burst,steady,resolve"

    @Option(help: "Concurrent client connections to the server (in all; with several targets, shared among them).")
    var concurrency: Int = 32

    @Option(help: "Alerts per burst.")
    var burstAlerts: Int = 10_000

    @Option(help: "Comma-separated alerts-per-request values for the burst workload.")
    var batchSizes: String = "1,100"

    @Option(help: "Comma-separated alert rates (alerts/s) for the steady workload.")
    var rates: String = "200,1000"

    @Option(help: "Duration of each steady rate, in seconds.")
    var steadySeconds: Int = 20

    @Option(help: "Alerts per request when resolving.")
    var resolveBatch: Int = 100

    @Option(help: "Alerts sent (and resolved) before measuring; 0 disables the warm-up.")
    var warmup: Int = 50

    @Option(help: "Maximum seconds to wait for the deliveries of one workload.")
    var deliveryTimeout: Int = 120

    @Option(help: "Per-request timeout in seconds.")
    var requestTimeout: Int = 60

    @Option(help: "Cap on requests in flight in the open-loop workload (queued behind the connections).")
    var maxInFlight: Int = 2048

    @Option(help: "Seconds to keep listening after the last workload, to catch late duplicates.")
    var settle: Int = 5

    @Option(help: "Seconds of quiet between workloads, so one workload's tail does not overlap the next.")
    var pause: Int = 2

    @Flag(
        help: """
            Resolve each workload's alerts right after it, so every measurement starts with no \
            alert firing (default: keep them firing and resolve all at the end).
            """
    )
    var isolate = false

    /// The base URLs of --target, without a trailing slash.
    var targets: [String] {
        target.split(separator: ",").map { part in
            let url = part.trimmingCharacters(in: .whitespaces)
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }
    }

    func validate() throws {
        guard !targets.isEmpty else { throw ValidationError("--target: give at least one URL") }
        for url in targets {
            guard url.hasPrefix("http://"), let host = hostOfURL(url), isLoopbackHost(host) else {
                throw ValidationError(
                    "--target must be http:// URLs on a loopback address (127.0.0.1, ::1, localhost), got '\(url)'"
                )
            }
        }
        guard Set(targets).count == targets.count else { throw ValidationError("--target names a URL twice") }
        guard isLoopbackHost(receiverHost) else {
            throw ValidationError("--receiver-host must be a loopback address")
        }
        guard (0...65535).contains(receiverPort) else { throw ValidationError("--receiver-port out of range") }
        guard parsePositiveList(batchSizes) != nil else { throw ValidationError("--batch-sizes: e.g. 1,100") }
        guard parsePositiveList(rates) != nil else { throw ValidationError("--rates: e.g. 200,1000") }
        let known: Set = ["burst", "steady", "resolve"]
        let chosen = workloads.split(separator: ",").map(String.init)
        guard !chosen.isEmpty, chosen.allSatisfy(known.contains) else {
            throw ValidationError("--workloads: comma-separated subset of burst,steady,resolve")
        }
        for (name, value) in [
            ("concurrency", concurrency), ("burst-alerts", burstAlerts), ("steady-seconds", steadySeconds),
            ("resolve-batch", resolveBatch), ("delivery-timeout", deliveryTimeout),
            ("request-timeout", requestTimeout), ("max-in-flight", maxInFlight), ("ready-timeout", readyTimeout),
        ] where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
        guard warmup >= 0, settle >= 0, pause >= 0 else {
            throw ValidationError("--warmup, --settle and --pause must be >= 0")
        }
    }

    func run() async throws {
        // Hummingbird's default logger reads LOG_LEVEL. Keep the receiver
        // quiet unless asked otherwise: its start-up line duplicates ours and
        // per-connection errors (a server hanging up mid-request) are noise
        // here. Real failures (e.g. the port is taken) are thrown from
        // app.run() and reported below.
        var environment = Environment()
        if environment.get("LOG_LEVEL") == nil {
            environment.set("LOG_LEVEL", value: "critical")
        }
        let ledger = Ledger()
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = WebhookReceiver.makeApplication(host: receiverHost, port: receiverPort, ledger: ledger) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // If binding fails, end the stream so the wait below does
                // not hang, then report the bind error.
                defer { portContinuation.finish() }
                try await app.run()
            }
            var portIterator = ports.makeAsyncIterator()
            guard let port = await portIterator.next() else {
                try await group.next()
                throw BenchError("the webhook receiver stopped before it started listening")
            }
            progress("receiver listening on http://\(receiverHost):\(port)/webhook")

            // Leave the process from here, without tearing the receiver
            // down. The server under test may still have webhook requests in
            // flight (late retries, duplicates), and cancelling Hummingbird
            // with requests in flight can trip a precondition in SwiftNIO
            // ("Deinited NIOAsyncWriter without calling finish()") and crash
            // the bench after the work is done. The results are already on
            // stdout and the HTTP client is shut down; exit() flushes stdout
            // and the kernel closes the listening socket.
            do {
                try await runWorkloads(ledger: ledger, receiverPort: port)
            } catch {
                Self.exit(withError: error)
            }
            Self.exit()
        }
    }

    private func runWorkloads(ledger: Ledger, receiverPort: Int) async throws {
        var configuration = HTTPClient.Configuration()
        // One pooled connection per worker, kept for the whole run. The pool's
        // limit is per host: with several targets each gets its share (rounded
        // up), so the client still opens about `concurrency` connections in all.
        let targetCount = targets.count
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120),
            concurrentHTTP1ConnectionsPerHostSoftLimit: (concurrency + targetCount - 1) / targetCount
        )
        // AsyncHTTPClient applies the connect timeout to waiting for a pooled
        // connection too; in the open-loop workload requests may legitimately
        // queue behind busy connections, so allow the full request timeout.
        configuration.timeout = .init(connect: .seconds(Int64(requestTimeout)), read: .seconds(Int64(requestTimeout)))
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

        do {
            try await runWorkloads(ledger: ledger, receiverPort: receiverPort, client: client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func runWorkloads(ledger: Ledger, receiverPort: Int, client: HTTPClient) async throws {
        let bases = targets
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let settings = BenchSettings(
            targets: bases,
            serverName: serverName,
            runID: runID,
            concurrency: concurrency,
            maxInFlight: maxInFlight,
            deliveryTimeout: .seconds(deliveryTimeout),
            requestTimeoutSeconds: Int64(requestTimeout)
        )
        let bench = Workloads(settings: settings, client: client, ledger: ledger)

        var meta = ResultRecord(workload: "meta")
        meta.server = serverName
        meta.runId = runID
        meta.startedAt = AlertPayload.timestamp(Date())
        meta.target = bases.joined(separator: ",")
        meta.targets = bases.count
        meta.note = note
        meta.receiverPort = receiverPort
        meta.concurrency = concurrency
        meta.warmupAlerts = warmup
        meta.deliveryTimeoutSeconds = Double(deliveryTimeout)
        meta.settleSeconds = Double(settle)
        meta.isolated = isolate

        if let readyPath {
            // Every instance must be ready: requests go to all of them.
            let deadline = benchClock.now + .seconds(readyTimeout)
            for base in bases {
                try await waitUntilReady(client: client, url: base + readyPath, deadline: deadline)
            }
            if bases.count > 1 { progress("all \(bases.count) targets ready; requests go round-robin") }
        }

        try await bench.warmup(count: warmup)

        // Each result remembers which phases' alerts it covers, so that its
        // loss and duplicate counts can be filled in at the end.
        var results: [(record: ResultRecord, phases: [String])] = []
        var allPhases: [String] = []
        var stillFiring: [String] = []

        func resolve(_ phases: [String], name: String) async {
            var record = await bench.resolveAll(phases: phases, name: name, batchSize: resolveBatch)
            record.isolated = isolate
            results.append((record, phases))
            stillFiring.removeAll { phases.contains($0) }
        }

        func measured(_ record: ResultRecord) async {
            var record = record
            let phase = record.phase ?? ""
            record.isolated = isolate
            results.append((record, [phase]))
            allPhases.append(phase)
            stillFiring.append(phase)
            if isolate {
                // Clean slate for the next workload: resolve this one's
                // alerts now (timed, reported as its own resolve figure).
                await pauseBetweenWorkloads()
                await resolve([phase], name: "resolve-\(phase)")
            }
            await pauseBetweenWorkloads()
        }

        for workload in workloads.split(separator: ",").map(String.init) {
            switch workload {
            case "burst":
                for size in parsePositiveList(batchSizes) ?? [] {
                    await measured(await bench.burst(count: burstAlerts, batchSize: size))
                }
            case "steady":
                for rate in parsePositiveList(rates) ?? [] {
                    await measured(await bench.steady(rate: rate, seconds: steadySeconds))
                }
            case "resolve":
                if stillFiring.isEmpty {
                    progress("resolve: nothing left firing" + (isolate ? " (--isolate resolved each workload)" : ""))
                } else {
                    await resolve(stillFiring, name: "resolve")
                }
            default:
                break
            }
        }

        if settle > 0 {
            progress("listening \(settle) s more for late or duplicate notifications")
            try? await Task.sleep(for: .seconds(settle))
        }

        // Loss and duplicates are counted only now, after the settle time,
        // so that late re-deliveries are included.
        var totals = ResultRecord(workload: "totals")
        totals.server = serverName
        var lost = 0
        var duplicates = 0
        var unexpected = 0
        var postErrors = 0
        for phase in ["warmup"] + allPhases {
            let t = ledger.tally(phase: phase)
            lost += t.firingLost + t.resolvedLost
            duplicates += t.firingDuplicates + t.resolvedDuplicates
            unexpected += t.unexpectedResolved
        }
        for i in results.indices {
            postErrors += results[i].record.postErrors ?? 0
            let tallies = results[i].phases.map { ledger.tally(phase: $0) }
            if results[i].record.workload == "resolve" {
                results[i].record.lost = tallies.reduce(0) { $0 + $1.resolvedLost }
                results[i].record.duplicates = tallies.reduce(0) { $0 + $1.resolvedDuplicates }
            } else {
                results[i].record.lost = tallies.reduce(0) { $0 + $1.firingLost }
                results[i].record.duplicates = tallies.reduce(0) { $0 + $1.firingDuplicates }
                results[i].record.unexpectedResolved = tallies.reduce(0) { $0 + $1.unexpectedResolved }
            }
        }
        let counters = ledger.receiverCounters
        totals.lost = lost
        totals.duplicates = duplicates
        totals.unexpectedResolved = unexpected
        totals.postErrors = postErrors
        totals.unknownAlerts = counters.unknownAlerts
        totals.malformedWebhooks = counters.malformed
        totals.webhookRequests = counters.webhookRequests
        totals.benchCpuSeconds = processCPUSeconds()
        if bases.count > 1 {
            let perTarget = bench.requestsPerTarget
            totals.targetRequests = perTarget.map(\.requests)
            totals.targetFailedRequests = perTarget.map(\.failed)
            let text = zip(bases, perTarget).map { "\($0) \($1.requests) (\($1.failed) failed)" }.joined(separator: ", ")
            progress("requests per target: \(text)")
        }
        progress("totals: lost \(lost), duplicates \(duplicates), failed POSTs \(postErrors) alerts")

        for record in [meta] + results.map(\.record) + [totals] {
            print(record.jsonLine())
        }
    }

    private func pauseBetweenWorkloads() async {
        if pause > 0 { try? await Task.sleep(for: .seconds(pause)) }
    }

    /// Polls `url` until it answers 2xx; bounded by `deadline` (--ready-timeout from the first poll).
    private func waitUntilReady(client: HTTPClient, url: String, deadline: Instant) async throws {
        while benchClock.now < deadline {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            if let response = try? await client.execute(request, timeout: .seconds(2)) {
                _ = try? await response.body.collect(upTo: 1024 * 1024)
                if (200..<300).contains(response.status.code) { return }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchError("\(url) did not answer 2xx within \(readyTimeout) s")
    }
}
