import ConcordCore

/// How often the synthetic extracts deviate from the truth, as real agency data does. Each rate is
/// a probability per record (per written identifier, where it says so), from 0 to 1.
///
/// Keying errors keep every value valid against its schema, so they test linkage rather than
/// validation; only `invalidValue` produces rows the schema rejects. `ErrorRates.none` (or
/// `scaled(by: 0)`) gives clean data in which every record of a person carries identical
/// normalised identifiers, which is useful as a linkage-quality baseline. Changing the rates never
/// changes the population or the events: the same seed gives the same people, incidents and
/// referrals, only written differently.
public struct ErrorRates: Sendable, Hashable {
    /// One substitution, transposition or deletion of a letter in the surname. Default 0.02.
    public var surnameTypo: Double
    /// The forename written as another form of the same name from `Schemas/nicknames.csv`
    /// (`Bill` for William, `Michael` for Michał). Default 0.05; the police, who record the name
    /// given at the scene, see twice this rate, and schools, which record the legal name, a fifth.
    public var forenameVariant: Double
    /// Day and month of birth exchanged (only possible for days 1–12). Default 0.01.
    public var dateOfBirthSwap: Double
    /// The record carries the household's previous postcode: the person moved and this agency
    /// does not know yet (or another agency does not). Default 0.10.
    public var movedHouse: Double
    /// No NHS number on a children's social care record although the child has one. Default 0.25.
    /// (About one child in eleven has no traced NHS number at all, whatever this rate.)
    public var missingNHSNumber: Double
    /// No UPN on a children's social care record although the child has one. Default 0.15.
    public var missingUPN: Double
    /// Diacritics removed (`Zoë` → `Zoe`, `Łukasz` → `Lukasz`), per name that has any. Default 0.35.
    public var droppedDiacritics: Double
    /// A name written all upper or all lower case. Default 0.04.
    public var caseChange: Double
    /// Leading, trailing or doubled spaces in a name or postcode. Default 0.02.
    public var extraWhitespace: Double
    /// Harmless punctuation differences: `O’Brien` or `OBrien` for `O'Brien`, a postcode without
    /// its space, an NHS number written in groups. Default 0.10.
    public var punctuationVariant: Double
    /// A double-barrelled surname written as its first part only (`Smith` for `Smith-Jones`),
    /// per record of a person who has one. Default 0.30.
    public var shortenedSurname: Double
    /// A title typed into an adult's forename field (`Mrs Sarah`). Default 0.01.
    public var titleInForename: Double
    /// A value the schema must reject: a wrong NHS check digit, an impossible date such as
    /// 31/04, the 01/01/1900 placeholder date of birth, an invalid postcode, a number out of
    /// range. At most one per row; counted in `SynthSummary`. Default 0.003.
    public var invalidValue: Double

    public init(surnameTypo: Double = 0.02, forenameVariant: Double = 0.05, dateOfBirthSwap: Double = 0.01,
                movedHouse: Double = 0.10, missingNHSNumber: Double = 0.25, missingUPN: Double = 0.15,
                droppedDiacritics: Double = 0.35, caseChange: Double = 0.04, extraWhitespace: Double = 0.02,
                punctuationVariant: Double = 0.10, shortenedSurname: Double = 0.30, titleInForename: Double = 0.01,
                invalidValue: Double = 0.003) {
        self.surnameTypo = surnameTypo
        self.forenameVariant = forenameVariant
        self.dateOfBirthSwap = dateOfBirthSwap
        self.movedHouse = movedHouse
        self.missingNHSNumber = missingNHSNumber
        self.missingUPN = missingUPN
        self.droppedDiacritics = droppedDiacritics
        self.caseChange = caseChange
        self.extraWhitespace = extraWhitespace
        self.punctuationVariant = punctuationVariant
        self.shortenedSurname = shortenedSurname
        self.titleInForename = titleInForename
        self.invalidValue = invalidValue
    }

    /// The defaults documented on each rate.
    public static let `default` = ErrorRates()
    /// Clean data: no keying errors, no missing identifiers beyond those nobody holds, no invalid rows.
    public static let none = ErrorRates().scaled(by: 0)

    /// Every rate multiplied by `factor` (and capped at 1): 0 for clean data, 2 for twice as messy.
    public func scaled(by factor: Double) -> ErrorRates {
        precondition(factor >= 0 && factor.isFinite, "the error-rate scale must be a finite number of at least 0")
        func scale(_ rate: Double) -> Double { min(1, rate * factor) }
        return ErrorRates(
            surnameTypo: scale(surnameTypo), forenameVariant: scale(forenameVariant), dateOfBirthSwap: scale(dateOfBirthSwap),
            movedHouse: scale(movedHouse), missingNHSNumber: scale(missingNHSNumber), missingUPN: scale(missingUPN),
            droppedDiacritics: scale(droppedDiacritics), caseChange: scale(caseChange), extraWhitespace: scale(extraWhitespace),
            punctuationVariant: scale(punctuationVariant), shortenedSurname: scale(shortenedSurname),
            titleInForename: scale(titleInForename), invalidValue: scale(invalidValue))
    }
}

/// What to synthesise: a seed, a population size, how messy the data is, and the date the
/// extracts are taken.
public struct SynthConfiguration: Sendable, Hashable {
    /// The reference date used unless told otherwise: the end of the 2024/25 school year.
    public static let defaultAsOf = CivilDate(year: 2025, month: 7, day: 31)!
    /// Reference dates the school attendance schema can express (its academic years run from
    /// 2015/16 to 2029/30).
    public static let asOfRange = CivilDate(year: 2016, month: 9, day: 1)!...CivilDate(year: 2030, month: 7, day: 31)!

    /// Everything random derives from this; the same seed and parameters give byte-identical files.
    public var seed: UInt64
    /// People in the synthetic population (about 2.3 a household, one in five a child).
    public var people: Int
    public var errorRates: ErrorRates
    /// The day the extracts are taken: ages, the last school terms, open cases. Fixed rather than
    /// today's date so that output never depends on when it was made.
    public var asOf: CivilDate

    public init(seed: UInt64 = 1, people: Int = 10_000, errorRates: ErrorRates = .default, asOf: CivilDate = SynthConfiguration.defaultAsOf) {
        self.seed = seed
        self.people = people
        self.errorRates = errorRates
        self.asOf = asOf
    }
}

/// The four agency extracts the synthesiser writes, one per schema in `Schemas/datasets`.
public enum SynthDataset: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// Children's social care referrals (local authority), comma-delimited.
    case cscReferrals = "csc_referrals"
    /// School attendance by pupil and term (school trust), comma-delimited.
    case schoolAttendance = "school_attendance"
    /// Police domestic abuse incidents, one row per person involved, pipe-delimited.
    case policeDAIncidents = "police_da_incidents"
    /// Homelessness cases (district council housing), comma-delimited.
    case housingCases = "housing_cases"

    public var description: String { rawValue }

    /// `<dataset>.csv`
    public var fileName: String { rawValue + ".csv" }

    /// The schema's column delimiter.
    public var delimiter: UInt8 {
        self == .policeDAIncidents ? UInt8(ascii: "|") : UInt8(ascii: ",")
    }

    /// Columns whose values may hold the delimiter, a quote or a line break (free text, lists of
    /// codes), so must go through CSV quoting; every other value is known to need none.
    var mayNeedQuoting: [Bool] {
        let names: Set<String> = switch self {
        case .cscReferrals: ["AssessmentFactors", "ReferralSummary"]
        case .schoolAttendance: []
        case .policeDAIncidents: ["OFFICER_NARRATIVE"]
        case .housingCases: ["support_needs", "case_notes"]
        }
        return columns.map(names.contains)
    }

    /// The header, in the schema's column order.
    public var columns: [String] {
        switch self {
        case .cscReferrals:
            ["PersonID", "UPN", "Forename", "Surname", "DOB", "Gender", "NHSNumber", "Postcode", "Ethnicity", "Disability",
             "ReferralID", "ReferralDate", "ReferralSource", "PrimaryNeedCode", "ReferralOutcome", "AssessmentFactors",
             "PreviousReferrals12m", "ReferralSummary"]
        case .schoolAttendance:
            ["UPN", "Legal Surname", "Legal Forename", "DOB", "Gender", "Postcode", "URN", "Academic Year", "Term", "NC Year",
             "Sessions Possible", "Authorised Absence", "Unauthorised Absence", "Persistent Absence", "SEN Provision",
             "FSM Eligible", "Suspensions", "Suspension Sessions", "Permanent Exclusion", "Exclusion Reason"]
        case .policeDAIncidents:
            ["INCIDENT_REF", "NOMINAL_ID", "FORENAME", "SURNAME", "DOB", "AGE_AT_INCIDENT", "GENDER", "HOME_POSTCODE",
             "INVOLVEMENT", "INCIDENT_DATE", "INCIDENT_HOUR", "DASH_RISK", "CRIME_RECORDED", "OFFENCE_CATEGORY",
             "REPEAT_VICTIM", "MARAC_REFERRAL", "CHILDREN_PRESENT", "OFFICER_NARRATIVE"]
        case .housingCases:
            ["case_ref", "applicant_forename", "applicant_surname", "applicant_dob", "applicant_sex", "last_settled_postcode",
             "approach_date", "duty_owed", "reason_loss_of_home", "household_type", "dependent_children", "support_needs",
             "accommodation_at_approach", "outcome", "temporary_accommodation", "domestic_abuse", "case_notes"]
        }
    }
}

/// One synthetic record: its cells in header order, whose record it truly is, and whether a value
/// the schema must reject was put in it on purpose.
public struct SynthRecord: Sendable, Hashable {
    public var fields: [String]
    /// Index of the true person in the population.
    let person: Int
    /// The row holds one deliberately invalid value (see `ErrorRates.invalidValue`).
    public var isInvalid: Bool

    /// The true person, `P000001` style, as in `truth.csv`.
    public var personID: String { Identifiers.personID(person) }
}

/// Reported while files are written: after every 65,536 rows and at the end of each file.
public struct SynthProgress: Sendable, Hashable {
    public var dataset: SynthDataset
    public var rowsWritten: Int
    /// The dataset's file is complete.
    public var finished: Bool
}

/// What a run wrote.
public struct SynthSummary: Sendable, Hashable, CustomStringConvertible {
    /// One extract file.
    public struct File: Sendable, Hashable {
        public var dataset: SynthDataset
        public var path: String
        /// Data records (the header not counted).
        public var rows: Int
        /// Records holding a deliberately invalid value: exactly the rows `concord pseudonymise` rejects.
        public var invalidRows: Int
    }

    /// People in the population the extracts were drawn from.
    public var people: Int
    public var households: Int
    /// In the order written.
    public var files: [File]
    public var truthPath: String

    /// Rows written for a dataset (0 when it was not written).
    public func rows(_ dataset: SynthDataset) -> Int {
        files.first { $0.dataset == dataset }?.rows ?? 0
    }

    /// Invalid rows injected into a dataset.
    public func invalidRows(_ dataset: SynthDataset) -> Int {
        files.first { $0.dataset == dataset }?.invalidRows ?? 0
    }

    public var description: String {
        var lines = ["\(people) people in \(households) households"]
        for file in files {
            lines.append("\(file.path): \(file.rows) rows, \(file.invalidRows) invalid on purpose")
        }
        lines.append("\(truthPath): the true person of every row")
        return lines.joined(separator: "\n")
    }
}
