import Foundation
import Testing
import TocsinServer
import TocsinTestSupport

@Suite("The tocsin silence commands against a live server")
struct SilenceCommandTests {
    /// Notifications go to a log file: these tests look only at silences.
    static let configuration = """
        integrations:
          - {name: alert-log, type: log_file, path: "{DATA}/notifications.log"}
        routing:
          default: [alert-log]
        """

    /// Runs `tocsin` to its end; standard output and standard error come interleaved, line by line.
    func tocsin(_ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, lines: [String]) {
        let (status, output) = try await runTocsin(arguments, environment: environment)
        return (status, output.isEmpty ? [] : output.components(separatedBy: "\n"))
    }

    func withServer(authentication: Bool = false, _ body: (LiveServer) async throws -> Void) async throws {
        let server = try await LiveServer.start(yaml: (authentication ? "server: {auth: {mode: \"on\"}}\n" : "") + Self.configuration)
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// The cells of the table row `list` printed for `id` (columns are separated by at least two spaces).
    func row(for id: String, in lines: [String]) -> [String]? {
        guard let line = lines.first(where: { $0.hasPrefix(id + " ") }) else { return nil }
        return line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test("add prints the new id first, and list shows the silence as active with what was given")
    func testAddThenList() async throws {
        try await withServer { server in
            let added = try await tocsin([
                "silence", "add", "--matcher", #"cluster="prod""#, "--matcher", #"node=~"n0[1-4]""#, "--duration", "2h",
                "--author", "alice", "--comment", "disk swap", "--server", server.baseURL,
            ])
            #expect(added.status == 0, "\(added.lines)")
            let id = try #require(added.lines.first)
            #expect(UUID(uuidString: id) != nil, "the first line is not a silence id: \(added.lines)")
            #expect(added.lines.count == 2, "\(added.lines)")
            #expect(added.lines.last?.hasPrefix(#"active: cluster="prod", node=~"n0[1-4]" until "#) == true, "\(added.lines)")

            let listed = try await tocsin(["silence", "list", "--server", server.baseURL])
            #expect(listed.status == 0, "\(listed.lines)")
            let header = try #require(listed.lines.first)
            #expect(
                header.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    == ["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "SCHEDULE", "CREATED BY", "COMMENT"]
            )
            let cells = try #require(row(for: id, in: listed.lines), "\(listed.lines)")
            #expect(cells.count == 8, "\(cells)")
            #expect(cells[1] == "active")
            #expect(cells[2] == #"cluster="prod",node=~"n0[1-4]""#)
            #expect(cells[5] == "-")
            #expect(cells[6] == "alice")
            #expect(cells[7] == "disk swap")
            // Two hours apart, as --duration asked (to within the rounding of milliseconds read back as binary fractions).
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let start = try #require(formatter.date(from: cells[3]), "\(cells)")
            let end = try #require(formatter.date(from: cells[4]), "\(cells)")
            #expect(abs(end.timeIntervalSince(start) - 7200) < 0.01, "\(cells)")
        }
    }

    @Test("expire ends a silence: list --state expired shows it, the default list no longer does")
    func testExpire() async throws {
        try await withServer { server in
            let added = try await tocsin([
                "silence", "add", "--matcher", #"cluster="prod""#, "--ends-at", "2099-01-01T00:00:00Z", "--author", "alice",
                "--comment", "disk swap", "--server", server.baseURL,
            ])
            #expect(added.status == 0, "\(added.lines)")
            let id = try #require(added.lines.first)

            let expired = try await tocsin(["silence", "expire", id, "--server", server.baseURL])
            #expect(expired.status == 0, "\(expired.lines)")
            #expect(expired.lines == ["expired \(id)"])

            let expiredList = try await tocsin(["silence", "list", "--state", "expired", "--server", server.baseURL])
            #expect(expiredList.status == 0, "\(expiredList.lines)")
            let cells = try #require(row(for: id, in: expiredList.lines), "\(expiredList.lines)")
            #expect(cells[1] == "expired")

            let currentList = try await tocsin(["silence", "list", "--server", server.baseURL])
            #expect(currentList.status == 0, "\(currentList.lines)")
            #expect(row(for: id, in: currentList.lines) == nil, "\(currentList.lines)")
            #expect(currentList.lines.count == 1, "only the header: \(currentList.lines)")
        }
    }

    @Test("the server's refusal is printed as error: FIELD: MESSAGE with exit status 1, and nothing is created")
    func testRefusedMatcher() async throws {
        try await withServer { server in
            let refused = try await tocsin([
                "silence", "add", "--matcher", #"cluster=~"(""#, "--duration", "1h", "--author", "alice", "--comment", "bad regex",
                "--server", server.baseURL,
            ])
            #expect(refused.status == 1, "\(refused.lines)")
            #expect(refused.lines.contains { $0.hasPrefix("error: matchers[0]: ") }, "\(refused.lines)")

            let listed = try await tocsin(["silence", "list", "--state", "all", "--server", server.baseURL])
            #expect(listed.status == 0, "\(listed.lines)")
            #expect(listed.lines.count == 1, "only the header: \(listed.lines)")

            // A refusal without a field (an unknown id) prints the message alone.
            let unknown = try await tocsin(["silence", "expire", "no-such-silence", "--server", server.baseURL])
            #expect(unknown.status == 1, "\(unknown.lines)")
            #expect(unknown.lines.contains("error: no silence has the id 'no-such-silence'"), "\(unknown.lines)")
        }
    }

    @Test("a server that is not running: exit status 1 and a message naming its URL")
    func testServerNotRunning() async throws {
        // Held bound but not listening: refused like a stopped server, and no other test's server can be given it.
        let refusing = try RefusingPort()
        defer { refusing.release() }
        let url = "http://127.0.0.1:\(refusing.port)"
        let started = ContinuousClock.now
        let result = try await tocsin(["silence", "list", "--server", url])
        #expect(result.status == 1, "\(result.lines)")
        #expect(result.lines.contains { $0.hasPrefix("error: cannot reach the Tocsin server at \(url): ") }, "\(result.lines)")
        // Refused at once, not retried until a timeout.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("the server comes from TOCSIN_URL and the author from USER when the options are left out")
    func testEnvironmentDefaults() async throws {
        try await withServer { server in
            var environment = ProcessInfo.processInfo.environment
            environment["TOCSIN_URL"] = server.baseURL
            environment["USER"] = "env-user"
            let added = try await tocsin(
                [
                    "silence", "add", "--matcher", #"dc="eu-west""#, "--cron", "0 2 * * 6", "--window", "4h", "--comment",
                    "weekly patching",
                ],
                environment: environment
            )
            #expect(added.status == 0, "\(added.lines)")
            let id = try #require(added.lines.first)
            #expect(added.lines.last?.hasSuffix("(windows: 0 2 * * 6 for 4h)") == true, "\(added.lines)")

            let listed = try await tocsin(["silence", "list", "--state", "all"], environment: environment)
            #expect(listed.status == 0, "\(listed.lines)")
            let cells = try #require(row(for: id, in: listed.lines), "\(listed.lines)")
            #expect(cells[5] == "0 2 * * 6 for 4h")
            #expect(cells[6] == "env-user")

            // Without USER and --author there is nobody to name: refused before any request.
            environment["USER"] = nil
            let anonymous = try await tocsin(
                ["silence", "add", "--matcher", #"dc="eu-west""#, "--duration", "1h", "--comment", "who?"],
                environment: environment
            )
            #expect(anonymous.status != 0)
            #expect(anonymous.lines.contains { $0.contains("give --author") }, "\(anonymous.lines)")
        }
    }

    @Test("with authentication on: no token is refused with a hint, a viewer token lists, an editor token from a file adds; no token is printed")
    func testToken() async throws {
        try await withServer(authentication: true) { server in
            let administration = AccessAdministration(store: server.runtime.store)
            let viewer = try await administration.createToken(name: "cli-viewer", role: .viewer, actor: "test").token.exposedValue
            let editor = try await administration.createToken(name: "cli-editor", role: .editor, actor: "test").token.exposedValue
            var environment = ProcessInfo.processInfo.environment
            environment["TOCSIN_URL"] = server.baseURL
            environment["TOCSIN_TOKEN"] = nil
            environment["USER"] = "ops"
            let add = ["silence", "add", "--matcher", #"dc="eu-west""#, "--duration", "1h", "--comment", "patching"]

            let anonymous = try await tocsin(["silence", "list"], environment: environment)
            #expect(anonymous.status == 1)
            #expect(
                anonymous.lines.contains { $0.hasPrefix("error: ") && $0.contains("give the token with TOCSIN_TOKEN or --token-file") },
                "\(anonymous.lines)"
            )

            environment["TOCSIN_TOKEN"] = viewer
            let listed = try await tocsin(["silence", "list"], environment: environment)
            #expect(listed.status == 0, "\(listed.lines)")
            let refused = try await tocsin(add, environment: environment)
            #expect(refused.status == 1)
            #expect(refused.lines.contains { $0.contains("the role viewer may not use POST /api/v1/silences") }, "\(refused.lines)")

            environment["TOCSIN_TOKEN"] = "tocsin_not-a-real-token"
            let wrong = try await tocsin(["silence", "list"], environment: environment)
            #expect(wrong.status == 1)
            #expect(wrong.lines.contains { $0.contains("the token given was not accepted") }, "\(wrong.lines)")
            #expect(!wrong.lines.joined().contains("not-a-real-token"))

            environment["TOCSIN_TOKEN"] = nil
            let tokenFile = makeTemporaryDirectory("tocsin-token") + "/token"
            try (editor + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let added = try await tocsin(add + ["--token-file", tokenFile], environment: environment)
            #expect(added.status == 0, "\(added.lines)")
            let id = try #require(added.lines.first)
            #expect(UUID(uuidString: id) != nil, "\(added.lines)")
            #expect(try await server.runtime.store.silences(endingAfter: nil).contains { $0.id.lowercased() == id.lowercased() })

            let missing = try await tocsin(["silence", "list", "--token-file", tokenFile + ".missing"], environment: environment)
            #expect(missing.status == 1)
            #expect(missing.lines == ["error: --token-file: cannot read \(tokenFile).missing"], "\(missing.lines)")
            for output in [anonymous, listed, refused, wrong, added, missing] {
                #expect(!output.lines.joined().contains(viewer) && !output.lines.joined().contains(editor), "a token was printed")
            }
        }
    }
}
