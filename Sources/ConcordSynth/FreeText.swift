/// Free-text fields (case notes, officer narratives) written the way practitioners write them:
/// short clauses, abbreviations, quoted speech, commas, and now and then a line break. They never
/// leave the agency (`concord pseudonymise` drops free text), but they make the extracts as hard
/// to parse as real ones: quoted fields containing the delimiter, quotes and newlines.
enum FreeText {
    private static let cscOpenings = [
        "Contact from school DSL", "Police notification (PPN) received", "Health visitor contact", "Call from maternal grandmother",
        "Anonymous referral via front door", "GP surgery contact", "A&E notification", "Self-referral by parent",
        "Early help step-up request", "Transfer-in request from neighbouring LA", "Housing officer contact", "School nurse contact",
    ]
    private static let cscConcerns = [
        "concerns re neglect, home conditions poor", "child arrived at school hungry and in unwashed uniform",
        "bruise to upper arm, explanation inconsistent", "parental mental health deteriorating",
        "DA incident at home address, child present", "missing episode overnight, returned by police",
        "parent intoxicated at school pick-up", "child disclosed to teacher that dad \"hits mum when he's angry\"",
        "concerns re online contact with unknown adults", "poor school attendance, family not engaging",
        "sibling already known to service", "overcrowding, family sofa-surfing", "child presenting as withdrawn, self-harm disclosed",
    ]
    /// What the screening decided, in the words of the outcome it led to.
    private static func decision(_ outcome: String) -> String {
        switch outcome {
        case "NFA": "Checks completed, NFA. Referrer informed."
        case "INFO_ADVICE": "No role for CSC; advice given to referrer."
        case "EARLY_HELP": "Stepped down to early help, family consented."
        case "S17_ASSESSMENT": "Screened by MASH; threshold met for C&F assessment."
        case "S47_ENQUIRY": "Strategy discussion held, s47 agreed."
        case "EXISTING_OPEN_CASE": "Case open to SW, added to existing plan."
        case "TRANSFER_OTHER_LA": "Family resident in another LA; referral transferred."
        default: "Screening in progress, checks requested."
        }
    }

    static func referralSummary(childForename: String, domesticAbuse: Bool, outcome: String, _ random: inout SynthRandom) -> String {
        if random.chance(0.06) { return "" }
        let opening = domesticAbuse && random.chance(0.6) ? "Police notification (PPN) received" : random.pick(cscOpenings)
        let concern = domesticAbuse && random.chance(0.5) ? "DA incident at home address, child present" : random.pick(cscConcerns)
        var text = String()
        text.reserveCapacity(256)
        text += opening
        text += ": "
        text += concern
        text += "."
        if random.chance(0.35) {
            text += " "
            text += childForename
            text += random.chance(0.5) ? " seen at school." : " seen at home, said \"it's fine\"."
        }
        text += random.chance(0.04) ? "\n" : " "
        text += decision(outcome)
        return text
    }

    private static let policeOpenings = [
        "Officers attended following 999 call from neighbour", "Call from victim reporting argument escalating",
        "Attended after third-party report of shouting", "Victim attended front counter", "Call from child at address",
        "Attended on report of breach of non-mol order",
    ]
    private static let policeDetails = [
        "VIC states SUS pushed her against the wall and took her phone", "verbal argument only, no injuries seen",
        "SUS left prior to police arrival, circulated", "damage to internal door, VIC has redness to neck",
        "VIC reluctant to engage, declined DASH", "SUS arrested on scene, conveyed to custody",
        "children asleep upstairs, checked by officers", "VIC said \"he's never done this before\"",
        "history of controlling behaviour disclosed, tracking on phone", "both parties intoxicated, account unclear",
    ]
    private static let policeClosings = [
        "DASH completed.", "PPN submitted for children.", "Safeguarding advice given; Safe Lives leaflet left.",
        "BWV captured.", "Referred to IDVA service.", "Log ref 4421 | graded immediate.",
    ]

    static func officerNarrative(involvement: String, _ random: inout SynthRandom) -> String {
        if involvement != "VICTIM", random.chance(0.5) { return "" }
        let detail = random.int(policeDetails.count)
        var text = String()
        text.reserveCapacity(256)
        text += random.pick(policeOpenings)
        text += ". "
        text += policeDetails[detail]
        text += "."
        if random.chance(0.5) {
            text += " "
            text += policeDetails[(detail + 1 + random.int(policeDetails.count - 1)) % policeDetails.count]
            text += "."
        }
        text += random.chance(0.03) ? "\n" : " "
        text += random.pick(policeClosings)
        return text
    }

    private static let housingNotes = [
        "Applicant approached via Duty to Refer from probation.", "S21 notice served, expires in 6 weeks.",
        "Parents asked applicant to leave, overcrowding; mediation offered.", "Fleeing DA, placed in refuge out of area.",
        "PHP agreed; landlord negotiations ongoing.", "Rent arrears of £1,240, DHP application made.",
        "Sofa-surfing with friends, \"can't stay past Friday\".", "B&B placement, family of four in one room.",
        "Applicant did not attend appointment, letter sent.", "Medical form submitted; awaiting OT assessment.",
    ]

    /// "Fleeing DA, placed in refuge out of area."
    private static let fleeingAbuseNote = 3

    static func caseNotes(domesticAbuse: Bool, _ random: inout SynthRandom) -> String {
        if random.chance(0.1) { return "" }
        let first = domesticAbuse && random.chance(0.6) ? fleeingAbuseNote : random.int(housingNotes.count)
        var text = housingNotes[first]
        if random.chance(0.5) {
            text += (random.chance(0.05) ? "\n" : " ") + housingNotes[(first + 1 + random.int(housingNotes.count - 1)) % housingNotes.count]
        }
        return text
    }
}
