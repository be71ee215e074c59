import Foundation
import TocsinCore

// Placeholder until the admin tables exist: every call fails.
struct AdminStoreNotBuilt: Error {}

extension SQLStore: AdminStore {
    public func createUser(_ user: StoredUser, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func updateUser(_ user: StoredUser, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func user(named name: String) async throws -> StoredUser? { throw AdminStoreNotBuilt() }
    public func users() async throws -> [StoredUser] { throw AdminStoreNotBuilt() }
    public func deleteUser(named name: String, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func userCount() async throws -> Int { throw AdminStoreNotBuilt() }
    public func createToken(_ token: StoredToken, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func token(hash: String) async throws -> StoredToken? { throw AdminStoreNotBuilt() }
    public func tokens() async throws -> [StoredToken] { throw AdminStoreNotBuilt() }
    public func deleteToken(id: String, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func createSession(_ session: StoredSession) async throws { throw AdminStoreNotBuilt() }
    public func session(idHash: String, now: Date) async throws -> StoredSession? { throw AdminStoreNotBuilt() }
    public func deleteSession(idHash: String) async throws { throw AdminStoreNotBuilt() }
    public func deleteExpiredSessions(now: Date) async throws { throw AdminStoreNotBuilt() }
    public func auditLog(before: Int64?, limit: Int) async throws -> [AuditEntry] { throw AdminStoreNotBuilt() }
    public func managedIntegrations() async throws -> [ManagedIntegration] { [] }
    public func saveManagedIntegration(_ integration: ManagedIntegration, replace: Bool, audit: AuditEntry) async throws {
        throw AdminStoreNotBuilt()
    }
    public func deleteManagedIntegration(name: String, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func managedRouting() async throws -> [ManagedRoutingCell] { [] }
    public func saveManagedRoutingCell(_ cell: ManagedRoutingCell, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func deleteManagedRoutingCell(scope: String, severity: Severity, audit: AuditEntry) async throws { throw AdminStoreNotBuilt() }
    public func configurationVersion() async throws -> Int64 { 0 }
}
