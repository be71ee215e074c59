import Testing
import TocsinCore

@Suite("Duration parser")
struct DurationParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: Duration
        var testDescription: String { "\"\(text)\"" }
    }

    @Test(
        "valid durations",
        arguments: [
            Case(text: "250ms", expected: .milliseconds(250)),
            Case(text: "30s", expected: .seconds(30)),
            Case(text: "5m", expected: .seconds(300)),
            Case(text: "3h", expected: .seconds(10_800)),
            Case(text: "1h30m", expected: .seconds(5_400)),
            Case(text: "1m30s500ms", expected: .milliseconds(90_500)),
            Case(text: "1d", expected: .seconds(86_400)),
            Case(text: "45", expected: .seconds(45)),
            Case(text: "0", expected: .zero),
            Case(text: "1.5", expected: .milliseconds(1_500)),
            Case(text: "1.5h", expected: .seconds(5_400)),
            Case(text: " 30s ", expected: .seconds(30)),
        ]
    )
    func valid(_ item: Case) {
        #expect(DurationParser.parse(item.text) == item.expected)
    }

    @Test(
        "garbage is nil",
        arguments: ["", "   ", "abc", "5x", "m5", "-5", "-5s", "5 m", "1h30", "ms", "s", "1..5s", "5s!", "ten seconds", "1y"]
    )
    func garbage(_ text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test("format writes the largest whole unit and parses back")
    func formatRoundTrips() {
        #expect(DurationParser.format(.seconds(3_600)) == "1h")
        #expect(DurationParser.format(.seconds(300)) == "5m")
        #expect(DurationParser.format(.seconds(90)) == "90s")
        #expect(DurationParser.format(.milliseconds(250)) == "250ms")
        for duration: Duration in [.seconds(7_200), .seconds(60), .seconds(45), .milliseconds(1_250), .zero] {
            #expect(DurationParser.parse(DurationParser.format(duration)) == duration)
        }
    }

    @Test("milliseconds and seconds of a Duration")
    func durationAccessors() {
        #expect(Duration.milliseconds(1_500).milliseconds == 1_500)
        #expect(Duration.milliseconds(1_500).seconds == 1.5)
    }
}
