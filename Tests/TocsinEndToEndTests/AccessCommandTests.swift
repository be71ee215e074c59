import Foundation
import Logging
import Testing
import TocsinCore
import TocsinStore
import TocsinTestSupport

@Suite("The tocsin user and tocsin token commands on the server's database")
struct AccessCommandTests {
    /// A data directory and a configuration file naming it; the commands open the SQLite store there.
    struct Setup {
        let directory = makeTemporaryDirectory("tocsin-access-cli")
        var config: String { directory + "/tocsin.yml" }
        var store: [String] { ["--config", config, "--data-dir", directory] }

        init() throws {
            try """
            integrations:
              - {name: alert-log, type: log_file, path: "\(directory)/notifications.log"}
            routing:
              default: [alert-log]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        }

        func file(_ name: String, _ text: String) throws -> String {
            let path = directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func openStore() async throws -> SQLiteStore {
            try await SQLiteStore.open(path: directory + "/tocsin.db", logger: Logger(label: "access-cli-test"))
        }
    }

    func tocsin(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await runTocsin(arguments)
    }

    @Test("users: add from a password file or a pipe, refusals exit 1 with one line, list, passwd, and the last admin stays")
    func users() async throws {
        let setup = try Setup()
        let first = "first long password 1"
        let second = "second long password 2"
        let firstFile = try setup.file("pw1", first + "\n")

        let added = try await tocsin(["user", "add", "alice", "--role", "admin", "--password-file", firstFile] + setup.store)
        #expect(added.status == 0, "\(added.output)")
        #expect(added.output.contains("added user alice (admin)"))
        let refusals: [(arguments: [String], words: String)] = [
            (["user", "add", "alice", "--role", "viewer", "--password-file", firstFile], "exists already"),
            (["user", "add", "bob", "--role", "viewer", "--password-file", try setup.file("short", "short\n")], "password"),
            (["user", "add", "bob", "--role", "ingest", "--password-file", firstFile], "role"),
            (["user", "add", "b o b", "--role", "viewer", "--password-file", firstFile], "name"),
            (["user", "remove", "alice"], "last admin"),
            (["user", "passwd", "nobody", "--password-file", firstFile], "no user named 'nobody'"),
        ]
        for refusal in refusals {
            let answer = try await tocsin(refusal.arguments + setup.store)
            #expect(answer.status == 1, "\(refusal.arguments): \(answer.output)")
            #expect(answer.output.contains(refusal.words), "\(refusal.arguments): \(answer.output)")
            #expect(answer.output.split(separator: "\n").count == 1, "\(refusal.arguments): \(answer.output)")
        }

        // A password piped on standard input, as a provisioning script would.
        let executable = try #require(tocsinExecutable())
        let piped = try await runToEnd(
            "/bin/sh",
            [
                "-c", "printf '%s\\n' \"$0\" | \"$1\" user passwd alice --config \"$2\" --data-dir \"$3\"", second, executable, setup.config,
                setup.directory,
            ]
        )
        #expect(piped.status == 0, "\(piped.output)")
        #expect(piped.output.contains("password of alice changed"))

        let secondFile = try setup.file("pw2", second + "\n")
        #expect(try await tocsin(["user", "add", "bob", "--role", "viewer", "--password-file", secondFile] + setup.store).status == 0)
        let listed = try await tocsin(["user", "list"] + setup.store)
        #expect(listed.status == 0, "\(listed.output)")
        let rows = listed.output.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { Array($0.prefix(2)) } == [["alice", "admin"], ["bob", "viewer"]], "\(listed.output)")
        let removed = try await tocsin(["user", "remove", "bob"] + setup.store)
        #expect(removed.status == 0, "\(removed.output)")

        let store = try await setup.openStore()
        let alice = try #require(try await store.user(named: "alice"))
        #expect(PasswordHasher.verify(Secret(second), against: alice.passwordHash), "the piped password is alice's")
        #expect(!PasswordHasher.verify(Secret(first), against: alice.passwordHash))
        #expect(try await store.user(named: "bob") == nil)
        let audit = try await store.auditLog(before: nil, limit: 20)
        #expect(audit.map(\.action) == ["user.delete", "user.create", "user.update", "user.create"])
        #expect(Set(audit.map(\.actor)) == ["cli"])
        try await store.close()

        for output in [added.output, piped.output, listed.output] {
            #expect(!output.contains(first) && !output.contains(second), "a password was printed")
        }
    }

    @Test("tokens: create prints the token once, list never shows it, revoke removes it; a bad configuration exits 2")
    func tokens() async throws {
        let setup = try Setup()
        let created = try await tocsin(["token", "create", "--name", "prometheus", "--role", "ingest"] + setup.store)
        #expect(created.status == 0, "\(created.output)")
        let lines = created.output.split(separator: "\n").map(String.init)
        let token = try #require(lines.first { $0.hasPrefix(Credentials.tokenPrefix) }, "\(created.output)")
        let idLine = try #require(lines.first { $0.hasPrefix("token ") }, "\(created.output)")
        let id = String(idLine.dropFirst("token ".count).prefix { $0 != " " })
        #expect(idLine.contains("(prometheus, ingest)"))

        let listed = try await tocsin(["token", "list"] + setup.store)
        #expect(listed.status == 0, "\(listed.output)")
        let row = try #require(listed.output.split(separator: "\n").first.map { $0.split(separator: "\t").map(String.init) })
        #expect(Array(row.prefix(3)) == [id, "ingest", "prometheus"], "\(listed.output)")
        #expect(row.last == "cli")
        #expect(!listed.output.contains(token))

        let store = try await setup.openStore()
        let stored = try #require(try await store.token(hash: Credentials.sha256Hex(token)), "the printed token is the stored one")
        #expect(stored.id == id)
        try await store.close()

        let badRole = try await tocsin(["token", "create", "--name", "x", "--role", "owner"] + setup.store)
        #expect(badRole.status == 1)
        #expect(badRole.output == "tocsin token create: role: unknown role 'owner' (expected ingest, viewer, editor, admin)", "\(badRole.output)")
        let revoked = try await tocsin(["token", "revoke", id] + setup.store)
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(revoked.output.contains("revoked token \(id)"))
        let again = try await tocsin(["token", "revoke", id] + setup.store)
        #expect(again.status == 1, "\(again.output)")
        #expect(try await tocsin(["token", "list"] + setup.store).output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)

        let broken = try setup.file("broken.yml", "server: {listen: nowhere}\n")
        let misconfigured = try await tocsin(["token", "list", "--config", broken, "--data-dir", setup.directory])
        #expect(misconfigured.status == 2, "\(misconfigured.output)")
        #expect(misconfigured.output.contains("server.listen"), "\(misconfigured.output)")
    }
}
