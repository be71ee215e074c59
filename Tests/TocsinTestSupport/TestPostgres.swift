import Foundation

/// The PostgreSQL the tests use, at `TOCSIN_TEST_POSTGRES` (scripts/test.sh starts a private one and sets it).
public enum TestPostgres {
    public static let variable = "TOCSIN_TEST_POSTGRES"

    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "\(TestPostgres.variable) is not set: run the suite with scripts/test.sh, which starts a private PostgreSQL, "
                + "or set it to a server's URL (postgres://user@127.0.0.1:5432/db?sslmode=disable)"
        }
    }

    /// The URL with a fresh schema of its own (`prefix_<random>`), so that tests never see each other's rows.
    public static func freshSchemaURL(prefix: String) throws -> String {
        try url(schema: prefix + "_" + String(UInt64.random(in: 0...UInt64.max), radix: 16))
    }

    /// The URL with `schema` in place of any schema it names.
    public static func url(schema: String) throws -> String {
        guard let base = ProcessInfo.processInfo.environment[variable], !base.isEmpty else { throw Missing() }
        guard var components = URLComponents(string: base) else { throw NotAURL(text: base) }
        components.queryItems = (components.queryItems ?? []).filter { $0.name != "schema" } + [URLQueryItem(name: "schema", value: schema)]
        guard let url = components.string else { throw NotAURL(text: base) }
        return url
    }

    public struct NotAURL: Error, CustomStringConvertible {
        var text: String
        public var description: String { "\(TestPostgres.variable) is not a URL: \(text)" }
    }
}
