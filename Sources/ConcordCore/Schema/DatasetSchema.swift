/// A dataset schema (`concord-dataset/1`, specified in `docs/dataset-schema.md`): the columns of
/// one agency extract, what each means, and how its identifiers become match keys.
public struct DatasetSchema: Sendable, Hashable {
    /// The value of the `format:` line this version of Concord reads.
    public static let format = "concord-dataset/1"

    public var dataset: String
    public var version: Int
    public var title: String
    public var description: String?
    public var providerType: String?
    public var dialect: CSVDialect
    /// In the order the source system exports them.
    public var fields: [Field]
    /// Strongest first.
    public var matchKeys: [MatchKeyDefinition]
    /// The privacy-preserving encoding every record also carries (`fuzzy_encoding:`,
    /// `docs/pprl.md`), with the linkage key version it is made under; `nil`: none.
    public var encoding: CLKParameters?

    public init(dataset: String, version: Int, title: String, description: String? = nil, providerType: String? = nil,
                dialect: CSVDialect = CSVDialect(), fields: [Field], matchKeys: [MatchKeyDefinition], encoding: CLKParameters? = nil) {
        self.encoding = encoding
        self.dataset = dataset
        self.version = version
        self.title = title
        self.description = description
        self.providerType = providerType
        self.dialect = dialect
        self.fields = fields
        self.matchKeys = matchKeys
    }

    /// The field with this name.
    public func field(named name: String) -> Field? {
        fields.first { $0.name == name }
    }

    /// The field carrying this identity.
    public func field(with identity: Identity) -> Field? {
        fields.first { $0.identity == identity }
    }

    /// The fields that may leave the agency after pseudonymisation, in schema order:
    /// quasi-identifiers (generalised) and attributes. Identifiers and free text never do.
    public var releasableFields: [Field] {
        fields.filter { $0.role == .quasiIdentifier || $0.role == .attribute }
    }

    /// The header of a pseudonymised extract with everything the schema lets leave: match keys,
    /// then releasable fields.
    public var pseudonymisedColumns: [String] { ReleasePlan(schema: self).columns }
}

/// How an extract's CSV is written.
public struct CSVDialect: Sendable, Hashable {
    /// One ASCII byte other than a quote, CR or LF.
    public var delimiter: UInt8
    /// Cell texts, after trimming, that mean "no value".
    public var nullValues: Set<String>

    public init(delimiter: UInt8 = UInt8(ascii: ","), nullValues: Set<String> = [""]) {
        self.delimiter = delimiter
        self.nullValues = nullValues
    }
}

/// One column of a dataset.
public struct Field: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    public var role: FieldRole
    public var required: Bool
    public var description: String?
    /// What the field says about the person, for match keys.
    public var identity: Identity?
    /// How a quasi-identifier is coarsened before it leaves the agency.
    public var generalisation: Generalisation?
    /// Special-category or criminal-offence data, which an agreement may share only with the
    /// matching lawful basis condition.
    public var sensitivity: Sensitivity?

    public init(name: String, type: FieldType, role: FieldRole, required: Bool = false, description: String? = nil,
                identity: Identity? = nil, generalisation: Generalisation? = nil, sensitivity: Sensitivity? = nil) {
        self.sensitivity = sensitivity
        self.name = name
        self.type = type
        self.role = role
        self.required = required
        self.description = description
        self.identity = identity
        self.generalisation = generalisation
    }
}

/// A field's type, with the constraints that apply to it.
public enum FieldType: Sendable, Hashable {
    case string(maximumLength: Int?)
    case integer(minimum: Int?, maximum: Int?)
    case decimal(minimum: Double?, maximum: Double?)
    case date(formats: [DateFormat], minimum: CivilDate?, maximum: CivilDate?)
    case boolean
    case enumeration(values: [String])
    case name
    case postcode
    case nhsNumber
    case sex
    case reference(maximumLength: Int?)

    /// The name used in schema files.
    public var keyword: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .decimal: "decimal"
        case .date: "date"
        case .boolean: "boolean"
        case .enumeration: "enum"
        case .name: "name"
        case .postcode: "postcode"
        case .nhsNumber: "nhs_number"
        case .sex: "sex"
        case .reference: "reference"
        }
    }
}

/// Data the law protects beyond personal data in general.
public enum Sensitivity: String, Sendable, Hashable, CaseIterable {
    /// UK GDPR Article 9: racial or ethnic origin, health (including disability), religion, ...
    case specialCategory = "special_category"
    /// UK GDPR Article 10: criminal convictions, offences and allegations.
    case criminalOffence = "criminal_offence"
}

/// What a field may do when it leaves the agency.
public enum FieldRole: String, Sendable, Hashable, CaseIterable {
    /// Never leaves raw: only its match keys do.
    case identifier
    /// Leaves only generalised.
    case quasiIdentifier = "quasi_identifier"
    /// Leaves in its normalised form, as far as an agreement permits.
    case attribute
    /// Never leaves the agency.
    case freeText = "free_text"
}

/// What a field says about the person, independent of the column's name in any one system.
public enum Identity: Sendable, Hashable, CustomStringConvertible {
    case forename, surname, dateOfBirth, postcode, nhsNumber, sex
    /// A reference number scheme, e.g. `upn` (unique pupil number).
    case reference(String)

    public init(keyword: String) {
        switch keyword {
        case "forename": self = .forename
        case "surname": self = .surname
        case "date_of_birth": self = .dateOfBirth
        case "postcode": self = .postcode
        case "nhs_number": self = .nhsNumber
        case "sex": self = .sex
        default: self = .reference(keyword)
        }
    }

    public var description: String {
        switch self {
        case .forename: "forename"
        case .surname: "surname"
        case .dateOfBirth: "date_of_birth"
        case .postcode: "postcode"
        case .nhsNumber: "nhs_number"
        case .sex: "sex"
        case .reference(let scheme): scheme
        }
    }

    /// The field type this identity requires.
    public var requiredTypeKeyword: String {
        switch self {
        case .forename, .surname: "name"
        case .dateOfBirth: "date"
        case .postcode: "postcode"
        case .nhsNumber: "nhs_number"
        case .sex: "sex"
        case .reference: "reference"
        }
    }
}

/// How a quasi-identifier is coarsened.
public enum Generalisation: Sendable, Hashable, CustomStringConvertible {
    case year, yearMonth
    case postcodeSector, postcodeDistrict, postcodeArea
    /// Integer bands of this width starting at 0.
    case band(width: Int)

    public init?(keyword: String) {
        switch keyword {
        case "year": self = .year
        case "year_month": self = .yearMonth
        case "postcode_sector": self = .postcodeSector
        case "postcode_district": self = .postcodeDistrict
        case "postcode_area": self = .postcodeArea
        default:
            guard keyword.hasPrefix("band_"), let width = Int(keyword.dropFirst(5)), width >= 2,
                  String(width) == keyword.dropFirst(5) else { return nil }
            self = .band(width: width)
        }
    }

    public var description: String {
        switch self {
        case .year: "year"
        case .yearMonth: "year_month"
        case .postcodeSector: "postcode_sector"
        case .postcodeDistrict: "postcode_district"
        case .postcodeArea: "postcode_area"
        case .band(let width): "band_\(width)"
        }
    }

    /// Whether this generalisation is at least as coarse as `other` on the same kind of field.
    public func isAtLeastAsCoarse(as other: Generalisation) -> Bool {
        switch (self, other) {
        case (.year, .year), (.year, .yearMonth), (.yearMonth, .yearMonth): true
        case (.postcodeArea, .postcodeArea), (.postcodeArea, .postcodeDistrict), (.postcodeArea, .postcodeSector),
             (.postcodeDistrict, .postcodeDistrict), (.postcodeDistrict, .postcodeSector), (.postcodeSector, .postcodeSector): true
        case (.band(let width), .band(let schemaWidth)): width % schemaWidth == 0
        default: false
        }
    }

    /// Whether this generalisation applies to a field of `type`.
    public func applies(to type: FieldType) -> Bool {
        switch (self, type) {
        case (.year, .date), (.yearMonth, .date): true
        case (.postcodeSector, .postcode), (.postcodeDistrict, .postcode), (.postcodeArea, .postcode): true
        case (.band, .integer): true
        default: false
        }
    }
}

extension Generalisation {
    /// Whether a cell has exactly the shape this generalisation produces: what the hub holds each
    /// received quasi-identifier to. Byte by byte, without strings or regular expressions: it runs
    /// on every generalised cell of every extract.
    public func admits(_ cell: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .year:
            return cell.count == 4 && cell.allSatisfy(ASCII.isDigit)
        case .yearMonth:
            guard cell.count == 7, cell[4] == UInt8(ascii: "-"), let month = ASCII.decimal(cell[5..<7]) else { return false }
            return cell[0..<4].allSatisfy(ASCII.isDigit) && (1...12).contains(month)
        case .postcodeDistrict:
            return Self.isOutwardCode(cell[...])
        case .postcodeSector:
            guard cell.count >= 4, cell[cell.count - 2] == UInt8(ascii: " "), ASCII.isDigit(cell[cell.count - 1]) else { return false }
            return Self.isOutwardCode(cell[0..<(cell.count - 2)])
        case .postcodeArea:
            return (1...3).contains(cell.count) && cell.allSatisfy(ASCII.isUpper)
        case .band(let width):
            // "<low>-<high>", each optionally negative: the separator is the first '-' after a digit.
            guard let separator = cell.indices.dropFirst().first(where: { cell[$0] == UInt8(ascii: "-") && ASCII.isDigit(cell[$0 - 1]) }),
                  let low = Self.bandBound(cell[..<separator]), let high = Self.bandBound(cell[(separator + 1)...]) else { return false }
            return high == low + width - 1 && low % width == 0
        }
    }

    /// An outward code is what precedes a valid inward code.
    private static func isOutwardCode(_ part: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        if part.elementsEqual("GIR".utf8) { return true }
        guard (2...4).contains(part.count) else { return false }
        var candidate = Array(part)
        candidate.append(contentsOf: [UInt8(ascii: "1"), UInt8(ascii: "A"), UInt8(ascii: "A")])
        return candidate.withUnsafeBufferPointer { Postcode($0) } != nil
    }

    /// A band's bound: at most 9 digits, perhaps negative.
    private static func bandBound(_ part: UnsafeBufferPointer<UInt8>.SubSequence) -> Int? {
        let negative = part.first == UInt8(ascii: "-")
        let digits = negative ? part.dropFirst() : part
        guard digits.count <= 9, let value = ASCII.decimal(digits) else { return nil }
        return negative ? -value : value
    }
}
