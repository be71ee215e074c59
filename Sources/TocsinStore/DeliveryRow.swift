import Foundation
import SQLKit
import TocsinCore

/// Maps `DeliveryRecord` to and from a `deliveries` row.
enum DeliveryRow {
    static let columns = [
        "id", "notification_id", "integration", "order_key", "status", "attempts", "created_at", "age_start", "next_attempt_at",
        "last_attempt_at", "last_status_code", "last_error", "latency_ms", "delivered_at",
    ]

    static func values(_ record: DeliveryRecord) -> [any Encodable & Sendable] {
        [
            record.id, record.notificationID, record.integration, record.orderKey, record.status.rawValue, record.attempts,
            record.createdAt.storedMillis, record.ageStart.storedMillis, record.nextAttemptAt.storedMillis,
            record.lastAttemptAt?.storedMillis, record.lastStatusCode, record.lastError, record.latencyMilliseconds,
            record.deliveredAt?.storedMillis,
        ]
    }

    static func decode(_ row: any SQLRow) throws -> DeliveryRecord {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Date.init(storedMillis:))
        }
        return DeliveryRecord(
            id: try row.decode(column: "id", as: String.self),
            notificationID: try row.decode(column: "notification_id", as: String.self),
            integration: try row.decode(column: "integration", as: String.self),
            orderKey: try row.decode(column: "order_key", as: String.self),
            status: DeliveryStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
            attempts: try row.decode(column: "attempts", as: Int.self),
            createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
            ageStart: try date("age_start") ?? Date(timeIntervalSince1970: 0),
            nextAttemptAt: try date("next_attempt_at") ?? Date(timeIntervalSince1970: 0),
            lastAttemptAt: try date("last_attempt_at"),
            lastStatusCode: try row.decode(column: "last_status_code", as: Int?.self),
            lastError: try row.decode(column: "last_error", as: String?.self),
            latencyMilliseconds: try row.decode(column: "latency_ms", as: Int?.self),
            deliveredAt: try date("delivered_at"),
            lease: try lease(row)
        )
    }

    /// The lease of a PostgreSQL row (SQLite keeps leases in memory; its rows have no such columns).
    private static func lease(_ row: any SQLRow) throws -> DeliveryLease? {
        guard row.contains(column: "lease_owner"), let owner = try row.decode(column: "lease_owner", as: String?.self),
            let expiresAt = try row.decode(column: "lease_expires_at", as: Int64?.self)
        else { return nil }
        return DeliveryLease(owner: owner, token: try row.decode(column: "lease_token", as: Int64.self), expiresAt: Date(storedMillis: expiresAt))
    }
}
