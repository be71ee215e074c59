import Foundation
import TocsinSinks

/// A received e-mail taken apart the way a mail client would: unfolded headers, RFC 2047 words decoded, the
/// multipart body split at its boundary and each part's quoted-printable or base64 decoded. Independent of the
/// code that wrote the message except for the quoted-printable decoder.
struct ParsedMail {
    struct Part {
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        var contentType: String { header("Content-Type") ?? "" }
        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    let raw: [UInt8]
    let headers: [(name: String, value: String)]
    /// The header lines as sent, before unfolding.
    let headerLines: [String]
    let parts: [Part]

    init(_ raw: [UInt8]) throws {
        self.raw = raw
        let text = String(decoding: raw, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Malformed(description: "no blank line after the headers") }
        headerLines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        headers = try Self.unfold(headerLines)
        let body = String(text[split.upperBound...])
        guard let contentType = headers.first(where: { $0.name.lowercased() == "content-type" })?.value,
            let boundary = Self.parameter("boundary", in: contentType)
        else {
            throw Malformed(description: "not a multipart message")
        }
        var parts: [Part] = []
        var current: [String]?
        var closed = false
        for line in body.components(separatedBy: "\r\n") {
            if line == "--\(boundary)--" {
                if let lines = current { parts.append(try Self.part(lines)) }
                closed = true
                break
            } else if line == "--\(boundary)" {
                if let lines = current { parts.append(try Self.part(lines)) }
                current = []
            } else if current != nil {
                current?.append(line)
            }
        }
        guard closed else { throw Malformed(description: "no closing boundary") }
        self.parts = parts
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The subject as a mail client shows it.
    var subject: String { Self.decodeWords(header("Subject") ?? "") }

    /// Every physical line of the message (split at CRLF), for line-length and line-end checks.
    var lines: [String] {
        String(decoding: raw, as: UTF8.self).components(separatedBy: "\r\n")
    }

    static func unfold(_ lines: [String]) throws -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for line in lines {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                guard !result.isEmpty else { throw Malformed(description: "continuation before the first header") }
                result[result.count - 1].value += line
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw Malformed(description: "header line without a colon: \(line)") }
                result.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            }
        }
        return result
    }

    static func part(_ lines: [String]) throws -> Part {
        guard let blank = lines.firstIndex(of: "") else { throw Malformed(description: "part without a blank line") }
        let headers = try unfold(Array(lines[..<blank]))
        var bodyLines = Array(lines[(blank + 1)...])
        // The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1).
        if bodyLines.last == "" { bodyLines.removeLast() }
        let encoded = bodyLines.joined(separator: "\r\n")
        let encoding = headers.first { $0.name.lowercased() == "content-transfer-encoding" }?.value.lowercased()
        let body: [UInt8]
        switch encoding {
        case "quoted-printable": body = QuotedPrintable.decode(encoded)
        case "base64": body = Array(Data(base64Encoded: bodyLines.joined()) ?? Data())
        default: body = Array(encoded.utf8)
        }
        return Part(headers: headers, body: body)
    }

    static func parameter(_ name: String, in value: String) -> String? {
        guard let range = value.range(of: "\(name)=") else { return nil }
        var rest = value[range.upperBound...]
        if rest.hasPrefix("\"") {
            rest = rest.dropFirst()
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
        return String(rest.prefix { $0 != ";" && $0 != " " })
    }

    /// RFC 2047 B-encoded words; white space between two encoded words is dropped (§6.2).
    static func decodeWords(_ text: String) -> String {
        var segments: [(encoded: Bool, text: String)] = []
        for token in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            if token.hasPrefix("=?"), token.hasSuffix("?="), token.uppercased().hasPrefix("=?UTF-8?B?") {
                let payload = String(token.dropFirst(10).dropLast(2))
                // Adjacent encoded words may split one text anywhere; join their bytes before decoding.
                if let last = segments.last, last.encoded {
                    segments[segments.count - 1].text += payload
                } else {
                    segments.append((true, payload))
                }
            } else {
                segments.append((false, token))
            }
        }
        return segments.map { segment in
            guard segment.encoded else { return segment.text }
            // Each word is padded base64 on its own: decode word by word.
            var bytes: [UInt8] = []
            var rest = Substring(segment.text)
            while !rest.isEmpty {
                let end =
                    rest.firstIndex(of: "=").map { index in
                        rest[index...].firstIndex { $0 != "=" } ?? rest.endIndex
                    } ?? rest.endIndex
                bytes += Array(Data(base64Encoded: String(rest[..<end])) ?? Data())
                rest = rest[end...]
            }
            return String(decoding: bytes, as: UTF8.self)
        }.joined(separator: " ")
    }
}
