#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback port that refuses connections while it stays reserved: a TCP socket bound to it but never listening.
///
/// Tests of a peer that is down used to learn a free port and close it; while it was closed, a server started by
/// another test running in parallel could be given the same port and receive the deliveries meant for the dead
/// peer. Holding the port bound keeps the kernel from handing it out, and a bound socket that does not listen
/// answers every connection attempt with a reset, exactly as a stopped server does. The socket is bound with
/// SO_REUSEADDR so that a receiver can listen on the same port (Linux allows it while this socket does not listen)
/// before the reservation is released.
public final class RefusingPort: Sendable {
    public let port: Int
    private let descriptor: Int32
    private let released = LockedBox(false)

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RefusingPortError.system("socket", errno) }
        var enable: Int32 = 1
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &enable, socklen_t(MemoryLayout<Int32>.size)) == 0
                    && bind(descriptor, generic, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard bound else {
            let code = errno
            close(descriptor)
            throw RefusingPortError.system("bind", code)
        }
        var assigned = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &assigned) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) == 0 }
        }
        guard named else {
            let code = errno
            close(descriptor)
            throw RefusingPortError.system("getsockname", code)
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: assigned.sin_port))
    }

    /// Gives the port up; call it once a receiver listens on it (or when the test ends).
    public func release() {
        let first = released.withValue { done in
            defer { done = true }
            return !done
        }
        if first { close(descriptor) }
    }

    deinit {
        release()
    }

    public enum RefusingPortError: Error, CustomStringConvertible {
        case system(String, Int32)

        public var description: String {
            switch self {
            case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
            }
        }
    }
}
