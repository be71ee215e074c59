import Testing
import TocsinSinks

@Suite("SMTP reply parser")
struct SMTPReplyParserTests {
    @Test("a multi-line EHLO reply is one reply; its capabilities are read per line")
    func multiLine() throws {
        let text =
            "250-mail.example.org Hello\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n"
        let replies = try SMTPReplyParser.parse(text)
        try #require(replies.count == 1)
        let reply = replies[0]
        #expect(reply.code == 250)
        #expect(reply.lines == ["mail.example.org Hello", "SIZE 35882577", "8BITMIME", "AUTH LOGIN PLAIN XOAUTH2", "STARTTLS", "SMTPUTF8"])
        let capabilities = SMTPCapabilities(ehloReply: reply)
        #expect(capabilities.supports("starttls"))
        #expect(capabilities.supports("SMTPUTF8"))
        #expect(!capabilities.supports("PIPELINING"))
        #expect(capabilities.authMechanisms == ["LOGIN", "PLAIN", "XOAUTH2"])
        #expect(capabilities.maximumMessageSize == 35_882_577)
    }

    @Test("consecutive replies are split, each at its last line; a bare code is a complete reply")
    func consecutive() throws {
        let replies = try SMTPReplyParser.parse("220 ready\r\n250-first\r\n250 second\r\n354\r\n221 2.0.0 Bye\r\n")
        try #require(replies.count == 4)
        #expect(replies.map(\.code) == [220, 250, 354, 221])
        #expect(replies[1].lines == ["first", "second"])
        #expect(replies[2].lines == [""])
        #expect(replies[2].description == "354")
        #expect(replies[3].enhancedCode == "2.0.0")
    }

    @Test("the parser returns nothing until the last line arrives")
    func incremental() throws {
        var parser = SMTPReplyParser()
        #expect(try parser.consume("250-one") == nil)
        #expect(parser.isInsideReply)
        #expect(try parser.consume("250-two") == nil)
        let reply = try #require(try parser.consume("250 three"))
        #expect(reply.lines == ["one", "two", "three"])
        #expect(!parser.isInsideReply)
    }

    @Test("reply classes and the enhanced status code")
    func classes() throws {
        let replies = try SMTPReplyParser.parse(
            "235 2.7.0 Authentication successful\r\n334 VXNlcm5hbWU6\r\n451 4.3.0 Try later\r\n535 5.7.8 Bad credentials\r\n"
        )
        #expect(replies.map(\.isPositive) == [true, false, false, false])
        #expect(replies.map(\.isIntermediate) == [false, true, false, false])
        #expect(replies.map(\.isTransient) == [false, false, true, false])
        #expect(replies.map(\.isPermanent) == [false, false, false, true])
        #expect(replies.map(\.enhancedCode) == ["2.7.0", nil, "4.3.0", "5.7.8"])
        #expect(replies[3].description == "535 5.7.8 Bad credentials")
    }

    @Test("LF-only line ends are tolerated (some servers and proxies send them)")
    func bareLineFeeds() throws {
        let replies = try SMTPReplyParser.parse("250-a\n250 b\n")
        #expect(replies.first?.lines == ["a", "b"])
    }

    @Test(
        "what is not an SMTP reply is refused",
        arguments: [
            "HTTP/1.1 400 Bad Request", "25 short", "650 bad first digit", "2x0 letters", "260 bad second digit", "250_underscore",
            "250-first\r\n251 changed code", "250-never ends",
        ]
    )
    func malformed(text: String) {
        #expect(throws: SMTPMalformedReply.self) { try SMTPReplyParser.parse(text) }
    }

    @Test("an endless line or an endless reply is refused rather than buffered")
    func limits() {
        var parser = SMTPReplyParser()
        #expect(throws: SMTPMalformedReply.self) { try parser.consume("250 " + String(repeating: "x", count: SMTPReplyParser.maximumLineLength)) }
        var longReply = SMTPReplyParser()
        #expect(throws: SMTPMalformedReply.self) {
            for _ in 0...SMTPReplyParser.maximumLineCount { _ = try longReply.consume("250-line") }
        }
    }
}
