import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Testing
import TocsinCore
import TocsinServer
import TocsinSinks
import TocsinTestSupport

/// A Tocsin server running in this process on a free loopback port.
final class LiveServer: Sendable {
    let runtime: TocsinRuntime
    let port: Int
    let directory: String
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(runtime: TocsinRuntime, port: Int, directory: String, group: ServiceGroup, task: Task<Void, Never>) {
        self.runtime = runtime
        self.port = port
        self.directory = directory
        self.group = group
        self.task = task
    }

    /// `{DATA}` in the YAML becomes the server's data directory.
    static func start(yaml: String) async throws -> LiveServer {
        let (runtime, directory) = try await makeRuntime(yaml: yaml, name: "tocsin-e2e")
        var logger = Logger(label: "tocsin-e2e")
        logger.logLevel = .critical
        let started = AsyncStream<Int>.makeStream()
        let app = runtime.application(host: "127.0.0.1", port: 0) { port in
            started.continuation.yield(port)
            started.continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            try? await group.run()
            started.continuation.finish()
        }
        var iterator = started.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw LiveServerError.didNotStart }
        return LiveServer(runtime: runtime, port: port, directory: directory, group: group, task: task)
    }

    enum LiveServerError: Error {
        case didNotStart
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
        await runtime.shutdown()
    }
}

/// A small HTTP client for the tests' own requests.
struct TestHTTP {
    static let client = HTTPClient(eventLoopGroupProvider: .singleton)

    struct Answer {
        var status: Int
        var body: String

        func json() -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
    }

    static func post(_ url: String, _ body: String) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Answer(status: Int(response.status.code), body: String(buffer: buffer))
    }

    static func get(_ url: String) async throws -> Answer {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Answer(status: Int(response.status.code), body: String(buffer: buffer))
    }
}

/// Alerts as native events with unique labels: `count` of them starting at `first`.
func alertBatch(_ range: Range<Int>, prefix: String, status: String = "firing") -> String {
    let items = range.map { index in
        """
        {"id":"\(prefix)-\(status)-\(index)","severity":"error","category":"nodes","status":"\(status)",\
        "summary":"alert \(index)","labels":{"test":"\(prefix)","n":"\(index)"}}
        """
    }
    return "[" + items.joined(separator: ",") + "]"
}

extension RecordingReceiver.Received {
    /// The event id a Tocsin-format webhook body names.
    var eventID: String? { json()?["eventId"] as? String }
    var status: String? { json()?["status"] as? String }
}

/// Runs a program to its end (60 s at most) and returns its exit status and output (standard output and standard
/// error, interleaved).
func runToEnd(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, output: String) {
    let child = try ChildProcess(executable: executable, arguments: arguments, environment: environment)
    guard let result = await child.waitForCompletion(timeout: .seconds(60)) else {
        await child.stop()
        Issue.record("\(executable) \(arguments.joined(separator: " ")) did not exit; output so far: \(child.lines)")
        throw CancellationError()
    }
    return result
}

/// Runs the built `tocsin` executable to its end.
func runTocsin(_ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, output: String) {
    let executable = try #require(tocsinExecutable(), "the tocsin executable is not built: run `swift build` first (scripts/test.sh does)")
    return try await runToEnd(executable, arguments, environment: environment)
}
