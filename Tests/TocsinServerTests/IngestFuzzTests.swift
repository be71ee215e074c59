import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinTestSupport

/// A small deterministic generator (SplitMix64), so that a failing case can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Bodies for the fuzz test: valid ones, and random and mutated variants of them.
enum FuzzBodies {
    static let nativeSeeds = [
        #"{"severity":"error","category":"nodes","summary":"n1 down","labels":{"node":"n1"}}"#,
        #"[{"id":"x-1","kind":"notification","severity":"info","category":"backups","summary":"done"}]"#,
        #"{"status":"resolved","labels":{"node":"n1"},"category":"nodes"}"#,
        #"{"severity":"warning","summary":"s","key":"k1","links":[{"href":"http://x","text":"t"}],"details":{"a":[1,2,{"b":null}]}}"#,
        #"{"severity":"critical","summary":"s","labels":{"a":"b"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T00:05:00.5Z"}"#,
    ]
    static let alertmanagerSeeds = [
        #"[{"labels":{"alertname":"A","severity":"critical"},"annotations":{"summary":"s"}}]"#,
        #"[{"labels":{"alertname":"B"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2020-01-01T00:00:00Z","generatorURL":"http://g"}]"#,
        "[]",
    ]
    static let fragments = [
        "{", "}", "[", "]", ",", ":", "\"", "null", "true", "1e999", "-0", "\"\\u0000\"", "\"\\ud800\"", "{\"severity\":{}}",
        "\"summary\"", "\"labels\"", "[[[[", "\u{FEFF}", "\"\u{1F525}\"", "123456789012345678901234567890",
    ]

    static func mutate(_ seed: String, using generator: inout SeededGenerator) -> String {
        var bytes = Array(seed.utf8)
        switch generator.next() % 6 {
        case 0:
            // Flip a byte.
            if !bytes.isEmpty { bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next()) }
        case 1:
            // Cut the body short.
            bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count + 1))))
        case 2:
            // Insert a fragment.
            let fragment = Array(fragments[Int(generator.next() % UInt64(fragments.count))].utf8)
            bytes.insert(contentsOf: fragment, at: Int(generator.next() % UInt64(bytes.count + 1)))
        case 3:
            // Swap a value for another type.
            let text = String(decoding: bytes, as: UTF8.self)
            let replacement = ["1", "null", "[]", "{}", "true", "\"\""][Int(generator.next() % 6)]
            return text.replacingOccurrences(of: "\"error\"", with: replacement).replacingOccurrences(of: "\"n1\"", with: replacement)
        case 4:
            // Pure noise.
            bytes = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        default:
            // Duplicate the body inside an array.
            return "[\(seed),\(seed)]"
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

@Suite("Ingest decoders under random and mutated bodies")
struct IngestFuzzTests {
    @Test(
        "never a crash, never a 5xx, never a half-stored request",
        arguments: [("/api/v1/events", UInt64(1)), ("/api/v2/alerts", UInt64(2))]
    )
    func testFuzz(path: String, seed: UInt64) async throws {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML)
        defer { Task { await runtime.shutdown() } }
        let seeds = path == "/api/v1/events" ? FuzzBodies.nativeSeeds : FuzzBodies.alertmanagerSeeds
        // The router alone, without the expiry sweeper and the dispatcher: the store then changes only by ingest.
        try await Application(router: runtime.router()).test(.router) { client in
            var generator = SeededGenerator(state: seed)
            var accepted = 0
            var refused = 0
            for round in 0..<600 {
                let seedBody = seeds[Int(generator.next() % UInt64(seeds.count))]
                var body = seedBody
                for _ in 0..<(1 + generator.next() % 3) { body = FuzzBodies.mutate(body, using: &generator) }
                let before = try await runtime.store.counts()
                let response = try await client.post(path, body)
                let after = try await runtime.store.counts()
                #expect(response.status.code < 500, "round \(round) (seed \(seed)): \(response.status.code) for body \(body)")
                if response.status.code >= 400 {
                    refused += 1
                    #expect(before == after, "round \(round): a refused request changed the store; body \(body)")
                    let error = try? response.json()["error"] as? [String: Any]
                    #expect(error?["message"] is String, "round \(round): a refusal without an error message")
                } else {
                    accepted += 1
                    // Whatever was accepted was stored whole: each accepted new event is one history row.
                    if path == "/api/v1/events" {
                        let items = try #require(try response.json()["accepted"] as? [[String: Any]])
                        let fresh = items.filter { $0["outcome"] as? String != "duplicate" }.count
                        #expect(
                            after.events - before.events == fresh,
                            "round \(round): \(fresh) new events, history grew by \(after.events - before.events)"
                        )
                    }
                }
            }
            // Both sides of the decoder were exercised.
            #expect(accepted > 20 && refused > 100, "accepted \(accepted), refused \(refused)")
        }
    }
}
