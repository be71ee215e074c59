import Foundation
import Testing
import TocsinCore
import TocsinTestSupport

/// The storm the products we learn from cannot tame: a 12-node cluster whose disks fill within a minute, two nodes
/// flapping, then recovery. Tocsin must turn it into one incident per integration: one open and one recovery, each
/// naming all 12 nodes.
@Suite("Storm scenario")
struct StormScenarioTests {
    static let yaml = """
        integrations:
          - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook"}
          - {name: pager, type: pagerduty, routing_key: "0123456789abcdef0123456789abcdef", url: "http://127.0.0.1:9"}
          - {name: chat, type: slack, url: "http://127.0.0.1:9/services/T000/B000/XXXX"}
        routing:
          grouping: {group_by: [cluster, alertname], group_wait: 90s, group_interval: 5m, repeat_interval: 4h}
          flap_damping: {window: 5m, max_changes: 4, settle: 5m}
          global:
            warning: [hook, pager, chat]
            error: [hook, pager, chat]
        """

    /// The storm's events: nodes 1–10 fill one after another, every 6 s; nodes 11 and 12 flap every 10 s for two
    /// minutes, then stay full; everything recovers between 700 s and 760 s.
    static var timeline: [(second: Double, node: Int, firing: Bool)] {
        var timeline: [(second: Double, node: Int, firing: Bool)] = []
        // Nodes 1–10 fill one after another, every 6 s, within the first minute.
        for node in 1...10 { timeline.append((Double(node - 1) * 6, node, true)) }
        // Nodes 11 and 12 flap every 10 s for two minutes, then stay full.
        for node in 11...12 {
            let offset = Double(node - 11) * 5 + 3
            for (index, second) in stride(from: offset, through: offset + 120, by: 10).enumerated() {
                timeline.append((second, node, index % 2 == 0))
            }
        }
        // Everything recovers between 700 s and 760 s.
        for node in 1...12 { timeline.append((700 + Double(node - 1) * 5, node, false)) }
        return timeline.sorted { $0.second < $1.second }
    }

    @Test("12 nodes' disks fill within 60 s, two flap, all recover: one open and one recovery per integration")
    func storm() async throws {
        let harness = try await NoiseHarness(yaml: Self.yaml)
        defer { Task { await harness.shutdown() } }
        var raw = 0
        for step in Self.timeline {
            try await harness.push(nodeAlert("DiskUsageHigh", node: step.node), firing: step.firing, at: step.second)
            raw += 1
        }
        try await harness.run(until: 6 * 3600)

        let allNodes = (1...12).map { String(format: "n%02d", $0) }
        var report: [String] = []
        for integration in ["hook", "pager", "chat"] {
            let told = try await harness.told(integration)
            report.append("\(integration): \(told.count)")
            #expect(told.map(\.type) == [.open, .resolve], "\(integration): one open and one recovery")
            #expect(told.first?.nodes == allNodes, "\(integration): the open names all 12 nodes")
            #expect(told.last?.nodes == allNodes, "\(integration): the recovery names all 12 nodes")
            #expect(told.first?.createdAt == harness.at(90), "\(integration): opened when group_wait ends")
            #expect(told.last?.createdAt == harness.at(755), "\(integration): recovered as soon as the last node did")
            #expect(Set(told.map(\.event.fingerprint)).count == 1, "\(integration): one incident (one dedup key)")
        }
        let notifications = try await harness.runtime.store.counts().deliveries
        let ratio = Double(raw) / Double(notifications / 3)
        print(
            "storm: \(raw) raw alert events -> \(notifications / 3) notifications per integration "
                + "(\(report.joined(separator: ", "))); noise reduction \(String(format: "%.1f", ratio)):1 per integration"
        )
        #expect(raw == 10 + 2 * 13 + 12)
    }

    @Test("the same storm without grouping or flap damping: every open and resolve is a notification")
    func stormWithoutNoiseControl() async throws {
        let plain = Self.yaml.replacingOccurrences(of: "  grouping:", with: "  # grouping:")
            .replacingOccurrences(of: "  flap_damping:", with: "  # flap_damping:")
        let harness = try await NoiseHarness(yaml: plain)
        defer { Task { await harness.shutdown() } }
        for step in Self.timeline {
            try await harness.push(nodeAlert("DiskUsageHigh", node: step.node), firing: step.firing, at: step.second)
        }
        try await harness.run(until: 6 * 3600)
        let told = try await harness.told("hook")
        print("storm without noise control: \(Self.timeline.count) raw alert events -> \(told.count) notifications per integration")
        #expect(told.count == Self.timeline.count)
        #expect(Set(told.compactMap(\.event.fingerprint)).count == 12, "twelve incidents, one per node")
    }
}
