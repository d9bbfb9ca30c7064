/// Validates records against a dataset schema and writes their pseudonymised form: match keys,
/// generalised quasi-identifiers and normalised attributes. Identifiers and free text are never
/// written. Pure and single-threaded; run one copy per task to use several cores.
public struct RecordPseudonymiser: Sendable {
    public let schema: DatasetSchema
    private let validators: [FieldValidator]
    private let columnOfField: [Int]
    private let hasher: MatchKeyHasher
    private let nicknames: NicknameTable
    private let keys: [KeyPlan]
    /// Distinct components used by any key; each row computes each of them once.
    private let components: [MatchKeyComponent]
    private let identityFields: [Identity: Int]
    private let releasable: [(field: Int, generalisation: Generalisation?)]

    private var values: [FieldValue]
    private var componentValues: [String?]
    private var message: [UInt8] = []

    private struct KeyPlan: Sendable {
        var prefix: [UInt8]
        /// Index into `components`, with the component's `LP(label)` bytes.
        var parts: [(component: Int, label: [UInt8])]
    }

    /// - Parameter columns: for each schema field, its column in the extract (`ExtractHeader.columns`).
    public init(schema: DatasetSchema, key: LinkageKey, columns: [Int], nicknames: NicknameTable = .shipped) {
        precondition(columns.count == schema.fields.count)
        self.schema = schema
        validators = schema.fields.map { FieldValidator(field: $0, dialect: schema.dialect) }
        columnOfField = columns
        hasher = MatchKeyHasher(key: key)
        self.nicknames = nicknames
        var distinct: [MatchKeyComponent] = []
        keys = schema.matchKeys.map { [hasher] definition in
            let parts = definition.components.map { component in
                if !distinct.contains(component) { distinct.append(component) }
                var label: [UInt8] = []
                MatchKeyHasher.appendLengthPrefixed(component.hashLabel, to: &label)
                return (distinct.firstIndex(of: component)!, label)
            }
            return KeyPlan(prefix: hasher.messagePrefix(keyName: definition.hashedAs), parts: parts)
        }
        components = distinct
        identityFields = Dictionary(uniqueKeysWithValues: schema.fields.enumerated().compactMap { index, field in
            field.identity.map { ($0, index) }
        })
        releasable = schema.fields.enumerated().compactMap { index, field in
            switch field.role {
            case .attribute: (index, nil)
            case .quasiIdentifier: (index, field.generalisation)
            case .identifier, .freeText: nil
            }
        }
        values = Array(repeating: .missing, count: schema.fields.count)
        componentValues = Array(repeating: nil, count: distinct.count)
    }

    /// Pseudonymises every record of `batch` (all but the first when it is the header).
    public mutating func pseudonymise(_ batch: CSVRecordBatch, skippingFirst: Bool = false) -> PseudonymisedBatch {
        var result = PseudonymisedBatch()
        var writer = CSVWriter(capacity: batch.byteCount + batch.count * keys.count * 48)
        var isFirst = true
        batch.forEachRecord { record in
            defer { isFirst = false }
            if skippingFirst && isFirst { return }
            result.rowsRead += 1
            let problems = validate(record)
            if problems.isEmpty {
                write(to: &writer)
                result.rowsWritten += 1
            } else {
                result.rejects.append(RejectedRow(line: record.line, problems: problems))
            }
        }
        result.output = writer.takeBytes()
        return result
    }

    private mutating func validate(_ record: CSVRecord) -> [FieldProblem] {
        guard record.count == columnOfField.count else {
            return [FieldProblem(field: "*", reason: "has \(record.count) fields; the header has \(columnOfField.count)")]
        }
        var problems: [FieldProblem] = []
        for index in validators.indices {
            switch validators[index].value(record[columnOfField[index]]) {
            case .success(let value): values[index] = value
            case .failure(let problem): problems.append(problem)
            }
        }
        return problems
    }

    private mutating func write(to writer: inout CSVWriter) {
        for index in components.indices {
            componentValues[index] = value(of: components[index])
        }
        for key in keys {
            guard key.parts.allSatisfy({ componentValues[$0.component] != nil }) else {
                writer.appendEmptyField()
                continue
            }
            message.removeAll(keepingCapacity: true)
            message.append(contentsOf: key.prefix)
            for part in key.parts {
                message.append(contentsOf: part.label)
                MatchKeyHasher.appendLengthPrefixed(componentValues[part.component]!, to: &message)
            }
            var text: [UInt8] = []
            text.reserveCapacity(48)
            message.withUnsafeBufferPointer { hasher.appendText(of: $0, to: &text) }
            writer.appendPlainField(text)
        }
        for (field, generalisation) in releasable {
            let value = values[field]
            let text = generalisation.map { value.generalised($0) } ?? value.normalisedText
            if let text { writer.appendField(text) } else { writer.appendEmptyField() }
        }
        writer.endRecord()
    }

    private func identity(_ identity: Identity) -> FieldValue {
        identityFields[identity].map { values[$0] } ?? .missing
    }

    /// The component's value for the current row, or `nil` when it has none.
    private func value(of component: MatchKeyComponent) -> String? {
        switch (component, identity(component.source)) {
        case (.surname, .name(let name)): name.joinedWords
        case (.surnameInitial, .name(let name)): Self.initial(name.joinedWords)
        case (.surnameAlphaname, .name(let name)): Self.alphaname(name.joinedWords)
        case (.surnameSoundex, .name(let name)): Soundex.code(name.joinedWords)
        case (.forename, .name(let name)): name.firstWord
        case (.forenameInitial, .name(let name)): Self.initial(name.firstWord)
        case (.forenameAlphaname, .name(let name)): Self.alphaname(name.firstWord)
        case (.forenameSoundex, .name(let name)): Soundex.code(name.firstWord)
        case (.forenameCanonical, .name(let name)): nicknames.canonical(name.firstWord)
        case (.dateOfBirth, .date(let date)): date.description
        case (.dateOfBirthSwapped, .date(let date)): date.swappingDayAndMonth?.description
        case (.birthYear, .date(let date)): date.yearText
        case (.birthYearMonth, .date(let date)): date.yearMonthText
        case (.birthMonth, .date(let date)): ASCII.twoDigits(date.month)
        case (.birthDay, .date(let date)): ASCII.twoDigits(date.day)
        case (.postcode, .postcode(let postcode)): postcode.description
        case (.postcodeSector, .postcode(let postcode)): postcode.sector
        case (.postcodeDistrict, .postcode(let postcode)): postcode.district
        case (.postcodeArea, .postcode(let postcode)): postcode.area
        case (.nhsNumber, .text(let number)): number
        case (.sex, .sex(let code)): code == .unknown ? nil : code.rawValue
        case (.reference, .text(let reference)): reference
        default: nil
        }
    }

    private static func initial(_ text: String) -> String {
        text.unicodeScalars.first.map { String($0) } ?? ""
    }

    private static func alphaname(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.sorted { $0.value < $1.value })
        return String(scalars)
    }
}

/// The outcome of pseudonymising one batch.
public struct PseudonymisedBatch: Sendable {
    /// CSV records (no header) of the rows written.
    public var output: [UInt8] = []
    public var rejects: [RejectedRow] = []
    public var rowsRead = 0
    public var rowsWritten = 0
    public var rowsRejected: Int { rejects.count }
}

/// A row that was not written, with every problem found in it.
public struct RejectedRow: Sendable, Hashable {
    public var line: Int
    public var problems: [FieldProblem]
}
