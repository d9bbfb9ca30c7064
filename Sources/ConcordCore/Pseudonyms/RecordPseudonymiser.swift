/// Validates records against a dataset schema and writes their pseudonymised form: match keys,
/// generalised quasi-identifiers and normalised attributes. Identifiers and free text are never
/// written. Pure and single-threaded; run one copy per task to use several cores.
public struct RecordPseudonymiser: Sendable {
    public var schema: DatasetSchema { plan.schema }
    private let plan: Plan
    private var scratch: Scratch

    /// - Parameters:
    ///   - columns: for each schema field, its column in the extract (`ExtractHeader.columns`).
    ///   - release: what leaves the agency; by default everything the schema allows.
    ///   - clk: the encoder of the release's encoding (`ReleasePlan.encoding`), which every row then
    ///     ends with (`CLKParameters.columns`); `nil` exactly when the release has none.
    public init(schema: DatasetSchema, key: LinkageKey, columns: [Int], release: ReleasePlan? = nil, nicknames: NicknameTable = .shipped,
                clk: CLKEncoder? = nil) {
        precondition(columns.count == schema.fields.count)
        let release = release ?? ReleasePlan(schema: schema)
        precondition(clk?.parameters == release.encoding, "the encoder must be that of the release's encoding")
        plan = Plan(schema: schema, key: key, columns: columns, release: release, nicknames: nicknames, clk: clk)
        scratch = Scratch(fields: schema.fields.count, components: plan.components.count)
    }

    /// Pseudonymises every record of `batch` (all but the first when it is the header).
    public mutating func pseudonymise(_ batch: CSVRecordBatch, skippingFirst: Bool = false) -> PseudonymisedBatch {
        // Moved out rather than copied, so its buffers stay uniquely referenced and are reused.
        var scratch = Scratch(fields: 0, components: 0)
        swap(&scratch, &self.scratch)
        defer { swap(&scratch, &self.scratch) }
        let plan = self.plan
        var result = PseudonymisedBatch()
        var writer = CSVWriter(capacity: batch.byteCount + batch.count * plan.keyCount * 48)
        plan.tables.withView { tables in
            var isFirst = true
            batch.forEachRecord { record in
                defer { isFirst = false }
                if skippingFirst && isFirst { return }
                result.rowsRead += 1
                let problems = plan.validate(record, into: &scratch)
                if problems.isEmpty {
                    plan.write(&scratch, tables: tables, to: &writer)
                    result.rowsWritten += 1
                } else {
                    result.rejects.append(RejectedRow(line: record.line, problems: problems))
                }
            }
        }
        result.output = writer.takeBytes()
        return result
    }
}

/// Per-worker state reused from row to row.
private struct Scratch {
    var values: [FieldValue]
    var componentValues: [String?]
    var message: [UInt8] = []
    var cache = NormalisationCache()

    init(fields: Int, components: Int) {
        values = Array(repeating: .missing, count: fields)
        componentValues = Array(repeating: nil, count: components)
        message.reserveCapacity(256)
    }
}

/// Everything about a schema and key that does not change from row to row, shared by all workers.
private final class Plan: Sendable {
    let schema: DatasetSchema
    let validators: [FieldValidator]
    let columnOfField: [Int]
    let hasher: MatchKeyHasher
    let nicknames: NicknameTable
    /// Distinct components used by any key; each row computes each of them once.
    let components: [MatchKeyComponent]
    /// For each of `components`, the field it derives from, if the schema has it.
    let componentFields: [Int?]
    let releasable: [(field: Int, generalisation: Generalisation?)]
    let tables: KeyTables
    let clk: CLKEncoder?
    /// For each component the CLK encoding uses, its index in `components`.
    let clkComponents: [MatchKeyComponent: Int]
    var keyCount: Int { tables.prefixRanges.count }

    init(schema: DatasetSchema, key: LinkageKey, columns: [Int], release: ReleasePlan, nicknames: NicknameTable, clk: CLKEncoder?) {
        self.schema = schema
        validators = schema.fields.map { FieldValidator(field: $0, dialect: schema.dialect) }
        columnOfField = columns
        hasher = MatchKeyHasher(key: key)
        self.nicknames = nicknames
        var distinct: [MatchKeyComponent] = []
        var tables = KeyTables()
        for definition in schema.matchKeys where release.matchKeys.contains(definition.name) {
            let prefix = hasher.messagePrefix(keyName: definition.hashedAs)
            tables.prefixRanges.append(tables.bytes.count..<tables.bytes.count + prefix.count)
            tables.bytes += prefix
            tables.partStarts.append(tables.partComponents.count)
            for component in definition.components {
                if !distinct.contains(component) { distinct.append(component) }
                tables.partComponents.append(distinct.firstIndex(of: component)!)
                var label: [UInt8] = []
                MatchKeyHasher.appendLengthPrefixed(component.hashLabel, to: &label)
                tables.labelRanges.append(tables.bytes.count..<tables.bytes.count + label.count)
                tables.bytes += label
            }
        }
        tables.partStarts.append(tables.partComponents.count)
        self.tables = tables
        self.clk = clk
        var clkComponents: [MatchKeyComponent: Int] = [:]
        for component in clk?.parameters.components ?? [] {
            if !distinct.contains(component) { distinct.append(component) }
            clkComponents[component] = distinct.firstIndex(of: component)!
        }
        self.clkComponents = clkComponents
        components = distinct
        componentFields = distinct.map { component in schema.fields.firstIndex { $0.identity == component.source } }
        releasable = release.fields.map { released in
            (schema.fields.firstIndex { $0.name == released.field }!, released.generalisation)
        }
    }

    func validate(_ record: CSVRecord, into scratch: inout Scratch) -> [FieldProblem] {
        guard record.count == columnOfField.count else {
            return [FieldProblem(field: "*", reason: "has \(record.count) fields; the header has \(columnOfField.count)")]
        }
        var problems: [FieldProblem] = []
        for index in validators.indices {
            switch validators[index].value(record[columnOfField[index]], cache: &scratch.cache) {
            case .success(let value): scratch.values[index] = value
            case .failure(let problem): problems.append(problem)
            }
        }
        return problems
    }

    func write(_ scratch: inout Scratch, tables: KeyTables.View, to writer: inout CSVWriter) {
        for index in components.indices {
            scratch.componentValues[index] = componentFields[index].flatMap { value(of: components[index], from: scratch.values[$0]) }
        }
        for key in 0..<tables.prefixRanges.count {
            let parts = tables.partStarts[key]..<tables.partStarts[key + 1]
            guard parts.allSatisfy({ scratch.componentValues[tables.partComponents[$0]] != nil }) else {
                writer.appendEmptyField()
                continue
            }
            scratch.message.removeAll(keepingCapacity: true)
            scratch.message.append(contentsOf: tables.bytes[tables.prefixRanges[key]])
            for part in parts {
                scratch.message.append(contentsOf: tables.bytes[tables.labelRanges[part]])
                MatchKeyHasher.appendLengthPrefixed(scratch.componentValues[tables.partComponents[part]]!, to: &scratch.message)
            }
            scratch.message.withUnsafeBufferPointer { message in
                writer.appendPlainField { hasher.appendText(of: message, to: &$0) }
            }
        }
        for (field, generalisation) in releasable {
            let value = scratch.values[field]
            let text = generalisation.map { value.generalised($0) } ?? value.normalisedText
            if let text { writer.appendField(text) } else { writer.appendEmptyField() }
        }
        if let clk {
            let values = scratch.componentValues, clkComponents = clkComponents
            let value: (MatchKeyComponent) -> String? = { component in clkComponents[component].flatMap { values[$0] } }
            writer.appendField(clk.filter(value).text(keyVersion: clk.parameters.keyVersion))
            for token in clk.blockingTokens(value) {
                if let token { writer.appendField(token) } else { writer.appendEmptyField() }
            }
        }
        writer.endRecord()
    }

    /// The component's value derived from its source field's value, or `nil` when it has none.
    private func value(of component: MatchKeyComponent, from source: FieldValue) -> String? {
        switch (component, source) {
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

/// The match keys' fixed message parts, flattened into one byte buffer and index tables so the
/// per-row loop reads them through unsafe buffers without reference counting.
private struct KeyTables: Sendable {
    var bytes: [UInt8] = []
    /// Per key: the bytes of `LP(domain) ‖ LP(name) ‖ LP(version)`.
    var prefixRanges: [Range<Int>] = []
    /// Per key, its parts are `partStarts[key]..<partStarts[key + 1]`.
    var partStarts: [Int] = []
    /// Per part: the component's index and the bytes of `LP(label)`.
    var partComponents: [Int] = []
    var labelRanges: [Range<Int>] = []

    struct View {
        let bytes: UnsafeBufferPointer<UInt8>
        let prefixRanges: UnsafeBufferPointer<Range<Int>>
        let partStarts: UnsafeBufferPointer<Int>
        let partComponents: UnsafeBufferPointer<Int>
        let labelRanges: UnsafeBufferPointer<Range<Int>>
    }

    func withView<R>(_ body: (View) -> R) -> R {
        bytes.withUnsafeBufferPointer { bytes in
            prefixRanges.withUnsafeBufferPointer { prefixRanges in
                partStarts.withUnsafeBufferPointer { partStarts in
                    partComponents.withUnsafeBufferPointer { partComponents in
                        labelRanges.withUnsafeBufferPointer { labelRanges in
                            body(View(bytes: bytes, prefixRanges: prefixRanges, partStarts: partStarts,
                                      partComponents: partComponents, labelRanges: labelRanges))
                        }
                    }
                }
            }
        }
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
