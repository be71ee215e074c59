import Foundation
import TocsinCore

/// A console user: signs in with a name and a password. The password is kept only as a slow-KDF hash.
public struct StoredUser: Sendable, Hashable {
    public var name: String
    /// The encoded hash (algorithm, parameters, salt and digest in one string); never the password.
    public var passwordHash: String
    public var role: AccessRole
    public var createdAt: Date

    public init(name: String, passwordHash: String, role: AccessRole, createdAt: Date) {
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
        self.createdAt = createdAt
    }
}

/// An API token. Only the SHA-256 of the token is stored: the token itself is shown once, when it is made.
public struct StoredToken: Sendable, Hashable {
    /// A short public id, to list and revoke the token by.
    public var id: String
    /// What the token is for ("prometheus", "ci"…).
    public var name: String
    /// Lowercase hex SHA-256 of the token.
    public var tokenHash: String
    public var role: AccessRole
    public var createdAt: Date
    public var createdBy: String

    public init(id: String, name: String, tokenHash: String, role: AccessRole, createdAt: Date, createdBy: String) {
        self.id = id
        self.name = name
        self.tokenHash = tokenHash
        self.role = role
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

/// A console session, made at sign-in. Only the SHA-256 of the cookie's value is stored.
public struct StoredSession: Sendable, Hashable {
    /// Lowercase hex SHA-256 of the session cookie's value.
    public var idHash: String
    /// Who signed in: `user:NAME` or `token:ID`.
    public var subject: String
    public var role: AccessRole
    /// The value forms and scripts send back in `X-CSRF-Token` (or the `csrf` form field).
    public var csrfToken: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(idHash: String, subject: String, role: AccessRole, csrfToken: String, createdAt: Date, expiresAt: Date) {
        self.idHash = idHash
        self.subject = subject
        self.role = role
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// One change of configuration or access, written in the same transaction as the change itself.
public struct AuditEntry: Sendable, Hashable {
    /// Assigned by the store; 0 before it is stored.
    public var sequence: Int64
    public var at: Date
    /// Who: `user:NAME`, `token:ID`, `cli` or `anonymous` (authentication off).
    public var actor: String
    /// What, as `noun.verb`: `integration.create`, `routing.update`, `token.revoke`…
    public var action: String
    /// The thing changed: an integration's name, a routing cell (`backup/warning`), a token id…
    public var target: String
    /// A human-readable summary; never a secret.
    public var detail: String

    public init(sequence: Int64 = 0, at: Date, actor: String, action: String, target: String, detail: String) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.detail = detail
    }
}

/// An integration made in the console or through the API, as the mapping a `tocsin.yml` item would have
/// (name, type, the type's settings, delivery options), in JSON. Secret settings in it are already encrypted
/// (`SecretBox`), never plain text.
public struct ManagedIntegration: Sendable, Hashable {
    public var name: String
    public var type: String
    /// The item's JSON object text.
    public var body: String
    public var updatedAt: Date
    public var updatedBy: String

    public init(name: String, type: String, body: String, updatedAt: Date, updatedBy: String) {
        self.name = name
        self.type = type
        self.body = body
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }
}

/// One cell of the routing matrix made in the console or through the API.
public struct ManagedRoutingCell: Sendable, Hashable {
    /// `global`, or a category's name.
    public var scope: String
    public var severity: Severity
    public var integrations: [String]
    /// The cell replaces the global cell of its severity instead of adding to it.
    public var override: Bool

    public init(scope: String, severity: Severity, integrations: [String], override: Bool) {
        self.scope = scope
        self.severity = severity
        self.integrations = integrations
        self.override = override
    }
}

/// Why an admin write was refused.
public enum AdminStoreError: Error, Sendable, Hashable {
    /// A user, token or integration of that name or id exists already.
    case alreadyExists(String)
    case notFound(String)
    /// The change would leave no admin: nobody could manage access then.
    case lastAdmin(String)
}

/// Users, tokens, sessions, the audit log and the configuration made in the console. Every change that the audit
/// log records is written with its entry in one transaction: a change is never stored without its entry, nor an
/// entry without its change.
public protocol AdminStore: Sendable {
    // Users
    func createUser(_ user: StoredUser, audit: AuditEntry) async throws
    /// Replaces the password hash and role of an existing user. A new password hash ends the user's sessions; a new
    /// role applies to them. Refuses (`lastAdmin`) to take the admin role from the last admin.
    func updateUser(_ user: StoredUser, audit: AuditEntry) async throws
    func user(named name: String) async throws -> StoredUser?
    func users() async throws -> [StoredUser]
    /// Also ends the user's sessions. Refuses (`lastAdmin`) to remove the last admin.
    func deleteUser(named name: String, audit: AuditEntry) async throws
    func userCount() async throws -> Int

    // Tokens
    func createToken(_ token: StoredToken, audit: AuditEntry) async throws
    func token(hash: String) async throws -> StoredToken?
    func tokens() async throws -> [StoredToken]
    /// Also ends the sessions signed in with the token.
    func deleteToken(id: String, audit: AuditEntry) async throws

    // Sessions
    func createSession(_ session: StoredSession) async throws
    /// The session, unless it has expired at `now`.
    func session(idHash: String, now: Date) async throws -> StoredSession?
    func deleteSession(idHash: String) async throws
    func deleteExpiredSessions(now: Date) async throws

    // Audit log
    /// Newest first; `before` pages by sequence.
    func auditLog(before: Int64?, limit: Int) async throws -> [AuditEntry]

    // Managed configuration
    func managedIntegrations() async throws -> [ManagedIntegration]
    /// Creates, or replaces the item of the same name when `replace` is true.
    func saveManagedIntegration(_ integration: ManagedIntegration, replace: Bool, audit: AuditEntry) async throws
    /// Also removes the integration's name from every managed routing cell.
    func deleteManagedIntegration(name: String, audit: AuditEntry) async throws
    func managedRouting() async throws -> [ManagedRoutingCell]
    /// Creates or replaces the cell of `cell.scope` and `cell.severity`.
    func saveManagedRoutingCell(_ cell: ManagedRoutingCell, audit: AuditEntry) async throws
    func deleteManagedRoutingCell(scope: String, severity: Severity, audit: AuditEntry) async throws
    /// Grows with every change of managed integrations or routing, on every instance sharing the store: an
    /// instance that sees it move reloads its integrations and routing.
    func configurationVersion() async throws -> Int64
}
