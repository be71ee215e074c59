import Foundation
import Testing
import TocsinCore
import TocsinSinks

/// What the sink writes for each kind of notification: templates, ids, threading, priority, limits. No network.
@Suite("E-mail sink messages")
struct EmailSinkMessageTests {
    static let publicURL = "https://tocsin.example.com"

    static func mail(
        _ outbound: OutboundNotification,
        settings: [String: JSONValue] = EmailFixture.base,
        publicURL: String? = publicURL
    ) throws -> ParsedMail {
        let sink = try EmailFixture.sink(settings, publicURL: publicURL)
        return try ParsedMail(sink.makeMessage(outbound, date: Fixture.receivedAt).rendered())
    }

    @Test("an open: subject, text part with summary, severity, category, labels, description, start and link")
    func openText() throws {
        let mail = try Self.mail(Fixture.outbound(.open))
        #expect(mail.subject == "[FIRING] CRITICAL Disk usage above 80 % on n3")
        let text = mail.parts[0].text
        for expected in [
            "FIRING · CRITICAL · Nodes", "Disk usage above 80 % on n3", "Disk usage on n3 is 83 %, above the 80 % warning level.",
            "Severity: critical", "Category: Nodes", "Started at: 2026-01-01T00:00:00Z", "  alertname: DiskUsageHigh", "  node: n3",
            "  runbook: https://runbooks.example.com/disk", "  Disk dashboard: https://grafana.example.com/d/disk?node=n3",
            "View in Tocsin: https://tocsin.example.com/alerts/fp-5d2c9a",
        ] {
            #expect(text.contains(expected), "the text part lacks '\(expected)':\n\(text)")
        }
        #expect(!text.contains("Resolved at"))
        #expect(!text.contains("{{"))
    }

    @Test("an open: the HTML part shows labels as a table, links as anchors, and escapes event text")
    func openHTML() throws {
        var event = Fixture.event(for: .open, description: "Use <b>df -h</b> & check \"mounts\"")
        event.summary = "Disk <script>alert(1)</script> full"
        let html = try Self.mail(Fixture.outbound(.open, event: event)).parts[1].text
        #expect(
            html.contains(
                "<tr><td style=\"border: 1px solid #d0d7de;\"><code>alertname</code></td><td style=\"border: 1px solid #d0d7de;\">DiskUsageHigh</td></tr>"
            )
        )
        #expect(html.contains("<a href=\"https://grafana.example.com/d/disk?node=n3\">Disk dashboard</a>"))
        #expect(html.contains("<a href=\"https://tocsin.example.com/alerts/fp-5d2c9a\">View in Tocsin</a>"))
        #expect(html.contains("Disk &lt;script&gt;alert(1)&lt;/script&gt; full"))
        #expect(!html.contains("<script>"))
        #expect(html.contains("Use &lt;b&gt;df -h&lt;/b&gt; &amp; check &quot;mounts&quot;"))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
    }

    @Test("a resolve says so, with when it ended; a notification has no alert fields")
    func resolveAndNotification() throws {
        let resolve = try Self.mail(Fixture.outbound(.resolve))
        #expect(resolve.subject == "[RESOLVED] CRITICAL Disk usage above 80 % on n3")
        #expect(resolve.parts[0].text.contains("Resolved at: 2026-01-01T00:10:00Z"))
        #expect(resolve.parts[1].text.contains("Resolved at"))
        let notification = try Self.mail(Fixture.outbound(.notification))
        #expect(notification.subject == "[NOTIFICATION] INFO Local backup created successfully")
        #expect(!notification.parts[0].text.contains("Resolved at"))
    }

    @Test("without a description or a public URL those blocks are left out, not left empty")
    func optionalBlocks() throws {
        let mail = try Self.mail(Fixture.outbound(.open, event: Fixture.event(for: .open, description: nil)), publicURL: nil)
        let text = mail.parts[0].text
        #expect(!text.contains("View in Tocsin"))
        #expect(!mail.parts[1].text.contains("View in Tocsin"))
        #expect(!text.contains("\n\n\n") && !text.contains("\r\n\r\n\r\n"))
        #expect(text.contains("Disk usage above 80 % on n3\r\n\r\nStatus: firing"))
    }

    @Test("the Message-ID comes from the delivery id: a retry carries the same one, another delivery another")
    func messageID() throws {
        let sink = try EmailFixture.sink(EmailFixture.base)
        let first = sink.makeMessage(Fixture.outbound(.open), date: Fixture.receivedAt)
        let retry = sink.makeMessage(Fixture.outbound(.open), date: Fixture.receivedAt.addingTimeInterval(60))
        let other = sink.makeMessage(Fixture.outbound(.open, deliveryID: "another-delivery"), date: Fixture.receivedAt)
        #expect(first.messageID == "tocsin.d3f0c2a9b8e7d6c5b4a39281@example.org")
        #expect(retry.messageID == first.messageID)
        #expect(other.messageID != first.messageID)
        // Same inputs, same bytes: a retry at the same moment is the same message.
        #expect(sink.makeMessage(Fixture.outbound(.open), date: Fixture.receivedAt).rendered() == first.rendered())
        // An id with characters a msg-id cannot hold is hashed.
        let odd = sink.makeMessage(Fixture.outbound(.open, deliveryID: "a b@c<d>"), date: Fixture.receivedAt).messageID
        #expect(odd.hasPrefix("tocsin.") && odd.hasSuffix("@example.org"))
        #expect(odd.dropFirst(7).dropLast(12).allSatisfy { $0.isHexDigit })
    }

    @Test("threading: opens and the resolve refer to one id per alert occurrence; the resolve replies to it")
    func threading() throws {
        let open = try Self.mail(Fixture.outbound(.open))
        let resolve = try Self.mail(Fixture.outbound(.resolve, deliveryID: "resolve-delivery"))
        let thread = "<tocsin.alert.fp-5d2c9a.1767225600@example.org>"
        #expect(open.header("References") == thread)
        #expect(open.header("In-Reply-To") == nil)
        #expect(resolve.header("References") == thread)
        #expect(resolve.header("In-Reply-To") == thread)
        #expect(open.header("Message-ID") != resolve.header("Message-ID"))
        let notification = try Self.mail(Fixture.outbound(.notification))
        #expect(notification.header("References") == nil && notification.header("In-Reply-To") == nil)
    }

    @Test("severity: critical and error opens are marked important, info ones unimportant, recoveries not at all")
    func priority() throws {
        let critical = try Self.mail(Fixture.outbound(.open))
        #expect(critical.header("Importance") == "high")
        #expect(critical.header("X-Priority") == "1 (Highest)")
        #expect(critical.header("X-Tocsin-Severity") == "critical")
        #expect(critical.header("X-Tocsin-Status") == "firing")
        #expect(critical.header("Auto-Submitted") == "auto-generated")
        #expect(try Self.mail(Fixture.outbound(.resolve)).header("Importance") == nil)
        #expect(try Self.mail(Fixture.outbound(.notification)).header("Importance") == "low")
        var warning = Fixture.event(for: .open)
        warning.severity = .warning
        #expect(try Self.mail(Fixture.outbound(.open, event: warning)).header("X-Priority") == nil)
    }

    @Test("a long subject is cut to 250 characters with the marker; an oversized body part too")
    func truncation() throws {
        var event = Fixture.event(for: .open, description: String(repeating: "d", count: 300 * 1024))
        event.summary = String(repeating: "s", count: 1000)
        let mail = try Self.mail(Fixture.outbound(.open, event: event))
        #expect(mail.subject.count == EmailSink.subjectLimit)
        #expect(mail.subject.hasSuffix(Truncation.marker))
        #expect(mail.parts[0].body.count <= EmailSink.bodyLimit + 64)
        #expect(mail.parts[0].text.hasSuffix(Truncation.marker))
    }

    @Test("subject (the form's field) and templates overrides are used")
    func overrides() throws {
        let settings = EmailFixture.settings([
            "subject": .string("{{severity_upper}} on {{label.cluster}}: {{summary}}"),
            "templates": .object(["text": .string("Only {{summary}}"), "html": .string("<b>{{summary}}</b>")]),
        ])
        let mail = try Self.mail(Fixture.outbound(.open), settings: settings)
        #expect(mail.subject == "CRITICAL on prod-eu: Disk usage above 80 % on n3")
        #expect(mail.parts[0].text == "Only Disk usage above 80 % on n3")
        #expect(mail.parts[1].text == "<b>Disk usage above 80 % on n3</b>")
        let viaTemplates = try Self.mail(
            Fixture.outbound(.open),
            settings: EmailFixture.settings(["templates": .object(["subject": .string("{{summary}}")])])
        )
        #expect(viaTemplates.subject == "Disk usage above 80 % on n3")
    }

    @Test("the test message is marked as one")
    func testMessage() throws {
        let mail = try Self.mail(TestNotification.make(integration: "ops-email", now: Fixture.receivedAt))
        #expect(mail.parts[0].text.contains("This is a test message from Tocsin"))
        #expect(mail.subject.contains("Tocsin test message"))
    }
}
