import Foundation
import Testing
import TocsinCore
import TocsinTestSupport

/// One alert opened and resolved through a live server reaches fakes of all six incident and chat services (and a
/// real SMTP server), each with the open/resolve pairing and the stable key its service uses.
@Suite("End to end: one alert through all six services", .serialized)
struct AllSinksEndToEndTests {
    static let pagerDutyKey = "R0UT1NGKEYE2E0123456789abcdef012"
    static let opsGenieKey = "6f0c5a52-1f3b-4c27-9d57-0b3f1e2a9c41"
    static let slackToken = "xoxb-e2e-0000-SECRET"
    static let serviceNowPassword = "sn-e2e-Secret!"
    static let smtpPassword = "smtp-e2e-Secret!"

    @Test("open then resolve: one incident per service, opened then closed under one key")
    func openAndResolveEverywhere() async throws {
        let pagerDuty = PagerDutyFake()
        let opsGenie = OpsGenieFake(apiKeys: [Self.opsGenieKey])
        let slack = SlackWebAPIFake(token: Self.slackToken)
        let teams = TeamsFake()
        let serviceNow = ServiceNowFake(username: "tocsin", password: Self.serviceNowPassword)
        try await pagerDuty.run { pagerDutyPeer in
            try await opsGenie.run { opsGeniePeer in
                try await ScriptedPeer.run(.status(500)) { slackPeer in
                    slackPeer.handle(slack.handler)
                    try await ScriptedPeer.run(.status(500)) { teamsPeer in
                        teamsPeer.handle(teams.handler)
                        try await serviceNow.serve { serviceNowPeer in
                            try await SMTPTestServer.run(
                                .smtp(security: .starttls, username: "tocsin", password: Self.smtpPassword)
                            ) { smtp in
                                let certificates = try #require(smtp.certificates)
                                let yaml = """
                                    server: {public_url: "https://tocsin.example.com"}
                                    integrations:
                                      - {name: pd, type: pagerduty, routing_key: "\(Self.pagerDutyKey)", url: "\(pagerDutyPeer.url(""))", notifications_as: alert}
                                      - {name: og, type: opsgenie, api_key: "\(Self.opsGenieKey)", url: "\(opsGeniePeer.url(""))"}
                                      - {name: chat, type: slack, token: "\(Self.slackToken)", channel: alerts, api_url: "\(slackPeer.url("/api"))"}
                                      - {name: teams, type: microsoft_teams, url: "\(teamsPeer.url("/workflows/e2e/triggers/manual/paths/invoke"))?sig=e2eSIGNATURE"}
                                      - {name: snow, type: servicenow, url: "\(serviceNowPeer.url(""))", username: tocsin, password: "\(Self.serviceNowPassword)"}
                                      - name: mail
                                        type: email
                                        server: 127.0.0.1
                                        port: \(smtp.port)
                                        tls: starttls
                                        from: tocsin@example.com
                                        receivers: [oncall@example.com]
                                        username: tocsin
                                        password: "\(Self.smtpPassword)"
                                        ca_file: "\(certificates.caCertificate)"
                                    routing:
                                      global:
                                        error: [pd, og, chat, teams, snow, mail]
                                    """
                                try await exercise(yaml: yaml)
                                try await check(
                                    pagerDuty: pagerDuty,
                                    opsGenie: opsGenie,
                                    slack: slack,
                                    teams: teams,
                                    serviceNow: serviceNow,
                                    smtp: smtp
                                )
                            }
                        }
                    }
                }
            }
        }
    }

    /// Posts the open, waits until every delivery is done, posts the resolve, waits again.
    func exercise(yaml: String) async throws {
        let server = try await LiveServer.start(yaml: yaml)
        do {
            let open = try await TestHTTP.post(
                server.baseURL + "/api/v1/events",
                #"{"id":"all-1","severity":"error","category":"nodes","summary":"Disk full on n7","description":"Disk usage is 97 %.","labels":{"cluster":"prod","node":"n7","alertname":"DiskFull"}}"#
            )
            #expect(open.status == 202, "\(open.body)")
            let opened = try await allDelivered(server, count: 6)
            let afterOpen = try await deliveryStates(server)
            #expect(opened, "opens not all delivered: \(afterOpen)")
            let resolve = try await TestHTTP.post(
                server.baseURL + "/api/v1/events",
                #"{"id":"all-2","status":"resolved","category":"nodes","labels":{"cluster":"prod","node":"n7","alertname":"DiskFull"}}"#
            )
            #expect(resolve.status == 202, "\(resolve.body)")
            let resolved = try await allDelivered(server, count: 12)
            let afterResolve = try await deliveryStates(server)
            #expect(resolved, "resolves not all delivered: \(afterResolve)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func deliveryStates(_ server: LiveServer) async throws -> [String] {
        let answer = try await TestHTTP.get(server.baseURL + "/api/v1/deliveries?limit=100")
        let items = answer.json()?["deliveries"] as? [[String: Any]] ?? []
        return items.map { item in
            let delivery = item["delivery"] as? [String: Any] ?? item
            return "\(delivery["integration"] ?? "?"): \(delivery["status"] ?? "?") \(delivery["lastError"] ?? "")"
        }
    }

    func allDelivered(_ server: LiveServer, count: Int) async throws -> Bool {
        await eventually(timeout: .seconds(30)) {
            let states = (try? await deliveryStates(server)) ?? []
            return states.count == count && states.allSatisfy { $0.contains(": delivered") }
        }
    }

    func check(
        pagerDuty: PagerDutyFake,
        opsGenie: OpsGenieFake,
        slack: SlackWebAPIFake,
        teams: TeamsFake,
        serviceNow: ServiceNowFake,
        smtp: SMTPTestServer
    ) async throws {
        // PagerDuty: one trigger and one resolve for one dedup key; nothing left open.
        #expect(pagerDuty.count("trigger") == 1)
        #expect(pagerDuty.count("resolve") == 1)
        #expect(pagerDuty.openAlerts.isEmpty)
        let incident = try #require(pagerDuty.resolvedAlerts.first)
        #expect(pagerDuty.resolvedAlerts.count == 1)
        #expect(incident.dedupKey.hasPrefix("tocsin-"))
        #expect(incident.summary == "Disk full on n7")
        #expect(incident.severity == "error")
        let key = incident.dedupKey

        // OpsGenie: created and closed by the same alias as PagerDuty's dedup key.
        #expect(opsGenie.createCount == 1)
        #expect(opsGenie.closeCount == 1)
        #expect(opsGenie.openAlerts.isEmpty)
        #expect(opsGenie.closedAlerts.map(\.alias) == [key])
        #expect(opsGenie.closedAlerts.first?.priority == "P2")

        // Slack: one message for the alert, edited to green on resolve; no second message.
        let messages = slack.messages
        #expect(messages.count == 1)
        #expect(messages.first?.edits == 1)
        #expect(messages.first?.colour?.lowercased() == "#2eb67d", "resolved colour: \(messages.first?.colour ?? "-")")
        #expect(messages.first?.header?.contains("Disk full on n7") == true)

        // Teams: two cards in order, the second one the recovery.
        let cards = teams.posted.compactMap(\.card).map { JSONWriter.string($0) }
        #expect(cards.count == 2)
        #expect(cards.first?.contains("[ERROR] Disk full on n7") == true, "\(cards.first ?? "")")
        #expect(cards.last?.contains("Resolved: Disk full on n7") == true, "\(cards.last ?? "")")
        #expect(cards.allSatisfy { $0.contains("https://tocsin.example.com/alerts/") })

        // ServiceNow: one incident with the correlation id, resolved (state 6).
        let incidents = serviceNow.incident(correlationID: key)
        #expect(incidents.count == 1, "\(serviceNow.incidents.map(\.fields))")
        #expect(incidents.first?.state == "6")
        #expect(incidents.first?["urgency"] == "1")

        // E-mail over STARTTLS with AUTH: the open, then the recovery.
        let mails = await smtp.waitForMessages(2)
        #expect(mails.count == 2)
        #expect(mails.allSatisfy { $0.overTLS && $0.authenticated && $0.recipients == ["oncall@example.com"] })
        let subjects = mails.map { mail in mail.text.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject:") } ?? "" }
        #expect(subjects.first?.contains("Disk full on n7") == true, "\(subjects)")
        #expect(subjects.first?.contains("RESOLVED") == false, "\(subjects)")
        #expect(subjects.last?.contains("RESOLVED") == true, "\(subjects)")
    }
}
