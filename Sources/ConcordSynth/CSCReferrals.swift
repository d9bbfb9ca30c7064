/// `csc_referrals.csv`: one row per referral of a child to children's social care.
struct CSCReferralRows: RowGenerator {
    private let world: World
    private var content: SynthRandom
    private var noise: SynthRandom
    private let chunk: Chunk?
    /// Records returned so far (by this generator, i.e. in this chunk).
    private var produced = 0
    private var planIndex = 0
    private var pending: [Referral] = []
    private var pendingIndex = 0
    private var subject: Int

    /// Referrals before the case system's go-live were migrated and keep ISO dates.
    private static let migration = Days.number(year: 2019, month: 4, day: 1)

    /// Children per chunk in single-dataset mode (each has one to three referrals).
    static let subjectsPerChunk = 8192

    static func subjectCount(_ world: World) -> Int {
        world.population.children.count
    }

    init(world: World, chunk: Chunk?) {
        self.world = world
        (content, noise) = world.streams(.cscReferrals, chunk: chunk)
        self.chunk = chunk
        subject = chunk?.subjects.lowerBound ?? 0
    }

    private mutating func nextReferral() -> Referral? {
        guard let chunk else {
            guard let plan = world.plan, planIndex < plan.referrals.count else { return nil }
            defer { planIndex += 1 }
            return plan.referrals[planIndex]
        }
        let children = world.population.children
        while pendingIndex >= pending.count {
            guard subject < chunk.subjects.upperBound, !children.isEmpty else { return nil }
            let child = Int(children[subject % children.count])
            subject += 1
            // In single-dataset mode one child in six is given a recent police notification.
            let incident = content.chance(0.17) ? [Int32(world.asOf - content.int(3 * 365))] : []
            let birth = world.population.people[child].birth
            pending = Events.referrals(child: child, incidentDays: incident.filter { $0 >= birth }, population: world.population, &content)
            pendingIndex = 0
        }
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }

    mutating func next() -> SynthRecord? {
        guard let referral = nextReferral() else { return nil }
        // Unique across chunks: a chunk's children have at most three referrals each.
        let sequence = (chunk.map { $0.index * Self.subjectsPerChunk * 3 } ?? 0) + produced
        produced += 1
        let population = world.population
        let child = Int(referral.child)
        let person = population.people[child]
        let household = population.households[Int(person.household)]
        let day = Int(referral.day)
        let keying = world.keying
        let rates = keying.rates
        let null = noise.chance(0.3) ? "NULL" : ""

        let style: DateStyle = day < Self.migration || content.chance(0.03) ? .iso : .dayMonthYearSlashes
        let ageAtReferral = Days.age(birth: Int(person.birth), on: day)
        var upn = null
        if person.hasUPN, ageAtReferral >= 4, !noise.chance(rates.missingUPN) {
            upn = Identifiers.upn(person.upnDigits)
        }
        var nhs = null
        if person.nhsNumber != 0, !noise.chance(rates.missingNHSNumber) {
            nhs = keying.nhsNumber(person.nhsNumber, &noise)
        }
        let forename = keying.forename(person, middleName: noise.chance(0.5), variantScale: 1, allowTitle: false, &noise)
        let gender = content.chance(0.004) ? "U" : person.female ? "F" : "M"
        let postcode = content.chance(0.03) ? null : keying.postcode(household, &noise)
        let recorded = content.int(100)
        let ethnicity = recorded < 94 ? person.ethnicity.code : recorded < 99 ? "NOBT" : "REFU"
        let disability = content.chance(0.05) ? "" : person.disability ? "Y" : "N"

        let source = referral.afterIncident
            ? Vocabulary.referralSourcesAfterIncident.draw(&content)
            : Vocabulary.referralSources.draw(&content)
        var outcome = (referral.domesticAbuse ? Vocabulary.outcomesDomesticAbuse : Vocabulary.outcomes).draw(&content)
        if world.asOf - day < 10 { outcome = "" }
        var need = ""
        var factors = ""
        let assessed = (outcome == "S17_ASSESSMENT" || outcome == "S47_ENQUIRY" || outcome == "EXISTING_OPEN_CASE") && world.asOf - day >= 45
        if assessed {
            need = referral.domesticAbuse && content.chance(0.6) ? "N1" : Vocabulary.needCodes.draw(&content)
            var chosen: [String] = []
            if referral.domesticAbuse { chosen.append(content.pick(Vocabulary.domesticAbuseFactors)) }
            for _ in 0..<content.int(in: referral.domesticAbuse ? 0...2 : 1...3) {
                let factor = content.pick(Vocabulary.assessmentFactors)
                if !chosen.contains(factor) { chosen.append(factor) }
            }
            factors = chosen.joined(separator: ",")
        }
        let summary = FreeText.referralSummary(childForename: NameTables.shared.forenames[Int(person.forename)],
                                               domesticAbuse: referral.domesticAbuse, outcome: outcome, &content)
        let referralID = String(4_000_000 + sequence * 3 + content.int(3))

        var fields = [
            world.cscPersonID(child), upn, forename, keying.surname(person, &noise), keying.dateOfBirth(person, style: style, &noise),
            gender, nhs, postcode, ethnicity, disability, referralID, style.format(day), source, need, outcome, factors,
            String(referral.previousInYear), summary,
        ]
        let invalid = noise.chance(rates.invalidValue)
        if invalid {
            var kind = noise.int(5)
            if kind == 0, nhs == null || person.nhsNumber == 0 { kind = 1 }
            switch kind {
            case 0:
                let number = person.nhsNumber
                fields[6] = String(number - number % 10 + (number % 10 + 1 + noise.int(9)) % 10)
            case 1: fields[4] = World.impossibleDate(year: Days.civil(Int(person.birth)).year, style: style, &noise)
            case 2: fields[4] = style.format(year: 1900, month: 1, day: 1)
            case 3: fields[7] = World.invalidPostcode(household, &noise)
            default: fields[11] = World.impossibleDate(year: Days.civil(day).year, style: style, &noise)
            }
        }
        return SynthRecord(fields: fields, person: child, isInvalid: invalid)
    }
}
