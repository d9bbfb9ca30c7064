/// A calendar date without time or time zone, as agency systems record dates of birth and events.
public struct CivilDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A real date in the proleptic Gregorian calendar with a four-digit year, or `nil`.
    public init?(year: Int, month: Int, day: Int) {
        guard (1000...9999).contains(year), (1...12).contains(month),
              (1...Self.daysIn(month: month, year: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses the ISO 8601 calendar form `YYYY-MM-DD`.
    public init?(iso text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = ASCII.decimal(bytes[0..<4]), let month = ASCII.decimal(bytes[5..<7]),
              let day = ASCII.decimal(bytes[8..<10]) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The date `days` after 1970-01-01 (negative before it), in the proleptic Gregorian calendar.
    public init?(daysSinceEpoch days: Int) {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// Days from 1970-01-01 to this date.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The UTC calendar date of an instant given as seconds since 1970-01-01T00:00:00Z.
    public init?(utcSecondsSinceEpoch seconds: Double) {
        self.init(daysSinceEpoch: Int((seconds / 86_400).rounded(.down)))
    }

    public static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `YYYY-MM-DD`.
    public var description: String { text(digits: [year / 1000, year / 100 % 10, year / 10 % 10, year % 10, -1, month / 10, month % 10, -1, day / 10, day % 10]) }
    /// `YYYY`.
    public var yearText: String { String(year) }
    /// `YYYY-MM`.
    public var yearMonthText: String { text(digits: [year / 1000, year / 100 % 10, year / 10 % 10, year % 10, -1, month / 10, month % 10]) }

    /// Digits with -1 for a hyphen: these strings are built for every record, so without interpolation.
    private func text(digits: [Int]) -> String {
        String(decoding: digits.map { $0 < 0 ? UInt8(ascii: "-") : UInt8(0x30 + $0) }, as: UTF8.self)
    }

    /// The date with day and month exchanged, when that is a different real date: the commonest
    /// keying error in dates of birth (US and UK orders mixed up).
    public var swappingDayAndMonth: CivilDate? {
        guard day != month else { return nil }
        return CivilDate(year: year, month: day, day: month)
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

extension CivilDate {
    /// `YYYY-MM-DDTHH:MM:SSZ` for a time in whole seconds since the Unix epoch: how manifests and
    /// receipts write times.
    public static func utcTimestamp(secondsSinceEpoch seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let second = Int(seconds - days * 86_400)
        let date = CivilDate(daysSinceEpoch: Int(days))?.description ?? "0000-01-01"
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(date)T\(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60))Z"
    }

    /// Seconds since the Unix epoch of a time written `YYYY-MM-DDTHH:MM:SSZ` (as
    /// ``utcTimestamp(secondsSinceEpoch:)`` writes it), or `nil` when it is not exactly that form.
    public static func secondsSinceEpoch(utcTimestamp text: some StringProtocol) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              bytes[19] == UInt8(ascii: "Z"), let date = CivilDate(iso: text.prefix(10)),
              let hour = ASCII.decimal(bytes[11..<13]), let minute = ASCII.decimal(bytes[14..<16]), let second = ASCII.decimal(bytes[17..<19]),
              hour < 24, minute < 60, second < 60 else { return nil }
        return Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}
