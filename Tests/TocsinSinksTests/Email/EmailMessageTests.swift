import Foundation
import Testing
import TocsinCore
import TocsinSinks

/// The message builder and the SMTP data encoding, without a network.
@Suite("E-mail message builder")
struct EmailMessageTests {
    static let from = EmailAddress(displayName: "Tocsin Alerts", localPart: "alerts", domain: "example.org")
    static let to = [
        EmailAddress(localPart: "ops", domain: "example.org"), EmailAddress(displayName: "On Call", localPart: "oncall", domain: "example.org"),
    ]

    static func message(
        subject: String = "[FIRING] CRITICAL Disk usage above 80 % on n3",
        text: String = "plain body",
        html: String = "<p>html body</p>"
    )
        -> EmailMessage
    {
        EmailMessage(
            from: from,
            to: to,
            subject: subject,
            date: Date(timeIntervalSince1970: 1_767_225_631),
            messageID: "tocsin.d3f0c2a9@example.org",
            inReplyTo: "tocsin.alert.fp.1767225600@example.org",
            references: ["tocsin.alert.fp.1767225600@example.org"],
            textBody: text,
            htmlBody: html,
            extraHeaders: [EmailMessage.Header("Auto-Submitted", "auto-generated")]
        )
    }

    /// Every line ends with CRLF, nothing is outside 7-bit ASCII, no line is longer than 78 characters.
    static func expectWellFormed(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(bytes.allSatisfy { $0 < 128 }, "a byte outside ASCII", sourceLocation: sourceLocation)
        for (index, byte) in bytes.enumerated() {
            if byte == 10 { #expect(index > 0 && bytes[index - 1] == 13, "a bare LF at \(index)", sourceLocation: sourceLocation) }
            if byte == 13 { #expect(index + 1 < bytes.count && bytes[index + 1] == 10, "a bare CR at \(index)", sourceLocation: sourceLocation) }
        }
        for line in String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n") {
            #expect(line.count <= 78, "a line of \(line.count) characters: \(line.prefix(40))…", sourceLocation: sourceLocation)
        }
    }

    @Test("the RFC 5322 headers: Date, From, To, Subject, Message-ID, threading, MIME-Version")
    func headers() throws {
        let bytes = Self.message().rendered()
        Self.expectWellFormed(bytes)
        let mail = try ParsedMail(bytes)
        #expect(mail.header("Date") == "Thu, 01 Jan 2026 00:00:31 +0000")
        #expect(mail.header("From") == "\"Tocsin Alerts\" <alerts@example.org>")
        #expect(mail.header("To") == "ops@example.org, \"On Call\" <oncall@example.org>")
        #expect(mail.subject == "[FIRING] CRITICAL Disk usage above 80 % on n3")
        #expect(mail.header("Message-ID") == "<tocsin.d3f0c2a9@example.org>")
        #expect(mail.header("In-Reply-To") == "<tocsin.alert.fp.1767225600@example.org>")
        #expect(mail.header("References") == "<tocsin.alert.fp.1767225600@example.org>")
        #expect(mail.header("MIME-Version") == "1.0")
        #expect(mail.header("Auto-Submitted") == "auto-generated")
        for name in ["Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"] {
            #expect(mail.headerValues(name).count == 1, "\(name) appears \(mail.headerValues(name).count) times")
        }
    }

    @Test("multipart/alternative: text/plain first, then text/html, both UTF-8 quoted-printable, closed by the final boundary")
    func multipart() throws {
        let mail = try ParsedMail(Self.message(text: "Grüße aus dem Rechenzentrum", html: "<p>Grüße &amp; mehr</p>").rendered())
        let contentType = try #require(mail.header("Content-Type"))
        #expect(contentType.hasPrefix("multipart/alternative;"))
        #expect(ParsedMail.parameter("boundary", in: contentType) == Self.message().boundary)
        try #require(mail.parts.count == 2)
        #expect(mail.parts[0].contentType == "text/plain; charset=utf-8")
        #expect(mail.parts[1].contentType == "text/html; charset=utf-8")
        #expect(mail.parts.allSatisfy { $0.header("Content-Transfer-Encoding") == "quoted-printable" })
        #expect(mail.parts[0].text == "Grüße aus dem Rechenzentrum")
        #expect(mail.parts[1].text == "<p>Grüße &amp; mehr</p>")
    }

    @Test("the boundary cannot occur in a quoted-printable body, even when the text quotes it")
    func boundaryNotInBody() throws {
        let boundary = Self.message().boundary
        #expect(boundary.hasPrefix("=_"))
        let bytes = Self.message(text: "--\(boundary)\n--\(boundary)--").rendered()
        let mail = try ParsedMail(bytes)
        #expect(mail.parts.count == 2)
        #expect(mail.parts[0].text == "--\(boundary)\r\n--\(boundary)--")
    }

    @Test("a non-ASCII subject becomes RFC 2047 encoded-words of at most 75 characters that decode to the text")
    func encodedSubject() throws {
        let subject = "[FIRING] CRITICAL Überhitzung im Rechenzentrum Zürich – Knoten n3 meldet 95 °C ⚠️ und mehr Text danach 🔥"
        let bytes = Self.message(subject: subject).rendered()
        Self.expectWellFormed(bytes)
        let mail = try ParsedMail(bytes)
        #expect(mail.subject == subject)
        let start = try #require(mail.headerLines.firstIndex { $0.hasPrefix("Subject:") })
        var subjectLines = [mail.headerLines[start]]
        for line in mail.headerLines[(start + 1)...] where line.hasPrefix(" ") { subjectLines.append(line) }
        #expect(subjectLines.count > 1)
        for line in subjectLines {
            #expect(line.count <= 76)
            for word in line.split(separator: " ") where word.hasPrefix("=?") {
                #expect(word.count <= 75)
                #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            }
        }
    }

    @Test("a long ASCII subject is folded at spaces and unfolds to the same text; runs of white space become one space")
    func foldedSubject() throws {
        let words = (1...30).map { "word\($0)" }
        let mail = try ParsedMail(Self.message(subject: words.joined(separator: "  \n ")).rendered())
        #expect(mail.subject == words.joined(separator: " "))
        #expect(mail.headerLines.filter { $0.hasPrefix(" ") }.count >= 2)
        #expect(!(mail.header("Subject") ?? "").contains("=?"))
    }

    @Test("an ASCII subject that looks like an encoded-word is itself encoded, so it is shown as written")
    func subjectLookingEncoded() throws {
        let subject = "literal =?UTF-8?B?SGk=?= text"
        let mail = try ParsedMail(Self.message(subject: subject).rendered())
        #expect(mail.subject == subject)
    }

    @Test("display names: ASCII ones are quoted, others encoded; the address stays readable")
    func displayNames() throws {
        let message = EmailMessage(
            from: EmailAddress(displayName: "Tocsin Überwachung", localPart: "alerts", domain: "example.org"),
            to: [EmailAddress(displayName: "Ops, Team", localPart: "ops", domain: "example.org")],
            subject: "s",
            date: Date(timeIntervalSince1970: 0),
            messageID: "m@example.org",
            textBody: "t",
            htmlBody: "h"
        )
        let mail = try ParsedMail(message.rendered())
        let from = try #require(mail.header("From"))
        #expect(from.hasSuffix("<alerts@example.org>"))
        #expect(ParsedMail.decodeWords(String(from.dropLast("<alerts@example.org>".count))) == "Tocsin Überwachung")
        #expect(mail.header("To") == "\"Ops, Team\" <ops@example.org>")
        #expect(mail.header("Date") == "Thu, 01 Jan 1970 00:00:00 +0000")
    }

    @Test("quoted-printable: a 5000-character line comes back whole; every encoded line is at most 76 characters")
    func longLine() {
        let line = String(repeating: "0123456789abcdefghij=é ", count: 220)
        let encoded = QuotedPrintable.encode(line)
        #expect(encoded.allSatisfy { $0.count <= 76 })
        #expect(encoded.dropLast().allSatisfy { $0.hasSuffix("=") })
        #expect(String(decoding: QuotedPrintable.decode(encoded.joined(separator: "\r\n")), as: UTF8.self) == line)
    }

    @Test("quoted-printable: '=', non-ASCII, trailing white space and control characters are encoded; line ends become CRLF")
    func quotedPrintableRules() {
        #expect(QuotedPrintable.encode("a=b") == ["a=3Db"])
        #expect(QuotedPrintable.encode("é") == ["=C3=A9"])
        #expect(QuotedPrintable.encode("trailing ") == ["trailing=20"])
        #expect(QuotedPrintable.encode("tab\tinside\t") == ["tab\tinside=09"])
        #expect(QuotedPrintable.encode("bell\u{07}") == ["bell=07"])
        #expect(QuotedPrintable.encode("one\r\ntwo\nthree\rfour") == ["one", "two", "three", "four"])
        #expect(QuotedPrintable.encode(".leading dot") == [".leading dot"])
        // An escape is never split by a soft line break.
        let encoded = QuotedPrintable.encode(String(repeating: "é", count: 40))
        #expect(encoded.allSatisfy { line in line.replacingOccurrences(of: "=C3=A9", with: "").allSatisfy { $0 == "=" } })
    }

    @Test("dot-stuffing: a line starting with '.' gets a second dot, the message ends with CRLF.CRLF")
    func dotStuffing() {
        let stuffed = SMTPDataEncoding.stuffed(Array("first\r\n.hidden\r\n.\r\n..two\r\nlast".utf8))
        #expect(String(decoding: stuffed, as: UTF8.self) == "first\r\n..hidden\r\n..\r\n...two\r\nlast\r\n.\r\n")
        #expect(SMTPDataEncoding.stuffed(Array(".start\r\n".utf8)) == Array("..start\r\n.\r\n".utf8))
        #expect(SMTPDataEncoding.stuffed([]) == Array(".\r\n".utf8))
    }

    @Test("dot-stuffing turns bare LF and bare CR into CRLF, so a stray '\\n.\\n' cannot end the data early")
    func bareLineEnds() {
        let stuffed = SMTPDataEncoding.stuffed(Array("a\n.\nb\rc\r\n".utf8))
        #expect(String(decoding: stuffed, as: UTF8.self) == "a\r\n..\r\nb\r\nc\r\n.\r\n")
    }

    @Test("a rendered message with dots, long lines and non-ASCII text stays well formed after stuffing")
    func renderedThenStuffed() throws {
        let text = ".starts with a dot\n" + String(repeating: "x", count: 3000) + "\n.\nÜnïcødé"
        let rendered = Self.message(text: text, html: "<pre>\(text)</pre>").rendered()
        Self.expectWellFormed(rendered)
        let stuffed = SMTPDataEncoding.stuffed(rendered)
        #expect(String(decoding: stuffed, as: UTF8.self).hasSuffix("\r\n.\r\n"))
        // What a server gets after removing the stuffing is the rendered message.
        var unstuffed = String(decoding: stuffed.dropLast(3), as: UTF8.self).components(separatedBy: "\r\n")
        unstuffed = unstuffed.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }
        #expect(Array(unstuffed.joined(separator: "\r\n").utf8) == rendered)
        let mail = try ParsedMail(rendered)
        #expect(mail.parts[0].text == text.replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test("RFC 5322 dates for several days and months, always UTC")
    func dates() {
        #expect(MIMEHeader.date(Date(timeIntervalSince1970: 1_767_225_600)) == "Thu, 01 Jan 2026 00:00:00 +0000")
        #expect(MIMEHeader.date(Date(timeIntervalSince1970: 1_751_364_000)) == "Tue, 01 Jul 2025 10:00:00 +0000")
        #expect(MIMEHeader.date(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
    }
}
