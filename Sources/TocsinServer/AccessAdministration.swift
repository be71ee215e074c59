import Foundation
import TocsinCore
import TocsinStore

/// Users and tokens: the checks and the audit entries shared by the HTTP API and the `tocsin user` and
/// `tocsin token` commands, so that both refuse the same things with the same words.
public struct AccessAdministration: Sendable {
    /// A refused change: `field` names the input at fault. Messages never contain a password or a token.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            case invalid
            case notFound
            case conflict
        }

        public var kind: Kind
        public var field: String?
        public var message: String

        public var description: String { field.map { "\($0): \(message)" } ?? message }
    }

    public static let passwordLengths = 12...1024

    let store: any AdminStore
    let hasher: PasswordHasher
    let clock: @Sendable () -> Date

    public init(store: any AdminStore, hasher: PasswordHasher = .standard, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.hasher = hasher
        self.clock = clock
    }

    // MARK: users

    public func addUser(name: String, password: Secret, role: AccessRole, actor: String) async throws -> StoredUser {
        try Self.checkUserName(name)
        try Self.checkUserRole(role)
        try Self.checkPassword(password)
        let now = clock()
        let user = StoredUser(name: name, passwordHash: try await PasswordWork.hash(password, with: hasher), role: role, createdAt: now)
        let audit = AuditEntry(at: now, actor: actor, action: "user.create", target: name, detail: "role \(role.rawValue)")
        do {
            try await store.createUser(user, audit: audit)
        } catch AdminStoreError.alreadyExists {
            throw Refusal(kind: .conflict, field: "name", message: "a user named '\(name)' exists already")
        }
        return user
    }

    /// Sets a new password, a new role, or both. A new password signs the user out of every session. Refuses to take
    /// the admin role from the last admin.
    public func updateUser(name: String, password: Secret?, role: AccessRole?, actor: String) async throws -> StoredUser {
        guard password != nil || role != nil else {
            throw Refusal(kind: .invalid, field: nil, message: "give a new password, a new role, or both")
        }
        if let role { try Self.checkUserRole(role) }
        if let password { try Self.checkPassword(password) }
        guard var user = try await store.user(named: name) else { throw Self.noUser(name) }
        var changes: [String] = []
        if let role, role != user.role {
            changes.append("role \(user.role.rawValue) -> \(role.rawValue)")
            user.role = role
        }
        if let password {
            user.passwordHash = try await PasswordWork.hash(password, with: hasher)
            changes.append("password changed")
        }
        let audit = AuditEntry(
            at: clock(),
            actor: actor,
            action: "user.update",
            target: name,
            detail: changes.isEmpty ? "no change" : changes.joined(separator: ", ")
        )
        do {
            try await store.updateUser(user, audit: audit)
        } catch AdminStoreError.notFound {
            throw Self.noUser(name)
        } catch AdminStoreError.lastAdmin {
            throw Self.lastAdmin(name)
        }
        return user
    }

    /// Removes a user and ends their sessions. Refuses to remove the last admin: nobody could manage access then.
    public func removeUser(name: String, actor: String) async throws {
        guard let user = try await store.user(named: name) else { throw Self.noUser(name) }
        let audit = AuditEntry(at: clock(), actor: actor, action: "user.delete", target: name, detail: "role \(user.role.rawValue)")
        do {
            try await store.deleteUser(named: name, audit: audit)
        } catch AdminStoreError.notFound {
            throw Self.noUser(name)
        } catch AdminStoreError.lastAdmin {
            throw Self.lastAdmin(name)
        }
    }

    // The store checks this in the change's own transaction (see `AdminStore.updateUser`).
    private static func lastAdmin(_ name: String) -> Refusal {
        Refusal(kind: .conflict, field: "name", message: "'\(name)' is the last admin; make another admin first")
    }

    private static func noUser(_ name: String) -> Refusal {
        Refusal(kind: .notFound, field: "name", message: "no user named '\(name)'")
    }

    // MARK: tokens

    /// A new token. The token itself is in the answer and nowhere else: only its hash is stored.
    public func createToken(name: String, role: AccessRole, actor: String) async throws -> (StoredToken, token: Secret) {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Refusal(kind: .invalid, field: "name", message: "expected 1 to 100 characters, without control characters")
        }
        let (token, id, hash) = Credentials.newToken()
        let now = clock()
        let stored = StoredToken(id: id, name: name, tokenHash: hash, role: role, createdAt: now, createdBy: actor)
        let audit = AuditEntry(at: now, actor: actor, action: "token.create", target: id, detail: "'\(name)', role \(role.rawValue)")
        try await store.createToken(stored, audit: audit)
        return (stored, token)
    }

    /// Revokes a token and ends the sessions signed in with it.
    public func revokeToken(id: String, actor: String) async throws {
        guard let token = try await store.tokens().first(where: { $0.id == id }) else { throw Self.noToken(id) }
        let audit = AuditEntry(at: clock(), actor: actor, action: "token.revoke", target: id, detail: "'\(token.name)', role \(token.role.rawValue)")
        do {
            try await store.deleteToken(id: id, audit: audit)
        } catch AdminStoreError.notFound {
            throw Self.noToken(id)
        }
    }

    private static func noToken(_ id: String) -> Refusal {
        Refusal(kind: .notFound, field: "id", message: "no token with id '\(id)'")
    }

    // MARK: checks

    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")

    static func checkUserName(_ name: String) throws {
        guard (1...64).contains(name.count), name.allSatisfy({ nameCharacters.contains($0) }),
            name.first?.isLetter == true || name.first?.isNumber == true
        else {
            throw Refusal(
                kind: .invalid,
                field: "name",
                message: "expected 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
            )
        }
    }

    static func checkUserRole(_ role: AccessRole) throws {
        guard role != .ingest else {
            throw Refusal(kind: .invalid, field: "role", message: "ingest is a role for API tokens; a user is viewer, editor or admin")
        }
    }

    static func checkPassword(_ password: Secret) throws {
        guard passwordLengths.contains(password.exposedValue.count) else {
            throw Refusal(
                kind: .invalid,
                field: "password",
                message: "expected \(passwordLengths.lowerBound) to \(passwordLengths.upperBound) characters"
            )
        }
    }
}
