import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// An SMTP connection over SwiftNIO: TCP, TLS from the start (implicit) or after STARTTLS, replies framed by
/// `SMTPReplyFramer`. Every wait has a deadline; when it passes, or the task is cancelled, the channel is closed,
/// which ends every other wait on it.
public final class SMTPChannelConnection: SMTPConnection {
    /// What TLS needs: the context (trust roots, verification) and the name the certificate must carry.
    public struct TLSSetup: Sendable {
        public var context: NIOSSLContext
        /// Sent as SNI and checked against the certificate; nil for an IP address, whose certificate is checked
        /// against the address instead.
        public var serverHostname: String?

        public init(context: NIOSSLContext, serverHostname: String?) {
            self.context = context
            self.serverHostname = serverHostname
        }
    }

    let channel: any Channel
    let mailbox: SMTPReplyMailbox
    let tls: TLSSetup?

    private init(channel: any Channel, mailbox: SMTPReplyMailbox, tls: TLSSetup?) {
        self.channel = channel
        self.mailbox = mailbox
        self.tls = tls
    }

    /// The local address as an RFC 5321 address literal (`[192.0.2.1]`, `[IPv6:::1]`): the EHLO name for a host
    /// without a fully qualified name.
    public var localAddressLiteral: String {
        guard let address = channel.localAddress, let ip = address.ipAddress else { return "[127.0.0.1]" }
        if case .v6 = address { return "[IPv6:\(ip)]" }
        return "[\(ip)]"
    }

    /// Opens the TCP connection within `timeout`. With implicit TLS the handshake follows; its failure (a certificate
    /// that does not verify) is what reading the greeting reports.
    public static func connect(
        host: String,
        port: Int,
        security: SMTPSecurity,
        tls: TLSSetup?,
        timeout: Duration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(SMTPFailure) -> SMTPChannelConnection {
        let eventLoop = group.next()
        let mailbox = SMTPReplyMailbox()
        let implicitTLS = security == .implicitTLS ? tls : nil
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.milliseconds(max(1, timeout.milliseconds)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitTLS {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: implicitTLS.context, serverHostname: implicitTLS.serverHostname)
                            )
                        }
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyFramer(mailbox: mailbox))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            if let channelError = error as? ChannelError, case .connectTimeout = channelError { throw .timedOut(.connect, timeout) }
            throw .connectionFailed(.connect, describe(error))
        }
        return SMTPChannelConnection(channel: channel, mailbox: mailbox, tls: tls)
    }

    public func send(_ bytes: [UInt8], stage: SMTPStage, timeout: Duration) async throws {
        let channel = self.channel
        do {
            try await withDeadline(timeout, stage: stage) { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get() }
        } catch let failure as SMTPFailure {
            throw failure
        } catch {
            // A write fails with "closed channel" when the connection ended for a reason the framer saw (a TLS
            // handshake that did not verify): report that reason.
            throw mailbox.failure ?? error
        }
    }

    public func readReply(stage: SMTPStage, timeout: Duration) async throws -> SMTPReply {
        let mailbox = self.mailbox
        return try await withDeadline(timeout, stage: stage) { try await mailbox.next() }
    }

    /// Puts TLS in front of the framer. Writes wait for the handshake inside the TLS handler; a handshake that
    /// fails ends the connection with the TLS error, which the next read reports.
    public func startTLS() async throws {
        guard let tls else { throw SMTPFailure.unsupported("STARTTLS without a TLS configuration") }
        let channel = self.channel
        let mailbox = self.mailbox
        try await channel.eventLoop.submit {
            let framer = try channel.pipeline.syncOperations.handler(type: SMTPReplyFramer.self)
            // Anything the server sent after its 220 arrived in plain text and could have been injected by someone
            // on the path; it must not be read as if it came through TLS (the STARTTLS injection flaw, CVE-2011-0411
            // and its client-side twins).
            guard !framer.hasBufferedInput && mailbox.isEmpty else {
                throw SMTPFailure.connectionFailed(.startTLS, "the server sent data after its STARTTLS reply, before the TLS handshake")
            }
            let handler = try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
    }

    public func close() async {
        try? await channel.close()
    }

    /// Runs `operation`; past `timeout`, or when the task is cancelled, closes the channel (which ends the
    /// operation) and throws.
    func withDeadline<T: Sendable>(_ timeout: Duration, stage: SMTPStage, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let channel = self.channel
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await operation() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                if let value = first { return value }
                channel.close(promise: nil)
                throw SMTPFailure.timedOut(stage, timeout)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// A short text for connection errors: NIO's own descriptions list every attempted address.
    static func describe(_ error: any Error) -> String {
        if let connectionError = error as? NIOConnectionError {
            let attempts = connectionError.connectionErrors.map { "\($0.target): \($0.error)" }
            if !attempts.isEmpty { return attempts.joined(separator: "; ") }
            if let dns = connectionError.dnsAError ?? connectionError.dnsAAAAError { return "cannot resolve \(connectionError.host): \(dns)" }
        }
        return String(describing: error)
    }
}

/// The connection closed before the reply came.
struct SMTPConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the server closed the connection" }
}

/// Replies waiting to be read, or the error that ended the connection. Filled on the event loop, read by the
/// session's task.
final class SMTPReplyMailbox: Sendable {
    private struct State: Sendable {
        var replies: [SMTPReply] = []
        var failure: (any Error)?
        var waiter: CheckedContinuation<SMTPReply, any Error>?
    }

    private let state = NIOLockedValueBox(State())

    var isEmpty: Bool { state.withLockedValue { $0.replies.isEmpty } }

    /// The error that ended the connection, once it ended.
    var failure: (any Error)? { state.withLockedValue { $0.failure } }

    func deliver(_ reply: SMTPReply) {
        let waiter: CheckedContinuation<SMTPReply, any Error>? = state.withLockedValue { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.replies.append(reply)
            return nil
        }
        waiter?.resume(returning: reply)
    }

    /// Ends the mailbox; the first error is kept (a TLS failure rather than the close that follows it).
    func fail(_ error: any Error) {
        let waiter: CheckedContinuation<SMTPReply, any Error>? = state.withLockedValue { state in
            if state.failure == nil { state.failure = error }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    func next() async throws -> SMTPReply {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<SMTPReply, any Error>? = state.withLockedValue { state in
                if !state.replies.isEmpty { return .success(state.replies.removeFirst()) }
                if let failure = state.failure { return .failure(failure) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

/// A failure of the TLS layer: a handshake that did not verify, or a TLS connection that ended badly.
struct SMTPTLSError: Error, CustomStringConvertible {
    var underlying: any Error

    var description: String { "TLS: \(underlying)" }

    static func isTLS(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
    }
}

/// Cuts the server's bytes into lines and lines into replies, for the mailbox. Lives on the channel's event loop.
final class SMTPReplyFramer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let mailbox: SMTPReplyMailbox
    private var pending = ByteBuffer()
    private var parser = SMTPReplyParser()

    init(mailbox: SMTPReplyMailbox) {
        self.mailbox = mailbox
    }

    /// Bytes or reply lines received but not yet handed out as a reply.
    var hasBufferedInput: Bool { pending.readableBytes > 0 || parser.isInsideReply }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        do {
            while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - pending.readerIndex + 1
                guard var line = pending.readBytes(length: length) else { break }
                line.removeLast()
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if let reply = try parser.consume(String(decoding: line, as: UTF8.self)) { mailbox.deliver(reply) }
            }
            if pending.readableBytes > SMTPReplyParser.maximumLineLength {
                throw SMTPMalformedReply(reason: "line longer than \(SMTPReplyParser.maximumLineLength) octets")
            }
            pending.discardReadBytes()
        } catch {
            mailbox.fail(error)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        mailbox.fail(SMTPTLSError.isTLS(error) ? SMTPTLSError(underlying: error) : error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
    }

    private func end() {
        mailbox.fail(SMTPConnectionClosed())
    }
}
