/// A domestic abuse incident the police attended.
struct Incident: Sendable {
    var household: Int32
    var day: Int32
    var hour: UInt8
    var victim: Int32
    var perpetrator: Int32
    /// Someone else who saw it, or -1.
    var witness: Int32
    /// The witness is recorded as OTHER rather than WITNESS.
    var witnessIsOther: Bool
    /// 0 assessment declined, 1 standard, 2 medium, 3 high.
    var risk: UInt8
    var crimeRecorded: Bool
    /// Index into `Vocabulary.offenceCategories`, when a crime was recorded.
    var offence: UInt8
    var marac: Bool
    var repeatVictim: Bool
}

/// A referral of a child to children's social care.
struct Referral: Sendable {
    var child: Int32
    var day: Int32
    /// Earlier referrals of the child in the 12 months before, as the case system counts them.
    var previousInYear: UInt8
    /// Follows a police notification of a domestic abuse incident.
    var afterIncident: Bool
    /// The household has had domestic abuse incidents.
    var domesticAbuse: Bool
}

/// A homelessness case.
struct HousingCase: Sendable {
    var applicant: Int32
    var day: Int32
    var domesticAbuse: Bool
    /// Children who come with the applicant.
    var dependents: UInt8
    /// Adults in the applicant's household (including the applicant).
    var adults: UInt8
}

/// Who is involved with which agency, and when: drawn once from the population so that the four
/// extracts describe the same lives. Domestic abuse in a household makes a referral to children's
/// social care and a homelessness approach far more likely, and they follow the incidents in time.
struct Plan: Sendable {
    /// Sorted by day.
    var incidents: [Incident] = []
    var referrals: [Referral] = []
    var housingCases: [HousingCase] = []

    static let earliestIncidentYears = 3

    init(population: Population, seed: UInt64) {
        var random = SynthRandom(seed: seed, stream: SynthRandom.tag("plan"))
        let households = population.households
        let asOf = population.asOf

        // Domestic abuse: about 4% of households, more often families with children.
        var incidentDays = [[Int32]](repeating: [], count: households.count)
        var victimOf = [Int32](repeating: -1, count: households.count)
        for (index, household) in households.enumerated() {
            let p: Double
            switch household.kind {
            case .loneParent: p = 0.085
            case .coupleWithChildren: p = 0.055
            case .single: p = 0.03
            case .couple: p = population.age(of: Int(household.first), on: asOf) < 60 ? 0.04 : 0.012
            case .parentsWithGrownChildren: p = 0.04
            case .sharers: p = 0.02
            }
            guard random.chance(household.lowIncome ? p * 1.5 : p) else { continue }
            let made = Events.incidents(household: index, population: population, from: asOf - Plan.earliestIncidentYears * 365, &random)
            incidents.append(contentsOf: made)
            incidentDays[index] = made.map(\.day)
            if let first = made.first { victimOf[index] = first.victim }
        }
        incidents.sort { ($0.day, $0.household) < ($1.day, $1.household) }

        // Homelessness: about 3% of households; three in ten of those with domestic abuse.
        var housingHousehold = [Bool](repeating: false, count: households.count)
        for (index, household) in households.enumerated() {
            let days = incidentDays[index]
            if !days.isEmpty, random.chance(0.3) {
                let incident = Int(random.pick(days))
                let day = min(asOf, incident + random.int(in: 1...60))
                housingCases.append(Events.housingCase(household: index, applicant: Int(victimOf[index]), day: day, domesticAbuse: true, population: population))
                housingHousehold[index] = true
                continue
            }
            var p: Double
            switch household.kind {
            case .loneParent: p = 0.035
            case .single: p = population.age(of: Int(household.first), on: asOf) < 35 ? 0.028 : 0.01
            case .sharers: p = 0.025
            case .couple: p = 0.005
            case .coupleWithChildren, .parentsWithGrownChildren: p = 0.01
            }
            if household.lowIncome { p *= 2 }
            guard random.chance(p) else { continue }
            let applicant = Int(household.first) + random.int(Int(household.adults))
            let approaches = random.chance(0.08) ? 2 : 1
            var day = Events.approachDay(asOf: asOf, &random)
            for _ in 0..<approaches where day <= asOf {
                housingCases.append(Events.housingCase(household: index, applicant: applicant, day: day, domesticAbuse: false, population: population))
                day += random.int(in: 120...700)
            }
            housingHousehold[index] = true
        }
        housingCases.sort { ($0.day, $0.applicant) < ($1.day, $1.applicant) }

        // Children's social care: about 6% of children, half of those in households with domestic abuse.
        for child in population.children {
            let person = population.people[Int(child)]
            let householdIndex = Int(person.household)
            let household = households[householdIndex]
            let days = incidentDays[householdIndex].filter { $0 >= person.birth }
            var p = 0.026
            if !days.isEmpty { p = 0.5 }
            else if housingHousehold[householdIndex] { p = 0.15 }
            else if household.lowIncome { p = 0.06 }
            if household.kind == .loneParent { p += 0.01 }
            guard random.chance(p) else { continue }
            referrals.append(contentsOf: Events.referrals(child: Int(child), incidentDays: days, population: population, &random))
        }
        // By day, then child; a child's referrals on one day keep their order.
        referrals = referrals.enumerated().sorted { ($0.element.day, $0.element.child, $0.offset) < ($1.element.day, $1.element.child, $1.offset) }.map(\.element)
    }
}

/// Drawing events for one household or child: shared by the full plan and by the single-dataset
/// (benchmark) mode, which draws them on the fly.
enum Events {
    private static let incidentCounts = WeightedTable([(1, 50), (2, 25), (3, 13), (4, 7), (5, 3), (6, 2)])
    private static let hours = WeightedTable(Array(zip(0...23, [5, 4, 3, 2, 2, 1, 1, 2, 3, 3, 3, 4, 4, 4, 5, 6, 7, 8, 9, 10, 10, 10, 9, 7])))

    /// Incidents in one household from `earliest` to the reference date, or none when nobody
    /// there can be a victim with a perpetrator.
    static func incidents(household index: Int, population: Population, from earliest: Int, _ random: inout SynthRandom) -> [Incident] {
        let household = population.households[index]
        guard household.adults >= 1, population.adults.count >= 2 else { return [] }
        let people = population.people
        let adults = household.adultMembers
        var victim = adults.lowerBound
        var perpetrator = -1
        if adults.count >= 2 && household.kind != .sharers {
            let a = adults.lowerBound, b = a + 1
            if household.kind == .parentsWithGrownChildren, adults.count >= 3, random.chance(0.2) {
                victim = people[a].female ? a : b
                perpetrator = a + 2 + random.int(adults.count - 2)
            } else if people[a].female != people[b].female {
                let woman = people[a].female ? a : b
                let man = woman == a ? b : a
                (victim, perpetrator) = random.chance(0.88) ? (woman, man) : (man, woman)
            } else {
                (victim, perpetrator) = random.chance(0.5) ? (a, b) : (b, a)
            }
        } else {
            victim = adults.lowerBound + random.int(adults.count)
            // An ex-partner who lives elsewhere: opposite sex, similar age, if one can be found.
            let victimAge = population.age(of: victim, on: population.asOf)
            for _ in 0..<40 {
                let candidate = Int(random.pick(population.adults))
                guard people[candidate].household != people[victim].household else { continue }
                perpetrator = candidate
                if people[candidate].female != people[victim].female,
                   abs(population.age(of: candidate, on: population.asOf) - victimAge) <= 12 { break }
            }
            guard perpetrator >= 0 else { return [] }
        }

        let asOf = population.asOf
        var day = earliest + random.int(max(1, asOf - earliest - 30))
        var incidents: [Incident] = []
        var previousDay: Int?
        for number in 0..<incidentCounts.draw(&random) {
            guard day <= asOf else { break }
            var witness = -1
            var witnessIsOther = false
            if random.chance(0.14) {
                let others = adults.filter { $0 != victim && $0 != perpetrator }
                witness = others.isEmpty ? Int(random.pick(population.adults)) : random.pick(Array(others))
                if witness == victim || witness == perpetrator { witness = -1 }
                witnessIsOther = random.chance(0.15)
            }
            let escalation = min(number, 3)
            let risk = UInt8(random.weighted([10, 50 - escalation * 8, 28 + escalation * 3, 12 + escalation * 5]))
            let crime = random.chance(0.62)
            incidents.append(Incident(
                household: Int32(index), day: Int32(day), hour: UInt8(hours.draw(&random)), victim: Int32(victim),
                perpetrator: Int32(perpetrator), witness: Int32(witness), witnessIsOther: witnessIsOther, risk: risk,
                crimeRecorded: crime, offence: crime ? UInt8(Vocabulary.offenceTable.draw(&random)) : 0,
                marac: risk == 3 ? random.chance(0.85) : (risk == 2 && random.chance(0.05)),
                repeatVictim: previousDay.map { day - $0 <= 365 } ?? false))
            previousDay = day
            day += random.int(in: 7...220)
        }
        return incidents
    }

    private static let referralCounts = WeightedTable([(1, 55), (2, 30), (3, 15)])

    /// A child's referrals: the first soon after a police notification when there were incidents.
    static func referrals(child: Int, incidentDays: [Int32], population: Population, _ random: inout SynthRandom) -> [Referral] {
        let asOf = population.asOf
        let birth = Int(population.people[child].birth)
        // Mostly the last three years, some back to eight (records migrated from the old system).
        let earliest = max(birth + 7, asOf - (random.chance(0.75) ? 3 * 365 : 8 * 365))
        var days: [Int] = []
        var notified: Int?
        let count = referralCounts.draw(&random)
        for number in 0..<count {
            if number == 0, !incidentDays.isEmpty {
                let day = min(asOf, Int(random.pick(incidentDays)) + random.int(in: 1...14))
                notified = day
                days.append(day)
            } else if earliest >= asOf {
                days.append(asOf)
            } else {
                // Recent referrals are more common than old ones.
                let span = Double(asOf - earliest)
                days.append(asOf - Int(span * random.unit() * random.unit().squareRoot()))
            }
        }
        days.sort()
        var referrals: [Referral] = []
        for (number, day) in days.enumerated() {
            let previous = days[..<number].filter { day - $0 <= 365 }.count + (random.chance(0.1) ? 1 : 0)
            referrals.append(Referral(child: Int32(child), day: Int32(day), previousInYear: UInt8(previous),
                                      afterIncident: day == notified && !days[..<number].contains(day),
                                      domesticAbuse: !incidentDays.isEmpty))
        }
        return referrals
    }

    /// First day of H-CLIC reporting (Homelessness Reduction Act in force).
    static let housingStart = Days.number(year: 2018, month: 4, day: 3)

    /// A day of approach between the start of H-CLIC and the reference date, recent ones likelier.
    static func approachDay(asOf: Int, _ random: inout SynthRandom) -> Int {
        let span = Double(asOf - housingStart)
        return asOf - Int(span * random.unit() * random.unit())
    }

    static func housingCase(household index: Int, applicant: Int, day: Int, domesticAbuse: Bool, population: Population) -> HousingCase {
        let household = population.households[index]
        let dependents = household.childMembers.filter { Int(population.people[$0].birth) <= day }.count
        // Someone fleeing abuse leaves with the children and without the perpetrator.
        let adults = domesticAbuse ? 1 : Int(household.adults)
        return HousingCase(applicant: Int32(applicant), day: Int32(day), domesticAbuse: domesticAbuse,
                           dependents: UInt8(dependents), adults: UInt8(adults))
    }
}
