import Foundation
import Testing
import TocsinCore

@Suite("Edge cases found in review")
struct EdgeCaseTests {
    @Test("durations too large to hold are refused, not a crash", arguments: ["inf", "1e30", "99999999999999h", "nan", "1e300s"])
    func hugeDurations(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test("a huge duration in a file is a reported problem")
    func hugeDurationInConfig() {
        let problems = configProblems(
            """
            integrations:
              - {name: hook, type: webhook, url: "http://127.0.0.1:1/x", timeout: 1e30}
            """
        )
        #expect(problems.at("integrations[0].timeout") != nil)
    }

    @Test("a native firing alert whose endsAt has passed is a resolve")
    func pastEndsAtResolves() throws {
        let past = Timestamp.format(coreT0.addingTimeInterval(-10))
        let json = #"{"severity":"error","summary":"s","labels":{"a":"b"},"endsAt":"\#(past)"}"#
        let event = try #require(try decodeNative(json).get().first)
        #expect(event.status == .resolved)
    }

    @Test("an unknown `type` is refused, not ignored; a catalogue type is accepted")
    func typeField() throws {
        guard case .failure(let error) = decodeNative(#"{"type":"backup.failed","severity":"error","summary":"s","labels":{"a":"b"}}"#)
        else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.field == "type")
        #expect(error.reason == .invalidField)
        let known = try decodeNative(#"{"type":"backup.create_failed","severity":"error","summary":"s","labels":{"a":"b"}}"#).get()
        #expect(known.first?.category == .backups)
    }

    @Test("a recovery carries the severity that was notified, not a lower one received later")
    func recoveryCarriesNotifiedSeverity() throws {
        let routing = RoutingMatrix(defaultRoute: ["log"])
        let open = EventProcessor.plan(event: alertEvent(id: "1", severity: .critical, at: coreT0), current: nil, routing: routing, now: coreT0)
        let lowered = EventProcessor.plan(
            event: alertEvent(id: "2", severity: .warning, at: coreT0),
            current: open.alert,
            routing: routing,
            now: coreT0
        )
        #expect(lowered.outcome == .updated)
        let resolved = EventProcessor.plan(
            event: alertEvent(id: "3", severity: .info, status: .resolved, at: coreT0),
            current: lowered.alert,
            routing: routing,
            now: coreT0
        )
        #expect(resolved.outcome == .resolved)
        #expect(try #require(resolved.notification).event.severity == .critical)
    }

    @Test("an expiry decided before a refresh that removed the alert's end time does not resolve it")
    func staleExpiryAfterRefreshWithoutEndsAt() {
        let routing = RoutingMatrix(defaultRoute: ["log"])
        let opened = EventProcessor.plan(
            event: alertEvent(id: "1", severity: .error, at: coreT0, endsAt: coreT0.addingTimeInterval(300)),
            current: nil,
            routing: routing,
            now: coreT0
        )
        guard let openAlert = opened.alert else {
            Issue.record("the alert did not open")
            return
        }
        // The sweeper read the alert as expired at t+301 s ...
        let expiry = EventProcessor.expiryEvent(for: openAlert, now: coreT0.addingTimeInterval(301))
        // ... but a native re-send without endsAt landed first.
        let refreshed = EventProcessor.plan(
            event: alertEvent(id: "2", severity: .error, at: coreT0.addingTimeInterval(300.5)),
            current: openAlert,
            routing: routing,
            now: coreT0
        )
        #expect(refreshed.alert?.expiresAt == nil)
        let outcome = EventProcessor.plan(event: expiry, current: refreshed.alert, routing: routing, now: coreT0).outcome
        #expect(outcome == .ignored)
    }
}
