import Foundation
import Testing
import TocsinTestSupport

@Suite("Prometheus pointed at Tocsin as its Alertmanager", .serialized)
struct PrometheusCompatibilityTests {
    @Test("a real Prometheus sends a firing rule's alert to Tocsin unchanged, and Tocsin delivers it")
    func testPrometheusSendsAlerts() async throws {
        let prometheus = try #require(
            which("prometheus"),
            "Debian's prometheus is not installed: scripts/test.sh installs it (apt-get install prometheus)"
        )
        let receiver = try await RecordingReceiver.start()
        let server = try await LiveServer.start(
            yaml: """
                integrations:
                  - {name: hook, type: webhook, url: "\(receiver.url)", format: alertmanager}
                routing:
                  default: [hook]
                """
        )
        let directory = makeTemporaryDirectory("prometheus")
        try """
        groups:
          - name: tocsin-compatibility
            interval: 1s
            rules:
              - alert: TocsinAlwaysFiring
                expr: vector(1)
                labels:
                  severity: critical
                  category: cluster
                annotations:
                  summary: Prometheus reached Tocsin
                  description: A rule that always fires.
        """.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        try """
        global:
          evaluation_interval: 1s
        rule_files: ["\(directory)/rules.yml"]
        alerting:
          alertmanagers:
            - api_version: v2
              static_configs:
                - targets: ["127.0.0.1:\(server.port)"]
        """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let child = try ChildProcess(
            executable: prometheus,
            arguments: [
                "--config.file=\(directory)/prometheus.yml",
                "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:0",
                // Prometheus drops the first send when it comes before its Alertmanager list is ready, then waits
                // a minute (the default resend delay) to send again; a short delay keeps the test quick.
                "--rules.alert.resend-delay=2s",
            ]
        )
        let arrived = try await eventually(timeout: .seconds(60)) {
            let alerts = try await TestHTTP.get(server.baseURL + "/api/v1/alerts?label=alertname=TocsinAlwaysFiring").json()
            return ((alerts?["alerts"] as? [[String: Any]])?.count ?? 0) == 1
        }
        #expect(arrived, "Prometheus output: \(child.lines.suffix(10).joined(separator: "\n"))")
        let alerts = try await TestHTTP.get(server.baseURL + "/api/v1/alerts?label=alertname=TocsinAlwaysFiring").json()
        let alert = try #require((alerts?["alerts"] as? [[String: Any]])?.first)
        #expect(alert["severity"] as? String == "critical")
        #expect(alert["category"] as? String == "cluster")
        #expect(alert["summary"] as? String == "Prometheus reached Tocsin")
        #expect(await receiver.waitUntil { !$0.isEmpty })
        let payload = try #require(receiver.requests.first?.json())
        #expect(payload["version"] as? String == "4")
        #expect(payload["status"] as? String == "firing")
        child.signal(SIGTERM)
        _ = await child.waitForExit(timeout: .seconds(15))
        await child.stop()
        await server.stop()
        await receiver.stop()
    }
}
