import Crypto
import Foundation

/// One e-mail as RFC 5322 + MIME text: headers, then a multipart/alternative body with a text/plain part and a
/// text/html part (least preferred first, RFC 2046 §5.1.4).
///
/// The rendered message is 7-bit ASCII with CRLF line ends and no line longer than 78 characters: non-ASCII header
/// text becomes RFC 2047 encoded-words, bodies are quoted-printable. So it needs neither 8BITMIME nor SMTPUTF8, and
/// the 998-character line limit of RFC 5322 §2.1.1 holds whatever the templates produce.
public struct EmailMessage: Sendable, Hashable {
    public var from: EmailAddress
    public var to: [EmailAddress]
    public var subject: String
    public var date: Date
    /// Without angle brackets: `tocsin.d3f0c2@example.com`.
    public var messageID: String
    public var inReplyTo: String?
    /// Message ids this message follows, oldest first, without angle brackets.
    public var references: [String]
    public var textBody: String
    public var htmlBody: String
    /// Further headers (name, ASCII value), written after the standard ones.
    public var extraHeaders: [Header]

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(
        from: EmailAddress,
        to: [EmailAddress],
        subject: String,
        date: Date,
        messageID: String,
        inReplyTo: String? = nil,
        references: [String] = [],
        textBody: String,
        htmlBody: String,
        extraHeaders: [Header] = []
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.extraHeaders = extraHeaders
    }

    /// The part separator. It starts with `=_`, which quoted-printable never produces (a literal `=` is encoded as
    /// `=3D`), so no body line can be mistaken for it (RFC 2045 §6.7 note 1 suggests exactly this).
    public var boundary: String {
        let digest = SHA256.hash(data: Data(messageID.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        return "=_tocsin_\(digest)"
    }

    /// The whole message, CRLF line ends, ready for `DATA` (before dot-stuffing).
    public func rendered() -> [UInt8] {
        var lines: [String] = []
        lines += MIMEHeader.fold(name: "Date", tokens: [MIMEHeader.date(date)])
        lines += MIMEHeader.fold(name: "From", tokens: MIMEHeader.mailboxTokens(from))
        var recipientTokens: [String] = []
        for (index, recipient) in to.enumerated() {
            var tokens = MIMEHeader.mailboxTokens(recipient)
            if index < to.count - 1 { tokens[tokens.count - 1] += "," }
            recipientTokens += tokens
        }
        lines += MIMEHeader.fold(name: "To", tokens: recipientTokens)
        lines += MIMEHeader.fold(name: "Subject", tokens: MIMEHeader.unstructuredTokens(subject, headerName: "Subject"))
        lines += MIMEHeader.fold(name: "Message-ID", tokens: ["<\(messageID)>"])
        if let inReplyTo { lines += MIMEHeader.fold(name: "In-Reply-To", tokens: ["<\(inReplyTo)>"]) }
        if !references.isEmpty { lines += MIMEHeader.fold(name: "References", tokens: references.map { "<\($0)>" }) }
        for header in extraHeaders {
            lines += MIMEHeader.fold(name: header.name, tokens: MIMEHeader.unstructuredTokens(header.value, headerName: header.name))
        }
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: multipart/alternative;")
        lines.append(" boundary=\"\(boundary)\"")
        lines.append("")
        lines.append("This is a multi-part message in MIME format.")
        for (type, body) in [("text/plain", textBody), ("text/html", htmlBody)] {
            lines.append("")
            lines.append("--\(boundary)")
            lines.append("Content-Type: \(type); charset=utf-8")
            lines.append("Content-Transfer-Encoding: quoted-printable")
            lines.append("")
            lines += QuotedPrintable.encode(body)
        }
        lines.append("")
        lines.append("--\(boundary)--")
        lines.append("")
        return Array(lines.joined(separator: "\r\n").utf8)
    }
}

/// Header field writing: folding (RFC 5322 §2.2.3), encoded-words (RFC 2047) and the date format (§3.3).
public enum MIMEHeader {
    /// The line length RFC 5322 §2.1.1 recommends; RFC 2047 §2 caps lines holding encoded-words at 76.
    static let preferredLineLength = 76

    /// `Name: token token …`, with lines broken before a token when the line would pass 76 characters.
    public static func fold(name: String, tokens: [String]) -> [String] {
        var lines: [String] = []
        var current = "\(name):"
        for token in tokens where !token.isEmpty {
            if current.count + 1 + token.count > preferredLineLength && current != "\(name):" {
                lines.append(current)
                current = " " + token
            } else {
                current += " " + token
            }
        }
        lines.append(current)
        return lines
    }

    /// The words of a free-text header (a subject). Runs of white space, line breaks included, become one space.
    /// Text that is not plain ASCII, or that could be read as an encoded-word, or that holds a word too long to
    /// fold, is sent as UTF-8 encoded-words.
    public static func unstructuredTokens(_ text: String, headerName: String) -> [String] {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        let needsEncoding =
            !text.unicodeScalars.allSatisfy { $0.isASCII && ($0.value >= 32 || $0 == "\t" || $0 == "\n" || $0 == "\r") && $0.value != 127 }
            || words.contains { $0.contains("=?") || $0.count > preferredLineLength - 2 - headerName.count }
        guard needsEncoding else { return words }
        return encodedWords(words.joined(separator: " "), firstLineUsed: headerName.count + 2)
    }

    /// `phrase <address>`: the display name as a quoted string, or as encoded-words when it is not ASCII.
    static func mailboxTokens(_ mailbox: EmailAddress) -> [String] {
        guard let name = mailbox.displayName, !name.isEmpty else { return [mailbox.address] }
        // A long name is encoded too: encoded-words can be folded, a quoted string cannot.
        let printable = name.count <= 60 && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 32 && $0.value != 127 }
        let nameTokens = printable ? ["\"\(name)\""] : encodedWords(name, firstLineUsed: 6)
        return nameTokens + ["<\(mailbox.address)>"]
    }

    /// `=?UTF-8?B?…?=` words of at most 75 characters; a character is never split across two words
    /// (RFC 2047 §5). Between encoded-words the folding white space is not part of the text, so the text is cut
    /// anywhere, spaces included.
    public static func encodedWords(_ text: String, firstLineUsed: Int) -> [String] {
        // "=?UTF-8?B?" + "?=" is 12 characters; base64 turns 3 bytes into 4 characters.
        func byteBudget(lineRoom: Int) -> Int { max(3, (min(75, lineRoom) - 12) / 4 * 3) }
        var words: [String] = []
        var chunk: [UInt8] = []
        var budget = byteBudget(lineRoom: preferredLineLength - firstLineUsed - 1)
        for character in text {
            let bytes = Array(String(character).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > budget {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
                budget = byteBudget(lineRoom: preferredLineLength - 1)
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words
    }

    /// `Thu, 01 Jan 2026 00:00:31 +0000` (RFC 5322 §3.3), always in UTC.
    public static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = days[((parts.weekday ?? 1) - 1) % 7]
        let month = months[((parts.month ?? 1) - 1) % 12]
        return String(
            format: "%@, %02d %@ %04d %02d:%02d:%02d +0000",
            weekday,
            parts.day ?? 1,
            month,
            parts.year ?? 1970,
            parts.hour ?? 0,
            parts.minute ?? 0,
            parts.second ?? 0
        )
    }
}

/// Quoted-printable (RFC 2045 §6.7) for UTF-8 text: every line of the result is at most 76 characters, so a
/// body line of any length arrives whole after decoding.
public enum QuotedPrintable {
    static let maximumLineLength = 76

    /// The encoded lines (without line ends). Line breaks of the text (`\n`, `\r\n` or `\r`) become hard breaks.
    public static func encode(_ text: String) -> [String] {
        let hex = Array("0123456789ABCDEF".utf8)
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let scalars = Array(line.unicodeScalars)
            var current: [UInt8] = []
            current.reserveCapacity(maximumLineLength)
            var token: [UInt8] = []
            for (index, scalar) in scalars.enumerated() {
                let value = scalar.value
                let isLast = index == scalars.count - 1
                token.removeAll(keepingCapacity: true)
                if (value >= 33 && value <= 126 && scalar != "=") || ((scalar == " " || scalar == "\t") && !isLast) {
                    token.append(UInt8(value))
                } else {
                    // The bytes of one character stay on one line, for decoders that decode line by line.
                    for byte in String(scalar).utf8 { token += [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]] }
                }
                // A soft break is a trailing "=", so an encoded line holds at most 75 characters before it.
                if current.count + token.count > maximumLineLength - 1 {
                    output.append(String(decoding: current, as: UTF8.self) + "=")
                    current.removeAll(keepingCapacity: true)
                }
                current += token
            }
            output.append(String(decoding: current, as: UTF8.self))
        }
        return output
    }

    /// Decodes quoted-printable lines joined by CRLF: for tests and tools.
    public static func decode(_ encoded: String) -> [UInt8] {
        var result: [UInt8] = []
        let lines = encoded.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (lineIndex, rawLine) in lines.enumerated() {
            var line = Array(rawLine.utf8)
            while let last = line.last, last == 32 || last == 9 { line.removeLast() }
            var soft = false
            if line.last == UInt8(ascii: "=") {
                soft = true
                line.removeLast()
            }
            var index = 0
            while index < line.count {
                if line[index] == UInt8(ascii: "="), index + 2 < line.count,
                    let value = UInt8(String(decoding: line[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
                {
                    result.append(value)
                    index += 3
                } else {
                    result.append(line[index])
                    index += 1
                }
            }
            if !soft && lineIndex < lines.count - 1 { result += [13, 10] }
        }
        return result
    }
}

/// SMTP's transparency procedure (RFC 5321 §4.5.2): the message body as it goes after `DATA`.
public enum SMTPDataEncoding {
    /// Every line end becomes CRLF (a bare LF or CR never reaches the wire), a line starting with "." gets a second
    /// one, and the terminating `.` line follows.
    public static func stuffed(_ message: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + message.count / 50 + 5)
        var atLineStart = true
        var index = 0
        while index < message.count {
            let byte = message[index]
            if atLineStart && byte == UInt8(ascii: ".") { output.append(byte) }
            switch byte {
            case 13:
                output += [13, 10]
                if index + 1 < message.count && message[index + 1] == 10 { index += 1 }
                atLineStart = true
            case 10:
                output += [13, 10]
                atLineStart = true
            default:
                output.append(byte)
                atLineStart = false
            }
            index += 1
        }
        if !atLineStart { output += [13, 10] }
        output += Array(".\r\n".utf8)
        return output
    }
}
