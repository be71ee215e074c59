import Foundation

extension PostgresSettings {
    /// Reads a connection URL: `postgres://user:password@host:port/database?sslmode=disable|prefer|require`
    /// (`postgresql://` too; `tlsmode` is a synonym of `sslmode`, and `schema`, `pool_size`, `ca_file` and
    /// `skip_verify` are read from the query as well). The message of the error never contains the password.
    public init(url text: String) throws(ConfigProblem) {
        self.init()
        func problem(_ message: String) -> ConfigProblem { ConfigProblem(path: "storage.postgres", message: message) }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw problem("not a URL (expected postgres://user:password@host:port/database)")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw problem("the URL's scheme must be postgres:// or postgresql://, got '\(scheme)'")
        }
        if var host = components.host, !host.isEmpty {
            // URLComponents keeps an IPv6 address's brackets, which are URL syntax, not part of the address.
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.host = host
        }
        if let port = components.port {
            guard (1...65_535).contains(port) else { throw problem("port \(port) is out of range") }
            self.port = port
        }
        if let user = components.user, !user.isEmpty { self.user = user.removingPercentEncoding ?? user }
        if let password = components.password { self.password = Secret(password.removingPercentEncoding ?? password) }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        if !path.isEmpty { database = path.removingPercentEncoding ?? path }
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode", "tlsmode":
                switch value {
                case "disable": tls = .disable
                case "prefer", "allow": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw problem("\(item.name) must be disable, prefer or require, got '\(value)'")
                }
            case "schema":
                schema = value.isEmpty ? nil : value
            case "pool_size":
                guard let size = Int(value), size >= 1 else { throw problem("pool_size must be a whole number of at least 1, got '\(value)'") }
                poolSize = size
            case "ca_file", "sslrootcert":
                caFile = value
            case "skip_verify":
                guard let flag = Bool(value) else { throw problem("skip_verify must be true or false, got '\(value)'") }
                skipVerify = flag
            default:
                throw problem("unknown URL parameter '\(item.name)'")
            }
        }
    }
}
