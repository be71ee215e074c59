import Foundation
import Testing
import TocsinTestSupport

/// The web console driven by a real browser (headless Chromium through Selenium, Tests/Browser/console_flow.py)
/// against the real executable with authentication on, and a fake Slack that records what it is sent.
@Suite("Web console in a browser", .serialized)
struct BrowserTests {
    static let failMarker = "refuse-me-once"

    @Test("an editor signs in, creates a Slack integration, routes to it, tests it, and retries a failed delivery")
    func consoleFlow() async throws {
        // Missing tools fail the test, never skip it: scripts/test.sh installs them.
        let chromium = try #require(which("chromium"), "chromium is not installed (Debian: apt-get install chromium); scripts/test.sh installs it")
        let chromedriver = try #require(
            which("chromedriver"),
            "chromedriver is not installed (Debian: apt-get install chromium-driver); scripts/test.sh installs it"
        )
        let python = try #require(which("python3"), "python3 is not installed")
        let probe = try #require(
            await (try ChildProcess(executable: python, arguments: ["-c", "import selenium"])).waitForCompletion(),
            "python3 -c 'import selenium' did not finish"
        )
        #expect(probe.status == 0, "the selenium Python package is missing (pip install selenium; scripts/test.sh installs it): \(probe.output)")
        guard probe.status == 0 else { return }
        let executable = try #require(tocsinExecutable(), "the tocsin executable is not built next to the tests: run `swift build` first")

        // The fake Slack refuses (400, permanently) the first message carrying the marker, and takes everything else.
        let refused = LockedBox(false)
        let slack = try await RecordingReceiver.start { received, _ in
            if received.text.contains(Self.failMarker) {
                let first = refused.withValue { done in
                    defer { done = true }
                    return !done
                }
                if first { return RecordingReceiver.Reply(status: 400, body: "invalid_blocks") }
            }
            return .ok
        }
        defer { Task { await slack.stop() } }

        let directory = makeTemporaryDirectory("tocsin-browser")
        let config = directory + "/tocsin.yml"
        try """
        server:
          auth:
            mode: "on"
        integrations:
          - name: archive
            type: log_file
            path: "\(directory)/archive.log"
        routing:
          global:
            critical: [archive]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let passwordFile = directory + "/password"
        try "correct horse battery staple\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let store = ["--config", config, "--data-dir", directory]
        let addUser = try await runToEnd(executable, ["user", "add", "operator", "--role", "editor", "--password-file", passwordFile] + store)
        #expect(addUser.status == 0, "tocsin user add: \(addUser.output)")
        let createToken = try await runToEnd(executable, ["token", "create", "--name", "browser-test", "--role", "ingest"] + store)
        #expect(createToken.status == 0, "tocsin token create: \(createToken.output)")
        let token = try #require(createToken.output.split(separator: "\n").last.map(String.init), "no token printed")

        let (server, port) = try await startTocsinProcess(config: config, dataDirectory: directory)
        defer { Task { await server.stop() } }

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Browser/console_flow.py").path
        let screenshots =
            ProcessInfo.processInfo.environment["TOCSIN_SCREENSHOTS"] ?? FileManager.default.currentDirectoryPath + "/.build/screenshots"
        var environment = ProcessInfo.processInfo.environment
        environment["TOCSIN_URL"] = "http://127.0.0.1:\(port)"
        environment["FAKE_SLACK_URL"] = "http://127.0.0.1:\(slack.port)/services/T000/B000/XXXX"
        environment["FAIL_MARKER"] = Self.failMarker
        environment["SCREENSHOT_DIR"] = screenshots
        environment["TOCSIN_USER"] = "operator"
        environment["TOCSIN_PASSWORD"] = "correct horse battery staple"
        environment["TOCSIN_INGEST_TOKEN"] = token
        environment["CHROMIUM"] = chromium
        environment["CHROMEDRIVER"] = chromedriver
        let browser = try ChildProcess(executable: python, arguments: [script], environment: environment)
        let run = try #require(await browser.waitForCompletion(timeout: .seconds(300)), "the browser flow did not finish in 5 minutes")
        #expect(run.status == 0, "the browser flow failed (screenshots in \(screenshots)):\n\(run.output)")

        // What the fake Slack was sent: the test message, the first event, and the refused one twice (refused, retried).
        let texts = slack.requests.map(\.text)
        #expect(texts.count == 4, "the fake Slack received: \(texts)")
        #expect(texts.filter { $0.contains("Nightly backup is late") }.count == 1)
        #expect(texts.filter { $0.contains(Self.failMarker) }.count == 2)
        #expect(slack.requests.allSatisfy { $0.path == "/services/T000/B000/XXXX" })
    }
}
