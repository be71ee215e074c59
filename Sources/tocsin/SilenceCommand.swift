import ArgumentParser
import AsyncHTTPClient
import Foundation
import TocsinCore

struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Add, list and expire silences on a running server, through its HTTP API.",
        discussion: """
            A silence mutes the alerts whose labels match all its matchers (Alertmanager syntax: =, !=, =~, !~) \
            until it ends; with --cron and --window it is a recurring maintenance window instead. Each subcommand \
            exits 1 when the server refuses the request (printing `error: FIELD: MESSAGE`) or cannot be reached.
            """,
        subcommands: [SilenceAdd.self, SilenceList.self, SilenceExpire.self]
    )
}

struct SilenceAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Create a silence; prints its id on the first line, then its state, matchers and end."
    )

    @Option(
        name: .customLong("matcher"),
        help: "A label matcher such as 'cluster=\"prod\"' or 'node=~\"n0[1-4]\"'. Repeat for more: an alert must match them all."
    )
    var matchers: [String] = []

    @Option(help: "How long the silence lasts from its start, such as 30m, 2h or 1d.")
    var duration: String?

    @Option(help: "When the silence ends, as an RFC 3339 time such as 2026-11-22T04:00:00Z.")
    var endsAt: String?

    @Option(help: "When the silence starts, as an RFC 3339 time (default: now).")
    var startsAt: String?

    @Option(help: "Makes it a recurring maintenance window: a five-field cron expression (UTC) for when each window opens, such as '0 2 * * 6'.")
    var cron: String?

    @Option(help: "How long each recurring window lasts, such as 4h (with --cron).")
    var window: String?

    @Option(help: "Who creates the silence (default: the USER environment variable).")
    var author: String?

    @Option(help: "Why the silence exists, for whoever finds alerts muted.")
    var comment: String

    @OptionGroup var server: ServerOptions

    /// `--author`, else the login name the shell exported.
    private var effectiveAuthor: String? {
        author ?? ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        guard !matchers.isEmpty else {
            throw ValidationError("give at least one --matcher, such as --matcher 'cluster=\"prod\"'")
        }
        if duration != nil && endsAt != nil {
            throw ValidationError("give --duration or --ends-at, not both")
        }
        if duration == nil && endsAt == nil && cron == nil {
            throw ValidationError("give --duration or --ends-at (only a recurring --cron window may go without an end)")
        }
        if (cron == nil) != (window == nil) {
            throw ValidationError("--cron and --window go together: when each window opens and how long it lasts")
        }
        if effectiveAuthor == nil {
            throw ValidationError("give --author (the USER environment variable is not set)")
        }
    }

    func run() async throws {
        // The server checks every value (matcher syntax, times, durations, cron) and names the field at fault.
        var body: [String: Any] = ["matchers": matchers, "comment": comment]
        body["created_by"] = effectiveAuthor
        body["duration"] = duration
        body["ends_at"] = endsAt
        body["starts_at"] = startsAt
        if let cron, let window {
            body["schedule"] = ["cron": cron, "duration": window]
        }
        let answer = try await server.call(.post, "/api/v1/silences", body: body)
        let silence = SilenceSummary(answer["silence"])
        print(silence.id)
        print(silence.oneLine)
    }
}

struct SilenceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show silences as a table: id, state, matchers, start, end, schedule, author and comment."
    )

    enum StateFilter: String, ExpressibleByArgument, CaseIterable {
        case active, pending, expired, all
    }

    @Option(help: "Which silences to show: active, pending, expired or all (default: those not yet expired).")
    var state: StateFilter?

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let query = state.map { "?state=\($0.rawValue)" } ?? ""
        let answer = try await server.call(.get, "/api/v1/silences" + query)
        let silences = (answer["silences"] as? [Any] ?? []).map(SilenceSummary.init)
        let header = ["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "SCHEDULE", "CREATED BY", "COMMENT"]
        let rows = silences.map { silence in
            [
                silence.id, silence.state, silence.matchers.joined(separator: ","), silence.startsAt, silence.endsAt,
                silence.schedule ?? "-", silence.createdBy, silence.comment,
            ]
        }
        for line in alignedTable([header] + rows) { print(line) }
    }

    /// Columns padded to their widest cell and separated by two spaces; the last column is not padded.
    private func alignedTable(_ rows: [[String]]) -> [String] {
        // A newline or tab in a comment would break the row apart.
        let cleaned = rows.map { row in
            row.map { $0.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ") }
        }
        let columnCount = cleaned.map(\.count).max() ?? 0
        let widths = (0..<columnCount).map { column in cleaned.map { $0[column].count }.max() ?? 0 }
        return cleaned.map { row in
            row.enumerated()
                .map { column, cell in
                    column == columnCount - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }
                .joined(separator: "  ")
        }
    }
}

struct SilenceExpire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "End a silence now; it stays listed as expired, and the firing alerts it muted are notified."
    )

    @Argument(help: "The silence's id, as `tocsin silence add` or `tocsin silence list` shows it.")
    var id: String

    @OptionGroup var server: ServerOptions

    func run() async throws {
        // An id is one path segment: a `/` or `?` in it must not reach another route.
        var segment = CharacterSet.urlPathAllowed
        segment.remove(charactersIn: "/")
        let encoded = id.addingPercentEncoding(withAllowedCharacters: segment) ?? id
        let answer = try await server.call(.delete, "/api/v1/silences/" + encoded)
        print("expired \(SilenceSummary(answer["silence"]).id)")
    }
}

/// A silence as the API shows it, with the fields the commands print.
private struct SilenceSummary {
    var id: String
    var state: String
    var matchers: [String]
    var startsAt: String
    var endsAt: String
    /// `CRON for DURATION` of a recurring maintenance window.
    var schedule: String?
    var createdBy: String
    var comment: String

    init(_ json: Any?) {
        let object = json as? [String: Any] ?? [:]
        id = object["id"] as? String ?? "?"
        state = object["state"] as? String ?? "?"
        matchers = object["matchers"] as? [String] ?? []
        startsAt = object["starts_at"] as? String ?? ""
        endsAt = object["ends_at"] as? String ?? ""
        if let window = object["schedule"] as? [String: Any], let cron = window["cron"] as? String {
            schedule = "\(cron) for \(window["duration"] as? String ?? "?")"
        }
        createdBy = object["created_by"] as? String ?? ""
        comment = object["comment"] as? String ?? ""
    }

    /// `active: cluster="prod" until 2026-11-22T04:00:00.000Z`, with the start of a silence that has yet to begin
    /// and the windows of a recurring one.
    var oneLine: String {
        var line = "\(state): \(matchers.joined(separator: ", "))"
        if state == "pending" && schedule == nil { line += " from \(startsAt)" }
        line += " until \(endsAt)"
        if let schedule { line += " (windows: \(schedule))" }
        return line
    }
}

/// Where the server's API is, and the one way the `silence` commands call it.
struct ServerOptions: ParsableArguments {
    static let defaultURL: String = {
        let listen = ServerSettings()
        return "http://\(listen.host):\(listen.port)"
    }()

    @Option(help: "The server's base URL (default: the TOCSIN_URL environment variable, else \(Self.defaultURL)).")
    var server: String?

    @Option(
        help: """
            Read the API token from this file's first line (default: the TOCSIN_TOKEN environment variable). Needed \
            when the server has authentication on: a viewer token lists silences, an editor token adds and expires them.
            """
    )
    var tokenFile: String?

    /// The token, from `--token-file` or `TOCSIN_TOKEN`; never an option's value, which other users of the machine
    /// could read in the process list.
    var token: Secret? {
        get throws {
            if let tokenFile {
                guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                    throw Self.refuse("--token-file: cannot read \(tokenFile)")
                }
                let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard !line.isEmpty else { throw Self.refuse("--token-file: the first line of \(tokenFile) is empty") }
                return Secret(line)
            }
            let variable = ProcessInfo.processInfo.environment["TOCSIN_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return variable.isEmpty ? nil : Secret(variable)
        }
    }

    /// A refusal worded like the API's: `error: …` on standard error, exit status 1.
    private static func refuse(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(1)
    }

    var baseURL: String {
        var url = server ?? ProcessInfo.processInfo.environment["TOCSIN_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultURL
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    func validate() throws {
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://"), URL(string: baseURL)?.host?.isEmpty == false else {
            let source = server == nil ? "TOCSIN_URL" : "--server"
            throw ValidationError("\(source) expects a URL such as \(Self.defaultURL), got '\(baseURL)'")
        }
        _ = try token
    }

    enum Method: String {
        case get = "GET"
        case post = "POST"
        case delete = "DELETE"
    }

    /// Sends one request and returns the JSON object of a 2xx answer. Anything else (a refusal, an unreachable
    /// server, an answer that is not the API's) is printed to standard error as `error: …` and ends the command
    /// with exit status 1.
    func call(_ method: Method, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any] {
        // Read once here: `validate` only checked that it can be read.
        let token = try token
        do {
            return try await send(method, path, body: body, token: token)
        } catch let failure as CallFailure {
            throw Self.refuse("\(failure)")
        }
    }

    /// Why a call did not succeed, worded for the person at the terminal.
    enum CallFailure: Error, CustomStringConvertible {
        case unreachable(url: String, reason: String)
        /// The API's own refusal: `{"error": {"status", "reason", "field", "message"}}`.
        case refused(field: String?, message: String)
        case unexpectedAnswer(url: String, status: Int, text: String)

        var description: String {
            switch self {
            case .unreachable(let url, let reason):
                "cannot reach the Tocsin server at \(url): \(reason) (is `tocsin serve` running there? Point --server or TOCSIN_URL at it.)"
            case .refused(let field?, let message): "\(field): \(message)"
            case .refused(nil, let message): message
            case .unexpectedAnswer(let url, let status, let text):
                "unexpected answer from \(url) (HTTP \(status))" + (text.isEmpty ? "" : ": \(text.prefix(200))")
            }
        }
    }

    private func send(_ method: Method, _ path: String, body: [String: Any]?, token: Secret?) async throws -> [String: Any] {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        // A server that is not running is reported at once, rather than after connect attempts until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let answer = try await exchange(client, method, path, body: body, token: token)
            try await client.shutdown()
            return answer
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func exchange(
        _ client: HTTPClient,
        _ method: Method,
        _ path: String,
        body: [String: Any]?,
        token: Secret?
    ) async throws -> [String: Any] {
        let url = baseURL + path
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method.rawValue)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token.exposedValue)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])))
        }
        let status: Int
        let text: Data
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            text = Data(try await response.body.collect(upTo: 16 * 1024 * 1024).readableBytesView)
        } catch {
            throw CallFailure.unreachable(url: baseURL, reason: Self.reason(error))
        }
        let object = (try? JSONSerialization.jsonObject(with: text)) as? [String: Any]
        if (200..<300).contains(status), let object { return object }
        if let detail = object?["error"] as? [String: Any], let message = detail["message"] as? String {
            if status == 401 {
                let hint = token == nil ? "give the token with TOCSIN_TOKEN or --token-file" : "the token given was not accepted"
                throw CallFailure.refused(field: nil, message: "\(message) (\(hint))")
            }
            throw CallFailure.refused(field: detail["field"] as? String, message: message)
        }
        throw CallFailure.unexpectedAnswer(url: url, status: status, text: String(decoding: text, as: UTF8.self))
    }

    /// A short cause for a failed exchange: NIO's connection errors describe themselves at great length.
    private static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("connection refused") { return "connection refused" }
        if text.localizedCaseInsensitiveContains("timeout") || text.localizedCaseInsensitiveContains("timed out") { return "timed out" }
        return text
    }
}
