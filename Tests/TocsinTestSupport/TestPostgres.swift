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
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else { throw Missing() }
        let schema = prefix + "_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return url + (url.contains("?") ? "&" : "?") + "schema=" + schema
    }
}
