import ConcordCore

/// Dates as day numbers (days since 1970-01-01, proleptic Gregorian), and the text forms agency
/// systems export. Written by hand, without Foundation's locale-dependent formatters, so that the
/// bytes never depend on the machine.
enum Days {
    /// The day number of a real calendar date.
    static func number(year: Int, month: Int, day: Int) -> Int {
        CivilDate(year: year, month: month, day: day)!.daysSinceEpoch
    }

    static func number(_ date: CivilDate) -> Int {
        date.daysSinceEpoch
    }

    /// The calendar date of a day number.
    static func civil(_ number: Int) -> (year: Int, month: Int, day: Int) {
        let date = CivilDate(daysSinceEpoch: number)!
        return (date.year, date.month, date.day)
    }

    /// Whole years from `birth` to `on` (the age on that day).
    static func age(birth: Int, on day: Int) -> Int {
        let b = civil(birth)
        let d = civil(day)
        var years = d.year - b.year
        if (d.month, d.day) < (b.month, b.day) { years -= 1 }
        return years
    }

    /// The day `years` whole years before `day` (29 February becomes 28 February).
    static func yearsBefore(_ day: Int, _ years: Int) -> Int {
        let date = civil(day)
        let year = date.year - years
        let dayOfMonth = min(date.day, CivilDate.daysIn(month: date.month, year: year))
        return number(year: year, month: date.month, day: dayOfMonth)
    }
}

/// How a date is written in an extract: one of the formats the schemas declare.
enum DateStyle: Sendable {
    /// `DD/MM/YYYY`
    case dayMonthYearSlashes
    /// `YYYY-MM-DD`
    case iso
    /// `D/M/YYYY`
    case shortDayMonthYear
    /// `DD-MMM-YYYY`, e.g. `05-Mar-2019`
    case dayMonthNameYear

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    func format(year: Int, month: Int, day: Int) -> String {
        ASCIIText.make(capacity: 12) { text in
            switch self {
            case .dayMonthYearSlashes:
                text.append(day, width: 2); text.append(UInt8(ascii: "/"))
                text.append(month, width: 2); text.append(UInt8(ascii: "/"))
                text.append(year, width: 4)
            case .iso:
                text.append(year, width: 4); text.append(UInt8(ascii: "-"))
                text.append(month, width: 2); text.append(UInt8(ascii: "-"))
                text.append(day, width: 2)
            case .shortDayMonthYear:
                text.append(day, width: 1); text.append(UInt8(ascii: "/"))
                text.append(month, width: 1); text.append(UInt8(ascii: "/"))
                text.append(year, width: 4)
            case .dayMonthNameYear:
                text.append(day, width: 2); text.append(UInt8(ascii: "-"))
                for byte in Self.monthNames[month - 1].utf8 { text.append(byte) }
                text.append(UInt8(ascii: "-")); text.append(year, width: 4)
            }
        }
    }

    func format(_ dayNumber: Int) -> String {
        let date = Days.civil(dayNumber)
        return format(year: date.year, month: date.month, day: date.day)
    }

    /// The date with day and month exchanged, as keyed by someone reading it the other way round.
    /// Only for days 1–12 that differ from the month, where the result is still a real date.
    func formatSwapped(_ dayNumber: Int) -> String? {
        let date = Days.civil(dayNumber)
        guard date.day <= 12, date.day != date.month else { return nil }
        return format(year: date.year, month: date.day, day: date.month)
    }

    static func two(_ value: Int) -> String {
        zeroPadded(value, width: 2)
    }
}

/// Decimal text with leading zeros to a fixed width.
func zeroPadded(_ value: Int, width: Int) -> String {
    ASCIIText.make(capacity: 20 + width) { $0.append(value, width: width) }
}

/// Builds short ASCII strings (dates, ids) in place: without intermediate strings, which matters
/// at a few million values a second.
struct ASCIIText {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    /// A string of at most `capacity` bytes written by `body`.
    static func make(capacity: Int, _ body: (inout ASCIIText) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var text = ASCIIText(buffer: buffer)
            body(&text)
            return text.count
        }
    }

    private init(buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    mutating func append(_ byte: UInt8) {
        buffer[count] = byte
        count += 1
    }

    /// A non-negative number in decimal, with leading zeros to at least `width` digits.
    mutating func append(_ value: Int, width: Int) {
        let total = max(width, Self.digitCount(value))
        Self.writeDigits(value, into: UnsafeMutableBufferPointer(rebasing: buffer[count..<(count + total)]))
        count += total
    }

    /// The same, appended to a byte array.
    static func appendDecimal(_ value: Int, width: Int, to bytes: inout [UInt8]) {
        let total = max(width, digitCount(value))
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0x30, count: total))
        bytes.withUnsafeMutableBufferPointer { writeDigits(value, into: UnsafeMutableBufferPointer(rebasing: $0[start...])) }
    }

    private static func digitCount(_ value: Int) -> Int {
        precondition(value >= 0)
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }

    /// Fills the buffer with the number's digits, right-aligned, zeros in front.
    private static func writeDigits(_ value: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        var remaining = value
        for position in buffer.indices.reversed() {
            buffer[position] = UInt8(truncatingIfNeeded: 0x30 + remaining % 10)
            remaining /= 10
        }
    }
}
