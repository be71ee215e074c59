import Foundation
import SQLKit
import TocsinCore

// Admin writes go through the store's write queue like every other write: on SQLite its one writer connection, on
// PostgreSQL under the fleet-wide write lock. Writes are thus serialised across processes, so a check for a duplicate
// or a missing row and the write that follows it cannot be overtaken by another instance's write. Each change, its
// audit entry and (for managed configuration) the bump of `config_version` share one transaction.
extension SQLStore: AdminStore {
    // MARK: Users

    public func createUser(_ user: StoredUser, audit: AuditEntry) async throws {
        try await adminWrite { database in
            if try await Self.exists(database, "SELECT name FROM users WHERE name = \(bind: user.name)") {
                return .alreadyExists(user.name)
            }
            try await database.raw(
                """
                INSERT INTO users (name, password_hash, role, created_at)
                VALUES (\(bind: user.name), \(bind: user.passwordHash), \(bind: user.role.rawValue), \(bind: user.createdAt.storedMillis))
                """
            ).run()
            try await Self.append(audit, to: database)
            return nil
        }
    }

    public func updateUser(_ user: StoredUser, audit: AuditEntry) async throws {
        try await adminWrite { database in
            guard let current = try await database.raw("SELECT * FROM users WHERE name = \(bind: user.name)").first().map(Self.decodeUser) else {
                return .notFound(user.name)
            }
            if current.role == .admin, user.role != .admin, try await Self.otherAdminCount(user.name, database) == 0 {
                return .lastAdmin(user.name)
            }
            try await database.raw(
                "UPDATE users SET password_hash = \(bind: user.passwordHash), role = \(bind: user.role.rawValue) WHERE name = \(bind: user.name)"
            ).run()
            let subject = "user:" + user.name
            if current.passwordHash != user.passwordHash {
                // A new password signs the user out everywhere: whoever knew the old one keeps no session made with it.
                try await database.raw("DELETE FROM sessions WHERE subject = \(bind: subject)").run()
            } else {
                // A session carries the role it was signed in with: a changed role holds from the user's next request on.
                try await database.raw("UPDATE sessions SET role = \(bind: user.role.rawValue) WHERE subject = \(bind: subject)").run()
            }
            try await Self.append(audit, to: database)
            return nil
        }
    }

    public func user(named name: String) async throws -> StoredUser? {
        try await backend.read { database in
            try await database.raw("SELECT * FROM users WHERE name = \(bind: name)").first().map(Self.decodeUser)
        }
    }

    public func users() async throws -> [StoredUser] {
        try await backend.read { database in
            try await database.raw("SELECT * FROM users ORDER BY name").all().map(Self.decodeUser)
        }
    }

    public func deleteUser(named name: String, audit: AuditEntry) async throws {
        try await adminWrite { database in
            guard let current = try await database.raw("SELECT * FROM users WHERE name = \(bind: name)").first().map(Self.decodeUser) else {
                return .notFound(name)
            }
            if current.role == .admin, try await Self.otherAdminCount(name, database) == 0 {
                return .lastAdmin(name)
            }
            try await database.raw("DELETE FROM users WHERE name = \(bind: name)").run()
            try await database.raw("DELETE FROM sessions WHERE subject = \(bind: "user:" + name)").run()
            try await Self.append(audit, to: database)
            return nil
        }
    }

    /// Admins other than `name`: checked in the transaction of the change, so that two admins removing each other at
    /// the same moment cannot both succeed and leave nobody to manage access.
    private static func otherAdminCount(_ name: String, _ database: any SQLDatabase) async throws -> Int {
        try await database.raw(
            "SELECT COUNT(*) AS n FROM users WHERE role = \(bind: AccessRole.admin.rawValue) AND name <> \(bind: name)"
        ).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    public func userCount() async throws -> Int {
        try await backend.read { database in
            try await database.raw("SELECT COUNT(*) AS n FROM users").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    private static func decodeUser(_ row: any SQLRow) throws -> StoredUser {
        StoredUser(
            name: try row.decode(column: "name", as: String.self),
            passwordHash: try row.decode(column: "password_hash", as: String.self),
            role: try decodeRole(row),
            createdAt: Date(storedMillis: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    // MARK: Tokens

    public func createToken(_ token: StoredToken, audit: AuditEntry) async throws {
        try await adminWrite { database in
            // Tokens are random: a second token with the same hash is the same token, refused as a duplicate too.
            let duplicate = try await Self.exists(
                database,
                "SELECT id FROM api_tokens WHERE id = \(bind: token.id) OR token_hash = \(bind: token.tokenHash)"
            )
            if duplicate { return .alreadyExists(token.id) }
            try await database.raw(
                """
                INSERT INTO api_tokens (id, name, token_hash, role, created_at, created_by)
                VALUES (\(bind: token.id), \(bind: token.name), \(bind: token.tokenHash), \(bind: token.role.rawValue),
                    \(bind: token.createdAt.storedMillis), \(bind: token.createdBy))
                """
            ).run()
            try await Self.append(audit, to: database)
            return nil
        }
    }

    public func token(hash: String) async throws -> StoredToken? {
        try await backend.read { database in
            try await database.raw("SELECT * FROM api_tokens WHERE token_hash = \(bind: hash)").first().map(Self.decodeToken)
        }
    }

    public func tokens() async throws -> [StoredToken] {
        try await backend.read { database in
            try await database.raw("SELECT * FROM api_tokens ORDER BY created_at, id").all().map(Self.decodeToken)
        }
    }

    public func deleteToken(id: String, audit: AuditEntry) async throws {
        try await adminWrite { database in
            guard try await Self.exists(database, "SELECT id FROM api_tokens WHERE id = \(bind: id)") else {
                return .notFound(id)
            }
            try await database.raw("DELETE FROM api_tokens WHERE id = \(bind: id)").run()
            try await database.raw("DELETE FROM sessions WHERE subject = \(bind: "token:" + id)").run()
            try await Self.append(audit, to: database)
            return nil
        }
    }

    private static func decodeToken(_ row: any SQLRow) throws -> StoredToken {
        StoredToken(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            tokenHash: try row.decode(column: "token_hash", as: String.self),
            role: try decodeRole(row),
            createdAt: Date(storedMillis: try row.decode(column: "created_at", as: Int64.self)),
            createdBy: try row.decode(column: "created_by", as: String.self)
        )
    }

    // MARK: Sessions

    public func createSession(_ session: StoredSession) async throws {
        try await adminWrite { database in
            try await database.raw(
                """
                INSERT INTO sessions (id_hash, subject, role, csrf_token, created_at, expires_at)
                VALUES (\(bind: session.idHash), \(bind: session.subject), \(bind: session.role.rawValue), \(bind: session.csrfToken),
                    \(bind: session.createdAt.storedMillis), \(bind: session.expiresAt.storedMillis))
                """
            ).run()
            return nil
        }
    }

    public func session(idHash: String, now: Date) async throws -> StoredSession? {
        try await backend.read { database in
            try await database.raw("SELECT * FROM sessions WHERE id_hash = \(bind: idHash) AND expires_at > \(bind: now.storedMillis)").first()
                .map { row in
                    StoredSession(
                        idHash: try row.decode(column: "id_hash", as: String.self),
                        subject: try row.decode(column: "subject", as: String.self),
                        role: try Self.decodeRole(row),
                        csrfToken: try row.decode(column: "csrf_token", as: String.self),
                        createdAt: Date(storedMillis: try row.decode(column: "created_at", as: Int64.self)),
                        expiresAt: Date(storedMillis: try row.decode(column: "expires_at", as: Int64.self))
                    )
                }
        }
    }

    public func deleteSession(idHash: String) async throws {
        try await adminWrite { database in
            try await database.raw("DELETE FROM sessions WHERE id_hash = \(bind: idHash)").run()
            return nil
        }
    }

    public func deleteExpiredSessions(now: Date) async throws {
        try await adminWrite { database in
            try await database.raw("DELETE FROM sessions WHERE expires_at <= \(bind: now.storedMillis)").run()
            return nil
        }
    }

    // MARK: Audit log

    public func auditLog(before: Int64?, limit: Int) async throws -> [AuditEntry] {
        try await backend.read { database in
            try await database.raw(
                "SELECT * FROM audit_log WHERE seq < \(bind: before ?? Int64.max) ORDER BY seq DESC LIMIT \(bind: limit)"
            ).all().map { row in
                AuditEntry(
                    sequence: try row.decode(column: "seq", as: Int64.self),
                    at: Date(storedMillis: try row.decode(column: "changed_at", as: Int64.self)),
                    actor: try row.decode(column: "actor", as: String.self),
                    action: try row.decode(column: "action", as: String.self),
                    target: try row.decode(column: "target", as: String.self),
                    detail: try row.decode(column: "detail", as: String.self)
                )
            }
        }
    }

    // MARK: Managed configuration

    public func managedIntegrations() async throws -> [ManagedIntegration] {
        try await backend.read { database in
            try await database.raw("SELECT * FROM managed_integrations ORDER BY name").all().map { row in
                ManagedIntegration(
                    name: try row.decode(column: "name", as: String.self),
                    type: try row.decode(column: "type", as: String.self),
                    body: try row.decode(column: "body", as: String.self),
                    updatedAt: Date(storedMillis: try row.decode(column: "updated_at", as: Int64.self)),
                    updatedBy: try row.decode(column: "updated_by", as: String.self)
                )
            }
        }
    }

    public func saveManagedIntegration(_ integration: ManagedIntegration, replace: Bool, audit: AuditEntry) async throws {
        try await adminWrite { database in
            if !replace, try await Self.exists(database, "SELECT name FROM managed_integrations WHERE name = \(bind: integration.name)") {
                return .alreadyExists(integration.name)
            }
            try await database.raw(
                """
                INSERT INTO managed_integrations (name, type, body, updated_at, updated_by)
                VALUES (\(bind: integration.name), \(bind: integration.type), \(bind: integration.body),
                    \(bind: integration.updatedAt.storedMillis), \(bind: integration.updatedBy))
                ON CONFLICT (name) DO UPDATE SET type = excluded.type, body = excluded.body, updated_at = excluded.updated_at,
                    updated_by = excluded.updated_by
                """
            ).run()
            try await Self.configurationChanged(audit, database)
            return nil
        }
    }

    public func deleteManagedIntegration(name: String, audit: AuditEntry) async throws {
        try await adminWrite { database in
            guard try await Self.exists(database, "SELECT name FROM managed_integrations WHERE name = \(bind: name)") else {
                return .notFound(name)
            }
            try await database.raw("DELETE FROM managed_integrations WHERE name = \(bind: name)").run()
            // A cell left with no integration is deleted rather than kept empty: an emptied override cell would
            // otherwise send its alerts nowhere, where without it they follow the global cell of their severity.
            for cell in try await Self.routingCells(database) where cell.integrations.contains(name) {
                let remaining = cell.integrations.filter { $0 != name }
                if remaining.isEmpty {
                    try await database.raw(
                        "DELETE FROM managed_routing WHERE scope = \(bind: cell.scope) AND severity = \(bind: cell.severity.rawValue)"
                    ).run()
                } else {
                    try await database.raw(
                        """
                        UPDATE managed_routing SET integrations = \(bind: StoredJSON.stringArray(remaining))
                        WHERE scope = \(bind: cell.scope) AND severity = \(bind: cell.severity.rawValue)
                        """
                    ).run()
                }
            }
            try await Self.configurationChanged(audit, database)
            return nil
        }
    }

    public func managedRouting() async throws -> [ManagedRoutingCell] {
        try await backend.read { database in try await Self.routingCells(database) }
    }

    public func saveManagedRoutingCell(_ cell: ManagedRoutingCell, audit: AuditEntry) async throws {
        try await adminWrite { database in
            try await database.raw(
                """
                INSERT INTO managed_routing (scope, severity, integrations, overrides_global)
                VALUES (\(bind: cell.scope), \(bind: cell.severity.rawValue), \(bind: StoredJSON.stringArray(cell.integrations)),
                    \(bind: cell.override ? 1 : 0))
                ON CONFLICT (scope, severity) DO UPDATE SET integrations = excluded.integrations,
                    overrides_global = excluded.overrides_global
                """
            ).run()
            try await Self.configurationChanged(audit, database)
            return nil
        }
    }

    public func deleteManagedRoutingCell(scope: String, severity: Severity, audit: AuditEntry) async throws {
        try await adminWrite { database in
            let cell = "SELECT scope FROM managed_routing WHERE scope = \(bind: scope) AND severity = \(bind: severity.rawValue)" as SQLQueryString
            guard try await Self.exists(database, cell) else {
                return .notFound("\(scope)/\(severity.rawValue)")
            }
            try await database.raw("DELETE FROM managed_routing WHERE scope = \(bind: scope) AND severity = \(bind: severity.rawValue)").run()
            try await Self.configurationChanged(audit, database)
            return nil
        }
    }

    public func configurationVersion() async throws -> Int64 {
        try await backend.read { database in
            try await database.raw("SELECT version FROM config_version WHERE id = 1").first()?.decode(column: "version", as: Int64.self) ?? 0
        }
    }

    /// Every cell, by scope, then by severity from the least to the most severe.
    private static func routingCells(_ database: any SQLDatabase) async throws -> [ManagedRoutingCell] {
        let cells = try await database.raw("SELECT * FROM managed_routing").all().map { row in
            let severityName = try row.decode(column: "severity", as: String.self)
            guard let severity = Severity(rawValue: severityName) else { throw UnknownStoredValue(column: "severity", value: severityName) }
            return ManagedRoutingCell(
                scope: try row.decode(column: "scope", as: String.self),
                severity: severity,
                integrations: try StoredJSON.decode([String].self, from: row.decode(column: "integrations", as: String.self)),
                override: try row.decode(column: "overrides_global", as: Int64.self) != 0
            )
        }
        return cells.sorted { ($0.scope, $0.severity) < ($1.scope, $1.severity) }
    }

    // MARK: Helpers

    /// Runs `write` in a write transaction; throws its refusal, if any.
    private func adminWrite(_ write: @escaping AdminWrite) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writer.submit(.admin(write, continuation))
        }
    }

    private static func exists(_ database: any SQLDatabase, _ query: SQLQueryString) async throws -> Bool {
        try await database.raw(query).first() != nil
    }

    private static func append(_ entry: AuditEntry, to database: any SQLDatabase) async throws {
        try await database.raw(
            """
            INSERT INTO audit_log (changed_at, actor, action, target, detail)
            VALUES (\(bind: entry.at.storedMillis), \(bind: entry.actor), \(bind: entry.action), \(bind: entry.target), \(bind: entry.detail))
            """
        ).run()
    }

    /// The audit entry of a change of managed configuration, and the version every instance watches.
    private static func configurationChanged(_ entry: AuditEntry, _ database: any SQLDatabase) async throws {
        try await database.raw("UPDATE config_version SET version = version + 1 WHERE id = 1").run()
        try await append(entry, to: database)
    }

    private static func decodeRole(_ row: any SQLRow) throws -> AccessRole {
        let name = try row.decode(column: "role", as: String.self)
        guard let role = AccessRole(rawValue: name) else { throw UnknownStoredValue(column: "role", value: name) }
        return role
    }
}

/// A stored value this version does not know (written by a newer version, or by hand).
struct UnknownStoredValue: Error, CustomStringConvertible {
    var column: String
    var value: String
    var description: String { "unknown \(column) \"\(value)\" in the store" }
}
