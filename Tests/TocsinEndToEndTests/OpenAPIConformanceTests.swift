import Foundation
import Testing
import TocsinTestSupport

/// schemathesis generates requests from the served OpenAPI document (valid ones and invalid ones) and checks every
/// answer: no 5xx, a documented status, a documented content type, a body that fits the document's schema.
@Suite("OpenAPI conformance (schemathesis)", .serialized)
struct OpenAPIConformanceTests {
    static let yaml = """
        integrations:
          - name: alert-log
            type: log_file
            path: "{DATA}/notifications.log"
        routing:
          global:
            warning: [alert-log]
            error: [alert-log]
        """

    @Test("schemathesis finds no server error and no answer outside the document")
    func schemathesis() async throws {
        let program = try #require(
            which("schemathesis"),
            "schemathesis is not installed: scripts/test.sh installs it (python3 -m pip install schemathesis)"
        )
        let server = try await LiveServer.start(yaml: Self.yaml)
        let reportDirectory = server.directory + "/schemathesis"
        let run = try ChildProcess(
            executable: program,
            arguments: [
                "run", "\(server.baseURL)/api/v1/openapi.yaml",
                "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples", "25",
                "--seed", "7",
                "--workers", "1",
                "--phases", "examples,coverage,fuzzing",
                "--request-timeout", "10",
                "--no-color",
                "--report", "junit",
                "--report-dir", reportDirectory,
            ],
            environment: ProcessInfo.processInfo.environment.merging(["SCHEMATHESIS_HOOKS": ""]) { _, new in new }
        )
        let finished = await run.waitForCompletion(timeout: .seconds(600))
        await server.stop()
        let (status, output) = try #require(finished, "schemathesis did not finish in 10 minutes")
        #expect(status == 0, "schemathesis failed (exit \(status)):\n\(output.suffix(6000))")
        // It must have exercised the API, not stopped at the document.
        #expect(output.contains("API Operations"), "unexpected schemathesis output:\n\(output.suffix(3000))")
    }
}
