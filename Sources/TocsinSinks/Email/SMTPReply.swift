import Foundation

/// One SMTP reply (RFC 5321 §4.2): a three-digit code and one or more lines of text.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    /// The text of each line, after the code and its separator.
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// 2yz: the command was accepted.
    public var isPositive: Bool { (200..<300).contains(code) }
    /// 3yz: the server waits for more (`334` during AUTH, `354` after DATA).
    public var isIntermediate: Bool { (300..<400).contains(code) }
    /// 4yz: refused for now; the same command may work later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5yz: refused; sending the same again will not help.
    public var isPermanent: Bool { (500..<600).contains(code) }

    /// The RFC 3463 enhanced status code (`5.7.8`) at the start of the first line, when there is one.
    public var enhancedCode: String? {
        guard let first = lines.first?.split(separator: " ", maxSplits: 1).first else { return nil }
        let parts = first.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, ["2", "4", "5"].contains(parts[0]),
            parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigitCharacter) })
        else { return nil }
        return String(first)
    }

    /// `550 5.1.1 No such user`; the lines of a multi-line reply joined with spaces.
    public var description: String {
        let text = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        return text.isEmpty ? String(code) : "\(code) \(text)"
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isWholeNumber }
}

/// The server sent something that is not an SMTP reply.
public struct SMTPMalformedReply: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String

    public var description: String { "malformed SMTP reply: \(reason)" }
}

/// Groups reply lines into replies. A line is `<code>-<text>` (more lines follow) or `<code> <text>` / `<code>`
/// (the last line); every line of one reply carries the same code (RFC 5321 §4.2.1).
public struct SMTPReplyParser: Sendable {
    /// Longer lines are refused rather than buffered without end; RFC 5321 allows 512 octets per reply line.
    public static let maximumLineLength = 4096
    /// A reply with more lines than this is refused (a capability list has a dozen).
    public static let maximumLineCount = 200

    private var code: Int?
    private var lines: [String] = []

    public init() {}

    /// Whether some lines of a reply have been read but not its last one.
    public var isInsideReply: Bool { code != nil }

    /// Reads one line (without its CRLF); returns the reply it completes, if it is a last line.
    public mutating func consume(_ line: String) throws(SMTPMalformedReply) -> SMTPReply? {
        guard line.utf8.count <= Self.maximumLineLength else { throw SMTPMalformedReply(reason: "line longer than \(Self.maximumLineLength) octets") }
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(bytes[0]),
            (UInt8(ascii: "0")...UInt8(ascii: "5")).contains(bytes[1]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[2])
        else {
            throw SMTPMalformedReply(reason: "line does not start with a reply code: \(Self.quoted(line))")
        }
        let lineCode = Int(bytes[0] - 48) * 100 + Int(bytes[1] - 48) * 10 + Int(bytes[2] - 48)
        if let code, code != lineCode {
            throw SMTPMalformedReply(reason: "reply code changed from \(code) to \(lineCode) within one reply")
        }
        let isLast: Bool
        let text: String
        if bytes.count == 3 {
            isLast = true
            text = ""
        } else if bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-") {
            isLast = bytes[3] == UInt8(ascii: " ")
            text = String(decoding: bytes[4...], as: UTF8.self)
        } else {
            throw SMTPMalformedReply(reason: "unexpected character after the reply code: \(Self.quoted(line))")
        }
        lines.append(text)
        guard isLast else {
            code = lineCode
            if lines.count >= Self.maximumLineCount { throw SMTPMalformedReply(reason: "more than \(Self.maximumLineCount) lines in one reply") }
            return nil
        }
        let reply = SMTPReply(code: lineCode, lines: lines)
        code = nil
        lines = []
        return reply
    }

    /// Every complete reply in `text` (lines ended by CRLF or LF): for tests and tools.
    public static func parse(_ text: String) throws(SMTPMalformedReply) -> [SMTPReply] {
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        // "\r\n" is one Character in Swift: normalise the line ends before splitting.
        var body = Substring(text.replacingOccurrences(of: "\r\n", with: "\n"))
        if body.hasSuffix("\n") { body = body.dropLast() }
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            if let reply = try parser.consume(String(line)) { replies.append(reply) }
        }
        if parser.isInsideReply { throw SMTPMalformedReply(reason: "the last reply has no final line") }
        return replies
    }

    private static func quoted(_ line: String) -> String {
        "'" + String(line.prefix(60)).unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }.joined() + "'"
    }
}

/// What the server announced in its EHLO reply (RFC 5321 §4.1.1.1): one keyword per line after the first, with
/// its parameters.
public struct SMTPCapabilities: Sendable, Hashable {
    /// Upper-cased keyword → its parameters.
    public private(set) var extensions: [String: [String]] = [:]

    public init(ehloReply: SMTPReply) {
        for line in ehloReply.lines.dropFirst() {
            let words = line.split(separator: " ").map(String.init)
            guard let keyword = words.first else { continue }
            // Some servers still announce `AUTH=PLAIN LOGIN` (a pre-RFC 4954 form) next to or instead of `AUTH`.
            if keyword.uppercased().hasPrefix("AUTH=") {
                let first = String(keyword.dropFirst(5))
                extensions["AUTH", default: []] += ([first] + words.dropFirst()).map { $0.uppercased() }
                continue
            }
            let upper = keyword.uppercased()
            let parameters = Array(words.dropFirst())
            extensions[upper, default: []] += upper == "AUTH" ? parameters.map { $0.uppercased() } : parameters
        }
    }

    public init() {}

    public func supports(_ keyword: String) -> Bool { extensions[keyword.uppercased()] != nil }

    /// The SASL mechanisms offered with `AUTH`, upper-cased.
    public var authMechanisms: Set<String> { Set(extensions["AUTH"] ?? []) }

    /// The largest message the server takes (`SIZE n`), when it says; `SIZE 0` means no fixed limit.
    public var maximumMessageSize: Int? {
        guard let text = extensions["SIZE"]?.first, let size = Int(text), size > 0 else { return nil }
        return size
    }
}
