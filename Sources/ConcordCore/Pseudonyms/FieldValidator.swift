/// Validates and normalises the cells of one field, as its schema entry says.
///
/// A class with the type's constraints unpacked into plain properties: it is consulted for every
/// cell of every row, and a struct holding the schema's enums and arrays would be copied, with its
/// reference counts, on each use.
final class FieldValidator: Sendable {
    private enum Kind: Sendable {
        case string, reference, integer, decimal, date, boolean, enumeration, name, postcode, nhsNumber, sex
    }

    let field: Field
    private let kind: Kind
    private let required: Bool
    /// The schema's null values other than the empty string, as bytes.
    private let nullValues: [[UInt8]]
    private let maximumLength: Int?
    private let integerRange: (minimum: Int?, maximum: Int?)
    private let decimalRange: (minimum: Double?, maximum: Double?)
    private let formats: [DateFormat]
    private let dateRange: (minimum: CivilDate?, maximum: CivilDate?)
    private let allowedValues: [[UInt8]]
    private let allowedValueTexts: [String]

    init(field: Field, dialect: CSVDialect) {
        self.field = field
        required = field.required
        nullValues = dialect.nullValues.filter { !$0.isEmpty }.sorted().map { Array($0.utf8) }
        var maximumLength: Int?
        var integerRange: (Int?, Int?) = (nil, nil)
        var decimalRange: (Double?, Double?) = (nil, nil)
        var formats: [DateFormat] = []
        var dateRange: (CivilDate?, CivilDate?) = (nil, nil)
        var values: [String] = []
        switch field.type {
        case .string(let length): kind = .string; maximumLength = length
        case .reference(let length): kind = .reference; maximumLength = length
        case .integer(let minimum, let maximum): kind = .integer; integerRange = (minimum, maximum)
        case .decimal(let minimum, let maximum): kind = .decimal; decimalRange = (minimum, maximum)
        case .date(let dateFormats, let minimum, let maximum): kind = .date; formats = dateFormats; dateRange = (minimum, maximum)
        case .boolean: kind = .boolean
        case .enumeration(let allowed): kind = .enumeration; values = allowed
        case .name: kind = .name
        case .postcode: kind = .postcode
        case .nhsNumber: kind = .nhsNumber
        case .sex: kind = .sex
        }
        self.maximumLength = maximumLength
        self.integerRange = integerRange
        self.decimalRange = decimalRange
        self.formats = formats
        self.dateRange = dateRange
        allowedValueTexts = values
        allowedValues = values.map { Array($0.utf8) }
    }

    func value(_ raw: UnsafeBufferPointer<UInt8>, cache: inout NormalisationCache) -> Result<FieldValue, FieldProblem> {
        let bytes = ASCII.trimmed(raw)
        if bytes.isEmpty || nullValues.contains(where: { $0.elementsEqual(bytes) }) {
            return required ? .failure(problem("is required but empty")) : .success(.missing)
        }
        if bytes.contains(0) { return .failure(problem("contains a NUL byte")) }
        switch kind {
        case .string:
            return text(bytes).map(FieldValue.text)
        case .reference:
            if case .failure(let problem) = text(bytes) { return .failure(problem) }
            guard let reference = ReferenceNumber.normalised(bytes) else {
                return .failure(problem("is not a reference number: only letters, digits, spaces, '-', '/' and '.' are allowed"))
            }
            return .success(.text(reference))
        case .integer:
            guard let value = Self.integer(bytes) else { return .failure(problem("is not a whole number")) }
            if let minimum = integerRange.minimum, value < minimum { return .failure(problem("is below the minimum \(minimum)")) }
            if let maximum = integerRange.maximum, value > maximum { return .failure(problem("is above the maximum \(maximum)")) }
            return .success(.integer(value))
        case .decimal:
            guard Self.isDecimal(bytes), let value = Double(ASCII.string(bytes)) else {
                return .failure(problem("is not a decimal number (digits, optionally '-' first and '.' between digits)"))
            }
            if let minimum = decimalRange.minimum, value < minimum { return .failure(problem("is below the minimum \(minimum)")) }
            if let maximum = decimalRange.maximum, value > maximum { return .failure(problem("is above the maximum \(maximum)")) }
            return .success(.text(ASCII.string(bytes)))
        case .date:
            guard let date = formats.lazy.compactMap({ $0.parse(bytes) }).first else {
                return .failure(problem("is not a real date in the format \(formats.map(\.pattern).joined(separator: " or "))"))
            }
            if let minimum = dateRange.minimum, date < minimum { return .failure(problem("is before the earliest allowed date \(minimum)")) }
            if let maximum = dateRange.maximum, date > maximum { return .failure(problem("is after the latest allowed date \(maximum)")) }
            return .success(.date(date))
        case .boolean:
            guard let value = Self.boolean(bytes) else { return .failure(problem("is not a yes/no value (true, false, yes, no, y, n, 1, 0)")) }
            return .success(.boolean(value))
        case .enumeration:
            guard let index = allowedValues.firstIndex(where: { $0.elementsEqual(bytes) }) else {
                return .failure(problem("is not one of the allowed values: \(allowedValueTexts.joined(separator: ", "))"))
            }
            return .success(.text(allowedValueTexts[index]))
        case .name:
            guard let name = cache.name(bytes) else { return .failure(problem("is not a name: it has no letters, or is not valid UTF-8")) }
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

    private func text(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<String, FieldProblem> {
        let text: String
        if ASCII.isASCII(bytes) {
            text = ASCII.string(bytes)
        } else if let decoded = String(validating: bytes, as: UTF8.self) {
            text = decoded
        } else {
            return .failure(problem("is not valid UTF-8"))
        }
        if let maximumLength, bytes.count > maximumLength, text.unicodeScalars.count > maximumLength {
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

/// Remembers the normalised forms of non-ASCII names. Unicode normalisation costs far more than
/// an ASCII name, and agency data repeats the same few thousand names many times over.
/// One per worker: it is mutable state, never shared.
struct NormalisationCache: Sendable {
    static let capacity = 8192
    private var names: [[UInt8]: PersonalName?] = [:]

    mutating func name(_ bytes: UnsafeBufferPointer<UInt8>) -> PersonalName? {
        if ASCII.isASCII(bytes) { return PersonalName(bytes) }
        let key = Array(bytes)
        if let known = names[key] { return known }
        let name = PersonalName(bytes)
        if names.count >= Self.capacity { names.removeAll(keepingCapacity: true) }
        names[key] = name
        return name
    }
}
