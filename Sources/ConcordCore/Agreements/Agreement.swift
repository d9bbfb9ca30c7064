/// A data sharing agreement (`concord-agreement/1`, specified in `docs/agreements.md`): who may
/// share what with whom, why, under which law, for how long, and what may come out.
public struct Agreement: Sendable, Hashable {
    public static let format = "concord-agreement/1"

    public var id: String
    public var version: Int
    public var title: String
    public var status: Status
    public var validFrom: CivilDate
    public var validUntil: CivilDate
    public var nextReview: CivilDate
    public var purpose: Purpose
    public var lawfulBasis: LawfulBasis
    public var providers: [Provider]
    public var recipients: [Recipient]
    public var signatories: [Signatory]
    public var linkage: Linkage
    public var outputs: Outputs
    /// How soon data must be deleted once the agreement has expired or been terminated.
    public var deleteWithinAfterEnd: ISODuration
    public var security: Security

    public enum Status: String, Sendable, Hashable, CaseIterable {
        case draft, active, suspended, expired, terminated
    }

    public struct Purpose: Sendable, Hashable {
        public var code: String
        public var statement: String
        public var permittedUses: [String]
        public var prohibitions: [Prohibition]
    }

    public enum Prohibition: String, Sendable, Hashable, CaseIterable {
        case reIdentification = "re_identification"
        case onwardSharing = "onward_sharing"
        case individualDecisionsWithoutHumanReview = "individual_decisions_without_human_review"
        case commercialUse = "commercial_use"
        case linkageOutsideAgreement = "linkage_outside_agreement"
        case exportOutsideSecureEnvironment = "export_outside_secure_environment"
    }

    public struct LawfulBasis: Sendable, Hashable {
        public var article6: Clause
        public var article9: Clause?
        public var article10: Clause?

        public static let article6Bases = ["consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"]
        public static let article9Conditions = ["explicit_consent", "employment_social_security", "vital_interests", "legal_claims",
                                                "substantial_public_interest", "health_social_care", "public_health", "archiving_research_statistics"]
        public static let article10Conditions = ["official_authority", "dpa_schedule_1"]
    }

    /// A basis or condition with the text that cites it.
    public struct Clause: Sendable, Hashable {
        public var name: String
        public var citation: String
    }

    /// An information governance contact; the id is how the contact acts as an IG officer.
    public struct Contact: Sendable, Hashable {
        public var id: String
        public var name: String
        public var email: String
    }

    /// An agency contributing datasets, as a controller.
    public struct Provider: Sendable, Hashable {
        public var agency: String
        public var name: String
        public var role: String
        public var igContact: Contact
        public var datasets: [DatasetPermission]
    }

    /// A dataset a provider contributes, what of it may reach the hub, and for how long.
    public struct DatasetPermission: Sendable, Hashable {
        public var dataset: String
        public var schemaVersion: Int
        public var fields: [FieldPermission]
        public var retention: ISODuration
    }

    /// A field that may reach the hub; a quasi-identifier may be required coarser than its schema says.
    public struct FieldPermission: Sendable, Hashable {
        public var field: String
        public var generalisation: Generalisation?

        public init(field: String, generalisation: Generalisation?) {
            self.field = field
            self.generalisation = generalisation
        }
    }

    /// An analyst group and the named people in it.
    public struct Recipient: Sendable, Hashable {
        public var group: String
        public var name: String
        public var people: [Person]
        public var igContact: Contact
    }

    public struct Person: Sendable, Hashable {
        public var id: String
        public var name: String
    }

    public struct Signatory: Sendable, Hashable {
        public var name: String
        public var role: String
        public var party: String
        public var date: CivilDate
    }

    public struct Linkage: Sendable, Hashable {
        public var permitted: Bool
        public var datasets: [String]
        /// In pass order, strongest first.
        public var matchKeys: [String]
        /// The fuzzy pass after the deterministic ones (`linkage.fuzzy`, `docs/pprl.md`): its
        /// threshold and review band; `nil` when the agreement does not permit it.
        public var fuzzy: FuzzyMatchPolicy?

        public init(permitted: Bool, datasets: [String], matchKeys: [String], fuzzy: FuzzyMatchPolicy? = nil) {
            self.permitted = permitted
            self.datasets = datasets
            self.matchKeys = matchKeys
            self.fuzzy = fuzzy
        }
    }

    public enum OutputLevel: String, Sendable, Hashable, CaseIterable {
        case aggregate
        case rowLevel = "row_level"
    }

    public struct Outputs: Sendable, Hashable {
        public var level: OutputLevel
        public var minimumCellCount: Int?
        public var roundingBase: Int?
        public var approvalRequired: Bool
        /// Ids of the people (IG officers) who may approve requests.
        public var approvers: [String]
    }

    public struct Security: Sendable, Hashable {
        public var encryptionInTransit: String
        public var encryptionAtRest: String
        public var analystEnvironment: String
    }

    /// The dataset permission of `dataset`, and the provider contributing it.
    public func permission(for dataset: String) -> (provider: Provider, permission: DatasetPermission)? {
        for provider in providers {
            if let permission = provider.datasets.first(where: { $0.dataset == dataset }) { return (provider, permission) }
        }
        return nil
    }

    /// Every party's IG contact.
    public var igContacts: [Contact] { providers.map(\.igContact) + recipients.map(\.igContact) }

    /// Every analyst named among the recipients.
    public var analystIDs: Set<String> { Set(recipients.flatMap { $0.people.map(\.id) }) }
}

/// An ISO 8601 duration of years, months, weeks and days (`P2Y`, `P18M`, `P1Y6M`, `P30D`, `P2W`):
/// how agreements state retention.
public struct ISODuration: Sendable, Hashable, CustomStringConvertible {
    public let years: Int
    public let months: Int
    public let days: Int
    public let description: String

    public init?(_ text: String) {
        guard text.hasPrefix("P"), text.count > 1 else { return nil }
        var years = 0, months = 0, days = 0
        var number = ""
        var seen: [Character] = []
        for character in text.dropFirst() {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number), !seen.contains(character), let order = "YMWD".firstIndex(of: character),
                  seen.allSatisfy({ "YMWD".firstIndex(of: $0)! < order }) else { return nil }
            switch character {
            case "Y": years = value
            case "M": months = value
            case "W": days += value * 7
            default: days += value
            }
            seen.append(character)
            number = ""
        }
        guard number.isEmpty, !seen.isEmpty else { return nil }
        self.years = years
        self.months = months
        self.days = days
        description = text
    }

    /// The date this long after `date` (months added first, clamped to the month's last day, then days).
    public func after(_ date: CivilDate) -> CivilDate {
        let monthIndex = date.year * 12 + (date.month - 1) + years * 12 + months
        let year = monthIndex / 12, month = monthIndex % 12 + 1
        let day = min(date.day, CivilDate.daysIn(month: month, year: year))
        return CivilDate(daysSinceEpoch: CivilDate(year: year, month: month, day: day)!.daysSinceEpoch + days)!
    }
}
