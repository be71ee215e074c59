import Foundation
import Testing
import TocsinTestSupport

@Suite("The tocsin command line")
struct CommandLineTests {
    func run(_ arguments: [String]) async throws -> (Int32?, [String]) {
        let executable = try #require(tocsinExecutable(), "the tocsin executable is not built: run `swift build` first (scripts/test.sh does)")
        let child = try ChildProcess(executable: executable, arguments: arguments)
        let status = await child.waitForExit(timeout: .seconds(30))
        // Output may still be draining from the pipe just after exit.
        try await Task.sleep(for: .milliseconds(200))
        return (status, child.lines)
    }

    @Test("check-config exits non-zero and lists every problem of a bad file")
    func testCheckConfigBad() async throws {
        let directory = makeTemporaryDirectory("tocsin-cli")
        let file = directory + "/bad.yml"
        try """
        integrations:
          - name: hook
            type: webhook
            url: ftp://example
            colour: blue
          - name: pager
            type: pagerpal
        routing:
          global:
            warning: [hook, nobody]
          weather:
            info: [hook]
          backups:
            urgent: [hook]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, lines) = try await run(["check-config", file])
        #expect(status == 1)
        let output = lines.joined(separator: "\n")
        #expect(output.contains("integrations[1].type: unknown integration type 'pagerpal'"))
        #expect(output.contains("routing.global.warning: unknown integration 'nobody'"))
        #expect(output.contains("routing.weather: unknown category 'weather'"))
        #expect(output.contains("routing.backups.urgent: unknown severity 'urgent'"))
        // The webhook's own settings are checked in the same pass.
        #expect(output.contains("integrations[0].url: must start with http:// or https://"))
        #expect(output.contains("integrations[0].colour: unknown key for type webhook"))
    }

    @Test("check-config reports a sink's own settings alone, and accepts a good file")
    func testCheckConfigSinkSettings() async throws {
        let directory = makeTemporaryDirectory("tocsin-cli")
        let bad = directory + "/sink.yml"
        try """
        integrations:
          - {name: hook, type: webhook, url: "ftp://example", colour: blue}
        """.write(toFile: bad, atomically: true, encoding: .utf8)
        let (badStatus, badLines) = try await run(["check-config", bad])
        #expect(badStatus == 1)
        #expect(badLines.contains { $0.contains("integrations[0].url: must start with http:// or https://") })
        #expect(badLines.contains { $0.contains("integrations[0].colour: unknown key for type webhook") })

        let good = directory + "/good.yml"
        try """
        integrations:
          - {name: ops-hook, type: webhook, url: "http://127.0.0.1:9099/webhook", format: alertmanager}
          - {name: alert-log, type: log_file, path: "\(directory)/n.log", max_size_mb: 50, max_files: 5}
        routing:
          global:
            warning: [ops-hook]
            error: [ops-hook, alert-log]
          backups:
            info: [alert-log]
            warning: {integrations: [alert-log], override: true}
          default: [alert-log]
        """.write(toFile: good, atomically: true, encoding: .utf8)
        let (goodStatus, goodLines) = try await run(["check-config", good])
        #expect(goodStatus == 0, "\(goodLines)")

        let (routeStatus, routeLines) = try await run(["route", "--config", good, "--category", "backups", "--severity", "warning"])
        #expect(routeStatus == 0)
        #expect(routeLines.contains("alert-log\tvia backups.warning (override)"))
        let (_, criticalLines) = try await run(["route", "--config", good, "--category", "metrics", "--severity", "critical"])
        #expect(criticalLines.contains("ops-hook\tvia global.error"))
        #expect(criticalLines.contains("alert-log\tvia global.error"))
    }

    @Test("test-integration sends a marked message, prints the service's answer, and exits by outcome")
    func testTestIntegration() async throws {
        try await ScriptedPeer.run(.status(200, body: "ok"), .echo(403, extra: "forbidden")) { peer in
            let directory = makeTemporaryDirectory("tocsin-cli")
            let file = directory + "/t.yml"
            try """
            integrations:
              - {name: ops-hook, type: webhook, url: "\(peer.url())", bearer_token: "tok-CLI-SECRET-42"}
            """.write(toFile: file, atomically: true, encoding: .utf8)
            let (okStatus, okLines) = try await run(["test-integration", "ops-hook", "--config", file])
            #expect(okStatus == 0, "\(okLines)")
            #expect(okLines.first?.contains("ops-hook (webhook): delivered (HTTP 200)") == true, "\(okLines)")
            #expect(peer.requests.first?.bodyText.contains("tocsin_test") == true)

            let (refusedStatus, refusedLines) = try await run(["test-integration", "ops-hook", "--config", file])
            #expect(refusedStatus == 1)
            let output = refusedLines.joined(separator: "\n")
            #expect(output.contains("permanent (HTTP 403)"), "\(output)")
            #expect(output.contains("forbidden"))
            #expect(!output.contains("tok-CLI-SECRET-42"), "\(output)")

            let (unknownStatus, unknownLines) = try await run(["test-integration", "nobody", "--config", file])
            #expect(unknownStatus == 2)
            #expect(unknownLines.contains { $0.contains("no integration named 'nobody' (configured: ops-hook)") })
        }
    }

    @Test("check-config fails on a broken message template, naming the template, before any page is sent")
    func testCheckConfigBrokenTemplate() async throws {
        let directory = makeTemporaryDirectory("tocsin-cli")
        let file = directory + "/templates.yml"
        try """
        integrations:
          - name: pager
            type: pagerduty
            routing_key: "0123456789abcdef0123456789abcdef"
            templates:
              summary: "{{#labels}}{{name}} is unclosed"
          - name: chat
            type: slack
            url: "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
            templates:
              title: "{{no_such_field}}"
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, lines) = try await run(["check-config", file])
        #expect(status == 1)
        let output = lines.joined(separator: "\n")
        #expect(output.contains("integrations[0].templates.summary: is not a valid Mustache template"), "\(output)")
        #expect(output.contains("integrations[1].templates.title: renders to nothing"), "\(output)")
        #expect(!output.contains("0123456789abcdef0123456789abcdef"))
    }
}
