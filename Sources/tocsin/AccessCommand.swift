import ArgumentParser
import Foundation
import Logging
import TocsinCore
import TocsinServer
import TocsinStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tocsin user` and `tocsin token`: access managed on the store directly, as `tocsin migrate` opens it. This is how
/// the first admin comes to be, before anyone can sign in. Changes are audited with the actor `cli`.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list and remove console users, and set their passwords, in the server's database.",
        discussion: """
            Passwords are read from standard input (asked twice, without echo, on a terminal) or from \
            --password-file; never from an argument, where other users could see them in the process list. \
            Each subcommand exits 1 when the change is refused or the database cannot be reached, 2 on a bad \
            configuration.
            """,
        subcommands: [UserAdd.self, UserPasswd.self, UserRemove.self, UserList.self]
    )
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke API tokens in the server's database.",
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self]
    )
}

/// Where the database is: the configuration file, as for `tocsin serve`.
struct StoreOptions: ParsableArguments {
    @Option(help: "Configuration file (tocsin.yml).")
    var config: String

    @Option(help: "Data directory for the default SQLite store.")
    var dataDir: String?

    /// Runs `work` on the migrated store, then closes it. Refusals and store failures end the command with exit 1.
    func withStore<Value>(command: String, _ work: (AccessAdministration, any Store) async throws -> Value) async throws -> Value {
        let configuration = try loadConfigurationOrExit(path: config, dataDirectory: dataDir)
        let level = Logger.Level(rawValue: configuration.server.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            // A one-shot command reports its own failure; the pool's connection chatter would only repeat it.
            handler.logLevel = level < .info ? level : max(level, .warning)
            return handler
        }
        let storage = configuration.storage
        let store: any Store
        do {
            store = try await StoreOpener.open(storage, instanceID: StoreOpener.instanceID(configuration.server), logger: Logger(label: "tocsin"))
            do {
                try await store.migrate()
            } catch {
                try? await store.close()
                throw error
            }
        } catch {
            throw report(command, "cannot open \(StoreOpener.describe(storage)): \(Migrate.oneLine(error, redacting: storage.postgres?.password))")
        }
        do {
            let value = try await work(AccessAdministration(store: store), store)
            try await store.close()
            return value
        } catch let refusal as AccessAdministration.Refusal {
            try? await store.close()
            throw report(command, refusal.description)
        } catch let exit as ExitCode {
            try? await store.close()
            throw exit
        } catch {
            try? await store.close()
            throw report(command, Migrate.oneLine(error, redacting: storage.postgres?.password))
        }
    }

}

/// A refused command: one line on standard error, exit status 1.
func report(_ command: String, _ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("tocsin \(command): \(message)\n".utf8))
    return ExitCode(1)
}

/// Where a password comes from: a file, or standard input.
struct PasswordOptions: ParsableArguments {
    @Option(help: "Read the password from this file (its first line) instead of standard input.")
    var passwordFile: String?

    func read(for name: String) throws -> Secret {
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw ValidationError("cannot read '\(passwordFile)'")
            }
            return Secret(Self.firstLine(text))
        }
        if isatty(STDIN_FILENO) == 1 {
            let first = Self.prompt("Password for \(name): ")
            let second = Self.prompt("Again: ")
            guard first == second else { throw ValidationError("the two passwords differ") }
            return Secret(first)
        }
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return Secret(Self.firstLine(String(decoding: data, as: UTF8.self)))
    }

    /// The text up to its first line break: a file or pipe ends its password with one.
    static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" && $0 != "\r" && $0 != "\r\n" })
    }

    /// Reads a line from the terminal with echo off.
    private static func prompt(_ text: String) -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        let canHide = tcgetattr(STDIN_FILENO, &saved) == 0
        if canHide {
            var hidden = saved
            hidden.c_lflag &= ~tcflag_t(ECHO)
            _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &hidden)
        }
        let line = readLine(strippingNewline: true) ?? ""
        if canHide { _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
        FileHandle.standardError.write(Data("\n".utf8))
        return line
    }
}

/// The role named by `--role`; an unknown one is refused like any other refused change (exit 1, one line).
func parseRole(_ text: String, allowIngest: Bool, command: String) throws -> AccessRole {
    let roles: [AccessRole] = allowIngest ? AccessRole.allCases : [.viewer, .editor, .admin]
    guard let role = AccessRole(rawValue: text), roles.contains(role) else {
        throw report(command, "role: unknown role '\(text)' (expected \(roles.map(\.rawValue).joined(separator: ", ")))")
    }
    return role
}

struct UserAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a user who signs in to the console with a password.")

    @Argument(help: "The user's name (letters, digits, '.', '_', '@', '-').")
    var name: String

    @Option(help: "viewer, editor or admin.")
    var role: String

    @OptionGroup var password: PasswordOptions
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let role = try parseRole(role, allowIngest: false, command: "user add")
        let secret = try password.read(for: name)
        try await store.withStore(command: "user add") { administration, _ in
            _ = try await administration.addUser(name: name, password: secret, role: role, actor: "cli")
        }
        print("added user \(name) (\(role.rawValue))")
    }
}

struct UserPasswd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "passwd", abstract: "Set a user's password.")

    @Argument(help: "The user's name.")
    var name: String

    @OptionGroup var password: PasswordOptions
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let secret = try password.read(for: name)
        try await store.withStore(command: "user passwd") { administration, _ in
            _ = try await administration.updateUser(name: name, password: secret, role: nil, actor: "cli")
        }
        print("password of \(name) changed")
    }
}

struct UserRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a user and end their sessions (never the last admin)."
    )

    @Argument(help: "The user's name.")
    var name: String

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await store.withStore(command: "user remove") { administration, _ in
            try await administration.removeUser(name: name, actor: "cli")
        }
        print("removed user \(name)")
    }
}

struct UserList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the users: name, role, when added.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let users = try await store.withStore(command: "user list") { _, store in try await store.users() }
        for user in users.sorted(by: { $0.name < $1.name }) {
            print("\(user.name)\t\(user.role.rawValue)\t\(Timestamp.format(user.createdAt))")
        }
    }
}

struct TokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an API token and print it, once: only its hash is kept.",
        discussion: "Standard output gets the token alone, for scripts; its id goes to standard error."
    )

    @Option(help: "What the token is for, such as prometheus or ci.")
    var name: String

    @Option(help: "ingest (send events, logs and metrics only), viewer, editor or admin.")
    var role: String

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let role = try parseRole(role, allowIngest: true, command: "token create")
        let (stored, token) = try await store.withStore(command: "token create") { administration, _ in
            try await administration.createToken(name: name, role: role, actor: "cli")
        }
        print(token.exposedValue)
        FileHandle.standardError.write(Data("token \(stored.id) (\(stored.name), \(stored.role.rawValue)); it is not shown again\n".utf8))
    }
}

struct TokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the tokens: id, role, name, when and by whom made.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let tokens = try await store.withStore(command: "token list") { _, store in try await store.tokens() }
        for token in tokens.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) {
            print("\(token.id)\t\(token.role.rawValue)\t\(token.name)\t\(Timestamp.format(token.createdAt))\t\(token.createdBy)")
        }
    }
}

struct TokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token and end the sessions signed in with it.")

    @Argument(help: "The token's id, as `tocsin token list` shows it.")
    var id: String

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await store.withStore(command: "token revoke") { administration, _ in
            try await administration.revokeToken(id: id, actor: "cli")
        }
        print("revoked token \(id)")
    }
}
