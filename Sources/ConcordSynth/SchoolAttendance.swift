/// A school term: the academic year it belongs to (by its starting calendar year) and which term.
struct SchoolTerm: Sendable, Hashable {
    /// 2024 for 2024/25.
    var year: Int
    /// 0 Autumn, 1 Spring, 2 Summer.
    var term: Int

    static let names = ["Autumn", "Spring", "Summer"]
    static let earliest = SchoolTerm(year: 2015, term: 0)

    /// The term in progress (or last finished) on a day.
    init(containing day: Int) {
        let date = Days.civil(day)
        year = date.month >= 9 ? date.year : date.year - 1
        term = date.month >= 9 ? 0 : date.month <= 3 ? 1 : 2
    }

    init(year: Int, term: Int) {
        self.year = year
        self.term = term
    }

    var previous: SchoolTerm {
        term == 0 ? SchoolTerm(year: year - 1, term: 2) : SchoolTerm(year: year, term: term - 1)
    }

    var academicYear: String {
        "\(year)/\(DateStyle.two((year + 1) % 100))"
    }

    /// Terms ordered in time, as an integer.
    var ordinal: Int { year * 3 + term }
}

/// `school_attendance.csv`: one row per pupil on roll per term. Full mode writes the last three
/// terms (every pupil of school age); single-dataset mode goes back term by term from the
/// reference date to Autumn 2015 as far as it needs.
struct SchoolAttendanceRows: RowGenerator {
    private let world: World
    private var content: SynthRandom
    private var noise: SynthRandom
    private let chunk: Chunk?
    private let terms: [SchoolTerm]
    /// Position in the enumeration of (term, pupil) pairs, terms outermost.
    private var slot: Int
    private let attendanceSeed: UInt64
    private static let senCodes = ["N", "K", "E"]

    /// (term, pupil) pairs per chunk in single-dataset mode; some of them are not at school.
    static let subjectsPerChunk = 16384

    /// The terms written, newest first: the last three in full mode, back to Autumn 2015 otherwise.
    static func terms(asOf: Int, all: Bool) -> [SchoolTerm] {
        var terms: [SchoolTerm] = []
        var term = SchoolTerm(containing: asOf)
        while term.ordinal >= SchoolTerm.earliest.ordinal, terms.count < (all ? Int.max : 3) {
            terms.append(term)
            term = term.previous
        }
        return terms
    }

    static func subjectCount(_ world: World) -> Int {
        world.population.pupils.count * terms(asOf: world.asOf, all: true).count
    }

    init(world: World, chunk: Chunk?) {
        self.world = world
        (content, noise) = world.streams(.schoolAttendance, chunk: chunk)
        self.chunk = chunk
        let terms = Self.terms(asOf: world.asOf, all: chunk != nil)
        self.terms = chunk == nil ? terms.reversed() : terms
        slot = chunk?.subjects.lowerBound ?? 0
        attendanceSeed = SplitMix64.hash(world.configuration.seed, SynthRandom.tag("attendance"))
    }

    /// The national curriculum year of a pupil in an academic year, or `nil` when not at school.
    private func curriculumYear(_ person: Person, in year: Int) -> String? {
        let age = Days.age(birth: Int(person.birth), on: Days.number(year: year, month: 8, day: 31))
        let group = age - 4
        guard group >= 0, group <= 13 else { return nil }
        if group >= 12, !person.sixthForm { return nil }
        if person.specialSchool { return "X" }
        return group == 0 ? "R" : String(group)
    }

    mutating func next() -> SynthRecord? {
        let pupils = world.population.pupils
        guard !terms.isEmpty, !pupils.isEmpty else { return nil }
        let end = chunk?.subjects.upperBound ?? pupils.count * terms.count
        while slot < end {
            let pupil = Int(pupils[slot % pupils.count])
            let term = terms[slot / pupils.count % terms.count]
            slot += 1
            if let group = curriculumYear(world.population.people[pupil], in: term.year) {
                return record(pupil: pupil, term: term, group: group)
            }
        }
        return nil
    }

    /// Sessions possible and missed in one term, drawn from a stream of its own so that the
    /// year-to-date figures of later terms can be recomputed.
    private func attendance(pupil: Int, term: SchoolTerm) -> (possible: Int, authorised: Int, unauthorised: Int) {
        var random = SynthRandom(seed: attendanceSeed, stream: UInt64(pupil), UInt64(term.ordinal))
        let tendency = Double(world.population.people[pupil].absenceTendency) / 255
        var possible = [140, 118, 128][term.term] - random.int(4)
        if random.chance(0.03) { possible = random.int(in: 20...possible) }
        let authorised = min(possible, Int(Double(possible) * (0.015 + tendency * 0.12) * 2 * random.unit()))
        let unauthorised = min(possible - authorised, Int(Double(possible) * tendency * tendency * 0.25 * 2 * random.unit()))
        return (possible, authorised, unauthorised)
    }

    private mutating func record(pupil: Int, term: SchoolTerm, group: String) -> SynthRecord {
        let population = world.population
        let person = population.people[pupil]
        let household = population.households[Int(person.household)]
        let keying = world.keying

        let now = attendance(pupil: pupil, term: term)
        var possibleSoFar = now.possible, missedSoFar = now.authorised + now.unauthorised
        var earlier = term
        while earlier.term > 0 {
            earlier = earlier.previous
            let past = attendance(pupil: pupil, term: earlier)
            possibleSoFar += past.possible
            missedSoFar += past.authorised + past.unauthorised
        }
        let persistent = missedSoFar * 10 >= possibleSoFar

        let secondary = group == "X" || (Int(group) ?? 0) >= 7
        let district = household.postcode.district
        let urn: Int
        if person.specialSchool {
            urn = 139_000 + district
        } else {
            urn = Places.urn(district: district, school: secondary ? 0 : Int(person.primarySchool), secondary: secondary)
        }
        let tendency = Double(person.absenceTendency) / 255
        var suspensions = 0
        if content.chance(0.004 + (secondary ? 0.02 : 0.002) + tendency * 0.04) { suspensions = content.int(in: 1...2) }
        let suspensionSessions = (0..<suspensions).reduce(0) { total, _ in total + content.int(in: 1...6) }
        let permanent = suspensions > 0 && secondary && content.chance(0.04)
        let reason = suspensions > 0 || permanent ? Vocabulary.exclusionReasons.draw(&content) : ""

        var fields = [
            Identifiers.upn(person.upnDigits), keying.surname(person, &noise),
            keying.forename(person, middleName: false, variantScale: 0.2, allowTitle: false, &noise),
            keying.dateOfBirth(person, style: .iso, &noise), person.female ? "F" : "M", keying.postcode(household, &noise),
            String(urn), term.academicYear, SchoolTerm.names[term.term], group, String(now.possible), String(now.authorised),
            String(now.unauthorised), persistent ? "Y" : "N", Self.senCodes[Int(person.sen)], household.lowIncome ? "Y" : "N",
            String(suspensions), String(suspensionSessions), permanent ? "Y" : "N", reason,
        ]
        let invalid = noise.chance(keying.rates.invalidValue)
        if invalid {
            switch noise.int(4) {
            case 0: fields[3] = World.impossibleDate(year: Days.civil(Int(person.birth)).year, style: .iso, &noise)
            case 1: fields[5] = World.invalidPostcode(household, &noise)
            case 2: fields[6] = String(urn % 100_000)
            default: fields[10] = String(now.possible + 200)
            }
        }
        return SynthRecord(fields: fields, person: pupil, isInvalid: invalid)
    }
}
