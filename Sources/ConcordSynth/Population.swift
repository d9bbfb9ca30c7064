import ConcordCore

/// One synthetic person. Names are indices into `NameTables.shared`; dates are day numbers.
struct Person: Sendable {
    static let noName = UInt16.max

    var household: Int32
    var forename: UInt16
    var middleName: UInt16
    var surname: UInt16
    /// Second part of a double-barrelled surname (`Smith-Jones`), or `noName`.
    var secondSurname: UInt16
    var birth: Int32
    var female: Bool
    var ethnicity: Ethnicity
    /// Special educational needs: 0 none, 1 SEN support, 2 EHC plan.
    var sen: UInt8
    var disability: Bool
    /// Stays at school after year 11.
    var sixthForm: Bool
    /// Attends a special school that does not use national curriculum year groups.
    var specialSchool: Bool
    /// Index of the district's primary school the child attended (its UPN comes from it).
    var primarySchool: UInt8
    /// How often the child misses school, 0 (never) to 255 (very often).
    var absenceTendency: UInt8
    /// The 10-digit NHS number, or 0 when none is traced.
    var nhsNumber: Int
    /// The 12 digits of the unique pupil number, or -1 for people who never had one.
    var upnDigits: Int

    var hasUPN: Bool { upnDigits >= 0 }
}

/// What kind of household: decides who lives in it and its H-CLIC household type.
enum HouseholdKind: UInt8, Sendable {
    case single, couple, coupleWithChildren, loneParent, parentsWithGrownChildren, sharers
}

/// One household: its members are `people[first ..< first + adults + children]`, adults first.
struct Household: Sendable {
    var first: Int32
    var adults: UInt8
    var children: UInt8
    var kind: HouseholdKind
    var origin: Origin
    var postcode: PackedPostcode
    /// Where the household lived before: what a record that missed the move still says.
    var previousPostcode: PackedPostcode
    /// Low income: free school meals, more contact with services.
    var lowIncome: Bool

    var memberCount: Int { Int(adults) + Int(children) }
    var members: Range<Int> { Int(first)..<(Int(first) + memberCount) }
    var adultMembers: Range<Int> { Int(first)..<(Int(first) + Int(adults)) }
    var childMembers: Range<Int> { (Int(first) + Int(adults))..<(Int(first) + memberCount) }
}

/// A synthetic population of households in Essex-like postcode districts, with a realistic age
/// structure (about one person in five is a child) and the names, dates of birth, NHS numbers and
/// pupil numbers the agencies would hold about them. Deterministic in its seed and size.
struct Population: Sendable {
    let asOf: Int
    private(set) var people: [Person] = []
    private(set) var households: [Household] = []
    /// People under 18 on the reference date.
    private(set) var children: [Int32] = []
    /// People 18 or over on the reference date.
    private(set) var adults: [Int32] = []
    /// People with a unique pupil number (school age now or within the last ten years).
    private(set) var pupils: [Int32] = []

    private static let kinds = WeightedTable<HouseholdKind>([
        (.single, 29), (.couple, 27), (.coupleWithChildren, 21), (.loneParent, 8), (.parentsWithGrownChildren, 10), (.sharers, 5),
    ])
    private static let origins = WeightedTable(Origin.allCases.map { ($0, $0.weight) })
    private static let singleAges = WeightedTable([(18...24, 6), (25...34, 15), (35...49, 18), (50...64, 22), (65...79, 24), (80...94, 15)])
    private static let coupleAges = WeightedTable([(20...34, 25), (35...54, 17), (55...69, 30), (70...92, 28)])
    private static let childCounts = WeightedTable([(1, 45), (2, 38), (3, 12), (4, 4), (5, 1)])

    init(size: Int, seed: UInt64, asOf date: CivilDate) {
        precondition(size >= 1, "a population needs at least one person")
        asOf = Days.number(date)
        var random = SynthRandom(seed: seed, stream: SynthRandom.tag("population"))
        let names = NameTables.shared
        people.reserveCapacity(size + 8)
        let nhsOffset = random.int(1_000_000)
        var upnSerials: [Int: Int] = [:]
        var upnOverflow: [Int: Int] = [:]
        let upnEarliestBirth = Days.number(year: 1995, month: 9, day: 1)

        while people.count < size {
            let kind = Self.kinds.draw(&random)
            let origin = Self.origins.draw(&random)
            let district = Places.districtTable.draw(&random)
            let postcode = PackedPostcode.draw(in: district, &random)
            let previous = random.chance(0.7)
                ? PackedPostcode.draw(in: district, &random)
                : PackedPostcode.draw(in: Places.districtTable.draw(&random), &random)
            let lowIncome: Bool
            switch kind {
            case .loneParent: lowIncome = random.chance(0.45)
            case .coupleWithChildren, .parentsWithGrownChildren: lowIncome = random.chance(0.17)
            default: lowIncome = random.chance(0.14)
            }
            let familySurname = random.pick(names.surnamePools[origin.rawValue])
            let familyEthnicity = Ethnicity.draw(for: origin, &random)

            var adults: [Member] = []
            var children: [Member] = []
            func partner(of first: Member, age: Int) -> Member {
                let mixed = random.chance(0.07)
                let partnerOrigin = mixed ? Self.origins.draw(&random) : first.origin
                let married = random.chance(0.72)
                let surname = married ? first.surname : random.pick(names.surnamePools[partnerOrigin.rawValue])
                let female = random.chance(0.96) ? !first.female : first.female
                let ethnicity = partnerOrigin == first.origin ? first.ethnicity : Ethnicity.draw(for: partnerOrigin, &random)
                return Member(age: max(18, age), female: female, origin: partnerOrigin, surname: surname, ethnicity: ethnicity)
            }
            func addChildren(count: Int, eldest: Int) {
                var age = eldest
                for _ in 0..<count {
                    children.append(Member(age: age, female: random.chance(0.49), origin: origin, surname: familySurname, ethnicity: familyEthnicity))
                    age = max(0, age - random.int(in: 1...6))
                }
            }
            switch kind {
            case .single:
                let range = Self.singleAges.draw(&random)
                adults.append(Member(age: random.int(in: range), female: random.chance(0.53), origin: origin,
                                     surname: familySurname, ethnicity: familyEthnicity))
            case .couple:
                let range = Self.coupleAges.draw(&random)
                let first = Member(age: random.int(in: range), female: random.chance(0.5), origin: origin,
                                   surname: familySurname, ethnicity: familyEthnicity)
                adults.append(first)
                adults.append(partner(of: first, age: first.age + random.int(in: -4...6)))
            case .coupleWithChildren, .loneParent:
                let count = Self.childCounts.draw(&random)
                let eldest = random.int(in: 0...17)
                let parentAge = min(62, eldest + random.int(in: 19...40))
                let first = Member(age: parentAge, female: kind == .loneParent ? random.chance(0.88) : random.chance(0.5),
                                   origin: origin, surname: familySurname, ethnicity: familyEthnicity)
                adults.append(first)
                if kind == .coupleWithChildren {
                    adults.append(partner(of: first, age: parentAge + random.int(in: -3...5)))
                }
                addChildren(count: count, eldest: eldest)
            case .parentsWithGrownChildren:
                let first = Member(age: random.int(in: 40...66), female: random.chance(0.5), origin: origin,
                                   surname: familySurname, ethnicity: familyEthnicity)
                adults.append(first)
                if random.chance(0.75) { adults.append(partner(of: first, age: first.age + random.int(in: -3...5))) }
                let grown = random.int(in: 1...2)
                var age = min(first.age - 19, random.int(in: 18...28))
                for _ in 0..<grown where age >= 18 {
                    adults.append(Member(age: age, female: random.chance(0.5), origin: origin, surname: familySurname, ethnicity: familyEthnicity))
                    age -= random.int(in: 1...4)
                }
                if random.chance(0.3) { addChildren(count: 1, eldest: random.int(in: 10...17)) }
            case .sharers:
                for _ in 0..<random.int(in: 2...4) {
                    let sharerOrigin = Self.origins.draw(&random)
                    adults.append(Member(age: random.int(in: 19...42), female: random.chance(0.5), origin: sharerOrigin,
                                         surname: random.pick(names.surnamePools[sharerOrigin.rawValue]),
                                         ethnicity: Ethnicity.draw(for: sharerOrigin, &random)))
                }
            }

            // Children of mixed couples; children whose parents did not marry (double-barrelled
            // surnames), and children of lone mothers who carry their father's surname.
            if adults.count >= 2, adults[1].origin != adults[0].origin {
                let mixed = Ethnicity.mixed(adults[0].origin, adults[1].origin)
                for index in children.indices {
                    children[index].ethnicity = mixed
                    if random.chance(0.5) { children[index].origin = adults[1].origin }
                }
            }
            if adults.count >= 2, adults[1].surname != adults[0].surname, !children.isEmpty {
                let father = adults[0].female ? adults[1] : adults[0]
                let mother = adults[0].female ? adults[0] : adults[1]
                let doubleBarrelled = random.chance(0.3)
                for index in children.indices {
                    children[index].surname = father.surname
                    if doubleBarrelled, father.surname != mother.surname { children[index].secondSurname = mother.surname }
                }
            } else if kind == .loneParent, random.chance(0.3) {
                let fatherSurname = random.pick(names.surnamePools[origin.rawValue])
                for index in children.indices { children[index].surname = fatherSurname }
            }
            for index in adults.indices where origin == .english && random.chance(0.015) {
                adults[index].secondSurname = random.pick(names.surnamePools[Origin.english.rawValue])
            }

            let householdIndex = Int32(households.count)
            let first = Int32(people.count)
            for (offset, member) in (adults + children).enumerated() {
                let personIndex = people.count
                let birth = Days.yearsBefore(asOf, member.age) - 1 - random.int(365)
                let birthYear = Days.civil(birth).year
                let pool = names.forenamePool(origin: member.origin, female: member.female, modern: birthYear >= 1995)
                let forename = random.pick(pool)
                var middle = Person.noName
                if random.chance(0.28) {
                    let candidate = random.pick(pool)
                    if candidate != forename { middle = candidate }
                }
                var surname = member.surname
                var second = member.secondSurname
                if member.female {
                    surname = names.feminineSurname[Int(surname)]
                    if second != Person.noName { second = names.feminineSurname[Int(second)] }
                }
                let isChild = offset >= adults.count
                let sen: UInt8 = isChild ? UInt8(random.weighted(member.female ? [88, 9, 3] : [80, 15, 5])) : 0
                let disability = random.chance(sen == 2 ? 0.6 : sen == 1 ? 0.15 : 0.02)
                var nhs = 0
                if isChild {
                    nhs = Identifiers.nhsNumber(ordinal: self.children.count, offset: nhsOffset) ?? 0
                }
                let primary = UInt8(random.int(Places.primariesPerDistrict))
                var upn = -1
                let ageNow = Days.age(birth: birth, on: asOf)
                if birth >= upnEarliestBirth, ageNow >= 4 {
                    let authority = Places.districts[district].authority
                    let allocated = birthYear + (Days.civil(birth).month >= 9 ? 5 : 4)
                    var establishment = Places.establishment(district: district, school: Int(primary))
                    let key = establishment * 100 + allocated % 100
                    var serial = upnSerials[key, default: 0]
                    upnSerials[key] = serial + 1
                    if serial >= 1000 {
                        let overflowKey = authority * 100 + allocated % 100
                        let count = upnOverflow[overflowKey, default: 0]
                        upnOverflow[overflowKey] = count + 1
                        establishment = 3000 + count / 1000
                        serial = count % 1000
                    }
                    upn = Identifiers.upnDigits(authority: authority, establishment: establishment, year: allocated, serial: serial)
                }
                let tendency = UInt8(min(255, Int(random.unit() * random.unit() * 200) + (lowIncome ? 40 : 0) + Int(sen) * 15))
                people.append(Person(
                    household: householdIndex, forename: forename, middleName: middle, surname: surname, secondSurname: second,
                    birth: Int32(birth), female: member.female, ethnicity: member.ethnicity, sen: sen, disability: disability,
                    sixthForm: random.chance(0.4), specialSchool: sen == 2 && random.chance(0.15), primarySchool: primary,
                    absenceTendency: tendency, nhsNumber: nhs, upnDigits: upn))
                if ageNow < 18 { self.children.append(Int32(personIndex)) } else { self.adults.append(Int32(personIndex)) }
                if upn >= 0 { pupils.append(Int32(personIndex)) }
            }
            households.append(Household(first: first, adults: UInt8(adults.count), children: UInt8(children.count), kind: kind,
                                        origin: origin, postcode: postcode, previousPostcode: previous, lowIncome: lowIncome))
        }
        // The last household may overshoot the size: drop its extra members.
        if people.count > size { truncate(to: size) }
    }

    private mutating func truncate(to size: Int) {
        people.removeLast(people.count - size)
        children.removeAll { Int($0) >= size }
        adults.removeAll { Int($0) >= size }
        pupils.removeAll { Int($0) >= size }
        var last = households[households.count - 1]
        let kept = size - Int(last.first)
        let adultsKept = min(Int(last.adults), kept)
        last.adults = UInt8(adultsKept)
        last.children = UInt8(kept - adultsKept)
        households[households.count - 1] = last
    }

    func age(of person: Int, on day: Int) -> Int {
        Days.age(birth: Int(people[person].birth), on: day)
    }
}

/// A household member while the household is being drawn.
private struct Member {
    var age: Int
    var female: Bool
    /// Where the member's names come from.
    var origin: Origin
    var surname: UInt16
    var secondSurname = Person.noName
    var ethnicity: Ethnicity
}
