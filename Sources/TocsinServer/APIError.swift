import Foundation
import Hummingbird
import TocsinCore

/// A refused request: the status, a machine-readable reason, the field at fault and a sentence for people.
/// Rendered as `{"error": {"status", "reason", "field", "message"}}`.
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var reason: String
    public var field: String?
    public var message: String

    public init(status: HTTPResponse.Status, reason: String, field: String? = nil, message: String) {
        self.status = status
        self.reason = reason
        self.field = field
        self.message = message
    }

    init(_ error: IngestError) {
        let status: HTTPResponse.Status =
            switch error.reason {
            case .bodyTooLarge, .tooManyEvents: .contentTooLarge
            default: .badRequest
            }
        self.init(status: status, reason: error.reason.rawValue, field: error.field.isEmpty ? nil : error.field, message: error.message)
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            var status: Int
            var reason: String
            var field: String?
            var message: String
        }

        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(status: status.code, reason: reason, field: field, message: message))
        return try JSONResponse.make(body, status: status)
    }
}

/// JSON answers with the project's conventions: RFC 3339 dates with milliseconds, sorted keys.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()

    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
