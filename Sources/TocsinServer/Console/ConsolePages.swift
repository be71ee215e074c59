import Foundation
import Hummingbird
import TocsinCore
import TocsinStore

/// The data of each console page, read from the store and the configuration and handed to its template.
extension API {
    func alertsPage(_ page: ConsolePage) async throws -> Response {
        let now = runtime.clock()
        let alerts = try await runtime.store.openAlerts(AlertFilter(limit: 500))
        let activeSilences = try await runtime.store.silences(endingAfter: now).filter { $0.state(at: now) == .active }
        let rows: [[String: Any]] = alerts.map { alert in
            let silencedBy = activeSilences.filter { $0.matches(alert.labels) }.map(\.id)
            var row = alertValues(alert, now: now)
            row["silenced"] = !silencedBy.isEmpty
            row["silencedBy"] = silencedBy.joined(separator: ", ")
            return row
        }
        let history = try await runtime.store.events(before: nil, limit: 50).map { stored -> [String: Any] in
            [
                "time": ConsoleFormat.time(stored.event.receivedAt),
                "age": ConsoleFormat.age(since: stored.event.receivedAt, now: now),
                "kind": stored.event.kind.rawValue,
                "severity": stored.event.severity.rawValue,
                "category": stored.event.category.rawValue,
                "summary": stored.event.summary,
                "outcome": stored.outcome.rawValue,
                "integrations": stored.integrations.joined(separator: ", "),
                "link": stored.event.fingerprint.map { "/alerts/" + $0 } ?? "",
                "hasLink": stored.event.fingerprint != nil,
            ]
        }
        return page.render(
            "alerts",
            title: "Alerts",
            values: ["alerts": rows, "hasAlerts": !rows.isEmpty, "history": history, "hasHistory": !history.isEmpty]
        )
    }

    private func alertValues(_ alert: AlertRecord, now: Date) -> [String: Any] {
        [
            "fingerprint": alert.fingerprint,
            "severity": alert.severity.rawValue,
            "category": alert.category.rawValue,
            "summary": alert.summary,
            "labels": ConsoleFormat.labels(alert.labels),
            "matchers": ConsoleFormat.matchersJSON(alert.labels),
            "age": ConsoleFormat.age(since: alert.startsAt, now: now),
            "startsAt": ConsoleFormat.time(alert.startsAt),
            "acknowledged": alert.acknowledgedBy != nil,
            "acknowledgedBy": alert.acknowledgedBy ?? "",
        ]
    }

    /// An alert (by fingerprint) or an alert group (by the dedup key messages link to) and its members.
    func alertPage(_ id: String, page: ConsolePage) async throws -> Response {
        let now = runtime.clock()
        let alert = try await runtime.store.openAlerts(AlertFilter(limit: 10_000)).first { $0.fingerprint == id }
        let groups = try await runtime.store.alertGroups(limit: 1000).filter { group in
            group.dedupKey == id || group.members.contains { $0.fingerprint == id }
        }
        guard alert != nil || !groups.isEmpty else {
            return page.render(
                "message",
                title: "Not found",
                values: [
                    "heading": "Nothing open here",
                    "message": "No open alert or alert group has the id \(id). It may have resolved and been cleared.",
                    "back": "/alerts",
                ],
                status: .notFound
            )
        }
        let groupValues: [[String: Any]] = groups.map { group in
            [
                "integration": group.integration,
                "key": group.key,
                "dedupKey": group.dedupKey,
                "groupLabels": ConsoleFormat.labels(group.groupLabels),
                "createdAt": ConsoleFormat.time(group.createdAt),
                "lastNotifiedAt": ConsoleFormat.time(group.lastNotifiedAt),
                "hasLastNotified": group.lastNotifiedAt != nil,
                "notifications": group.notificationCount,
                "members": group.members.map { member -> [String: Any] in
                    var suppression = ""
                    switch member.suppression {
                    case .silenced(let ids, _)?: suppression = "silenced by " + ids.joined(separator: ", ")
                    case .inhibited(let source)?: suppression = "inhibited by " + source
                    case nil: break
                    }
                    return [
                        "fingerprint": member.fingerprint,
                        "status": member.effectivelyFiring ? "firing" : "resolved",
                        "severity": member.openEvent.severity.rawValue,
                        "summary": member.openEvent.summary,
                        "labels": ConsoleFormat.labels(member.openEvent.labels),
                        "acknowledged": member.isAcknowledged,
                        "acknowledgedBy": member.acknowledgedBy ?? "",
                        "flapping": member.flapping,
                        "suppression": suppression,
                    ]
                },
            ]
        }
        var values: [String: Any] = ["id": id, "groups": groupValues, "hasGroups": !groupValues.isEmpty]
        if let alert { values["alert"] = alertValues(alert, now: now) }
        // Acknowledging a group by its key reaches every integration's copy of it.
        values["groupKey"] = groups.first(where: { $0.dedupKey == id }) == nil ? "" : id
        values["isGroup"] = groups.contains { $0.dedupKey == id }
        return page.render("alert", title: alert?.summary ?? "Alert group", values: values)
    }

    func deliveriesPage(_ page: ConsolePage) async throws -> Response {
        let now = runtime.clock()
        let counts = try await runtime.store.outboxCounts()
        var names = Set(counts.keys)
        for integration in runtime.configuration.integrations { names.insert(integration.name) }
        let depth: [[String: Any]] = names.sorted().map { name in
            let row = counts[name] ?? [:]
            return [
                "integration": name,
                "pending": row[.pending] ?? 0,
                "delivered": row[.delivered] ?? 0,
                "failed": row[.failed] ?? 0,
                "dead": row[.dead] ?? 0,
            ]
        }
        func values(_ delivery: DeliveryRecord) -> [String: Any] {
            [
                "id": delivery.id,
                "integration": delivery.integration,
                "status": delivery.status.rawValue,
                "attempts": delivery.attempts,
                "createdAt": ConsoleFormat.time(delivery.createdAt),
                "age": ConsoleFormat.age(since: delivery.createdAt, now: now),
                "lastAttemptAt": ConsoleFormat.time(delivery.lastAttemptAt),
                "statusCode": delivery.lastStatusCode.map(String.init) ?? "",
                "hasStatusCode": delivery.lastStatusCode != nil,
                "lastError": delivery.lastError ?? "",
                "retryable": delivery.status == .failed || delivery.status == .dead,
            ]
        }
        let failed = try await runtime.store.deliveries(status: .failed, integration: nil, before: nil, limit: 200)
        let dead = try await runtime.store.deliveries(status: .dead, integration: nil, before: nil, limit: 200)
        let troubled = (failed + dead).sorted { $0.0 > $1.0 }.map { values($0.1) }
        let recent = try await runtime.store.deliveries(status: nil, integration: nil, before: nil, limit: 50).map { values($0.1) }
        return page.render(
            "deliveries",
            title: "Deliveries",
            values: [
                "depth": depth, "hasDepth": !depth.isEmpty, "troubled": troubled, "hasTroubled": !troubled.isEmpty, "recent": recent,
                "hasRecent": !recent.isEmpty,
            ]
        )
    }

    func silencesPage(_ page: ConsolePage) async throws -> Response {
        let now = runtime.clock()
        let silences = try await runtime.store.silences(endingAfter: nil)
        func rows(_ state: Silence.State) -> [[String: Any]] {
            silences.filter { $0.state(at: now) == state }.map { silence in
                [
                    "id": silence.id,
                    "matchers": silence.matchers.map(\.description),
                    "startsAt": ConsoleFormat.time(silence.startsAt),
                    "endsAt": ConsoleFormat.time(silence.endsAt),
                    "schedule": silence.schedule.map { "\($0.schedule.expression) for \(DurationParser.format($0.duration))" } ?? "",
                    "createdBy": silence.createdBy,
                    "comment": silence.comment,
                    "expirable": state != .expired,
                ]
            }
        }
        let sections: [[String: Any]] = [Silence.State.active, .pending, .expired].map { state in
            let list = rows(state)
            return ["state": state.rawValue, "silences": list, "isEmpty": list.isEmpty]
        }
        return page.render("silences", title: "Silences", values: ["sections": sections])
    }

    func auditPage(_ request: Request, page: ConsolePage) async throws -> Response {
        let before = request.uri.queryParameters.get("before").flatMap { Int64($0) }
        let entries = try await runtime.store.auditLog(before: before, limit: 100)
        let rows: [[String: Any]] = entries.map { entry in
            [
                "sequence": entry.sequence, "at": ConsoleFormat.time(entry.at), "actor": entry.actor, "action": entry.action,
                "target": entry.target, "detail": entry.detail,
            ]
        }
        var values: [String: Any] = ["entries": rows, "hasEntries": !rows.isEmpty]
        if entries.count == 100, let last = entries.last { values["next"] = "/audit?before=\(last.sequence)" }
        return page.render("audit", title: "Audit log", values: values)
    }
}
