/// `housing_cases.csv`: one row per homelessness case, identified by its main applicant.
struct HousingCaseRows: RowGenerator {
    private let world: World
    private var content: SynthRandom
    private var noise: SynthRandom
    private let chunk: Chunk?
    private var produced = 0

    /// Cases opened before the housing system changed were imported with `DD-MMM-YYYY` dates.
    private static let migration = Days.number(year: 2020, month: 4, day: 1)

    /// Households per chunk in single-dataset mode (one case each).
    static let subjectsPerChunk = 16384

    static func subjectCount(_ world: World) -> Int {
        world.population.households.count
    }

    init(world: World, chunk: Chunk?) {
        self.world = world
        (content, noise) = world.streams(.housingCases, chunk: chunk)
        self.chunk = chunk
    }

    private mutating func nextCase() -> HousingCase? {
        guard let chunk else {
            guard let plan = world.plan, produced < plan.housingCases.count else { return nil }
            return plan.housingCases[produced]
        }
        let households = world.population.households
        let position = chunk.subjects.lowerBound + produced
        guard position < chunk.subjects.upperBound, !households.isEmpty else { return nil }
        let index = position % households.count
        let household = world.population.households[index]
        let applicant = Int(household.first) + content.int(Int(household.adults))
        let domesticAbuse = household.kind != .single && content.chance(0.15)
        let day = Events.approachDay(asOf: world.asOf, &content)
        return Events.housingCase(household: index, applicant: applicant, day: day, domesticAbuse: domesticAbuse, population: world.population)
    }

    private static func householdType(adults: Int, children: Int, female: Bool) -> String {
        switch (adults, children > 0) {
        case (1, false): female ? "single_adult_female" : "single_adult_male"
        case (1, true): female ? "single_parent_female_with_children" : "single_parent_male_with_children"
        case (2, true): "couple_with_children"
        case (2, false): "couple_without_children"
        case (_, true): "three_plus_adults_with_children"
        default: "three_plus_adults_without_children"
        }
    }

    mutating func next() -> SynthRecord? {
        guard let housingCase = nextCase() else { return nil }
        let sequence = (chunk.map { $0.index * Self.subjectsPerChunk } ?? 0) + produced
        produced += 1
        let population = world.population
        let applicant = Int(housingCase.applicant)
        let person = population.people[applicant]
        let household = population.households[Int(person.household)]
        let keying = world.keying
        let day = Int(housingCase.day)
        let nullStyle = noise.int(10)
        let null = nullStyle < 6 ? "" : nullStyle < 9 ? "N/A" : "Not known"
        let style: DateStyle = day < Self.migration ? .dayMonthNameYear : .shortDayMonthYear
        let domesticAbuse = housingCase.domesticAbuse
        // Sharers approach alone: each is their own household for H-CLIC.
        let adults = household.kind == .sharers ? 1 : Int(housingCase.adults)

        let duty = Vocabulary.duties.draw(&content)
        var outcome = Vocabulary.outcomesByDuty[duty]!.draw(&content)
        if world.asOf - day < 56, content.chance(0.8) { outcome = "" } else if content.chance(0.08) { outcome = "" }
        var needs: [String] = []
        if domesticAbuse { needs.append("DA_RISK") }
        if content.chance(domesticAbuse ? 0.5 : 0.55) {
            for _ in 0..<content.int(in: 1...3) {
                let need = Vocabulary.supportNeeds.draw(&content)
                if !needs.contains(need) { needs.append(need) }
            }
        }
        let reason = domesticAbuse && content.chance(0.75) ? "domestic_abuse"
            : content.chance(0.05) ? null : Vocabulary.reasonsLoss.draw(&content)
        let accommodation = content.chance(0.04) ? null
            : (domesticAbuse ? Vocabulary.accommodationFleeingAbuse : Vocabulary.accommodationAtApproach).draw(&content)
        let flagged = domesticAbuse || reason == "domestic_abuse" || needs.contains("DA_RISK")
        let dependents = Int(housingCase.dependents)

        var fields = [
            "HOM/\(Days.civil(day).year)/" + zeroPadded(sequence + 1, width: 5),
            keying.forename(person, middleName: false, variantScale: 1, allowTitle: true, &noise),
            keying.surname(person, &noise),
            keying.dateOfBirth(person, style: style, &noise),
            content.chance(0.02) ? "Not known" : person.female ? "Female" : "Male",
            content.chance(0.04) ? null : keying.postcode(household, &noise),
            style.format(day), duty, reason,
            Self.householdType(adults: adults, children: dependents, female: person.female),
            String(dependents), needs.joined(separator: ";"), accommodation, outcome,
            content.chance(domesticAbuse ? 0.45 : 0.18) ? "Yes" : "No",
            content.chance(0.08) ? null : flagged ? "Yes" : "No",
            FreeText.caseNotes(domesticAbuse: domesticAbuse, &content),
        ]
        let invalid = noise.chance(keying.rates.invalidValue)
        if invalid {
            switch noise.int(4) {
            case 0: fields[3] = World.impossibleDate(year: Days.civil(Int(person.birth)).year, style: style, &noise)
            case 1: fields[5] = World.invalidPostcode(household, &noise)
            case 2: fields[6] = style.format(year: 1900, month: 1, day: 1)
            default: fields[10] = "99"
            }
        }
        return SynthRecord(fields: fields, person: applicant, isInvalid: invalid)
    }
}
