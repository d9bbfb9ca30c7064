/// Validates and normalises the cells of one field, as its schema entry says.
struct FieldValidator: Sendable {
    let field: Field
    /// The schema's null values other than the empty string, as bytes.
    private let nullValues: [[UInt8]]

    init(field: Field, dialect: CSVDialect) {
        self.field = field
        nullValues = dialect.nullValues.filter { !$0.isEmpty }.map { Array($0.utf8) }
    }

    func value(_ raw: UnsafeBufferPointer<UInt8>) -> Result<FieldValue, FieldProblem> {
        let bytes = ASCII.trimmed(raw)
        if bytes.isEmpty || nullValues.contains(where: { $0.elementsEqual(bytes) }) {
            return field.required ? .failure(problem("is required but empty")) : .success(.missing)
        }
        if bytes.contains(0) { return .failure(problem("contains a NUL byte")) }
        switch field.type {
        case .string(let maximumLength):
            return text(bytes, maximumLength: maximumLength).map(FieldValue.text)
        case .reference(let maximumLength):
            if case .failure(let problem) = text(bytes, maximumLength: maximumLength) { return .failure(problem) }
            guard let reference = ReferenceNumber.normalised(bytes) else {
                return .failure(problem("is not a reference number: only letters, digits, spaces, '-', '/' and '.' are allowed"))
            }
            return .success(.text(reference))
        case .integer(let minimum, let maximum):
            guard let value = Self.integer(bytes) else { return .failure(problem("is not a whole number")) }
            if let minimum, value < minimum { return .failure(problem("is below the minimum \(minimum)")) }
            if let maximum, value > maximum { return .failure(problem("is above the maximum \(maximum)")) }
            return .success(.integer(value))
        case .decimal(let minimum, let maximum):
            guard Self.isDecimal(bytes), let value = Double(ASCII.string(bytes)) else {
                return .failure(problem("is not a decimal number (digits, optionally '-' first and '.' between digits)"))
            }
            if let minimum, value < minimum { return .failure(problem("is below the minimum \(minimum)")) }
            if let maximum, value > maximum { return .failure(problem("is above the maximum \(maximum)")) }
            return .success(.text(ASCII.string(bytes)))
        case .date(let formats, let minimum, let maximum):
            guard let date = formats.lazy.compactMap({ $0.parse(bytes) }).first else {
                return .failure(problem("is not a real date in the format \(formats.map(\.pattern).joined(separator: " or "))"))
            }
            if let minimum, date < minimum { return .failure(problem("is before the earliest allowed date \(minimum)")) }
            if let maximum, date > maximum { return .failure(problem("is after the latest allowed date \(maximum)")) }
            return .success(.date(date))
        case .boolean:
            guard let value = Self.boolean(bytes) else { return .failure(problem("is not a yes/no value (true, false, yes, no, y, n, 1, 0)")) }
            return .success(.boolean(value))
        case .enumeration(let values):
            guard let text = String(validating: bytes, as: UTF8.self), values.contains(text) else {
                return .failure(problem("is not one of the allowed values: \(values.joined(separator: ", "))"))
            }
            return .success(.text(text))
        case .name:
            guard let name = PersonalName(bytes) else { return .failure(problem("is not a name: it has no letters, or is not valid UTF-8")) }
            return .success(.name(name))
        case .postcode:
            guard let postcode = Postcode(bytes) else { return .failure(problem("is not a valid UK postcode")) }
            return .success(.postcode(postcode))
        case .nhsNumber:
            guard let number = NHSNumber.normalised(bytes) else {
                return .failure(problem("is not a valid NHS number (10 digits with a correct modulus-11 check digit)"))
            }
            return .success(.text(number))
        case .sex:
            guard let code = SexCode(bytes) else { return .failure(problem("is not a sex code (M, F, X, U, or 1, 2, 9, 0)")) }
            return .success(.sex(code))
        }
    }

    private func problem(_ reason: String) -> FieldProblem {
        FieldProblem(field: field.name, reason: reason)
    }

    private func text(_ bytes: UnsafeBufferPointer<UInt8>, maximumLength: Int?) -> Result<String, FieldProblem> {
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(problem("is not valid UTF-8")) }
        if let maximumLength, text.unicodeScalars.count > maximumLength {
            return .failure(problem("is longer than \(maximumLength) characters"))
        }
        return .success(text)
    }

    private static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let negative = bytes.first == UInt8(ascii: "-")
        let digits = negative ? UnsafeBufferPointer(rebasing: bytes.dropFirst()) : bytes
        guard let magnitude = ASCII.decimal(digits) else { return nil }
        return negative ? -magnitude : magnitude
    }

    private static func isDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var rest = bytes[...]
        if rest.first == UInt8(ascii: "-") { rest = rest.dropFirst() }
        let parts = rest.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(ASCII.isDigit) }
    }

    private static func boolean(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard bytes.count <= 5 else { return nil }
        switch ASCII.string(bytes.map(ASCII.uppercased)) {
        case "TRUE", "YES", "Y", "1": return true
        case "FALSE", "NO", "N", "0": return false
        default: return nil
        }
    }
}
