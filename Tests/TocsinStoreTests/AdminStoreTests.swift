import Foundation
import Testing
import TocsinCore
import TocsinStore

/// Users, tokens, sessions, the audit log and the managed configuration, on each kind of store.
@Suite("Store: access control and managed configuration")
struct AdminStoreTests {
    static func audit(_ action: String, _ target: String, at: Date = storeT0, actor: String = "user:root") -> AuditEntry {
        AuditEntry(at: at, actor: actor, action: action, target: target, detail: "\(action) \(target)")
    }

    static func session(_ idHash: String, subject: String, role: AccessRole = .viewer, expiresAt: Date) -> StoredSession {
        StoredSession(idHash: idHash, subject: subject, role: role, csrfToken: "csrf-\(idHash)", createdAt: storeT0, expiresAt: expiresAt)
    }

    static func integration(_ name: String, url: String = "https://hooks.example/a", at: Date = storeT0) -> ManagedIntegration {
        ManagedIntegration(
            name: name,
            type: "webhook",
            body: #"{"name":"\#(name)","type":"webhook","url":"\#(url)"}"#,
            updatedAt: at,
            updatedBy: "user:root"
        )
    }

    /// The (action, target) of every audit entry, newest first.
    static func auditTrail(_ store: any Store) async throws -> [String] {
        try await store.auditLog(before: nil, limit: 100).map { "\($0.action) \($0.target)" }
    }

    @Test("users are created, refused when the name exists, updated, listed, counted and deleted with their sessions", arguments: StoreKind.allCases)
    func users(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let later = storeT0.addingTimeInterval(3_600)
            #expect(try await store.userCount() == 0)
            let alice = StoredUser(
                name: "alice",
                passwordHash: "$scrypt$ln=15$c2FsdA$aGFzaA",
                role: .admin,
                createdAt: storeT0.addingTimeInterval(0.125)
            )
            try await store.createUser(alice, audit: Self.audit("user.create", "alice"))
            try await store.createUser(
                StoredUser(name: "bob", passwordHash: "h-bob", role: .viewer, createdAt: storeT0),
                audit: Self.audit("user.create", "bob")
            )
            #expect(try await store.user(named: "alice") == alice)
            #expect(try await store.user(named: "carol") == nil)
            #expect(try await store.userCount() == 2)

            let again = StoredUser(name: "alice", passwordHash: "other", role: .viewer, createdAt: later)
            await #expect(throws: AdminStoreError.alreadyExists("alice")) {
                try await store.createUser(again, audit: Self.audit("user.create", "alice-again"))
            }
            #expect(try await store.user(named: "alice") == alice)

            try await store.createSession(Self.session("s-bob", subject: "user:bob", expiresAt: later))
            try await store.createSession(Self.session("s-bobby", subject: "user:bobby", expiresAt: later))
            let promoted = StoredUser(name: "bob", passwordHash: "h-bob", role: .editor, createdAt: later)
            try await store.updateUser(promoted, audit: Self.audit("user.update", "bob"))
            let bob = try #require(try await store.user(named: "bob"))
            #expect(bob.role == .editor)
            #expect(bob.createdAt == storeT0, "an update keeps the creation time")
            #expect(try await store.session(idHash: "s-bob", now: storeT0)?.role == .editor, "the user's sessions take the new role")
            #expect(try await store.session(idHash: "s-bobby", now: storeT0)?.role == .viewer)
            try await store.updateUser(
                StoredUser(name: "bob", passwordHash: "h-bob-2", role: .editor, createdAt: later),
                audit: Self.audit("user.update", "bob")
            )
            #expect(try await store.user(named: "bob")?.passwordHash == "h-bob-2")
            #expect(try await store.session(idHash: "s-bob", now: storeT0) == nil, "a new password ends the user's sessions")
            #expect(try await store.session(idHash: "s-bobby", now: storeT0)?.role == .viewer, "another user's session stays")
            try await store.createSession(Self.session("s-bob", subject: "user:bob", role: .editor, expiresAt: later))
            await #expect(throws: AdminStoreError.notFound("carol")) {
                try await store.updateUser(
                    StoredUser(name: "carol", passwordHash: "h", role: .viewer, createdAt: storeT0),
                    audit: Self.audit("user.update", "carol")
                )
            }
            #expect(try await store.users().map(\.name) == ["alice", "bob"])

            try await store.deleteUser(named: "bob", audit: Self.audit("user.delete", "bob"))
            #expect(try await store.user(named: "bob") == nil)
            #expect(try await store.session(idHash: "s-bob", now: storeT0) == nil)
            #expect(try await store.session(idHash: "s-bobby", now: storeT0)?.subject == "user:bobby", "another user's session stays")
            await #expect(throws: AdminStoreError.notFound("bob")) {
                try await store.deleteUser(named: "bob", audit: Self.audit("user.delete", "bob-again"))
            }
            #expect(try await store.userCount() == 1)
            #expect(
                try await Self.auditTrail(store) == ["user.delete bob", "user.update bob", "user.update bob", "user.create bob", "user.create alice"]
            )
        }
    }

    @Test("the last admin can be neither removed nor demoted, even by two changes made at the same moment", arguments: StoreKind.allCases)
    func lastAdmin(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for name in ["alice", "carol"] {
                try await store.createUser(
                    StoredUser(name: name, passwordHash: "h-\(name)", role: .admin, createdAt: storeT0),
                    audit: Self.audit("user.create", name)
                )
            }
            // Each admin removes the other at once: the store serialises the two, and the second finds no other admin.
            let outcomes = await withTaskGroup(of: AdminStoreError?.self) { group in
                for name in ["alice", "carol"] {
                    group.addTask {
                        do {
                            try await store.deleteUser(named: name, audit: Self.audit("user.delete", name))
                            return nil
                        } catch let error as AdminStoreError {
                            return error
                        } catch {
                            return .notFound("unexpected \(error)")
                        }
                    }
                }
                return await group.reduce(into: [AdminStoreError?]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
            let remaining = try await store.users()
            #expect(remaining.count == 1 && remaining.first?.role == .admin)
            let last = try #require(remaining.first)
            #expect(outcomes.contains(.lastAdmin(last.name)))
            await #expect(throws: AdminStoreError.lastAdmin(last.name)) {
                try await store.updateUser(
                    StoredUser(name: last.name, passwordHash: last.passwordHash, role: .editor, createdAt: storeT0),
                    audit: Self.audit("user.update", last.name)
                )
            }
            #expect(try await store.user(named: last.name)?.role == .admin)
            #expect(try await store.auditLog(before: nil, limit: 10).count == 3, "a refused change writes no audit entry")
        }
    }

    @Test("tokens are found by hash, refused when the id or hash exists, listed and deleted with their sessions", arguments: StoreKind.allCases)
    func tokens(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let hash = String(repeating: "ab", count: 32)
            let prometheus = StoredToken(id: "tk1", name: "prometheus", tokenHash: hash, role: .ingest, createdAt: storeT0, createdBy: "user:root")
            let ci = StoredToken(
                id: "tk2",
                name: "ci",
                tokenHash: String(repeating: "cd", count: 32),
                role: .editor,
                createdAt: storeT0.addingTimeInterval(60),
                createdBy: "cli"
            )
            try await store.createToken(prometheus, audit: Self.audit("token.create", "tk1"))
            try await store.createToken(ci, audit: Self.audit("token.create", "tk2"))
            #expect(try await store.token(hash: hash) == prometheus)
            #expect(try await store.token(hash: String(repeating: "00", count: 32)) == nil)
            #expect(try await store.tokens() == [prometheus, ci])

            var sameID = ci
            sameID.tokenHash = String(repeating: "ef", count: 32)
            sameID.id = "tk1"
            await #expect(throws: AdminStoreError.alreadyExists("tk1")) {
                try await store.createToken(sameID, audit: Self.audit("token.create", "tk1-again"))
            }
            var sameHash = ci
            sameHash.id = "tk3"
            await #expect(throws: AdminStoreError.alreadyExists("tk3")) {
                try await store.createToken(sameHash, audit: Self.audit("token.create", "tk3"))
            }
            #expect(try await store.tokens().map(\.id) == ["tk1", "tk2"])

            let later = storeT0.addingTimeInterval(3_600)
            try await store.createSession(Self.session("s-tk2", subject: "token:tk2", role: .editor, expiresAt: later))
            try await store.createSession(Self.session("s-tk1", subject: "token:tk1", role: .ingest, expiresAt: later))
            try await store.deleteToken(id: "tk2", audit: Self.audit("token.revoke", "tk2"))
            #expect(try await store.token(hash: ci.tokenHash) == nil)
            #expect(try await store.session(idHash: "s-tk2", now: storeT0) == nil)
            #expect(try await store.session(idHash: "s-tk1", now: storeT0) != nil)
            await #expect(throws: AdminStoreError.notFound("tk2")) {
                try await store.deleteToken(id: "tk2", audit: Self.audit("token.revoke", "tk2-again"))
            }
            #expect(try await Self.auditTrail(store) == ["token.revoke tk2", "token.create tk2", "token.create tk1"])
        }
    }

    @Test("a session is found until it expires; expired ones are deleted, live ones kept", arguments: StoreKind.allCases)
    func sessions(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let expiry = storeT0.addingTimeInterval(1_800)
            let session = Self.session("s1", subject: "user:alice", role: .admin, expiresAt: expiry)
            try await store.createSession(session)
            try await store.createSession(Self.session("s2", subject: "user:alice", expiresAt: storeT0.addingTimeInterval(7_200)))
            #expect(try await store.session(idHash: "s1", now: storeT0) == session)
            #expect(try await store.session(idHash: "s1", now: expiry.addingTimeInterval(-0.001)) == session)
            #expect(try await store.session(idHash: "s1", now: expiry) == nil, "expired at its expiry time")
            #expect(try await store.session(idHash: "nope", now: storeT0) == nil)

            try await store.deleteExpiredSessions(now: expiry)
            #expect(try await store.session(idHash: "s1", now: storeT0) == nil, "deleted, not just hidden")
            #expect(try await store.session(idHash: "s2", now: expiry)?.subject == "user:alice")
            try await store.deleteSession(idHash: "s2")
            #expect(try await store.session(idHash: "s2", now: storeT0) == nil)
            #expect(try await store.auditLog(before: nil, limit: 10).isEmpty, "sessions are not audited")
        }
    }

    @Test("the audit log keeps every field, lists newest first and pages by sequence", arguments: StoreKind.allCases)
    func auditPaging(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for index in 0..<5 {
                let user = StoredUser(name: "u\(index)", passwordHash: "h", role: .viewer, createdAt: storeT0)
                let entry = AuditEntry(
                    at: storeT0.addingTimeInterval(Double(index) + 0.25),
                    actor: "token:tk\(index)",
                    action: "user.create",
                    target: "u\(index)",
                    detail: "role viewer"
                )
                try await store.createUser(user, audit: entry)
            }
            let all = try await store.auditLog(before: nil, limit: 10)
            #expect(all.map(\.target) == ["u4", "u3", "u2", "u1", "u0"])
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.sequence > $1.sequence }, "sequences: \(all.map(\.sequence))")
            let newest = try #require(all.first)
            #expect(
                newest
                    == AuditEntry(
                        sequence: newest.sequence,
                        at: storeT0.addingTimeInterval(4.25),
                        actor: "token:tk4",
                        action: "user.create",
                        target: "u4",
                        detail: "role viewer"
                    )
            )

            let first = try await store.auditLog(before: nil, limit: 2)
            #expect(first.map(\.target) == ["u4", "u3"])
            let second = try await store.auditLog(before: first.last?.sequence, limit: 2)
            #expect(second.map(\.target) == ["u2", "u1"])
            let third = try await store.auditLog(before: second.last?.sequence, limit: 2)
            #expect(third.map(\.target) == ["u0"])
            #expect(try await store.auditLog(before: third.last?.sequence, limit: 2).isEmpty)
        }
    }

    @Test("a refused change writes no audit entry, and does not fail writes committed with it", arguments: StoreKind.allCases)
    func refusalsLeaveNoTrace(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.createUser(
                StoredUser(name: "alice", passwordHash: "h", role: .admin, createdAt: storeT0),
                audit: Self.audit("user.create", "alice")
            )
            // Duplicates raced with other writes: they may share a transaction, which must still commit the rest.
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        do {
                            try await store.createUser(
                                StoredUser(name: "alice", passwordHash: "h\(index)", role: .viewer, createdAt: storeT0),
                                audit: Self.audit("user.create", "dup-\(index)")
                            )
                            return "created"
                        } catch let error as AdminStoreError {
                            return error == .alreadyExists("alice") ? "refused" : "\(error)"
                        }
                    }
                    group.addTask {
                        try await store.setValue("v\(index)", integration: "i", key: "k\(index)", now: storeT0)
                        return "written"
                    }
                }
                var outcomes: [String: Int] = [:]
                for try await outcome in group { outcomes[outcome, default: 0] += 1 }
                return outcomes
            }
            #expect(outcomes == ["refused": 10, "written": 10])
            #expect(try await store.value(integration: "i", key: "k9") == "v9")
            #expect(try await store.user(named: "alice")?.passwordHash == "h")
            await #expect(throws: AdminStoreError.alreadyExists("ops")) {
                try await store.saveManagedIntegration(Self.integration("ops"), replace: false, audit: Self.audit("integration.create", "ops"))
                try await store.saveManagedIntegration(Self.integration("ops"), replace: false, audit: Self.audit("integration.create", "ops-again"))
            }
            #expect(try await Self.auditTrail(store) == ["integration.create ops", "user.create alice"])
            #expect(try await store.configurationVersion() == 1, "a refused change does not move the version")
        }
    }

    @Test(
        "managed integrations are created, refused as duplicates, replaced and deleted (also from routing cells)",
        arguments: StoreKind.allCases
    )
    func managedIntegrations(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.managedIntegrations().isEmpty)
            let ops = Self.integration("ops", at: storeT0.addingTimeInterval(0.5))
            try await store.saveManagedIntegration(ops, replace: false, audit: Self.audit("integration.create", "ops"))
            try await store.saveManagedIntegration(Self.integration("backup"), replace: false, audit: Self.audit("integration.create", "backup"))
            #expect(try await store.managedIntegrations() == [Self.integration("backup"), ops])

            let changed = Self.integration("ops", url: "https://hooks.example/b", at: storeT0.addingTimeInterval(60))
            await #expect(throws: AdminStoreError.alreadyExists("ops")) {
                try await store.saveManagedIntegration(changed, replace: false, audit: Self.audit("integration.create", "ops"))
            }
            #expect(try await store.managedIntegrations().last == ops)
            try await store.saveManagedIntegration(changed, replace: true, audit: Self.audit("integration.update", "ops"))
            #expect(try await store.managedIntegrations() == [Self.integration("backup"), changed])

            let cells = [
                ManagedRoutingCell(scope: "global", severity: .critical, integrations: ["ops", "backup"], override: false),
                ManagedRoutingCell(scope: "backups", severity: .warning, integrations: ["ops"], override: true),
                ManagedRoutingCell(scope: "metrics", severity: .error, integrations: ["backup"], override: false),
            ]
            for cell in cells {
                try await store.saveManagedRoutingCell(cell, audit: Self.audit("routing.update", "\(cell.scope)/\(cell.severity.rawValue)"))
            }
            try await store.deleteManagedIntegration(name: "ops", audit: Self.audit("integration.delete", "ops"))
            #expect(try await store.managedIntegrations() == [Self.integration("backup")])
            // The cell left empty is gone; the other loses the name.
            #expect(
                try await store.managedRouting() == [
                    ManagedRoutingCell(scope: "global", severity: .critical, integrations: ["backup"], override: false),
                    ManagedRoutingCell(scope: "metrics", severity: .error, integrations: ["backup"], override: false),
                ]
            )
            await #expect(throws: AdminStoreError.notFound("ops")) {
                try await store.deleteManagedIntegration(name: "ops", audit: Self.audit("integration.delete", "ops-again"))
            }
            #expect(
                try await Self.auditTrail(store).prefix(3) == [
                    "integration.delete ops", "routing.update metrics/error", "routing.update backups/warning",
                ]
            )
        }
    }

    @Test("routing cells are saved, replaced, listed in order and deleted", arguments: StoreKind.allCases)
    func routingCells(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let critical = ManagedRoutingCell(scope: "global", severity: .critical, integrations: ["pager", "chat"], override: false)
            let info = ManagedRoutingCell(scope: "global", severity: .info, integrations: ["chat"], override: false)
            let backups = ManagedRoutingCell(scope: "backups", severity: .error, integrations: [], override: true)
            for cell in [critical, info, backups] {
                try await store.saveManagedRoutingCell(cell, audit: Self.audit("routing.update", "\(cell.scope)/\(cell.severity.rawValue)"))
            }
            #expect(try await store.managedRouting() == [backups, info, critical])

            let replaced = ManagedRoutingCell(scope: "global", severity: .critical, integrations: ["pager"], override: true)
            try await store.saveManagedRoutingCell(replaced, audit: Self.audit("routing.update", "global/critical"))
            #expect(try await store.managedRouting() == [backups, info, replaced])

            try await store.deleteManagedRoutingCell(scope: "global", severity: .info, audit: Self.audit("routing.delete", "global/info"))
            #expect(try await store.managedRouting() == [backups, replaced])
            await #expect(throws: AdminStoreError.notFound("global/info")) {
                try await store.deleteManagedRoutingCell(scope: "global", severity: .info, audit: Self.audit("routing.delete", "again"))
            }
            #expect(try await Self.auditTrail(store).first == "routing.delete global/info")
            #expect(try await store.configurationVersion() == 5)
        }
    }

    @Test("the configuration version grows with every managed change and another store on the database sees it", arguments: StoreKind.allCases)
    func configurationVersionShared(kind: StoreKind) async throws {
        try await withStoreLocation(kind) { location in
            try await withOpenStore(location, instanceID: "instance-a") { first in
                try await withOpenStore(location, migrate: false, instanceID: "instance-b") { second in
                    #expect(try await first.configurationVersion() == 0)
                    try await first.saveManagedIntegration(Self.integration("ops"), replace: false, audit: Self.audit("integration.create", "ops"))
                    #expect(try await second.configurationVersion() == 1)
                    #expect(try await second.managedIntegrations().map(\.name) == ["ops"])

                    let cell = ManagedRoutingCell(scope: "global", severity: .warning, integrations: ["ops"], override: false)
                    try await second.saveManagedRoutingCell(cell, audit: Self.audit("routing.update", "global/warning"))
                    #expect(try await first.configurationVersion() == 2)
                    #expect(try await first.managedRouting() == [cell])

                    // Users and tokens are not managed configuration: the version stays.
                    try await first.createUser(
                        StoredUser(name: "a", passwordHash: "h", role: .viewer, createdAt: storeT0),
                        audit: Self.audit("user.create", "a")
                    )
                    #expect(try await second.configurationVersion() == 2)
                    #expect(try await second.user(named: "a")?.role == .viewer)

                    try await second.deleteManagedIntegration(name: "ops", audit: Self.audit("integration.delete", "ops"))
                    #expect(try await first.configurationVersion() == 3)
                    #expect(try await first.managedRouting().isEmpty)
                    #expect(try await first.auditLog(before: nil, limit: 10).count == 4)
                }
            }
        }
    }
}
