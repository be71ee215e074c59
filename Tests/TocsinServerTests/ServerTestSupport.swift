import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TocsinCore
import TocsinServer
import TocsinSinks
import TocsinTestSupport

/// The log-file-only configuration most API tests use.
let logFileYAML = """
    integrations:
      - name: alert-log
        type: log_file
        path: "{DATA}/notifications.log"
      - name: backup-log
        type: log_file
        path: "{DATA}/backups.log"
    routing:
      global:
        warning: [alert-log]
        error: [alert-log]
      backups:
        info: [backup-log]
    """

extension TestResponse {
    var text: String { String(buffer: body) }

    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}
