/// `police_da_incidents.csv`: one row per person involved in a domestic abuse incident (victim,
/// perpetrator, each child of the household, sometimes a witness); the rows of one incident share
/// its reference.
struct PoliceIncidentRows: RowGenerator {
    private let world: World
    private var content: SynthRandom
    private var noise: SynthRandom
    private let chunk: Chunk?
    private var planIndex = 0
    private var subject: Int
    private var pending: [Incident] = []
    private var pendingIndex = 0
    /// The people of the current incident still to write, with their involvement.
    private var involved: [(person: Int, involvement: String)] = []
    private var involvedIndex = 0
    private var incident: Incident?
    private var incidentNumber = 0
    /// Per-incident cells shared by its rows.
    private var shared: (reference: String, date: String, hour: String, crime: String, offence: String, marac: String, children: String) =
        ("", "", "", "", "", "", "")

    /// Households per chunk in single-dataset mode (each has one to six incidents).
    static let subjectsPerChunk = 2048

    static func subjectCount(_ world: World) -> Int {
        world.population.households.count
    }

    init(world: World, chunk: Chunk?) {
        self.world = world
        (content, noise) = world.streams(.policeDAIncidents, chunk: chunk)
        self.chunk = chunk
        subject = chunk?.subjects.lowerBound ?? 0
        // Unique across chunks: a chunk's households have at most six incidents each.
        incidentNumber = (chunk?.index ?? 0) * Self.subjectsPerChunk * 6
    }

    private mutating func nextIncident() -> Incident? {
        guard let chunk else {
            guard let plan = world.plan, planIndex < plan.incidents.count else { return nil }
            defer { planIndex += 1 }
            return plan.incidents[planIndex]
        }
        let households = world.population.households.count
        while pendingIndex >= pending.count {
            guard subject < chunk.subjects.upperBound, households > 0 else { return nil }
            let household = subject % households
            subject += 1
            pending = Events.incidents(household: household, population: world.population, from: world.asOf - Plan.earliestIncidentYears * 365, &content)
            pendingIndex = 0
        }
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }

    private mutating func startIncident(_ incident: Incident) {
        self.incident = incident
        incidentNumber += 1
        let population = world.population
        let day = Int(incident.day)
        var people: [(Int, String)] = [(Int(incident.victim), "VICTIM"), (Int(incident.perpetrator), "PERPETRATOR")]
        let household = population.households[Int(incident.household)]
        var children = 0
        for child in household.childMembers where Int(population.people[child].birth) <= day {
            people.append((child, "CHILD_PRESENT"))
            children += 1
        }
        if incident.witness >= 0 {
            people.append((Int(incident.witness), incident.witnessIsOther ? "OTHER" : "WITNESS"))
        }
        involved = people
        involvedIndex = 0
        let null = noise.chance(0.4) ? "NULL" : ""
        let year = Days.civil(day).year
        shared = (
            reference: "42/" + zeroPadded(10_000 + incidentNumber, width: 5) + "/" + DateStyle.two(year % 100),
            date: DateStyle.dayMonthYearSlashes.format(day),
            hour: content.chance(0.04) ? null : String(incident.hour),
            crime: incident.crimeRecorded ? "1" : "0",
            offence: incident.crimeRecorded ? Vocabulary.offenceCategories[Int(incident.offence)] : null,
            marac: incident.marac ? "1" : "0",
            children: String(children)
        )
    }

    mutating func next() -> SynthRecord? {
        while incident == nil || involvedIndex >= involved.count {
            guard let next = nextIncident() else { return nil }
            startIncident(next)
        }
        guard let incident else { return nil }
        let (personIndex, involvement) = involved[involvedIndex]
        involvedIndex += 1

        let population = world.population
        let person = population.people[personIndex]
        let household = population.households[Int(person.household)]
        let keying = world.keying
        let day = Int(incident.day)
        let null = noise.chance(0.4) ? "NULL" : noise.chance(0.1) ? "N/A" : ""
        let isVictim = involvement == "VICTIM"
        let adult = involvement != "CHILD_PRESENT"

        let age = Days.age(birth: Int(person.birth), on: day)
        var fields = [
            shared.reference, world.policeNominalID(personIndex),
            keying.forename(person, middleName: false, variantScale: 2, allowTitle: adult, &noise),
            // The force's system stores surnames in capitals.
            keying.surname(person, &noise).uppercased(),
            keying.dateOfBirth(person, style: .dayMonthYearSlashes, &noise),
            content.chance(0.03) ? null : String(age),
            content.chance(0.01) ? "Unknown" : person.female ? "Female" : "Male",
            content.chance(0.04) ? null : keying.postcode(household, &noise),
            involvement, shared.date, shared.hour,
            isVictim ? (incident.risk == 0 ? null : Vocabulary.riskLevels[Int(incident.risk)]) : null,
            shared.crime, shared.offence,
            isVictim ? (incident.repeatVictim ? "1" : "0") : null,
            shared.marac, shared.children,
            FreeText.officerNarrative(involvement: involvement, &content),
        ]
        let invalid = noise.chance(keying.rates.invalidValue)
        if invalid {
            switch noise.int(5) {
            case 0: fields[4] = "01/01/1900"
            case 1: fields[4] = World.impossibleDate(year: Days.civil(Int(person.birth)).year, style: .dayMonthYearSlashes, &noise)
            case 2: fields[7] = World.invalidPostcode(household, &noise)
            case 3: fields[5] = String(age + 150)
            default: fields[9] = World.impossibleDate(year: Days.civil(day).year, style: .dayMonthYearSlashes, &noise)
            }
        }
        return SynthRecord(fields: fields, person: personIndex, isInvalid: invalid)
    }
}
