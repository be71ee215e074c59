import Foundation

/// Small durable values a sink keeps between deliveries, per integration: the Slack message posted for an alert
/// (so a resolve edits it instead of posting anew). Kept in the store so they survive a restart.
public protocol SinkStateStore: Sendable {
    func value(integration: String, key: String) async throws -> String?
    func setValue(_ value: String, integration: String, key: String, now: Date) async throws
    func removeValue(integration: String, key: String) async throws
}

/// A sink state held in memory: for tests and for `tocsin test-integration`, which must not touch the store.
public final class InMemorySinkStateStore: SinkStateStore, @unchecked Sendable {
    private var values: [String: String] = [:]
    private let lock = NSLock()

    public init() {}

    public func value(integration: String, key: String) async throws -> String? {
        lock.withLock { values["\(integration)\u{0}\(key)"] }
    }

    public func setValue(_ value: String, integration: String, key: String, now: Date) async throws {
        lock.withLock { values["\(integration)\u{0}\(key)"] = value }
    }

    public func removeValue(integration: String, key: String) async throws {
        _ = lock.withLock { values.removeValue(forKey: "\(integration)\u{0}\(key)") }
    }
}
