import Foundation
import Testing
import TocsinCore

/// An instant from ISO 8601 text such as "2026-03-07T02:00:00Z"; fails the test when the text is malformed.
private func cronInstant(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Date {
    try #require(ISO8601DateFormatter().date(from: text), sourceLocation: sourceLocation)
}

/// An instant as ISO 8601 text in UTC, so that failures read as dates rather than seconds since 1970.
private func cronText(_ date: Date?) -> String? {
    date.map { ISO8601DateFormatter().string(from: $0) }
}

/// The next `count` occurrences of `expression` strictly after `start`, as ISO 8601 text.
private func nextOccurrences(of expression: String, after start: String, count: Int) throws -> [String] {
    let schedule = try CronSchedule(parsing: expression)
    var cursor = try cronInstant(start)
    var found: [String] = []
    for _ in 0..<count {
        guard let next = schedule.nextOccurrence(after: cursor) else { break }
        found.append(cronText(next) ?? "")
        cursor = next
    }
    return found
}

/// A UTC Gregorian calendar from Foundation, as an independent check of the schedule's own date arithmetic.
private func foundationUTCCalendar() -> Calendar {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar
}

@Suite("Cron expression fields")
struct CronFieldTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var expression: String
        var after: String
        var expected: [String]
        var testDescription: String { "\"\(expression)\"" }
    }

    @Test(
        "every field form gives the occurrences crontab(5) describes",
        arguments: [
            // Minute: star, number, range, list mixing numbers and ranges, steps over star, range and start.
            Case(
                expression: "* * * * *",
                after: "2026-01-01T10:00:30Z",
                expected: ["2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z", "2026-01-01T10:03:00Z"]
            ),
            Case(
                expression: "7 * * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T10:07:00Z", "2026-01-01T11:07:00Z", "2026-01-01T12:07:00Z"]
            ),
            Case(
                expression: "10-12 * * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T10:10:00Z", "2026-01-01T10:11:00Z", "2026-01-01T10:12:00Z", "2026-01-01T11:10:00Z"]
            ),
            Case(
                expression: "0,30,45-46 * * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T10:30:00Z", "2026-01-01T10:45:00Z", "2026-01-01T10:46:00Z", "2026-01-01T11:00:00Z"]
            ),
            Case(
                expression: "*/20 * * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T10:20:00Z", "2026-01-01T10:40:00Z", "2026-01-01T11:00:00Z"]
            ),
            Case(
                expression: "10-30/10 * * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T10:10:00Z", "2026-01-01T10:20:00Z", "2026-01-01T10:30:00Z", "2026-01-01T11:10:00Z"]
            ),
            Case(
                expression: "50/5 * * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T10:50:00Z", "2026-01-01T10:55:00Z", "2026-01-01T11:50:00Z"]
            ),
            // Hour.
            Case(
                expression: "0 */8 * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T16:00:00Z", "2026-01-02T00:00:00Z", "2026-01-02T08:00:00Z"]
            ),
            Case(
                expression: "15 9-11 * * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T10:15:00Z", "2026-01-01T11:15:00Z", "2026-01-02T09:15:00Z"]
            ),
            // Day of month.
            Case(
                expression: "0 0 1,15 * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-15T00:00:00Z"]
            ),
            Case(
                expression: "0 0 10-20/5 * *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-10T00:00:00Z", "2026-01-15T00:00:00Z", "2026-01-20T00:00:00Z", "2026-02-10T00:00:00Z"]
            ),
            // Month.
            Case(
                expression: "0 0 1 */4 *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-05-01T00:00:00Z", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z"]
            ),
            Case(
                expression: "0 0 1 6-7 *",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z", "2027-06-01T00:00:00Z"]
            ),
            // Day of week (2026-01-01 is a Thursday).
            Case(
                expression: "0 12 * * 1-5",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"]
            ),
            Case(
                expression: "0 12 * * 1,3",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-05T12:00:00Z", "2026-01-07T12:00:00Z", "2026-01-12T12:00:00Z"]
            ),
            Case(
                expression: "0 12 * * */3",
                after: "2026-01-01T13:00:00Z",
                expected: ["2026-01-03T12:00:00Z", "2026-01-04T12:00:00Z", "2026-01-07T12:00:00Z"]
            ),
            Case(
                expression: "0 12 * * 4/2",
                after: "2026-01-01T10:00:00Z",
                expected: ["2026-01-01T12:00:00Z", "2026-01-03T12:00:00Z", "2026-01-08T12:00:00Z"]
            ),
        ]
    )
    func fieldForms(_ item: Case) throws {
        #expect(try nextOccurrences(of: item.expression, after: item.after, count: item.expected.count) == item.expected)
    }

    @Test("month and day names are case-insensitive and mean the same as their numbers")
    func names() throws {
        let start = "2026-01-01T00:00:00Z"
        #expect(
            try nextOccurrences(of: "0 0 1 jan,Jul *", after: start, count: 3)
                == ["2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"]
        )
        #expect(
            try nextOccurrences(of: "0 0 1 MAR-may *", after: start, count: 12)
                == nextOccurrences(of: "0 0 1 3-5 *", after: start, count: 12)
        )
        #expect(
            try nextOccurrences(of: "0 9 * * mon-FRI", after: start, count: 3)
                == ["2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"]
        )
        #expect(
            try nextOccurrences(of: "0 9 * * Tue,thu,SAT", after: start, count: 20)
                == nextOccurrences(of: "0 9 * * 2,4,6", after: start, count: 20)
        )
        #expect(
            try nextOccurrences(of: "0 9 * * MON/2", after: start, count: 20)
                == nextOccurrences(of: "0 9 * * 1,3,5,7", after: start, count: 20)
        )
    }

    @Test("Sunday is both 0 and 7, and 7 can end a range")
    func sunday() throws {
        let start = "2026-01-01T00:00:00Z"
        let sundays = ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"]
        #expect(try nextOccurrences(of: "0 0 * * 0", after: start, count: 3) == sundays)
        #expect(try nextOccurrences(of: "0 0 * * 7", after: start, count: 3) == sundays)
        #expect(try nextOccurrences(of: "0 0 * * SUN", after: start, count: 3) == sundays)
        #expect(
            try nextOccurrences(of: "0 0 * * 5-7", after: start, count: 4)
                == ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"]
        )
        #expect(
            try nextOccurrences(of: "0 0 * * 0-7", after: start, count: 10) == nextOccurrences(of: "0 0 * * *", after: start, count: 10)
        )
    }

    @Test("the expression is kept as written, trimmed, and is the description")
    func expressionAndDescription() throws {
        let schedule = try CronSchedule(parsing: "  0 2\t* *  6 \n")
        #expect(schedule.expression == "0 2\t* *  6")
        #expect(schedule.description == "0 2\t* *  6")
        #expect(String(describing: try CronSchedule(parsing: " @daily ")) == "@daily")
        #expect(try CronSchedule(parsing: "0 2 * * 6 ") == CronSchedule(parsing: "0 2 * * 6"))
        #expect(try CronSchedule(parsing: "0 2 * * 6") != CronSchedule(parsing: "0 3 * * 6"))
    }
}

@Suite("Cron day-of-month and day-of-week")
struct CronDayRuleTests {
    @Test("both day fields restricted: a day matching either one matches")
    func eitherDayFieldMatches() throws {
        // 2026-01-01 is a Thursday: Fridays 2, 9 and 16, and Tuesday the 13th.
        #expect(
            try nextOccurrences(of: "0 0 13 * 5", after: "2026-01-01T00:00:00Z", count: 4)
                == ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"]
        )
        // Friday the 13th (February 2026) matches both ways, once.
        let schedule = try CronSchedule(parsing: "0 0 13 * 5")
        let fridayThe13th = try cronInstant("2026-02-13T00:00:00Z")
        #expect(schedule.latestOccurrence(atOrBefore: try cronInstant("2026-02-13T18:00:00Z")) == fridayThe13th)
        #expect(schedule.nextOccurrence(after: try cronInstant("2026-02-12T00:00:00Z")) == fridayThe13th)
        #expect(cronText(schedule.nextOccurrence(after: fridayThe13th)) == "2026-02-20T00:00:00Z")
        // A full range is still a restriction as written, so "1-31" with a weekday is every day.
        #expect(
            try nextOccurrences(of: "0 0 1-31 * 5", after: "2026-01-01T00:00:00Z", count: 3)
                == ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"]
        )
    }

    @Test("one day field a star: both must match, the star trivially")
    func starDayFieldMeansBothMustMatch() throws {
        let start = "2026-01-01T00:00:00Z"
        #expect(
            try nextOccurrences(of: "0 0 13 * *", after: start, count: 3)
                == ["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z"]
        )
        #expect(
            try nextOccurrences(of: "0 0 * * 5", after: start, count: 3)
                == ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-16T00:00:00Z"]
        )
        // "*/2" starts with a star, so (as in Vixie cron) the fields combine with AND: odd-numbered days that are Fridays.
        #expect(
            try nextOccurrences(of: "0 0 */2 * 5", after: start, count: 3)
                == ["2026-01-09T00:00:00Z", "2026-01-23T00:00:00Z", "2026-02-13T00:00:00Z"]
        )
    }

    struct CalendarCase: Sendable, CustomTestStringConvertible {
        var expression: String
        /// Whether midnight of a day with these components (from Foundation's UTC calendar) is an occurrence.
        var matches: @Sendable (DateComponents) -> Bool
        var testDescription: String { "\"\(expression)\"" }
    }

    @Test(
        "day matching agrees with Foundation's calendar over 2024-2028",
        arguments: [
            CalendarCase(expression: "0 0 13 * 5") { $0.day == 13 || $0.weekday == 6 },
            CalendarCase(expression: "0 0 */2 * 5") { ($0.day ?? 0) % 2 == 1 && $0.weekday == 6 },
            CalendarCase(expression: "0 0 29 2 *") { $0.month == 2 && $0.day == 29 },
            CalendarCase(expression: "0 0 31 * *") { $0.day == 31 },
            CalendarCase(expression: "0 0 1 */3 *") { $0.day == 1 && [1, 4, 7, 10].contains($0.month) },
            CalendarCase(expression: "0 0 * * 7") { $0.weekday == 1 },
            CalendarCase(expression: "0 0 1-7 * MON") { ($0.day ?? 0) <= 7 || $0.weekday == 2 },
            CalendarCase(expression: "0 0 * DEC SAT,SUN") { $0.month == 12 && ($0.weekday == 7 || $0.weekday == 1) },
        ]
    )
    func agreesWithFoundation(_ item: CalendarCase) throws {
        let calendar = foundationUTCCalendar()
        let first = try cronInstant("2024-01-01T00:00:00Z")
        let last = try cronInstant("2028-12-31T00:00:00Z")
        var expected: [Date] = []
        var day = first
        while day <= last {
            if item.matches(calendar.dateComponents([.year, .month, .day, .weekday], from: day)) { expected.append(day) }
            day = try #require(calendar.date(byAdding: .day, value: 1, to: day))
        }
        let schedule = try CronSchedule(parsing: item.expression)
        var found: [Date] = []
        var cursor = first.addingTimeInterval(-60)
        while let next = schedule.nextOccurrence(after: cursor), next <= last {
            found.append(next)
            cursor = next
        }
        // Both lists are strictly increasing, so comparing them as sets misses nothing and keeps a failure short.
        let foundDays = Set(found)
        let expectedDays = Set(expected)
        let missing = expected.filter { !foundDays.contains($0) }.prefix(5).compactMap(cronText)
        let unexpected = found.filter { !expectedDays.contains($0) }.prefix(5).compactMap(cronText)
        #expect(!expected.isEmpty)
        #expect(missing.isEmpty, "first days Foundation matches but the schedule skips")
        #expect(unexpected.isEmpty, "first days the schedule matches but Foundation does not")
    }
}

@Suite("Cron occurrences")
struct CronOccurrenceTests {
    @Test("next is strictly after, latest is at or before, and seconds are ignored")
    func boundaries() throws {
        let everyMinute = try CronSchedule(parsing: "* * * * *")
        #expect(cronText(everyMinute.nextOccurrence(after: try cronInstant("2026-01-01T10:00:00Z"))) == "2026-01-01T10:01:00Z")
        #expect(cronText(everyMinute.nextOccurrence(after: try cronInstant("2026-01-01T10:00:30Z"))) == "2026-01-01T10:01:00Z")
        #expect(cronText(everyMinute.latestOccurrence(atOrBefore: try cronInstant("2026-01-01T10:00:00Z"))) == "2026-01-01T10:00:00Z")
        #expect(cronText(everyMinute.latestOccurrence(atOrBefore: try cronInstant("2026-01-01T10:00:59Z"))) == "2026-01-01T10:00:00Z")
        let hourly = try CronSchedule(parsing: "0 * * * *")
        #expect(cronText(hourly.nextOccurrence(after: try cronInstant("2026-01-01T10:00:00Z"))) == "2026-01-01T11:00:00Z")
        #expect(cronText(hourly.latestOccurrence(atOrBefore: try cronInstant("2026-01-01T10:59:59Z"))) == "2026-01-01T10:00:00Z")
    }

    @Test("next and latest cross month and year boundaries")
    func monthAndYearBoundaries() throws {
        let firstOfMonth = try CronSchedule(parsing: "0 0 1 * *")
        #expect(cronText(firstOfMonth.nextOccurrence(after: try cronInstant("2025-12-15T08:00:00Z"))) == "2026-01-01T00:00:00Z")
        #expect(cronText(firstOfMonth.latestOccurrence(atOrBefore: try cronInstant("2026-01-01T00:00:00Z"))) == "2026-01-01T00:00:00Z")
        #expect(cronText(firstOfMonth.latestOccurrence(atOrBefore: try cronInstant("2025-12-31T23:59:59Z"))) == "2025-12-01T00:00:00Z")

        let newYearsEve = try CronSchedule(parsing: "59 23 31 12 *")
        #expect(cronText(newYearsEve.latestOccurrence(atOrBefore: try cronInstant("2026-06-01T00:00:00Z"))) == "2025-12-31T23:59:00Z")
        #expect(cronText(newYearsEve.nextOccurrence(after: try cronInstant("2026-06-01T00:00:00Z"))) == "2026-12-31T23:59:00Z")

        // The 31st skips the months that have no 31st.
        let thirtyFirst = try CronSchedule(parsing: "0 0 31 * *")
        #expect(cronText(thirtyFirst.nextOccurrence(after: try cronInstant("2025-04-01T00:00:00Z"))) == "2025-05-31T00:00:00Z")
        #expect(cronText(thirtyFirst.latestOccurrence(atOrBefore: try cronInstant("2025-07-15T00:00:00Z"))) == "2025-05-31T00:00:00Z")

        let lateEvening = try CronSchedule(parsing: "30 23 * * *")
        #expect(cronText(lateEvening.latestOccurrence(atOrBefore: try cronInstant("2026-01-01T00:10:00Z"))) == "2025-12-31T23:30:00Z")
        #expect(cronText(lateEvening.nextOccurrence(after: try cronInstant("2025-12-31T23:30:00Z"))) == "2026-01-01T23:30:00Z")
    }

    @Test("leap day: found years ahead and years back, and beyond the five-year horizon is nil")
    func leapDay() throws {
        let leapDay = try CronSchedule(parsing: "0 0 29 2 *")
        #expect(cronText(leapDay.nextOccurrence(after: try cronInstant("2025-03-01T00:00:00Z"))) == "2028-02-29T00:00:00Z")
        #expect(cronText(leapDay.nextOccurrence(after: try cronInstant("2028-02-29T00:00:00Z"))) == "2032-02-29T00:00:00Z")
        #expect(cronText(leapDay.latestOccurrence(atOrBefore: try cronInstant("2028-02-28T23:59:00Z"))) == "2024-02-29T00:00:00Z")
        // 2100 is not a leap year, so after 2096 the next 29 February is in 2104, eight years on.
        #expect(leapDay.nextOccurrence(after: try cronInstant("2096-03-01T00:00:00Z")) == nil)
        #expect(leapDay.latestOccurrence(atOrBefore: try cronInstant("2103-03-01T00:00:00Z")) == nil)
    }

    @Test("an expression that can never match gives nil both ways", arguments: ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 FEB *"])
    func impossible(_ expression: String) throws {
        let schedule = try CronSchedule(parsing: expression)
        let reference = try cronInstant("2026-01-01T00:00:00Z")
        #expect(schedule.nextOccurrence(after: reference) == nil)
        #expect(schedule.latestOccurrence(atOrBefore: reference) == nil)
    }

    @Test(
        "walking back with latest retraces walking forward with next",
        arguments: ["*/7 * * * *", "0 */5 * * *", "30 2 13 * FRI", "45 23 28-31 2 *", "15 4 1,31 * *", "0 12 * JAN,JUL 0"]
    )
    func latestRetracesNext(_ expression: String) throws {
        let schedule = try CronSchedule(parsing: expression)
        var forward: [Date] = []
        var cursor = try cronInstant("2023-12-31T23:59:00Z")
        for _ in 0..<40 {
            let next = try #require(schedule.nextOccurrence(after: cursor))
            #expect(next > cursor)
            #expect(next.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0)
            forward.append(next)
            cursor = next
        }
        var backward: [Date] = []
        var latest = forward.last
        while let occurrence = latest, backward.count < forward.count {
            backward.append(occurrence)
            latest = schedule.latestOccurrence(atOrBefore: occurrence.addingTimeInterval(-1))
        }
        #expect(backward.reversed().map(cronText) == forward.map(cronText))
    }

    @Test(
        "macros mean the fields crontab(5) gives them",
        arguments: [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ]
    )
    func macros(_ macro: String, _ fields: String) throws {
        let start = "2025-12-30T12:34:00Z"
        let viaMacro = try nextOccurrences(of: macro, after: start, count: 5)
        #expect(viaMacro.count == 5)
        #expect(viaMacro == (try nextOccurrences(of: fields, after: start, count: 5)))
        #expect(try CronSchedule(parsing: macro).expression == macro)
    }

    @Test("macros land where expected")
    func macroInstants() throws {
        let reference = try cronInstant("2026-01-07T12:34:00Z")
        #expect(cronText(try CronSchedule(parsing: "@yearly").nextOccurrence(after: reference)) == "2027-01-01T00:00:00Z")
        #expect(cronText(try CronSchedule(parsing: "@monthly").nextOccurrence(after: reference)) == "2026-02-01T00:00:00Z")
        #expect(cronText(try CronSchedule(parsing: "@weekly").nextOccurrence(after: reference)) == "2026-01-11T00:00:00Z")
        #expect(cronText(try CronSchedule(parsing: "@daily").nextOccurrence(after: reference)) == "2026-01-08T00:00:00Z")
        #expect(cronText(try CronSchedule(parsing: "@hourly").latestOccurrence(atOrBefore: reference)) == "2026-01-07T12:00:00Z")
    }
}

@Suite("Cron refusals")
struct CronRefusalTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var expression: String
        /// Every one of these must appear in the message.
        var fragments: [String]
        var testDescription: String { "\"\(expression)\"" }
    }

    @Test(
        "each malformed expression is refused with a message naming the field",
        arguments: [
            Case(expression: "", fragments: ["expected 5 fields", "found 0"]),
            Case(expression: "* * * *", fragments: ["expected 5 fields", "found 4"]),
            Case(expression: "0 0 * * * *", fragments: ["expected 5 fields", "found 6"]),
            Case(expression: "60 * * * *", fragments: ["minute field", "60 is out of range 0-59"]),
            Case(expression: "* 24 * * *", fragments: ["hour field", "24 is out of range 0-23"]),
            Case(expression: "0 0 0 * *", fragments: ["day-of-month field", "0 is out of range 1-31"]),
            Case(expression: "0 0 32 * *", fragments: ["day-of-month field", "32 is out of range 1-31"]),
            Case(expression: "0 0 1 13 *", fragments: ["month field", "13 is out of range 1-12"]),
            Case(expression: "0 0 1 0 *", fragments: ["month field", "0 is out of range 1-12"]),
            Case(expression: "0 0 * * 8", fragments: ["day-of-week field", "8 is out of range 0-7"]),
            Case(expression: "0 0 * * 1-99999999999999999999", fragments: ["day-of-week field", "out of range 0-7"]),
            Case(expression: "30-10 * * * *", fragments: ["minute field", "range 30-10 is reversed"]),
            Case(expression: "0 0 * * FRI-MON", fragments: ["day-of-week field", "range 5-1 is reversed"]),
            Case(expression: "*/0 * * * *", fragments: ["minute field", "step must be at least 1"]),
            Case(expression: "0 0 1-10/0 * *", fragments: ["day-of-month field", "step must be at least 1"]),
            Case(expression: "*/ * * * *", fragments: ["minute field", "missing step"]),
            Case(expression: "*/x * * * *", fragments: ["minute field", "step \"x\" is not a whole number"]),
            Case(expression: "*/2/3 * * * *", fragments: ["minute field", "more than one '/'"]),
            Case(expression: "1,,2 * * * *", fragments: ["minute field", "empty list item"]),
            Case(expression: "0 0 * * 1,", fragments: ["day-of-week field", "empty list item"]),
            Case(expression: "0 ,3 * * *", fragments: ["hour field", "empty list item"]),
            Case(expression: "0 0 1 FOO *", fragments: ["month field", "unknown month name \"FOO\""]),
            Case(expression: "0 0 * * FRIDAY", fragments: ["day-of-week field", "unknown day-of-week name \"FRIDAY\""]),
            Case(expression: "MON * * * *", fragments: ["minute field", "\"MON\" is not a number"]),
            Case(expression: "0 0 JAN * *", fragments: ["day-of-month field", "\"JAN\" is not a number"]),
            Case(expression: "-5 * * * *", fragments: ["minute field", "missing number"]),
            Case(expression: "1-2-3 * * * *", fragments: ["minute field", "not a range"]),
            Case(expression: "@reboot", fragments: ["@reboot"]),
            Case(expression: "@fortnightly", fragments: ["unknown macro", "@fortnightly"]),
        ]
    )
    func refused(_ item: Case) {
        let error = #expect(throws: CronError.self) { try CronSchedule(parsing: item.expression) }
        let message = error?.description ?? ""
        for fragment in item.fragments {
            #expect(message.contains(fragment), "message: \(message)")
        }
        #expect(!message.contains("\n"))
    }
}

@Suite("Recurring windows")
struct RecurringWindowTests {
    /// Saturdays 02:00 to 06:00 UTC; 2026-03-07 is a Saturday.
    private func saturdayMaintenance() throws -> RecurringWindow {
        RecurringWindow(schedule: try CronSchedule(parsing: "0 2 * * 6"), duration: .seconds(4 * 3_600))
    }

    @Test("inside the window: [start, end) around the instant")
    func inside() throws {
        let window = try saturdayMaintenance()
        let open = try #require(window.window(containing: try cronInstant("2026-03-07T03:00:00Z")))
        #expect(cronText(open.start) == "2026-03-07T02:00:00Z")
        #expect(cronText(open.end) == "2026-03-07T06:00:00Z")
        let atStart = try #require(window.window(containing: try cronInstant("2026-03-07T02:00:00Z")))
        #expect(cronText(atStart.start) == "2026-03-07T02:00:00Z")
        let lastSecond = try #require(window.window(containing: try cronInstant("2026-03-07T05:59:59Z")))
        #expect(cronText(lastSecond.end) == "2026-03-07T06:00:00Z")
    }

    @Test("outside the window: the end is exclusive, and other days and hours are outside")
    func outside() throws {
        let window = try saturdayMaintenance()
        #expect(window.window(containing: try cronInstant("2026-03-07T06:00:00Z")) == nil)
        #expect(window.window(containing: try cronInstant("2026-03-07T01:59:59Z")) == nil)
        #expect(window.window(containing: try cronInstant("2026-03-06T03:00:00Z")) == nil)
        #expect(window.window(containing: try cronInstant("2026-03-08T03:00:00Z")) == nil)
    }

    @Test("the next start is strictly after the instant")
    func nextStart() throws {
        let window = try saturdayMaintenance()
        #expect(cronText(window.nextStart(after: try cronInstant("2026-03-06T03:00:00Z"))) == "2026-03-07T02:00:00Z")
        #expect(cronText(window.nextStart(after: try cronInstant("2026-03-07T02:00:00Z"))) == "2026-03-14T02:00:00Z")
        #expect(cronText(window.nextStart(after: try cronInstant("2026-03-07T03:00:00Z"))) == "2026-03-14T02:00:00Z")
    }

    @Test("a window that spans midnight and a year's end contains the small hours")
    func spansMidnight() throws {
        let nightly = RecurringWindow(schedule: try CronSchedule(parsing: "0 22 * * *"), duration: .seconds(4 * 3_600))
        let open = try #require(nightly.window(containing: try cronInstant("2026-03-08T01:00:00Z")))
        #expect(cronText(open.start) == "2026-03-07T22:00:00Z")
        #expect(cronText(open.end) == "2026-03-08T02:00:00Z")
        #expect(nightly.window(containing: try cronInstant("2026-03-08T02:00:00Z")) == nil)

        let newYear = RecurringWindow(schedule: try CronSchedule(parsing: "0 22 31 12 *"), duration: .seconds(4 * 3_600))
        let crossing = try #require(newYear.window(containing: try cronInstant("2026-01-01T01:00:00Z")))
        #expect(cronText(crossing.start) == "2025-12-31T22:00:00Z")
        #expect(cronText(crossing.end) == "2026-01-01T02:00:00Z")
    }

    @Test("a window longer than the gap between starts: the latest start owns the instant")
    func overlappingWindows() throws {
        let window = RecurringWindow(schedule: try CronSchedule(parsing: "0 * * * *"), duration: .seconds(3 * 3_600))
        let open = try #require(window.window(containing: try cronInstant("2026-03-07T10:30:00Z")))
        #expect(cronText(open.start) == "2026-03-07T10:00:00Z")
        #expect(cronText(open.end) == "2026-03-07T13:00:00Z")
    }

    @Test("a window longer than the five-year horizon still finds the start that opened it")
    func longWindowLooksFurtherBack() throws {
        let leapDay = try CronSchedule(parsing: "0 0 29 2 *")
        let decade = RecurringWindow(schedule: leapDay, duration: .seconds(10 * 366 * 86_400))
        let instant = try cronInstant("2103-01-01T00:00:00Z")
        #expect(leapDay.latestOccurrence(atOrBefore: instant) == nil)
        let open = try #require(decade.window(containing: instant))
        #expect(cronText(open.start) == "2096-02-29T00:00:00Z")
    }

    @Test("a zero duration never contains anything; an impossible schedule has no window and no next start")
    func degenerate() throws {
        let instant = try cronInstant("2026-03-07T02:00:00Z")
        let empty = RecurringWindow(schedule: try CronSchedule(parsing: "0 2 * * 6"), duration: .zero)
        #expect(empty.window(containing: instant) == nil)
        #expect(cronText(empty.nextStart(after: instant)) == "2026-03-14T02:00:00Z")
        let never = RecurringWindow(schedule: try CronSchedule(parsing: "0 0 30 2 *"), duration: .seconds(86_400))
        #expect(never.window(containing: instant) == nil)
        #expect(never.nextStart(after: instant) == nil)
    }

    @Test("windows compare by schedule and duration")
    func equality() throws {
        let schedule = try CronSchedule(parsing: "0 2 * * 6")
        #expect(RecurringWindow(schedule: schedule, duration: .seconds(60)) == RecurringWindow(schedule: schedule, duration: .seconds(60)))
        #expect(RecurringWindow(schedule: schedule, duration: .seconds(60)) != RecurringWindow(schedule: schedule, duration: .seconds(120)))
    }
}
