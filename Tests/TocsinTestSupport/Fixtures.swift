import Foundation

/// Files under Tests/Fixtures (schemas, scripts), found from this source file's path.
public enum Fixtures {
    public static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    public static func path(_ relative: String) -> String {
        directory + "/" + relative
    }
}

/// Validates JSON against a published schema with Python's `jsonschema` (installed by scripts/test.sh).
public enum JSONSchemaCheck {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The violations (empty when the document is valid). `pointer` names a schema inside an OpenAPI document,
    /// such as `/components/schemas/SendEvent`. Throws when the validator cannot run: a missing peer fails the
    /// test, it never passes it.
    public static func violations(of document: [UInt8], schemaFile: String, pointer: String? = nil) throws -> [String] {
        let directory = makeTemporaryDirectory("tocsin-schema")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let documentPath = directory + "/document.json"
        try Data(document).write(to: URL(fileURLWithPath: documentPath))
        guard let python = which("python3") else { throw Unavailable(description: "python3 is not on PATH; run scripts/test.sh") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Fixtures.path("schemas/validate.py"), schemaFile, documentPath] + (pointer.map { [$0] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        switch process.terminationStatus {
        case 0: return []
        case 1: return text.split(separator: "\n").map(String.init)
        default:
            throw Unavailable(description: "schema validator failed (is the Python package jsonschema installed? run scripts/test.sh): \(text)")
        }
    }
}
