import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One request as the peer saw it.
public struct RecordedRequest: Sendable {
    public var method: String
    /// The path without the query.
    public var path: String
    /// The query string as sent (percent-encoded), without the `?`; empty when there was none.
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var arrivedAt: Date

    /// The decoded value of one query parameter.
    public func queryValue(_ name: String) -> String? {
        URLComponents(string: "http://peer/?\(query)")?.queryItems?.first { $0.name == name }?.value
    }

    /// The body parsed as JSON (Foundation objects), or nil when it is not JSON.
    public func json() -> Any? {
        try? JSONSerialization.jsonObject(with: Data(body))
    }

    /// The body as a JSON object, or nil.
    public func jsonObject() -> [String: Any]? {
        json() as? [String: Any]
    }

    /// Every value of a header, in the order received (names compared without case).
    public func values(of name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The first value of a header.
    public func header(_ name: String) -> String? {
        values(of: name).first
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// How the receiver answers one request.
public indirect enum ScriptedAnswer: Sendable {
    /// A status with optional headers and a text body.
    case status(Int, headers: [String: String] = [:], body: String = "")
    /// A status with a body of `bytes` filler bytes.
    case largeBody(Int, bytes: Int)
    /// A status whose body starts with `extra`, then repeats the request line and every header back.
    case echo(Int, extra: String = "")
    /// Waits, then answers. The wait ends early only when the receiver is shut down.
    case after(Duration, ScriptedAnswer)
    /// The connection is closed in the middle of the answer (after the status line): the answer is lost.
    case dropConnection

    /// A JSON body with `Content-Type: application/json`.
    public static func json(_ code: Int, _ body: String, headers: [String: String] = [:]) -> ScriptedAnswer {
        var all = headers
        all["Content-Type"] = "application/json"
        return .status(code, headers: all, body: body)
    }
}

/// A real HTTP/1.1 server (a fake of a service: webhook receiver, PagerDuty, Slack…) on 127.0.0.1 (Hummingbird 2, port chosen by the kernel) that records every request and
/// answers from a script. Answers are taken in order; the last one repeats.
public final class ScriptedPeer: Sendable {
    /// Answers computed from the request: for fakes that keep state (a created incident, a posted message).
    public typealias Handler = @Sendable (RecordedRequest) -> ScriptedAnswer

    private struct State {
        var script: [ScriptedAnswer]
        var handler: Handler?
        var requests: [RecordedRequest] = []
        var port = 0
    }

    private let state: Mutex<State>

    private init(script: [ScriptedAnswer]) {
        state = Mutex(State(script: script))
    }

    /// The port the receiver listens on.
    public var port: Int { state.withLock { $0.port } }

    /// The requests received so far, in arrival order.
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// A URL on this receiver.
    public func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Replaces the answers for the requests still to come.
    public func script(_ answers: ScriptedAnswer...) {
        state.withLock {
            $0.script = answers
            $0.handler = nil
        }
    }

    /// Answers every request still to come with `handler`.
    public func handle(_ handler: @escaping Handler) {
        state.withLock { $0.handler = handler }
    }

    /// Waits (bounded) until `predicate` holds for the requests received so far; returns whether it did.
    public func waitUntil(timeout: Duration = .seconds(30), _ predicate: @Sendable ([RecordedRequest]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(requests) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(requests)
    }

    private func nextAnswer(for request: RecordedRequest) -> ScriptedAnswer {
        if let handler = state.withLock({ $0.handler }) { return handler(request) }
        return state.withLock { state in
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
            path: request.uri.path,
            query: request.uri.query ?? "",
            headers: request.headers.map { (name: $0.name.rawName, value: $0.value) },
            body: Array(body.readableBytesView),
            arrivedAt: arrivedAt
        )
        state.withLock { $0.requests.append(recorded) }
        return try await Self.answer(nextAnswer(for: recorded), to: recorded)
    }

    private static func answer(_ answer: ScriptedAnswer, to request: RecordedRequest) async throws -> Response {
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
            return try await Self.answer(then, to: request)
        case .dropConnection:
            // A thrown responder error would become a tidy 500; failing the body after the head instead makes the
            // server close the connection mid-answer, which is what the client of a crashed peer sees.
            return Response(status: .ok, body: ResponseBody { _ in throw PeerDroppedConnection() })
        }
    }

    private static func response(_ code: Int, headers: [String: String], body: ByteBuffer) -> Response {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return Response(status: HTTPResponse.Status(code: code), headers: fields, body: ResponseBody(byteBuffer: body))
    }

    public struct DidNotStart: Error {}

    /// Fails a response body, so that the server closes the connection mid-answer.
    struct PeerDroppedConnection: Error {}

    /// Runs a receiver for the duration of `body`, then shuts it down gracefully (in-flight slow answers are
    /// cancelled after a short grace period).
    public static func run<T>(
        _ script: ScriptedAnswer...,
        body: (ScriptedPeer) async throws -> T
    ) async throws -> T {
        let receiver = ScriptedPeer(script: script.isEmpty ? [.status(200)] : script)
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
        // Past this ServiceLifecycle ends the whole test process. 5 s was exceeded on a loaded 2-core machine (the
        // suite plus a browser), crashing every test with it; only a real hang should get this far.
        configuration.maximumCancellationDuration = .seconds(60)
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

    /// A loopback port that nothing listens on: bound without listening and held for the whole test process, so a
    /// connection is refused and no server started by a test running in parallel can take it (a port that a
    /// receiver used and closed could be reused by one, which then answered: seen in CI).
    public static func closedPort() async throws -> Int {
        try reservedClosedPort.get().port
    }

    // Kept, and so never released, for as long as the test process runs.
    private static let reservedClosedPort = Result { try RefusingPort() }
}
