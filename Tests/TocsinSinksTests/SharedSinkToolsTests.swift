import Foundation
import Testing
import TocsinCore
import TocsinSinks

@Suite("Shared sink tools: truncation, secret redaction, message templates")
struct SharedSinkToolsTests {
    // MARK: truncation

    @Test("text within the limit is untouched; longer text is cut to the limit with the visible marker")
    func truncatesCharacters() {
        #expect(Truncation.characters("short", limit: 10) == "short")
        let cut = Truncation.characters(String(repeating: "é", count: 200), limit: 130)
        #expect(cut.count == 130)
        #expect(cut.hasSuffix(Truncation.marker))
        #expect(cut.hasPrefix("ééé"))
    }

    @Test("byte truncation never splits a character and stays within the byte limit")
    func truncatesBytes() {
        let text = String(repeating: "ü🙂", count: 100)
        for limit in [20, 21, 22, 23, 100] {
            let cut = Truncation.utf8Bytes(text, limit: limit)
            #expect(cut.utf8.count <= limit, "limit \(limit): \(cut.utf8.count) bytes")
            #expect(cut.hasSuffix(Truncation.marker))
            #expect(String(decoding: Array(cut.utf8), as: UTF8.self) == cut)
        }
        #expect(Truncation.utf8Bytes("abc", limit: 3) == "abc")
    }

    // MARK: redaction

    @Test("a redactor removes keys, basic credentials in base64, and every part of a token-bearing URL")
    func redactsSecrets() {
        var redactor = SecretRedactor()
        redactor.add(Secret("R0UT1NGKEY0123456789abcdef012345"))
        redactor.addBasic(username: "svc", password: Secret("hunter2-very-secret"))
        redactor.addURL(Secret("https://hooks.slack.com/services/T0001/B0002/XXXXSECRETXXXX?sig=abcdEFGH1234"))
        let peer = """
            key R0UT1NGKEY0123456789abcdef012345 auth Basic \(Data("svc:hunter2-very-secret".utf8).base64EncodedString())
            url https://hooks.slack.com/services/T0001/B0002/XXXXSECRETXXXX?sig=abcdEFGH1234 path /services/T0001/B0002/XXXXSECRETXXXX
            token XXXXSECRETXXXX sig abcdEFGH1234 password hunter2-very-secret
            """
        let redacted = redactor.redact(peer, limit: 10_000)
        for secret in [
            "R0UT1NGKEY0123456789abcdef012345", "hunter2-very-secret", Data("svc:hunter2-very-secret".utf8).base64EncodedString(),
            "XXXXSECRETXXXX", "abcdEFGH1234", "/services/T0001",
        ] {
            #expect(!redacted.contains(secret), "\(secret) survived in \(redacted)")
        }
        #expect(redacted.contains("https://hooks.slack.com/…"))
    }

    @Test("redaction happens before the cut, so no part of a secret straddling the limit survives")
    func redactsBeforeCutting() {
        var redactor = SecretRedactor()
        redactor.add(Secret("SECRETSECRETSECRET"))
        let text = String(repeating: "x", count: 500) + "SECRETSECRETSECRET"
        let redacted = redactor.redact(text, limit: 505)
        #expect(!redacted.contains("SECRET"))
        #expect(redacted.count == 505)
    }

    // MARK: templates

    static let specs = [
        TemplateSpec(name: "title", defaultText: "[{{status_upper}}] {{summary}}"),
        TemplateSpec(name: "body", defaultText: "{{#labels}}{{name}}={{value}}\n{{/labels}}{{#has_link}}{{link}}{{/has_link}}", required: false),
        TemplateSpec(name: "html", defaultText: "<b>{{summary}}</b>", escaping: .html),
        TemplateSpec(name: "mrkdwn", defaultText: "*{{summary}}*", escaping: .slack),
    ]

    func reader(_ settings: [String: JSONValue]) -> SettingsReader {
        SettingsReader(IntegrationConfig(name: "pager", type: "pagerduty", settings: settings, path: "integrations[3]"))
    }

    @Test("default templates render the notification's fields, labels sorted, and the link under the public URL")
    func rendersDefaults() throws {
        var settings = reader([:])
        let templates = settings.templates(Self.specs, publicURL: "https://tocsin.example.com")
        #expect(settings.finish() == nil)
        let outbound = TestNotification.samples(integration: "pager")[0]
        let context = MessageContext(outbound, publicURL: "https://tocsin.example.com")
        #expect(templates.render("title", context) == "[FIRING] Disk usage above 80 % on node-1")
        #expect(
            templates.render("body", context)
                == "alertname=DiskUsageHigh\ncluster=prod\ndc=dc1\nnode=node-1\nhttps://tocsin.example.com/alerts/sample-fingerprint"
        )
        let resolve = MessageContext(TestNotification.samples(integration: "pager")[1], publicURL: nil)
        #expect(templates.render("title", resolve) == "[RESOLVED] Disk usage above 80 % on node-1")
        #expect(resolve["link"] == "")
        #expect(resolve.values["has_link"] as? Bool == false)
        #expect(templates.render("body", resolve) == "alertname=DiskUsageHigh\ncluster=prod\ndc=dc1\nnode=node-1")
    }

    @Test("escaping follows the template's kind: none for text, HTML for e-mail, &<> for Slack mrkdwn")
    func escaping() throws {
        var settings = reader([:])
        let templates = settings.templates(Self.specs, publicURL: nil)
        var outbound = TestNotification.samples(integration: "pager")[0]
        outbound.notification.event.summary = "a < b & \"c\""
        let context = MessageContext(outbound, publicURL: nil)
        #expect(templates.render("title", context) == "[FIRING] a < b & \"c\"")
        #expect(templates.render("html", context) == "<b>a &lt; b &amp; &quot;c&quot;</b>")
        #expect(templates.render("mrkdwn", context) == "*a &lt; b &amp; \"c\"*")
    }

    @Test("overrides replace defaults; a broken, unknown or empty template is a problem at its path")
    func overridesAndProblems() throws {
        var good = reader(["templates": .object(["title": .string("{{severity_upper}} {{category_title}}: {{summary}}")])])
        let templates = good.templates(Self.specs, publicURL: nil)
        #expect(good.finish() == nil)
        let context = MessageContext(TestNotification.samples(integration: "pager")[2], publicURL: nil)
        #expect(templates.render("title", context) == "INFO Backups: Backup finished on node-1")

        var bad = reader([
            "templates": .object([
                "title": .string("{{#labels}}unclosed"),
                "subject": .string("{{summary}}"),
            ])
        ])
        _ = bad.templates(Self.specs, publicURL: nil)
        let problems = bad.finish()?.problems ?? []
        #expect(
            problems.contains { $0.path == "integrations[3].templates.title" && $0.message.contains("not a valid Mustache template") },
            "\(problems)"
        )
        #expect(problems.contains { $0.path == "integrations[3].templates.subject" && $0.message.contains("unknown template") }, "\(problems)")

        var empty = reader(["templates": .object(["title": .string("{{no_such_field}}")])])
        _ = empty.templates(Self.specs, publicURL: nil)
        #expect(empty.finish()?.problems.first?.message.contains("renders to nothing") == true)
    }

    @Test("the test message is marked: a label, a summary that says so, and a fresh key each time")
    func testMessage() {
        let first = TestNotification.make(integration: "ops", now: Date())
        let second = TestNotification.make(integration: "ops", now: Date())
        #expect(first.notification.event.labels[TestNotification.label] == "true")
        #expect(first.notification.event.summary.contains("test message"))
        #expect(first.notification.event.fingerprint != second.notification.event.fingerprint)
        #expect(MessageContext(first, publicURL: nil).values["test"] as? Bool == true)
    }
}
