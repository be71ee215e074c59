import Foundation
import Hummingbird
import TocsinCore
import TocsinStore

/// Acknowledgements, alert groups and silences: the API of noise control.
extension API {
    func registerNoiseControl(on endpoints: EndpointRegistrar) {
        endpoints.post("/api/v1/alerts/{fingerprint}/ack", .editor) { request, context, _ in
            try await acknowledge(request, target: .alert(fingerprint: try context.parameters.require("fingerprint")))
        }
        endpoints.post("/api/v1/groups/{key}/ack", .editor) { request, context, _ in
            try await acknowledge(request, target: .group(dedupKey: try context.parameters.require("key")))
        }
        endpoints.get("/api/v1/groups", .viewer) { request, _, _ in try await getGroups(request) }
        endpoints.post("/api/v1/silences", .editor) { request, _, _ in try await postSilence(request) }
        endpoints.get("/api/v1/silences", .viewer) { request, _, _ in try await getSilences(request) }
        endpoints.get("/api/v1/silences/{id}", .viewer) { _, context, _ in try await getSilence(try context.parameters.require("id")) }
        endpoints.delete("/api/v1/silences/{id}", .editor) { _, context, _ in try await expireSilence(try context.parameters.require("id")) }
    }

    // MARK: acknowledgement

    struct Acknowledged: Encodable {
        var alerts: [String]
        var groups: [String]
        /// Integrations whose incident platform was told (PagerDuty, OpsGenie) because the whole group is acknowledged.
        var forwardedTo: [String]
        var acknowledgedBy: String
    }

    func acknowledge(_ request: Request, target: AcknowledgeTarget) async throws -> Response {
        let body = try await optionalObject(request, api: "acknowledge")
        let author = try text(body, "by", limit: 200) ?? "api"
        guard
            let result = try await runtime.store.acknowledge(
                target,
                by: author,
                now: runtime.clock(),
                noise: runtime.configuration.noise,
                forwardTo: runtime.acknowledgingIntegrations
            )
        else {
            let message =
                switch target {
                case .alert(let fingerprint): "no open alert has the fingerprint '\(fingerprint)'"
                case .group(let key): "no alert group has the key '\(key)'"
                }
            throw APIError(status: .notFound, reason: "not_found", message: message)
        }
        runtime.dispatcher.wake(result.forwardedTo)
        return try JSONResponse.make(
            Acknowledged(alerts: result.alerts, groups: result.groups, forwardedTo: result.forwardedTo, acknowledgedBy: author)
        )
    }

    // MARK: groups

    struct GroupList: Encodable {
        struct Member: Encodable {
            var fingerprint: String
            var status: String
            var severity: Severity
            var labels: [String: String]
            var summary: String
            var notified: Bool
            var flapping: Bool
            var acknowledgedBy: String?
            var silencedBy: [String]?
            var inhibitedBy: String?
        }

        struct Group: Encodable {
            var id: String
            var integration: String
            var key: String
            var dedupKey: String
            var groupLabels: [String: String]
            var alerts: [Member]
            var createdAt: Date
            var nextLookAt: Date?
            var lastNotifiedAt: Date?
            var notifications: Int
        }

        var groups: [Group]
    }

    func getGroups(_ request: Request) async throws -> Response {
        let groups = try await runtime.store.alertGroups(limit: 1000)
        return try JSONResponse.make(
            GroupList(
                groups: groups.map { group in
                    GroupList.Group(
                        id: group.id,
                        integration: group.integration,
                        key: group.key,
                        dedupKey: group.dedupKey,
                        groupLabels: group.groupLabels,
                        alerts: group.members.map { member in
                            var silencedBy: [String]?
                            var inhibitedBy: String?
                            switch member.suppression {
                            case .silenced(let ids, _)?: silencedBy = ids
                            case .inhibited(let source)?: inhibitedBy = source
                            case nil: break
                            }
                            return GroupList.Member(
                                fingerprint: member.fingerprint,
                                status: member.effectivelyFiring ? "firing" : "resolved",
                                severity: member.openEvent.severity,
                                labels: member.openEvent.labels,
                                summary: member.openEvent.summary,
                                notified: member.notifiedFiring,
                                flapping: member.flapping,
                                acknowledgedBy: member.isAcknowledged ? member.acknowledgedBy : nil,
                                silencedBy: silencedBy,
                                inhibitedBy: inhibitedBy
                            )
                        },
                        createdAt: group.createdAt,
                        nextLookAt: group.nextFlushAt,
                        lastNotifiedAt: group.lastNotifiedAt,
                        notifications: group.notificationCount
                    )
                }
            )
        )
    }

    // MARK: silences

    struct SilenceAnswer: Encodable {
        var silence: JSONValue
    }

    struct SilenceList: Encodable {
        var silences: [JSONValue]
    }

    /// A silence's JSON with its state at `now`.
    private func silenceJSON(_ silence: Silence, now: Date) -> JSONValue {
        guard case .object(var object) = silence.jsonValue else { return silence.jsonValue }
        object["state"] = .string(silence.state(at: now).rawValue)
        return .object(object)
    }

    func postSilence(_ request: Request) async throws -> Response {
        let body = try await optionalObject(request, api: "silences")
        let now = runtime.clock()
        let silence = try Self.silence(from: body, now: now)
        try await runtime.store.saveSilence(silence, now: now)
        return try JSONResponse.make(SilenceAnswer(silence: silenceJSON(silence, now: now)), status: .created)
    }

    func getSilences(_ request: Request) async throws -> Response {
        let now = runtime.clock()
        let wanted = request.uri.queryParameters.get("state")
        if let wanted, !["active", "pending", "expired", "all"].contains(wanted) {
            throw APIError(
                status: .badRequest,
                reason: "invalid_query",
                field: "state",
                message: "expected active, pending, expired or all"
            )
        }
        var silences = try await runtime.store.silences(endingAfter: wanted == "expired" || wanted == "all" ? nil : now)
        if let wanted, wanted != "all" { silences = silences.filter { $0.state(at: now).rawValue == wanted } }
        return try JSONResponse.make(SilenceList(silences: silences.map { silenceJSON($0, now: now) }))
    }

    func getSilence(_ id: String) async throws -> Response {
        guard let silence = try await runtime.store.silence(id: id) else {
            throw APIError(status: .notFound, reason: "not_found", message: "no silence has the id '\(id)'")
        }
        return try JSONResponse.make(SilenceAnswer(silence: silenceJSON(silence, now: runtime.clock())))
    }

    /// Expires a silence now (it stays listed as expired); alerts it muted and that still fire are then notified.
    func expireSilence(_ id: String) async throws -> Response {
        guard var silence = try await runtime.store.silence(id: id) else {
            throw APIError(status: .notFound, reason: "not_found", message: "no silence has the id '\(id)'")
        }
        let now = runtime.clock()
        if silence.endsAt > now {
            silence.endsAt = max(now, silence.startsAt)
            silence.updatedAt = now
            try await runtime.store.saveSilence(silence, now: now)
            // The muted alerts' groups are due now; look at them at once rather than on the next tick.
            try await runtime.groups.flush()
        }
        return try JSONResponse.make(SilenceAnswer(silence: silenceJSON(silence, now: now)))
    }

    /// Builds a silence from a request body, refusing anything incomplete with the field at fault.
    static func silence(from body: [String: JSONValue], now: Date) throws -> Silence {
        func invalid(_ field: String, _ message: String) -> APIError {
            APIError(status: .badRequest, reason: "invalid_field", field: field, message: message)
        }
        let known: Set<String> = ["matchers", "starts_at", "ends_at", "duration", "schedule", "created_by", "comment"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw invalid(unknown, "unknown field (expected \(known.sorted().joined(separator: ", ")))")
        }
        guard case .array(let items)? = body["matchers"], !items.isEmpty else {
            throw invalid("matchers", "expected a list of at least one matcher such as cluster=\"prod\"")
        }
        var matchers: [LabelMatcher] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else { throw invalid("matchers[\(index)]", "expected a matcher string") }
            let matcher: LabelMatcher
            do {
                matcher = try LabelMatcher.parse(text)
            } catch {
                throw invalid("matchers[\(index)]", error.message)
            }
            // A silence is kept as its matchers' text: one that would read back differently is refused now.
            guard (try? LabelMatcher.parse(matcher.description)) == matcher else {
                throw invalid("matchers[\(index)]", "the value cannot be stored as written (a backslash before a quote)")
            }
            matchers.append(matcher)
        }
        if matchers.allSatisfy({ $0.matches([:]) }) {
            throw invalid("matchers", "the matchers match alerts without any label: add one that names a value, such as cluster=\"prod\"")
        }
        func date(_ field: String) throws -> Date? {
            guard let value = body[field] else { return nil }
            guard case .string(let text) = value, let date = Timestamp.parse(text) else {
                throw invalid(field, "expected an RFC 3339 time such as 2026-11-21T20:00:00Z")
            }
            return date
        }
        func duration(_ value: JSONValue?, field: String) throws -> Duration? {
            guard let value else { return nil }
            guard case .string(let text) = value, let duration = DurationParser.parse(text), duration > .zero else {
                throw invalid(field, "expected a duration such as 30m, 2h or 1d")
            }
            return duration
        }
        guard case .string(let author)? = body["created_by"], !author.trimmingCharacters(in: .whitespaces).isEmpty, author.count <= 200
        else { throw invalid("created_by", "expected who creates the silence (1 to 200 characters)") }
        guard case .string(let comment)? = body["comment"], !comment.trimmingCharacters(in: .whitespaces).isEmpty, comment.count <= 2000
        else { throw invalid("comment", "expected why (1 to 2000 characters)") }
        var schedule: RecurringWindow?
        if let value = body["schedule"] {
            guard case .object(let object) = value else { throw invalid("schedule", "expected {\"cron\": \"0 2 * * 6\", \"duration\": \"4h\"}") }
            guard case .string(let cron)? = object["cron"] else { throw invalid("schedule.cron", "expected a cron expression such as 0 2 * * 6") }
            let parsed: CronSchedule
            do {
                parsed = try CronSchedule(parsing: cron)
            } catch {
                throw invalid("schedule.cron", error.description)
            }
            guard let length = try duration(object["duration"], field: "schedule.duration") else {
                throw invalid("schedule.duration", "expected how long each window lasts, such as 4h")
            }
            schedule = RecurringWindow(schedule: parsed, duration: length)
        }
        let startsAt = try date("starts_at") ?? now
        let span = try duration(body["duration"], field: "duration")
        if body["ends_at"] != nil && span != nil { throw invalid("duration", "give ends_at or duration, not both") }
        let endsAt: Date
        if let end = try date("ends_at") {
            endsAt = end
        } else if let span {
            endsAt = startsAt.addingTimeInterval(span.seconds)
        } else if schedule != nil {
            // A maintenance window recurs until it is expired.
            endsAt = startsAt.addingTimeInterval(10 * 366 * 86_400)
        } else {
            throw invalid("ends_at", "expected ends_at or duration (a silence without a schedule must end)")
        }
        guard endsAt > startsAt else { throw invalid("ends_at", "must be after starts_at") }
        guard endsAt > now else { throw invalid("ends_at", "is in the past: the silence would never be active") }
        return Silence(
            id: UUID().uuidString.lowercased(),
            matchers: matchers,
            startsAt: startsAt,
            endsAt: endsAt,
            schedule: schedule,
            createdBy: author,
            comment: comment,
            createdAt: now,
            updatedAt: now
        )
    }

    // MARK: bodies

    /// A JSON object body; an empty body is an empty object.
    private func optionalObject(_ request: Request, api: String) async throws -> [String: JSONValue] {
        let bytes = try await collect(request, api: api)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw APIError(status: .badRequest, reason: "malformed_json", message: "the body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw APIError(status: .badRequest, reason: "invalid_field", message: "expected a JSON object")
        }
        return object
    }

    /// An optional text field of at most `limit` characters.
    private func text(_ body: [String: JSONValue], _ field: String, limit: Int) throws -> String? {
        guard let value = body[field] else { return nil }
        guard case .string(let text) = value, !text.isEmpty, text.count <= limit else {
            throw APIError(status: .badRequest, reason: "invalid_field", field: field, message: "expected a string of 1 to \(limit) characters")
        }
        return text
    }
}
