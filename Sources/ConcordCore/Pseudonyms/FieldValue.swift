/// A cell after validation and normalisation.
public enum FieldValue: Sendable, Hashable {
    case missing
    /// Strings, enum values, decimals, reference and NHS numbers, in normalised form.
    case text(String)
    case integer(Int)
    case date(CivilDate)
    case boolean(Bool)
    case name(PersonalName)
    case postcode(Postcode)
    case sex(SexCode)

    /// The form written for an attribute.
    public var normalisedText: String? {
        switch self {
        case .missing: nil
        case .text(let text): text
        case .integer(let value): String(value)
        case .date(let date): date.description
        case .boolean(let value): value ? "true" : "false"
        case .name(let name): name.normalised
        case .postcode(let postcode): postcode.description
        case .sex(let code): code.rawValue
        }
    }

    /// The form written for a quasi-identifier.
    public func generalised(_ generalisation: Generalisation) -> String? {
        switch (generalisation, self) {
        case (.year, .date(let date)): date.yearText
        case (.yearMonth, .date(let date)): date.yearMonthText
        case (.postcodeSector, .postcode(let postcode)): postcode.sector
        case (.postcodeDistrict, .postcode(let postcode)): postcode.district
        case (.postcodeArea, .postcode(let postcode)): postcode.area
        case (.band(let width), .integer(let value)):
            // Floor division so that bands below zero are as wide as those above.
            value >= 0 ? Self.band(value / width * width, width) : Self.band(-((-value + width - 1) / width) * width, width)
        default: nil
        }
    }

    private static func band(_ low: Int, _ width: Int) -> String {
        "\(low)-\(low + width - 1)"
    }
}

/// Why one cell of a row is invalid. The reason never contains the cell's value: rejects files and
/// messages may be read by people who must not see identifiers.
public struct FieldProblem: Error, Sendable, Hashable {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
}
