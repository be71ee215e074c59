import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One request as the receiver saw it.
struct RecordedRequest: Sendable {
    var method: String
    var path: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var arrivedAt: Date

    /// Every value of a header, in the order received (names compared without case).
    func values(of name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The first value of a header.
    func header(_ name: String) -> String? {
        values(of: name).first
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// How the receiver answers one request.
indirect enum ScriptedAnswer: Sendable {
    /// A status with optional headers and a text body.
    case status(Int, headers: [String: String] = [:], body: String = "")
    /// A status with a body of `bytes` filler bytes.
    case largeBody(Int, bytes: Int)
    /// A status whose body starts with `extra`, then repeats the request line and every header back.
    case echo(Int, extra: String = "")
    /// Waits, then answers. The wait ends early only when the receiver is shut down.
    case after(Duration, ScriptedAnswer)
}

/// A real HTTP/1.1 server on 127.0.0.1 (Hummingbird 2, port chosen by the kernel) that records every request and
/// answers from a script. Answers are taken in order; the last one repeats.
final class RecordingReceiver: Sendable {
    private struct State {
        var script: [ScriptedAnswer]
        var requests: [RecordedRequest] = []
        var port = 0
    }

    private let state: Mutex<State>

    private init(script: [ScriptedAnswer]) {
        state = Mutex(State(script: script))
    }

    /// The port the receiver listens on.
    var port: Int { state.withLock { $0.port } }

    /// The requests received so far, in arrival order.
    var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// A URL on this receiver.
    func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Replaces the answers for the requests still to come.
    func script(_ answers: ScriptedAnswer...) {
        state.withLock { $0.script = answers }
    }

    private func nextAnswer() -> ScriptedAnswer {
        state.withLock { state in
            if state.script.count > 1 { return state.script.removeFirst() }
            return state.script.first ?? .status(200)
        }
    }

    private func respond(to request: Request) async throws -> Response {
        let arrivedAt = Date()
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024 * 1024)
        let recorded = RecordedRequest(
            method: request.method.rawValue,
            path: request.head.path ?? "",
            headers: request.headers.map { (name: $0.name.rawName, value: $0.value) },
            body: Array(body.readableBytesView),
            arrivedAt: arrivedAt
        )
        state.withLock { $0.requests.append(recorded) }
        return await Self.answer(nextAnswer(), to: recorded)
    }

    private static func answer(_ answer: ScriptedAnswer, to request: RecordedRequest) async -> Response {
        switch answer {
        case .status(let code, let headers, let body):
            return response(code, headers: headers, body: ByteBuffer(string: body))
        case .largeBody(let code, let bytes):
            return response(code, headers: [:], body: ByteBuffer(repeating: UInt8(ascii: "x"), count: bytes))
        case .echo(let code, let extra):
            var text = extra + "\n\(request.method) \(request.path)\n"
            for (name, value) in request.headers { text += "\(name): \(value)\n" }
            return response(code, headers: ["Content-Type": "text/plain"], body: ByteBuffer(string: text))
        case .after(let delay, let then):
            // Cancelled when the receiver shuts down, so a test never waits the whole delay at the end.
            try? await Task.sleep(for: delay)
            return await Self.answer(then, to: request)
        }
    }

    private static func response(_ code: Int, headers: [String: String], body: ByteBuffer) -> Response {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return Response(status: HTTPResponse.Status(code: code), headers: fields, body: ResponseBody(byteBuffer: body))
    }

    struct DidNotStart: Error {}

    /// Runs a receiver for the duration of `body`, then shuts it down gracefully (in-flight slow answers are
    /// cancelled after a short grace period).
    static func run<T>(
        _ script: ScriptedAnswer...,
        body: (RecordingReceiver) async throws -> T
    ) async throws -> T {
        let receiver = RecordingReceiver(script: script.isEmpty ? [.status(200)] : script)
        var logger = Logger(label: "recording-receiver")
        logger.logLevel = .error
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                try await receiver.respond(to: request)
            },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        var configuration = ServiceGroupConfiguration(services: [.init(service: app)], logger: logger)
        configuration.maximumGracefulShutdownDuration = .milliseconds(500)
        configuration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: configuration)

        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { portContinuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                throw DidNotStart()
            }
            receiver.state.withLock { $0.port = port }
            let result: Result<T, any Error>
            do {
                result = .success(try await body(receiver))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }

    /// A loopback port that nothing listens on: one a receiver used and has closed.
    static func closedPort() async throws -> Int {
        try await run(.status(200)) { $0.port }
    }
}
