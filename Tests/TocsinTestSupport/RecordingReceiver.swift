import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A real HTTP server on loopback that records every request and answers from a script: the peer that the
/// webhook sink and the end-to-end tests deliver to.
public final class RecordingReceiver: Sendable {
    public struct Received: Sendable {
        public var path: String
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: [UInt8]
        public var receivedAt: Date

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func json() -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        }
    }

    /// What to answer to the request with the given (0-based) arrival index.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String
        public var delay: Duration
        /// When set, the body is sent one byte per interval for this long after the head: a peer that stalls.
        public var trickle: Duration?

        public init(status: Int = 200, headers: [(String, String)] = [], body: String = "ok", delay: Duration = .zero, trickle: Duration? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.trickle = trickle
        }

        public static let ok = Reply()
    }

    public typealias Script = @Sendable (Received, Int) -> Reply

    private let recorded = LockedBox<[Received]>([])
    private let script: LockedBox<Script>
    private let group: LockedBox<ServiceGroup?> = LockedBox(nil)
    private let task: LockedBox<Task<Void, Never>?> = LockedBox(nil)
    public let port: Int

    private init(port: Int, script: @escaping Script) {
        self.port = port
        self.script = LockedBox(script)
    }

    /// Starts a receiver on 127.0.0.1 (`port` 0 picks a free one) and returns once it accepts connections.
    public static func start(port: Int = 0, script: @escaping Script = { _, _ in .ok }) async throws -> RecordingReceiver {
        let portBox = LockedBox<Int?>(nil)
        let started = AsyncStream<Int>.makeStream()
        let router = Router()
        let holder = LockedBox<RecordingReceiver?>(nil)
        router.post("/**") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024 * 1024)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let received = Received(path: request.uri.path, headers: headers, body: Array(body.readableBytesView), receivedAt: Date())
            guard let receiver = holder.value else { return Response(status: .serviceUnavailable) }
            let index = receiver.recorded.withValue { list in
                list.append(received)
                return list.count - 1
            }
            let reply = receiver.script.value(received, index)
            if reply.delay > .zero { try? await Task.sleep(for: reply.delay) }
            var fields = HTTPFields()
            for (name, value) in reply.headers {
                if let name = HTTPField.Name(name) { fields[name] = value }
            }
            if let trickle = reply.trickle {
                return Response(
                    status: HTTPResponse.Status(code: reply.status),
                    headers: fields,
                    body: ResponseBody { writer in
                        let end = ContinuousClock.now + trickle
                        while ContinuousClock.now < end {
                            try await writer.write(ByteBuffer(string: "."))
                            try await Task.sleep(for: .milliseconds(100))
                        }
                        try await writer.finish(nil)
                    }
                )
            }
            return Response(
                status: HTTPResponse.Status(code: reply.status),
                headers: fields,
                body: .init(byteBuffer: ByteBuffer(string: reply.body))
            )
        }
        var logger = Logger(label: "recording-receiver")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), reuseAddress: true),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                portBox.withValue { $0 = bound }
                started.continuation.yield(bound)
                started.continuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            try? await group.run()
            started.continuation.finish()
        }
        var iterator = started.stream.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            throw ReceiverError.couldNotStart(port: port)
        }
        let receiver = RecordingReceiver(port: bound, script: script)
        holder.withValue { $0 = receiver }
        receiver.group.withValue { $0 = group }
        receiver.task.withValue { $0 = task }
        return receiver
    }

    public enum ReceiverError: Error {
        case couldNotStart(port: Int)
    }

    public var url: String { "http://127.0.0.1:\(port)/webhook" }

    public var requests: [Received] { recorded.value }

    public func setScript(_ script: @escaping Script) {
        self.script.withValue { $0 = script }
    }

    /// Stops accepting connections and waits for the server to close.
    public func stop() async {
        await group.value?.triggerGracefulShutdown()
        await task.value?.value
    }

    /// Waits (bounded) until `predicate` holds for the recorded requests; returns whether it did.
    public func waitUntil(timeout: Duration = .seconds(30), _ predicate: @Sendable ([Received]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(requests) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(requests)
    }
}

/// A value behind a lock.
public final class LockedBox<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()

    public init(_ value: Value) {
        self.stored = value
    }

    public var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    @discardableResult
    public func withValue<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&stored)
    }
}

/// Polls `condition` until it holds or `timeout` passes: for effects that happen in other tasks or processes.
public func eventually(timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}

/// A fresh directory under the system's temporary directory.
public func makeTemporaryDirectory(_ name: String = "tocsin-test") -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
