/// A named combination of normalised or derived identifiers whose keyed hash is one match key.
public struct MatchKeyDefinition: Sendable, Hashable {
    /// The output column, e.g. `mk3_swapped`.
    public var name: String
    /// The name inside the HMAC: another key's name when this key's values must compare equal to
    /// that key's (a swapped date of birth is compared with real ones).
    public var hashedAs: String
    public var components: [MatchKeyComponent]
    public var description: String?

    public init(name: String, hashedAs: String? = nil, components: [MatchKeyComponent], description: String? = nil) {
        self.name = name
        self.hashedAs = hashedAs ?? name
        self.components = components
        self.description = description
    }
}

/// One input to a match key, derived from a field's identity (`docs/pseudonyms.md`, section 2).
public enum MatchKeyComponent: Sendable, Hashable, CustomStringConvertible {
    case surname, surnameInitial, surnameAlphaname, surnameSoundex
    case forename, forenameInitial, forenameAlphaname, forenameSoundex, forenameCanonical
    case dateOfBirth, dateOfBirthSwapped, birthYear, birthYearMonth, birthMonth, birthDay
    case postcode, postcodeSector, postcodeDistrict, postcodeArea
    case nhsNumber, sex
    /// The normalised value of the reference field with this identity.
    case reference(String)

    private static let named: [String: MatchKeyComponent] = [
        "surname": .surname, "surname_initial": .surnameInitial, "surname_alphaname": .surnameAlphaname,
        "surname_soundex": .surnameSoundex, "forename": .forename, "forename_initial": .forenameInitial,
        "forename_alphaname": .forenameAlphaname, "forename_soundex": .forenameSoundex,
        "forename_canonical": .forenameCanonical, "date_of_birth": .dateOfBirth,
        "date_of_birth_swapped": .dateOfBirthSwapped, "birth_year": .birthYear,
        "birth_year_month": .birthYearMonth, "birth_month": .birthMonth, "birth_day": .birthDay,
        "postcode": .postcode, "postcode_sector": .postcodeSector, "postcode_district": .postcodeDistrict,
        "postcode_area": .postcodeArea, "nhs_number": .nhsNumber, "sex": .sex,
    ]

    /// The component a schema names; any other name is a reference identity.
    public init(keyword: String) {
        self = Self.named[keyword] ?? .reference(keyword)
    }

    public var description: String {
        if case .reference(let scheme) = self { return scheme }
        return Self.named.first { $0.value == self }!.key
    }

    /// The text that stands for this component inside the HMAC.
    public var hashLabel: String {
        self == .dateOfBirthSwapped ? MatchKeyComponent.dateOfBirth.description : description
    }

    /// The identity a record must carry for this component to have a value.
    public var source: Identity {
        switch self {
        case .surname, .surnameInitial, .surnameAlphaname, .surnameSoundex: .surname
        case .forename, .forenameInitial, .forenameAlphaname, .forenameSoundex, .forenameCanonical: .forename
        case .dateOfBirth, .dateOfBirthSwapped, .birthYear, .birthYearMonth, .birthMonth, .birthDay: .dateOfBirth
        case .postcode, .postcodeSector, .postcodeDistrict, .postcodeArea: .postcode
        case .nhsNumber: .nhsNumber
        case .sex: .sex
        case .reference(let scheme): .reference(scheme)
        }
    }
}
