import Foundation

/// A program the test starts and controls: its output is collected line by line, and it can be signalled.
public final class ChildProcess: Sendable {
    private let process: LockedBox<Process>
    private let output = LockedBox<[String]>([])
    /// Set when the output pipe reached its end (the last, unterminated line included in `lines`).
    private let outputEnded = LockedBox(false)
    /// The last line read so far, not yet ended by a newline.
    private let partial = LockedBox("")
    public let executable: String

    public init(executable: String, arguments: [String], environment: [String: String]? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ChildProcessError.notFound(executable)
        }
        self.executable = executable
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        self.process = LockedBox(process)
        let output = self.output
        let outputEnded = self.outputEnded
        let partial = self.partial
        // Read by a Dispatch source rather than `readDataToEndOfFile`, whose `try!` crashes the process when a read is
        // interrupted by a signal (EINTR), as happens while other children exit.
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                let rest = partial.withValue { buffer in
                    defer { buffer = "" }
                    return buffer
                }
                if !rest.isEmpty { output.withValue { $0.append(rest) } }
                outputEnded.withValue { $0 = true }
                return
            }
            let text = String(decoding: data, as: UTF8.self)
            let lines: [String] = partial.withValue { buffer in
                buffer += text
                var complete = buffer.components(separatedBy: "\n")
                buffer = complete.removeLast()
                return complete
            }
            output.withValue { $0 += lines }
        }
        try process.run()
    }

    public enum ChildProcessError: Error, CustomStringConvertible {
        case notFound(String)

        public var description: String {
            switch self {
            case .notFound(let path): "no executable at \(path)"
            }
        }
    }

    public var pid: Int32 { process.value.processIdentifier }
    public var lines: [String] { output.value }
    public var isRunning: Bool { process.value.isRunning }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits (bounded) for a line of output containing `text`; returns it.
    public func waitForLine(containing text: String, timeout: Duration = .seconds(30)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = lines.first(where: { $0.contains(text) }) { return line }
            if !isRunning { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return lines.first(where: { $0.contains(text) })
    }

    /// Waits (bounded) for the process to end; returns its exit status, or nil if it is still running.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !isRunning { return process.value.terminationStatus }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isRunning ? nil : process.value.terminationStatus
    }

    /// Waits (bounded) until the process has ended and all its output is read; returns its exit status and output.
    public func waitForCompletion(timeout: Duration = .seconds(60)) async -> (status: Int32, output: String)? {
        let deadline = ContinuousClock.now + timeout
        var exitedAt: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            if !isRunning {
                if outputEnded.value { return (process.value.terminationStatus, lines.joined(separator: "\n")) }
                // The end of the output can come late, or never while a child started at the same moment by another
                // test holds an inherited copy of the pipe: two seconds after the exit, what was read is the output.
                let exit = exitedAt ?? ContinuousClock.now
                exitedAt = exit
                if ContinuousClock.now - exit > .seconds(2) {
                    let rest = partial.value
                    return (process.value.terminationStatus, (lines + (rest.isEmpty ? [] : [rest])).joined(separator: "\n"))
                }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Kills the process if it still runs: for test clean-up.
    public func stop() async {
        if isRunning {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(10))
        }
    }
}

/// Finds a program on PATH.
public func which(_ program: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(directory)/\(program)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// The `tocsin` executable next to the test bundle (`swift build` puts both in the same folder).
public func tocsinExecutable() -> String? {
    var candidates: [String] = []
    let argument = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
    var directory = argument.deletingLastPathComponent()
    for _ in 0..<4 {
        candidates.append(directory.appendingPathComponent("tocsin").path)
        directory = directory.deletingLastPathComponent()
    }
    candidates.append(FileManager.default.currentDirectoryPath + "/.build/debug/tocsin")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) && !$0.hasSuffix(".xctest") }
}

/// Whether a TCP connection to 127.0.0.1:`port` is accepted: tells whether a server still listens, without the
/// pooled keep-alive connections an HTTP client would reuse.
public func acceptsConnections(port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0
}
