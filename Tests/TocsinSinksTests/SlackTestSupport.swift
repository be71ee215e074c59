import AsyncHTTPClient
import Foundation
import Testing
import TocsinCore
import TocsinSinks
import TocsinTestSupport

/// What the Slack and Teams tests share: the public URL messages link to and the way sinks are built.
enum ChatFixture {
    static let publicURL = "https://tocsin.example.com"
    /// The Tocsin page of `Fixture`'s alert.
    static let alertPage = "https://tocsin.example.com/alerts/fp-5d2c9a"

    /// An alert event of `severity`, for colour and lifecycle tests.
    static func alert(
        _ type: NotificationType,
        severity: Severity = .critical,
        fingerprint: String = "fp-5d2c9a",
        id: String = "evt-0001",
        description: String? = "Disk usage on n3 is 83 %, above the 80 % warning level.",
        labels: [String: String] = Fixture.labels,
        summary: String? = nil
    ) -> OutboundNotification {
        var event = Fixture.event(for: type, id: id, fingerprint: fingerprint, labels: labels, description: description)
        event.severity = severity
        if let summary { event.summary = summary }
        return Fixture.outbound(type, deliveryID: "delivery-\(id)", notificationID: "n-\(id)", integration: "ops-chat", event: event)
    }

    /// A one-off notification of `severity`.
    static func notification(severity: Severity = .info) -> OutboundNotification {
        var event = Fixture.event(for: .notification)
        event.severity = severity
        return Fixture.outbound(.notification, integration: "ops-chat", event: event)
    }
}

/// A sink built through its registered factory with a fresh HTTP client, the given sink state and clock; the client
/// is shut down after `body`.
func withChatSink<S: Sink, T>(
    _ type: String,
    as _: S.Type,
    _ settings: [String: JSONValue],
    timeout: Duration = .seconds(5),
    publicURL: String? = ChatFixture.publicURL,
    state: any SinkStateStore = InMemorySinkStateStore(),
    clock: ManualClock = ManualClock(Fixture.receivedAt),
    _ body: (S) async throws -> T
) async throws -> T {
    let client = HTTPTransport.makeClient()
    let result: Result<T, any Error>
    do {
        let environment = SinkEnvironment(http: HTTPTransport(client: client), publicURL: publicURL, state: state, now: { clock.now })
        let integration = Fixture.integration(type: type, name: "ops-chat", timeout: timeout, settings)
        let factory = try #require(SinkRegistry.factories[type], "no sink type \(type) in the registry")
        let sink = try #require(try factory.make(integration, environment).get() as? S)
        result = .success(try await body(sink))
    } catch {
        result = .failure(error)
    }
    try await client.shutdown()
    return try result.get()
}

func withSlackSink<T>(
    _ settings: [String: JSONValue],
    timeout: Duration = .seconds(5),
    publicURL: String? = ChatFixture.publicURL,
    state: any SinkStateStore = InMemorySinkStateStore(),
    clock: ManualClock = ManualClock(Fixture.receivedAt),
    _ body: (SlackSink) async throws -> T
) async throws -> T {
    try await withChatSink("slack", as: SlackSink.self, settings, timeout: timeout, publicURL: publicURL, state: state, clock: clock, body)
}

func withTeamsSink<T>(
    _ settings: [String: JSONValue],
    timeout: Duration = .seconds(5),
    publicURL: String? = ChatFixture.publicURL,
    _ body: (TeamsSink) async throws -> T
) async throws -> T {
    try await withChatSink("microsoft_teams", as: TeamsSink.self, settings, timeout: timeout, publicURL: publicURL, body)
}

/// Reading Slack message bodies in tests.
extension JSONValue {
    var arrayValue: [JSONValue] {
        if case .array(let items) = self { items } else { [] }
    }

    /// Every block of a Slack message: top-level, then those of its attachments.
    var slackBlocks: [JSONValue] {
        (self["blocks"]?.arrayValue ?? []) + (self["attachments"]?.arrayValue ?? []).flatMap { $0["blocks"]?.arrayValue ?? [] }
    }

    /// Every field text of a Slack message's section blocks, in order.
    var slackFields: [String] {
        slackBlocks.flatMap { ($0["fields"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue } }
    }

    /// The text of the first block of `type`.
    func slackBlockText(_ type: String) -> String? {
        slackBlocks.first { $0["type"]?.stringValue == type }?["text"]?["text"]?.stringValue
    }

    /// All the text Slack counts for its block limits: header, section text and fields, button labels.
    var slackBlockTextLength: Int {
        slackBlocks.reduce(0) { total, block in
            let text = block["text"]?["text"]?.stringValue?.count ?? 0
            let fields = (block["fields"]?.arrayValue ?? []).reduce(0) { $0 + ($1["text"]?.stringValue?.count ?? 0) }
            let buttons = (block["elements"]?.arrayValue ?? []).reduce(0) { $0 + ($1["text"]?["text"]?.stringValue?.count ?? 0) }
            return total + text + fields + buttons
        }
    }

    var slackColour: String? { self["attachments"]?[0]?["color"]?.stringValue }

    var slackButtonURLs: [String] {
        slackBlocks.filter { $0["type"]?.stringValue == "actions" }.flatMap {
            ($0["elements"]?.arrayValue ?? []).compactMap { $0["url"]?.stringValue }
        }
    }
}

/// A sink state store that is down: every call throws.
struct UnavailableSinkState: SinkStateStore {
    struct Down: Error, CustomStringConvertible {
        var description: String { "database is locked" }
    }

    func value(integration: String, key: String) async throws -> String? { throw Down() }
    func setValue(_ value: String, integration: String, key: String, now: Date) async throws { throw Down() }
    func removeValue(integration: String, key: String) async throws { throw Down() }
}
