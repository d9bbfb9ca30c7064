/// An input format for dates, built from the tokens `YYYY`, `MM`, `DD`, `M`, `D` and `MMM`,
/// with every other character literal (see `docs/dataset-schema.md`).
public struct DateFormat: Sendable, Hashable, CustomStringConvertible {
    enum Token: Sendable, Hashable {
        case year, month2, day2, month1or2, day1or2, monthName
        case literal(UInt8)
    }

    /// The format as written in the schema.
    public let pattern: String
    let tokens: [Token]

    /// Parses a format pattern; `nil` unless it names exactly one year, one month and one day.
    public init?(_ pattern: String) {
        var tokens: [Token] = []
        var rest = Substring(pattern)
        while let first = rest.first {
            let token: Token
            if rest.hasPrefix("YYYY") { token = .year; rest = rest.dropFirst(4) }
            else if rest.hasPrefix("MMM") { token = .monthName; rest = rest.dropFirst(3) }
            else if rest.hasPrefix("MM") { token = .month2; rest = rest.dropFirst(2) }
            else if rest.hasPrefix("DD") { token = .day2; rest = rest.dropFirst(2) }
            else if first == "M" { token = .month1or2; rest = rest.dropFirst() }
            else if first == "D" { token = .day1or2; rest = rest.dropFirst() }
            else if first.isASCII, !first.isLetter, let byte = first.asciiValue { token = .literal(byte); rest = rest.dropFirst() }
            else { return nil }
            tokens.append(token)
        }
        let years = tokens.filter { $0 == .year }.count
        let months = tokens.filter { [.month2, .month1or2, .monthName].contains($0) }.count
        let days = tokens.filter { [.day2, .day1or2].contains($0) }.count
        guard years == 1, months == 1, days == 1 else { return nil }
        self.pattern = pattern
        self.tokens = tokens
    }

    public var description: String { pattern }

    private static let monthNames: [[UInt8]] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].map { Array($0.utf8) }

    /// The date the bytes spell in this format, or `nil` when they do not match it or name no real date.
    public func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> CivilDate? {
        var index = 0
        var year = 0, month = 0, day = 0
        func digits(minimum: Int, maximum: Int) -> Int? {
            var count = 0
            var value = 0
            while count < maximum, index < bytes.count, ASCII.isDigit(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
                count += 1
            }
            return count >= minimum ? value : nil
        }
        for token in tokens {
            switch token {
            case .year: guard let value = digits(minimum: 4, maximum: 4) else { return nil }; year = value
            case .month2: guard let value = digits(minimum: 2, maximum: 2) else { return nil }; month = value
            case .day2: guard let value = digits(minimum: 2, maximum: 2) else { return nil }; day = value
            case .month1or2: guard let value = digits(minimum: 1, maximum: 2) else { return nil }; month = value
            case .day1or2: guard let value = digits(minimum: 1, maximum: 2) else { return nil }; day = value
            case .monthName:
                guard index + 3 <= bytes.count else { return nil }
                let name = bytes[index..<index + 3].map(ASCII.uppercased)
                guard let found = Self.monthNames.firstIndex(of: name) else { return nil }
                month = found + 1
                index += 3
            case .literal(let byte):
                guard index < bytes.count, bytes[index] == byte else { return nil }
                index += 1
            }
        }
        guard index == bytes.count else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }
}
