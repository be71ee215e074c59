// `tocsin-bench report`: reads the JSON lines of both servers, prints them
// side by side with Tocsin / Alertmanager ratios and the target of each
// metric, and writes the same table as markdown. Runs of Tocsin on
// PostgreSQL (one and three instances) are shown as extra columns when their
// result files exist.

import ArgumentParser

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

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Compare the JSON results of Alertmanager and Tocsin; print a table and write markdown."
    )

    @Option(help: "JSON lines of the Alertmanager run (missing file = not measured).")
    var alertmanager: String?

    @Option(help: "JSON lines of the Tocsin run (SQLite; missing file = not measured).")
    var tocsin: String?

    @Option(
        name: .customLong("tocsin-pg1"),
        help: "JSON lines of Tocsin on PostgreSQL, one instance (an extra column when the file exists)."
    )
    var tocsinPG1: String?

    @Option(
        name: .customLong("tocsin-pg3"),
        help: "JSON lines of Tocsin on PostgreSQL, three instances (an extra column when the file exists)."
    )
    var tocsinPG3: String?

    @Option(help: "Write the comparison as markdown to this file.")
    var markdown: String?

    func run() async throws {
        let am = try alertmanager.flatMap(RunResults.load)
        let ts = try tocsin.flatMap(RunResults.load)
        var extras: [(name: String, run: RunResults)] = []
        for (name, path) in [("Tocsin PG, 1 instance", tocsinPG1), ("Tocsin PG, 3 instances", tocsinPG3)] {
            if let run = try path.flatMap(RunResults.load) { extras.append((name, run)) }
        }
        guard am != nil || ts != nil || !extras.isEmpty else {
            throw ValidationError("no results: give --alertmanager, --tocsin, --tocsin-pg1 or --tocsin-pg3 with existing files")
        }
        let table = ComparisonTable(am: am, tocsin: ts, extras: extras)
        print(table.text())
        if let markdown {
            let text = table.markdown()
            try Data(text.utf8).write(to: URL(fileURLWithPath: markdown))
            print("\nmarkdown written to \(markdown)")
        }
    }
}

/// All records of one server's run.
struct RunResults {
    var records: [ResultRecord]

    /// Reads JSON lines; lines that are not JSON objects (stray log output)
    /// are skipped. Returns nil when the file does not exist.
    static func load(_ path: String) throws -> RunResults? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let decoder = ResultRecord.decoder()
        var records: [ResultRecord] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard line.hasPrefix("{") else { continue }
            if let record = try? decoder.decode(ResultRecord.self, from: Data(line.utf8)) {
                records.append(record)
            }
        }
        return RunResults(records: records)
    }

    func first(_ workload: String) -> ResultRecord? {
        records.first { $0.workload == workload }
    }

    func phase(_ phase: String) -> ResultRecord? {
        records.first { $0.phase == phase && $0.workload != "meta" }
    }

    func phases(of workload: String) -> [ResultRecord] {
        records.filter { $0.workload == workload }
    }

    /// The server processes: one, or one per instance.
    var processes: [ResultRecord] { phases(of: "process") }

    /// Highest peak RSS of any one server process.
    var peakRSSMiB: Double? {
        processes.compactMap(\.vmhwmKb).max().map { Double($0) / 1024 }
    }

    /// CPU time of all server processes together.
    var serverCPUSeconds: Double? {
        let seconds = processes.compactMap(\.cpuSeconds)
        return seconds.isEmpty ? nil : seconds.reduce(0, +)
    }
}

/// What a Tocsin figure must reach for the target to be met.
enum Target {
    /// Tocsin / Alertmanager must be at least this (higher is better).
    case ratioAtLeast(Double)
    /// Tocsin / Alertmanager must be at most this (lower is better).
    case ratioAtMost(Double)
    /// Tocsin's value must be zero.
    case zero

    var text: String {
        switch self {
        case .ratioAtLeast(let x): return "≥ \(trimmed(x))× AM"
        case .ratioAtMost(let x): return "≤ \(trimmed(x))× AM"
        case .zero: return "0"
        }
    }

    private func trimmed(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(x)
    }
}

struct Row {
    var metric: String
    var unit: String
    /// One figure per column: Alertmanager, Tocsin (SQLite), then the extra
    /// columns (Tocsin on PostgreSQL).
    var values: [Double?]
    /// Per column, set when the workload did not finish (delivery timed out).
    var notes: [String?] = []
    var decimals: Int = 0
    var target: Target? = nil
    /// False for rows where Tocsin / AM means nothing (e.g. the send rate,
    /// which is the client's doing).
    var showsRatio = true

    var am: Double? { values[0] }
    var tocsin: Double? { values[1] }

    func note(_ column: Int) -> String? {
        column < notes.count ? notes[column] : nil
    }

    var ratio: Double? {
        guard showsRatio, let am, let tocsin, am != 0 else { return nil }
        return tocsin / am
    }

    /// "yes" / "no" / "" (no target) / "not yet measured". For Tocsin on
    /// SQLite, the configuration the targets were set for.
    var met: String {
        guard let target else { return "" }
        switch target {
        case .ratioAtLeast(let x):
            guard let ratio else { return tocsin == nil ? "not yet measured" : "n/a" }
            return ratio >= x ? "yes" : "no"
        case .ratioAtMost(let x):
            guard let ratio else { return tocsin == nil ? "not yet measured" : "n/a" }
            return ratio <= x ? "yes" : "no"
        case .zero:
            guard let tocsin else { return "not yet measured" }
            return tocsin == 0 ? "yes" : "no"
        }
    }
}

struct ComparisonTable {
    let am: RunResults?
    let tocsin: RunResults?
    /// Further Tocsin runs (PostgreSQL), shown as columns after Tocsin's.
    let extras: [(name: String, run: RunResults)]
    let rows: [Row]

    /// Every column's run, in column order: Alertmanager, Tocsin, the extras.
    private var runs: [RunResults?] { [am, tocsin] + extras.map { $0.run } }

    init(am: RunResults?, tocsin: RunResults?, extras: [(name: String, run: RunResults)] = []) {
        self.am = am
        self.tocsin = tocsin
        self.extras = extras
        self.rows = Self.buildRows(runs: [am, tocsin] + extras.map { $0.run })
    }

    private static func buildRows(runs: [RunResults?]) -> [Row] {
        var rows: [Row] = []
        func note(_ r: ResultRecord?) -> String? {
            guard let r else { return nil }
            if r.timedOut == true { return "timed out" }
            return nil
        }
        // Same phase name but a different shape (e.g. one run used
        // --burst-alerts 500): the row would compare unlike things.
        func differs(_ records: [ResultRecord?]) -> String {
            let present = records.compactMap { $0 }
            guard let a = present.first else { return "" }
            let same = present.allSatisfy { t in
                a.alerts == t.alerts && a.batchSize == t.batchSize && a.rate == t.rate
                    && a.durationSeconds == t.durationSeconds && a.concurrency == t.concurrency
            }
            return same ? "" : " (WARNING: runs used different parameters)"
        }
        // Phases in the order they ran, from whichever run has them.
        func phaseNames(_ workload: String) -> [String] {
            var names: [String] = []
            for run in runs.compactMap({ $0 }) {
                for r in run.phases(of: workload) {
                    if let p = r.phase, !names.contains(p) { names.append(p) }
                }
            }
            return names
        }

        for phase in phaseNames("burst") {
            let records = runs.map { $0?.phase(phase) }
            let any = records.compactMap { $0 }.first
            let size = any?.batchSize ?? 0
            let count = any?.alerts ?? 0
            let per = size == 1 ? "1 alert/request" : "\(size) alerts/request"
            rows.append(
                Row(
                    metric: "Burst \(count.grouped), \(per): ingest" + differs(records),
                    unit: "alerts/s",
                    values: records.map { $0?.ingestPerSecond },
                    target: .ratioAtLeast(3)
                )
            )
            rows.append(
                Row(
                    metric: "Burst \(count.grouped), \(per): delivered" + differs(records),
                    unit: "alerts/s",
                    values: records.map { $0?.deliveredPerSecond },
                    notes: records.map(note)
                )
            )
        }
        for phase in phaseNames("steady") {
            let records = runs.map { $0?.phase(phase) }
            let any = records.compactMap { $0 }.first
            let rate = any?.rate ?? 0
            let seconds = Int(any?.durationSeconds ?? 0)
            let label = "Steady \(rate.grouped)/s for \(seconds) s" + differs(records)
            rows.append(
                Row(
                    metric: "\(label): latency p50",
                    unit: "ms",
                    values: records.map { $0?.latencyP50Ms },
                    notes: records.map(note),
                    decimals: 1
                )
            )
            rows.append(
                Row(
                    metric: "\(label): latency p99",
                    unit: "ms",
                    values: records.map { $0?.latencyP99Ms },
                    notes: records.map(note),
                    decimals: 1,
                    target: rate == 1000 ? .ratioAtMost(0.5) : nil
                )
            )
            // Open loop only holds if the client kept to the schedule; a
            // figure well below the target rate means the machine was short
            // of CPU and the latencies above are optimistic.
            rows.append(
                Row(
                    metric: "\(label): achieved send rate",
                    unit: "alerts/s",
                    values: records.map { $0?.achievedRate },
                    showsRatio: false
                )
            )
        }
        for phase in phaseNames("resolve") {
            let records = runs.map { $0?.phase(phase) }
            let count = (records.compactMap { $0 }.first?.alerts ?? 0).grouped
            // "resolve" = everything at the end of the run; "resolve-<phase>"
            // = one workload's alerts, resolved right after it (--isolate).
            let what =
                (phase == "resolve"
                    ? "Resolve all \(count)"
                    : "Resolve \(count) of \(phase.dropFirst("resolve-".count))") + differs(records)
            rows.append(
                Row(
                    metric: "\(what): all resolves received after",
                    unit: "s",
                    values: records.map { $0?.deliveredSeconds },
                    notes: records.map(note),
                    decimals: 2
                )
            )
        }
        let severalInstances = runs.contains { ($0?.processes.count ?? 0) > 1 }
        rows.append(
            Row(
                metric: "Peak RSS (VmHWM)" + (severalInstances ? ", largest instance" : ""),
                unit: "MiB",
                values: runs.map { $0?.peakRSSMiB },
                decimals: 1,
                target: .ratioAtMost(0.5)
            )
        )
        rows.append(
            Row(
                metric: "Server CPU time (whole run" + (severalInstances ? ", all instances)" : ")"),
                unit: "s",
                values: runs.map { $0?.serverCPUSeconds },
                decimals: 1
            )
        )
        // The database server's own work, when run.sh started it (it cannot
        // measure a PostgreSQL it did not start).
        if runs.contains(where: { $0?.first("postgres")?.cpuSeconds != nil }) {
            rows.append(
                Row(
                    metric: "PostgreSQL server CPU time (whole run)",
                    unit: "s",
                    values: runs.map { $0?.first("postgres")?.cpuSeconds },
                    decimals: 1,
                    showsRatio: false
                )
            )
        }
        func total(_ run: RunResults?, _ key: KeyPath<ResultRecord, Int?>) -> Double? {
            run?.first("totals")?[keyPath: key].map(Double.init)
        }
        rows.append(
            Row(
                metric: "Lost notifications (all workloads)",
                unit: "alerts",
                values: runs.map { total($0, \.lost) },
                target: .zero
            )
        )
        rows.append(
            Row(
                metric: "Duplicate notifications (all workloads)",
                unit: "extra",
                values: runs.map { total($0, \.duplicates) },
                target: .zero
            )
        )
        rows.append(
            Row(
                metric: "Alerts in failed/rejected POSTs",
                unit: "alerts",
                values: runs.map { total($0, \.postErrors) }
            )
        )
        return rows
    }

    // MARK: rendering

    private func cell(_ value: Double?, note: String?, decimals: Int, measured: Bool) -> String {
        if let note, value == nil { return note }
        guard let value else { return measured ? "—" : "not yet measured" }
        let text = value.formatted(decimals: decimals)
        return note.map { "\(text) (\($0))" } ?? text
    }

    private func cells(_ row: Row) -> [String] {
        let figures = runs.indices.map { column in
            cell(row.values[column], note: row.note(column), decimals: row.decimals, measured: runs[column] != nil)
        }
        return [row.metric, row.unit] + figures + [
            row.ratio.map { $0.formatted(decimals: 2) + "×" } ?? "—",
            row.target?.text ?? "",
            row.met,
        ]
    }

    private var header: [String] {
        // With PostgreSQL columns beside it, say which store the Tocsin column used.
        ["Metric", "Unit", "Alertmanager", extras.isEmpty ? "Tocsin" : "Tocsin (SQLite)"]
            + extras.map { $0.name } + ["Tocsin / AM", "Target", "Met"]
    }

    /// Plain aligned text for the terminal.
    func text() -> String {
        let header = self.header
        let body = rows.map(cells)
        let all = [header] + body
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, text in
                // Left-align the metric names, right-align the figures.
                let pad = String(repeating: " ", count: widths[c] - text.count)
                return c <= 1 ? text + pad : pad + text
            }.joined(separator: "  ")
        }
        var out = line(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        out += body.map(line).joined(separator: "\n")
        out += "\n\n" + runLines().joined(separator: "\n")
        return out
    }

    /// Markdown for benchmarks/results/latest.md.
    func markdown() -> String {
        let header = self.header
        // The figures and the ratio: columns 2 up to and including the ratio.
        let figureColumns = 2...(2 + runs.count)
        var out = "# Tocsin vs Alertmanager — benchmark results\n\n"
        out += "Generated by `benchmarks/run.sh` on \(AlertPayload.timestamp(Date())).\n\n"
        out += "| " + header.joined(separator: " | ") + " |\n"
        // Figures right-aligned; names, targets and verdicts left-aligned.
        out += "|" + header.indices.map { figureColumns.contains($0) ? "---:|" : "---|" }.joined() + "\n"
        for row in rows {
            out += "| " + cells(row).map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n"
        }
        out += "\n"
        out += runLines().map { "- " + $0 }.joined(separator: "\n") + "\n"
        out += """

            Ingest = alerts acknowledged (2xx) per second, from the first POST to the last answer.
            Delivered = alerts per second from the first POST until the receiver had seen every one.
            Latency = from the start of each POST to the webhook arriving at the receiver (open-loop
            pacing, 1 alert per request). Lost = acknowledged but never delivered; duplicates = extra
            deliveries of the same alert with the same status. Ratios are Tocsin / Alertmanager.

            """
        if !extras.isEmpty {
            out += """
                The PostgreSQL columns are Tocsin with `storage.postgres` (one instance, or three sharing
                the database with requests spread round-robin over them); the ratio, targets and "Met"
                are for Tocsin on SQLite.

                """
        }
        return out
    }

    /// Context lines: host, when each run happened and with what settings.
    private func runLines() -> [String] {
        var lines = ["Host: \(hostDescription())"]
        let modes = runs.compactMap { run in run.map { $0.first("meta")?.isolated ?? false } }
        if Set(modes).count > 1 {
            lines.append("WARNING: the runs used different modes (--isolate on some only); figures are not comparable")
        }
        let named: [(String, RunResults?)] =
            [("Alertmanager", am), (extras.isEmpty ? "Tocsin" : "Tocsin (SQLite)", tocsin)]
            + extras.map { ($0.name, $0.run) }
        for (name, run) in named {
            guard let run else {
                lines.append("\(name): not yet measured")
                continue
            }
            let meta = run.first("meta")
            let processes = run.processes
            let postgres = run.first("postgres")
            var parts: [String] = []
            if let started = meta?.startedAt { parts.append("run \(started)") }
            if let version = processes.first?.version { parts.append(version) }
            if processes.count > 1 && (meta?.targets ?? 1) <= 1 { parts.append("\(processes.count) instances") }
            if let c = meta?.concurrency { parts.append("\(c) client connections") }
            if let targets = meta?.targets, targets > 1 {
                var text = "requests round-robin over \(targets) instances"
                if let counts = run.first("totals")?.targetRequests {
                    text += " (\(counts.map(\.grouped).joined(separator: " / ")) requests"
                    let failed = run.first("totals")?.targetFailedRequests ?? []
                    if failed.contains(where: { $0 > 0 }) {
                        text += ", failed \(failed.map(\.grouped).joined(separator: " / "))"
                    }
                    text += ")"
                }
                parts.append(text)
            }
            parts.append(
                meta?.isolated == true
                    ? "each workload resolved before the next (--isolate)"
                    : "alerts kept firing across workloads, all resolved at the end"
            )
            if let postgres {
                var text = postgres.version ?? "PostgreSQL"
                if let fsync = postgres.fsync { text += ", fsync \(fsync)" }
                if let commit = postgres.synchronousCommit { text += ", synchronous_commit \(commit)" }
                if let cpu = postgres.cpuSeconds { text += ", used \(cpu.formatted(decimals: 1)) s CPU" }
                parts.append(text)
            }
            let benchCPU = run.first("totals")?.benchCpuSeconds
            if let benchCPU {
                parts.append("tocsin-bench itself used \(benchCPU.formatted(decimals: 1)) s CPU")
            }
            let machine = processes.compactMap(\.machineCpuSeconds).max()
            if let machine, let server = run.serverCPUSeconds, let benchCPU {
                // Whatever the machine did besides the server, its database
                // (when run.sh started it) and the bench.
                let other = max(0, machine - server - benchCPU - (postgres?.cpuSeconds ?? 0))
                var text = "other processes used \(other.formatted(decimals: 1)) s CPU during the run"
                if other > 5 { text += " (machine not idle: figures disturbed, rerun)" }
                parts.append(text)
            }
            if let note = meta?.note { parts.append(note) }
            lines.append("\(name): " + parts.joined(separator: "; "))
        }
        return lines
    }

    private func hostDescription() -> String {
        var model = "unknown CPU"
        if let data = FileManager.default.contents(atPath: "/proc/cpuinfo") {
            let text = String(decoding: data, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
                let colon = line.firstIndex(of: ":")
            {
                model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return "\(model), \(cores) cores online"
    }
}

extension Double {
    /// Fixed decimals with thousands separators, e.g. 12345.6 -> "12,345.6".
    func formatted(decimals: Int) -> String {
        guard isFinite else { return String(self) }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(self) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        var text = whole.grouped
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return self < 0 && scaled != 0 ? "-" + text : text
    }
}

extension Int {
    /// 10000 -> "10,000".
    var grouped: String {
        let digits = String(abs(self))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return self < 0 ? "-" + out : out
    }
}
