/// The code lists of the four schemas, with how often each value occurs. Every value here is one
/// the schema lists (the tests check the files against the schemas).
enum Vocabulary {
    // MARK: Police

    static let offenceCategories = [
        "Homicide", "Violence with injury", "Violence without injury", "Stalking and harassment", "Sexual offences",
        "Robbery", "Theft offences", "Criminal damage and arson", "Public order offences", "Possession of weapons offences",
        "Drug offences", "Miscellaneous crimes against society",
    ]
    static let offenceTable = WeightedTable(Array(zip(0..<offenceCategories.count, [1, 2600, 3300, 2400, 300, 40, 150, 700, 400, 60, 30, 20])))
    static let riskLevels = ["", "STANDARD", "MEDIUM", "HIGH"]

    // MARK: Children's social care

    static let referralSources = WeightedTable([
        ("1A", 5), ("1B", 1), ("1C", 1), ("1D", 1), ("2A", 18), ("2B", 2), ("3A", 3), ("3B", 3), ("3C", 1), ("3D", 2),
        ("3E", 4), ("3F", 3), ("4", 3), ("5A", 2), ("5B", 2), ("5C", 3), ("5D", 4), ("6", 28), ("7", 3), ("8", 4),
        ("9", 2), ("10", 5),
    ])
    static let referralSourcesAfterIncident = WeightedTable([("6", 85), ("2A", 5), ("3E", 3), ("1A", 3), ("5D", 4)])

    static let outcomes = WeightedTable([
        ("NFA", 18), ("INFO_ADVICE", 20), ("EARLY_HELP", 17), ("S17_ASSESSMENT", 30), ("S47_ENQUIRY", 8),
        ("EXISTING_OPEN_CASE", 5), ("TRANSFER_OTHER_LA", 2),
    ])
    static let outcomesDomesticAbuse = WeightedTable([
        ("NFA", 10), ("INFO_ADVICE", 12), ("EARLY_HELP", 18), ("S17_ASSESSMENT", 35), ("S47_ENQUIRY", 17),
        ("EXISTING_OPEN_CASE", 7), ("TRANSFER_OTHER_LA", 1),
    ])
    static let needCodes = WeightedTable([
        ("N0", 2), ("N1", 52), ("N2", 8), ("N3", 4), ("N4", 10), ("N5", 14), ("N6", 3), ("N7", 1), ("N8", 3), ("N9", 3),
    ])
    /// CIN census factors identified at assessment (a selection).
    static let assessmentFactors = [
        "1B", "2B", "3B", "4B", "5B", "6B", "7A", "8B", "8C", "8E", "8F", "9A", "10A", "11A", "12A", "14A", "15A",
        "16A", "17A", "18B", "19A", "20", "21", "22A", "23A", "24A",
    ]
    static let domesticAbuseFactors = ["3A", "3B", "3C"]

    // MARK: Schools

    static let exclusionReasons = WeightedTable([
        ("PP", 12), ("PA", 8), ("VP", 10), ("VA", 14), ("BU", 3), ("RA", 1), ("LG", 1), ("DS", 1), ("SM", 2), ("DA", 5),
        ("DM", 3), ("TH", 2), ("PD", 30), ("OW", 2), ("MT", 3),
    ])

    // MARK: Housing

    static let reasonsLoss = WeightedTable([
        ("end_of_private_rented_tenancy_ast", 24), ("end_of_private_rented_tenancy_other", 4), ("end_of_social_rented_tenancy", 4),
        ("family_no_longer_willing_or_able", 22), ("friends_no_longer_willing_or_able", 8), ("domestic_abuse", 3),
        ("non_violent_relationship_breakdown", 12), ("other_violence_or_harassment", 2), ("eviction_from_supported_housing", 3),
        ("left_institution", 3), ("left_care", 1), ("left_hm_forces", 1), ("required_to_leave_asylum_support", 2),
        ("mortgage_repossession", 1), ("property_disrepair_or_unfit", 2), ("fire_flood_or_emergency", 1), ("other", 7),
    ])
    static let accommodationAtApproach = WeightedTable([
        ("private_rented", 33), ("social_rented_council", 8), ("social_rented_housing_association", 8), ("owner_occupier", 3),
        ("living_with_family", 25), ("living_with_friends", 9), ("supported_housing_or_hostel", 3), ("refuge", 1),
        ("temporary_accommodation", 1), ("asylum_support_accommodation", 1), ("institution", 2), ("rough_sleeping", 2),
        ("no_fixed_abode", 3), ("other", 2),
    ])
    static let accommodationFleeingAbuse = WeightedTable([
        ("private_rented", 20), ("social_rented_council", 12), ("social_rented_housing_association", 12),
        ("living_with_family", 25), ("living_with_friends", 10), ("refuge", 15), ("owner_occupier", 3), ("other", 3),
    ])
    static let duties = WeightedTable([("prevention", 52), ("relief", 38), ("main", 4), ("none", 6)])
    static let outcomesByDuty: [String: WeightedTable<String>] = [
        "prevention": WeightedTable([
            ("secured_existing_accommodation_6m", 30), ("secured_alternative_accommodation_6m", 30), ("homeless", 20),
            ("duty_ended_56_days_elapsed", 5), ("refused_to_cooperate", 1), ("no_longer_eligible", 1), ("withdrew_or_contact_lost", 13),
        ]),
        "relief": WeightedTable([
            ("secured_alternative_accommodation_6m", 40), ("main_duty_accepted", 20), ("duty_ended_56_days_elapsed", 15),
            ("intentionally_homeless", 3), ("refused_suitable_offer", 3), ("refused_to_cooperate", 1), ("withdrew_or_contact_lost", 17),
            ("deceased", 1),
        ]),
        "main": WeightedTable([("main_duty_accepted", 70), ("refused_suitable_offer", 10), ("intentionally_homeless", 10), ("withdrew_or_contact_lost", 10)]),
        "none": WeightedTable([("withdrew_or_contact_lost", 60), ("no_longer_eligible", 40)]),
    ]
    static let supportNeeds = WeightedTable([
        ("MH", 30), ("PHYS", 18), ("LEARN_DIS", 6), ("DA_RISK", 8), ("DRUG", 6), ("ALCOHOL", 5), ("OFFENDING", 6),
        ("CARE_LEAVER_18_20", 2), ("YP_16_17", 1), ("ROUGH_SLEEP_HIST", 5), ("OLD_AGE", 2), ("EXPLOITATION", 2),
        ("ABUSE_NON_DA", 3), ("ACCESS_EDU_EMPLOY", 4), ("HOSPITAL_DISCHARGE", 1), ("PRISON_RELEASE", 2),
    ])
}
