import Foundation

/// Why a cron expression was refused; `description` is a clear one-line message naming the field.
public struct CronError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// A five-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC.
///
/// The syntax and matching rules are Vixie cron's, as documented in crontab(5): each field is `*`, a number, a range
/// `a-b`, a list `a,b,c-d`, or a step `*/n`, `a-b/n` or `a/n` (from `a` to the field's maximum). Months and days of
/// the week may be written as three-letter English names in any case; day of week 0 and 7 are both Sunday. When both
/// day fields are restricted (neither starts with `*`) a day matches if either one matches, otherwise both must.
/// The macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` are accepted;
/// `@reboot` is refused because it has no place in time.
///
/// Evaluation uses plain Gregorian arithmetic in UTC, with no time zone and no daylight saving, so an expression
/// means the same instants on every host. Occurrences are whole minutes.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written, without surrounding whitespace (a macro stays a macro, e.g. `@daily`).
    public let expression: String

    private let minutes: CronValueSet
    private let hours: CronValueSet
    private let daysOfMonth: CronValueSet
    private let months: CronValueSet
    private let daysOfWeek: CronValueSet
    /// Both day fields are restricted, so a day matching either one is enough (crontab(5)'s rule).
    private let dayFieldsMatchEither: Bool

    /// How far `nextOccurrence` and `latestOccurrence` search: five years, leap days included.
    ///
    /// Long enough for any expression that can match at all except a 29 February whose next leap year is more than
    /// four years off (across 2100); short enough that an impossible expression such as `0 0 30 2 *` gives up quickly.
    static let searchHorizonMinutes = 5 * 366 * minutesPerDay

    /// The Gregorian calendar repeats itself, weekdays included, every 400 years (146,097 days), so an expression that
    /// matches at all matches at least once in any span this long; no search ever needs to look further.
    static let calendarCycleMinutes = 146_097 * minutesPerDay

    /// Parses a five-field expression or a macro, refusing anything cron would refuse (and a few things some crons
    /// accept silently, such as reversed ranges), with a message naming the field at fault.
    public init(parsing text: String) throws(CronError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let fieldTexts: [Substring]
        if trimmed.hasPrefix("@") {
            fieldTexts = try Self.expandMacro(trimmed).split(separator: " ")
        } else {
            fieldTexts = trimmed.split(whereSeparator: \.isWhitespace)
        }
        guard fieldTexts.count == 5 else {
            throw CronError(
                description: "expected 5 fields (minute hour day-of-month month day-of-week), found \(fieldTexts.count) in \"\(trimmed)\""
            )
        }
        expression = trimmed
        minutes = try CronField.minute.parse(fieldTexts[0])
        hours = try CronField.hour.parse(fieldTexts[1])
        daysOfMonth = try CronField.dayOfMonth.parse(fieldTexts[2])
        months = try CronField.month.parse(fieldTexts[3])
        daysOfWeek = try CronField.dayOfWeek.parse(fieldTexts[4])
        dayFieldsMatchEither = !fieldTexts[2].hasPrefix("*") && !fieldTexts[4].hasPrefix("*")
    }

    /// The latest instant t <= `date` (a whole minute, UTC) that matches, or nil if none in the past five years.
    ///
    /// An occurrence at the very minute of `date` counts, even when `date` has seconds past it: a window that opened at
    /// 02:00 is open at 02:00:30.
    public func latestOccurrence(atOrBefore date: Date) -> Date? {
        latestOccurrence(atOrBefore: date, lookingBackMinutes: Self.searchHorizonMinutes)
    }

    /// The earliest matching instant strictly after `date`, or nil if none within five years (e.g. `0 0 30 2 *`).
    public func nextOccurrence(after date: Date) -> Date? {
        guard let minute = minuteIndex(of: date) else { return nil }
        return firstMatch(from: minute + 1, through: minute + Self.searchHorizonMinutes).map(instant(atMinute:))
    }

    public var description: String { expression }

    /// `latestOccurrence(atOrBefore:)` with a chosen look-back, so that a window longer than the usual horizon can
    /// still find the occurrence that opened it.
    fileprivate func latestOccurrence(atOrBefore date: Date, lookingBackMinutes lookBack: Int) -> Date? {
        guard let minute = minuteIndex(of: date) else { return nil }
        let lookBack = min(max(lookBack, 0), Self.calendarCycleMinutes)
        return lastMatch(from: minute, through: minute - lookBack).map(instant(atMinute:))
    }

    /// The first matching minute in `start...limit`, skipping whole months, days and hours that cannot match.
    private func firstMatch(from start: Int, through limit: Int) -> Int? {
        var candidate = start
        while candidate <= limit {
            let day = floorDivide(candidate, by: minutesPerDay)
            let civil = CivilDate(daysSinceEpoch: day)
            guard months.contains(civil.month) else {
                candidate = CivilDate.firstDayOfMonth(after: civil) * minutesPerDay
                continue
            }
            guard dayMatches(civil, daysSinceEpoch: day) else {
                candidate = (day + 1) * minutesPerDay
                continue
            }
            let minuteOfDay = candidate - day * minutesPerDay
            let hour = minuteOfDay / minutesPerHour
            if hours.contains(hour), let minute = minutes.first(atOrAfter: minuteOfDay % minutesPerHour) {
                let match = day * minutesPerDay + hour * minutesPerHour + minute
                return match <= limit ? match : nil
            }
            guard let nextHour = hours.first(atOrAfter: hour + 1) else {
                candidate = (day + 1) * minutesPerDay
                continue
            }
            candidate = day * minutesPerDay + nextHour * minutesPerHour
        }
        return nil
    }

    /// The last matching minute in `limit...start`, walking backwards with the same skips as `firstMatch`.
    private func lastMatch(from start: Int, through limit: Int) -> Int? {
        var candidate = start
        while candidate >= limit {
            let day = floorDivide(candidate, by: minutesPerDay)
            let civil = CivilDate(daysSinceEpoch: day)
            guard months.contains(civil.month) else {
                candidate = CivilDate.firstDayOfMonth(of: civil) * minutesPerDay - 1
                continue
            }
            guard dayMatches(civil, daysSinceEpoch: day) else {
                candidate = day * minutesPerDay - 1
                continue
            }
            let minuteOfDay = candidate - day * minutesPerDay
            let hour = minuteOfDay / minutesPerHour
            if hours.contains(hour), let minute = minutes.last(atOrBefore: minuteOfDay % minutesPerHour) {
                let match = day * minutesPerDay + hour * minutesPerHour + minute
                return match >= limit ? match : nil
            }
            guard hour > 0, let previousHour = hours.last(atOrBefore: hour - 1) else {
                candidate = day * minutesPerDay - 1
                continue
            }
            candidate = day * minutesPerDay + previousHour * minutesPerHour + (minutesPerHour - 1)
        }
        return nil
    }

    private func dayMatches(_ civil: CivilDate, daysSinceEpoch day: Int) -> Bool {
        // 1970-01-01 was a Thursday (day of week 4).
        let weekday = floorModulo(day + 4, 7)
        if dayFieldsMatchEither {
            return daysOfMonth.contains(civil.day) || daysOfWeek.contains(weekday)
        }
        return daysOfMonth.contains(civil.day) && daysOfWeek.contains(weekday)
    }

    /// Whole minutes since 1970-01-01T00:00Z, rounded down; nil for instants no calendar search can reach.
    private func minuteIndex(of date: Date) -> Int? {
        let seconds = date.timeIntervalSince1970
        // About 30 million years either way: far beyond any real date, far below where the arithmetic could overflow.
        guard seconds.isFinite, abs(seconds) < 1e15 else { return nil }
        return Int((seconds / 60).rounded(.down))
    }

    private func instant(atMinute minute: Int) -> Date {
        Date(timeIntervalSince1970: TimeInterval(minute) * 60)
    }

    /// The five fields a macro stands for; crontab(5) lists them.
    private static func expandMacro(_ macro: String) throws(CronError) -> String {
        switch macro.lowercased() {
        case "@yearly", "@annually": return "0 0 1 1 *"
        case "@monthly": return "0 0 1 * *"
        case "@weekly": return "0 0 * * 0"
        case "@daily", "@midnight": return "0 0 * * *"
        case "@hourly": return "0 * * * *"
        case "@reboot":
            throw CronError(description: "@reboot runs once at start-up, not at a time of day; it cannot define a recurring window")
        default:
            throw CronError(
                description: "unknown macro \"\(macro)\" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"
            )
        }
    }
}

/// A window that opens at every occurrence of `schedule` and stays open for `duration` (AxonOps' silence window).
public struct RecurringWindow: Sendable, Hashable {
    public var schedule: CronSchedule
    public var duration: Duration

    public init(schedule: CronSchedule, duration: Duration) {
        self.schedule = schedule
        self.duration = duration
    }

    /// The open window containing `date` as [start, end), if any.
    ///
    /// Windows all last the same time, so if any window contains `date` the one opened by the latest occurrence at or
    /// before `date` does; the search looks back at least as far as `duration`, so a window longer than the usual
    /// five-year horizon is still found. A zero or negative duration never contains anything.
    public func window(containing date: Date) -> (start: Date, end: Date)? {
        let length = durationInSeconds
        guard length > 0 else { return nil }
        let lengthInMinutes = min(length / 60, Double(CronSchedule.calendarCycleMinutes)).rounded(.up)
        let lookBack = max(CronSchedule.searchHorizonMinutes, Int(lengthInMinutes) + 1)
        guard let start = schedule.latestOccurrence(atOrBefore: date, lookingBackMinutes: lookBack) else { return nil }
        let end = start.addingTimeInterval(length)
        return date < end ? (start, end) : nil
    }

    /// The start of the next window strictly after `date`.
    public func nextStart(after date: Date) -> Date? {
        schedule.nextOccurrence(after: date)
    }

    private var durationInSeconds: TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

private let minutesPerHour = 60
private let minutesPerDay = 1_440

/// The values a field allows, as bits 0...63 (every field's values fit).
private struct CronValueSet: Sendable, Hashable {
    var bits: UInt64 = 0

    mutating func insert(_ value: Int) {
        bits |= 1 << UInt64(value)
    }

    func contains(_ value: Int) -> Bool {
        value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0
    }

    /// The smallest allowed value >= `value`.
    func first(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let candidates = bits & (UInt64.max << UInt64(max(value, 0)))
        return candidates == 0 ? nil : candidates.trailingZeroBitCount
    }

    /// The largest allowed value <= `value`.
    func last(atOrBefore value: Int) -> Int? {
        guard value >= 0 else { return nil }
        let candidates = value >= 63 ? bits : bits & ((1 << UInt64(value + 1)) - 1)
        return candidates == 0 ? nil : 63 - candidates.leadingZeroBitCount
    }
}

/// One of the five fields, with its range, its names and how its text is read.
private enum CronField {
    case minute
    case hour
    case dayOfMonth
    case month
    case dayOfWeek

    var name: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// The values the field accepts as written; day of week allows 7 for Sunday, as crontab(5) does.
    var bounds: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// Three-letter names in value order, starting at the field's lowest value.
    var valueNames: [String] {
        switch self {
        case .month: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        case .dayOfWeek: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        case .minute, .hour, .dayOfMonth: []
        }
    }

    func parse(_ text: Substring) throws(CronError) -> CronValueSet {
        var values = CronValueSet()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw error(in: text, "empty list item") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw error(in: text, "more than one '/' in \"\(item)\"") }
            let step = stepParts.count == 2 ? try parseStep(stepParts[1], in: text) : 1
            let base = stepParts[0]
            let range: ClosedRange<Int>
            if base == "*" {
                range = bounds
            } else {
                let ends = base.split(separator: "-", omittingEmptySubsequences: false)
                switch ends.count {
                case 1:
                    let start = try parseValue(ends[0], in: text)
                    // `a/n` means from a to the field's maximum in steps of n.
                    range = stepParts.count == 2 ? start...bounds.upperBound : start...start
                case 2:
                    let start = try parseValue(ends[0], in: text)
                    let end = try parseValue(ends[1], in: text)
                    guard start <= end else {
                        throw error(in: text, "range \(start)-\(end) is reversed (the start must not be after the end)")
                    }
                    range = start...end
                default:
                    throw error(in: text, "\"\(base)\" is not a range (expected a-b)")
                }
            }
            for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
                // Sunday is both 0 and 7; store it once, as 0.
                values.insert(self == .dayOfWeek && value == 7 ? 0 : value)
            }
        }
        return values
    }

    private func parseStep(_ text: Substring, in field: Substring) throws(CronError) -> Int {
        guard !text.isEmpty else { throw error(in: field, "missing step after '/'") }
        guard text.allSatisfy(\.isASCIIDigit), let step = Int(text) else {
            throw error(in: field, "step \"\(text)\" is not a whole number")
        }
        guard step > 0 else { throw error(in: field, "step must be at least 1") }
        return step
    }

    private func parseValue(_ text: Substring, in field: Substring) throws(CronError) -> Int {
        guard !text.isEmpty else { throw error(in: field, "missing number") }
        if text.allSatisfy(\.isASCIIDigit) {
            guard let value = Int(text), bounds.contains(value) else {
                throw error(in: field, "\(text) is out of range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            return value
        }
        guard !valueNames.isEmpty else { throw error(in: field, "\"\(text)\" is not a number") }
        guard let index = valueNames.firstIndex(of: text.uppercased()) else {
            let firstName = valueNames[0]
            let lastName = valueNames[valueNames.count - 1]
            throw error(
                in: field,
                "unknown \(name) name \"\(text)\" (use \(bounds.lowerBound)-\(bounds.upperBound) or \(firstName)-\(lastName))"
            )
        }
        return bounds.lowerBound + index
    }

    private func error(in field: Substring, _ problem: String) -> CronError {
        CronError(description: "\(name) field \"\(field)\": \(problem)")
    }
}

/// A proleptic Gregorian date, converted to and from days since 1970-01-01 with Howard Hinnant's algorithms
/// (http://howardhinnant.github.io/date_algorithms.html), which are exact for any year.
private struct CivilDate {
    var year: Int
    var month: Int
    var day: Int

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    init(daysSinceEpoch: Int) {
        let shifted = daysSinceEpoch + 719_468
        let era = floorDivide(shifted, by: 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let marchBasedMonth = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * marchBasedMonth + 2) / 5 + 1
        month = marchBasedMonth < 10 ? marchBasedMonth + 3 : marchBasedMonth - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    var daysSinceEpoch: Int {
        let marchBasedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(marchBasedYear, by: 400)
        let yearOfEra = marchBasedYear - era * 400
        let marchBasedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * marchBasedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Days since the epoch of the 1st of `date`'s month.
    static func firstDayOfMonth(of date: CivilDate) -> Int {
        CivilDate(year: date.year, month: date.month, day: 1).daysSinceEpoch
    }

    /// Days since the epoch of the 1st of the month after `date`'s.
    static func firstDayOfMonth(after date: CivilDate) -> Int {
        date.month == 12
            ? CivilDate(year: date.year + 1, month: 1, day: 1).daysSinceEpoch
            : CivilDate(year: date.year, month: date.month + 1, day: 1).daysSinceEpoch
    }
}

private func floorDivide(_ dividend: Int, by divisor: Int) -> Int {
    let quotient = dividend / divisor
    return dividend % divisor < 0 ? quotient - 1 : quotient
}

private func floorModulo(_ dividend: Int, _ divisor: Int) -> Int {
    let remainder = dividend % divisor
    return remainder < 0 ? remainder + divisor : remainder
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
