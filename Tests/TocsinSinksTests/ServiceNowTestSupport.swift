import Foundation
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// Credentials and settings the ServiceNow tests share.
enum ServiceNowTest {
    static let username = "tocsin.integration"
    static let password = "Pa55-servicenow-Zx9q"
    static let basicAuthorization = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    static let publicURL = "https://tocsin.example.com"
    /// The correlation id of `Fixture`'s alert.
    static let correlationID = "tocsin-fp-5d2c9a"

    static func fake(mandatoryOnResolve: [String] = [], tableAPIVersion: Int = 2, echo: Bool = false) -> ServiceNowFake {
        ServiceNowFake(username: username, password: password, mandatoryOnResolve: mandatoryOnResolve, tableAPIVersion: tableAPIVersion, echo: echo)
    }

    /// Incident mode against `url`, with the given extra settings.
    static func settings(url: String, _ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var settings: [String: JSONValue] = ["url": .string(url), "username": .string(username), "password": .string(password)]
        settings.merge(extra) { $1 }
        return settings
    }

    static func integration(_ settings: [String: JSONValue], index: Int = 0, timeout: Duration = .seconds(5)) -> IntegrationConfig {
        Fixture.integration(type: "servicenow", name: "ops-servicenow", index: index, timeout: timeout, settings)
    }

    /// An alert notification of `type` with `severity` (the fixture's alert is critical).
    static func outbound(
        _ type: NotificationType,
        severity: Severity = .critical,
        fingerprint: String = "fp-5d2c9a",
        configure: (inout Event) -> Void = { _ in }
    ) -> OutboundNotification {
        var event = Fixture.event(for: type, fingerprint: fingerprint)
        event.severity = severity
        configure(&event)
        return Fixture.outbound(type, integration: "ops-servicenow", event: event)
    }
}

/// Builds a ServiceNow sink through its configuration parser with a fresh client, runs `body`, then shuts the client down.
func withServiceNowSink<T>(
    _ settings: [String: JSONValue],
    timeout: Duration = .seconds(5),
    publicURL: String? = ServiceNowTest.publicURL,
    now: @escaping @Sendable () -> Date = { Date() },
    _ body: (ServiceNowSink) async throws -> T
) async throws -> T {
    let client = HTTPTransport.makeClient()
    let result: Result<T, any Error>
    do {
        let configuration = try ServiceNowConfiguration.parse(ServiceNowTest.integration(settings, timeout: timeout), publicURL: publicURL).get()
        let sink = ServiceNowSink(configuration: configuration, transport: HTTPTransport(client: client), publicURL: publicURL, now: now)
        result = .success(try await body(sink))
    } catch {
        result = .failure(error)
    }
    try await client.shutdown()
    return try result.get()
}

extension RecordedRequest {
    /// The body as a string-valued JSON object (ServiceNow fields are strings); nil when it is not one.
    var stringFields: [String: String]? {
        jsonObject()?.compactMapValues { $0 as? String }
    }
}
