import Foundation
import Testing
import TocsinCore
import TocsinSinks

@Suite("log_file sink", .timeLimit(.minutes(1)))
struct LogFileSinkTests {
    static func makeSink(_ settings: [String: JSONValue]) throws -> LogFileSink {
        try LogFileConfiguration.parse(Fixture.integration(type: "log_file", name: "alert-log", settings)).map {
            LogFileSink(configuration: $0)
        }.get()
    }

    static func lines(of path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"), "\(path) ends in the middle of a line")
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    static func fileSize(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    @Test("one JSON line per notification with the documented fields")
    func writesOneLinePerNotification() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("notifications.log").path
        let sink = try Self.makeSink(["path": .string(path)])
        let outbounds = [
            Fixture.outbound(.open, deliveryID: "d-1", integration: "alert-log"),
            Fixture.outbound(.resolve, deliveryID: "d-2", integration: "alert-log"),
            Fixture.outbound(.notification, deliveryID: "d-3", integration: "alert-log"),
        ]
        let before = Date()
        for outbound in outbounds {
            let result = await sink.deliver(outbound)
            #expect(result == SinkResult(outcome: .delivered))
        }
        await sink.shutdown()

        let lines = try Self.lines(of: path)
        try #require(lines.count == 3)
        for (line, outbound) in zip(lines, outbounds) {
            let json = try JSONValue.decode(Array(line.utf8))
            let event = outbound.notification.event
            let required: Set<String> = [
                "time", "deliveryId", "integration", "status", "kind", "eventId", "severity", "category", "summary",
                "labels", "links", "startsAt",
            ]
            #expect(required.isSubset(of: json.keys), "missing: \(required.subtracting(json.keys).sorted())")
            let time = try #require(json["time"]?.stringValue.flatMap(Timestamp.parse))
            #expect(time >= before.addingTimeInterval(-1) && time <= Date().addingTimeInterval(1))
            #expect(json["deliveryId"] == .string(outbound.deliveryID))
            #expect(json["integration"] == .string("alert-log"))
            #expect(json["kind"] == .string(event.kind.rawValue))
            #expect(json["eventId"] == .string(event.id))
            #expect(json["severity"] == .string(event.severity.rawValue))
            #expect(json["category"] == .string(event.category.rawValue))
            #expect(json["summary"] == .string(event.summary))
            #expect(json["description"]?.stringValue == event.description)
            #expect(json["labels"]?.stringMap == event.labels)
            #expect(json["links"]?[0]?["href"] == .string(Fixture.links[0].href))
            #expect(json["fingerprint"]?.stringValue == event.fingerprint)
        }
        let statuses = try lines.map { try JSONValue.decode(Array($0.utf8))["status"] }
        #expect(statuses == [.string("open"), .string("resolved"), .string("notification")])
        let endsAt = try lines.map { try JSONValue.decode(Array($0.utf8))["endsAt"]?.stringValue.flatMap(Timestamp.parse) }
        #expect(endsAt == [nil, Fixture.eventEndsAt, nil])
    }

    @Test("appends to an existing file instead of replacing it")
    func appendsToExistingFile() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("notifications.log").path
        try Data(#"{"earlier":"line"}"#.utf8 + [UInt8(ascii: "\n")]).write(to: URL(fileURLWithPath: path))
        let sink = try Self.makeSink(["path": .string(path)])
        #expect(await sink.deliver(Fixture.outbound(.open)).outcome == .delivered)
        await sink.shutdown()
        let lines = try Self.lines(of: path)
        #expect(lines.count == 2)
        #expect(lines.first == #"{"earlier":"line"}"#)
    }

    @Test("rotation keeps exactly path, path.1 and path.2, each at most 1 MiB, with whole lines in order")
    func rotation() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("notifications.log").path
        let sink = try Self.makeSink(["path": .string(path), "max_size_mb": .number(1), "max_files": .number(3)])
        let description = String(repeating: "d", count: 3000)
        let count = 1100
        var written = 0
        for index in 0..<count {
            let event = Fixture.event(for: .open, id: "evt-\(index)", description: description)
            let result = await sink.deliver(Fixture.outbound(.open, deliveryID: "d-\(index)", integration: "alert-log", event: event))
            try #require(result.outcome == .delivered, "delivery \(index): \(result)")
            written += 1
        }
        await sink.shutdown()

        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["notifications.log", "notifications.log.1", "notifications.log.2"])
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))

        let mebibyte = 1024 * 1024
        var sequence: [Int] = []
        var total = 0
        for file in [path + ".2", path + ".1", path] {
            let size = try Self.fileSize(file)
            total += size
            #expect(size <= mebibyte, "\(file) has \(size) bytes")
            for line in try Self.lines(of: file) {
                let json = try JSONValue.decode(Array(line.utf8))
                let id = try #require(json["eventId"]?.stringValue)
                sequence.append(try #require(Int(id.dropFirst("evt-".count))))
            }
        }
        // Rotated files were filled up to the limit before rotating (no early rotation).
        let lineSize = try Self.fileSize(path) / max(try Self.lines(of: path).count, 1)
        for file in [path + ".2", path + ".1"] {
            #expect(try Self.fileSize(file) > mebibyte - 2 * lineSize, "\(file) rotated early")
        }
        // More than the three files can hold was written, the newest lines are kept, in order and without gaps.
        #expect(written * lineSize > 3 * mebibyte)
        #expect(sequence.last == count - 1)
        #expect(sequence == Array((count - sequence.count)..<count))
        #expect(total > 2 * mebibyte)
    }

    @Test("with max_files 1 the file is started over when full")
    func rotationSingleFile() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("single.log").path
        let sink = try Self.makeSink(["path": .string(path), "max_size_mb": .number(1), "max_files": .number(1)])
        let description = String(repeating: "d", count: 3000)
        for index in 0..<400 {
            let event = Fixture.event(for: .open, id: "evt-\(index)", description: description)
            _ = await sink.deliver(Fixture.outbound(.open, deliveryID: "d-\(index)", event: event))
        }
        await sink.shutdown()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["single.log"])
        #expect(try Self.fileSize(path) <= 1024 * 1024)
        let last = try #require(try Self.lines(of: path).last)
        #expect(try JSONValue.decode(Array(last.utf8))["eventId"] == .string("evt-399"))
    }

    @Test("concurrent deliveries give whole lines, one per notification")
    func concurrentDeliveries() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("notifications.log").path
        let sink = try Self.makeSink(["path": .string(path)])
        let outcomes = await withTaskGroup(of: AttemptOutcome.self) { group in
            for index in 0..<200 {
                group.addTask { await sink.deliver(Fixture.outbound(.open, deliveryID: "d-\(index)")).outcome }
            }
            return await group.reduce(into: [AttemptOutcome]()) { $0.append($1) }
        }
        await sink.shutdown()
        #expect(outcomes.allSatisfy { $0 == .delivered })
        let ids = try Self.lines(of: path).map { try JSONValue.decode(Array($0.utf8))["deliveryId"]?.stringValue }
        #expect(Set(ids.compactMap { $0 }) == Set((0..<200).map { "d-\($0)" }))
        #expect(ids.count == 200)
    }

    @Test("a directory that does not exist yet is created")
    func createsDirectory() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("a/b/c/notifications.log").path
        let sink = try Self.makeSink(["path": .string(path)])
        #expect(await sink.deliver(Fixture.outbound(.open)).outcome == .delivered)
        await sink.shutdown()
        #expect(try Self.lines(of: path).count == 1)
    }

    @Test("an unwritable path is retryable, with a detail naming the path")
    func unwritablePath() async throws {
        let path = "/proc/tocsin-test-\(UUID().uuidString)/notifications.log"
        let sink = try Self.makeSink(["path": .string(path)])
        let result = await sink.deliver(Fixture.outbound(.open))
        await sink.shutdown()
        #expect(result.outcome == .retryable(retryAfter: nil))
        #expect(result.statusCode == nil)
        let detail = try #require(result.detail)
        #expect(detail.contains(path))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a sink made by the registry writes to its file")
    func registrySink() async throws {
        let directory = try makeTemporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("via-registry.log").path
        let sinks = try SinkRegistry.makeSinks(
            for: [Fixture.integration(type: "log_file", name: "alert-log", ["path": .string(path)])],
            environment: SinkConfigurationTests.environment
        ).get()
        let sink = try #require(sinks["alert-log"])
        #expect(await sink.deliver(Fixture.outbound(.notification, integration: "alert-log")).outcome == .delivered)
        await sink.shutdown()
        #expect(try Self.lines(of: path).count == 1)
    }
}
