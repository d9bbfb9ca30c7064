import ConcordCore

/// Everything the row generators share: the population, the plan of events (in full mode), how
/// identifiers are keyed, and ids that must not collide between datasets.
struct World: Sendable {
    let configuration: SynthConfiguration
    let population: Population
    /// `nil` in single-dataset mode, where events are drawn on the fly.
    let plan: Plan?
    let keying: Keying
    let asOf: Int
    /// Offsets that make each agency's person ids a different permutation of the population.
    let cscPersonOffset: Int
    let policeNominalOffset: Int

    init(configuration: SynthConfiguration, people: Int, withPlan: Bool) {
        self.configuration = configuration
        population = Population(size: people, seed: configuration.seed, asOf: configuration.asOf)
        plan = withPlan ? Plan(population: population, seed: configuration.seed) : nil
        keying = Keying(rates: configuration.errorRates)
        asOf = Days.number(configuration.asOf)
        var random = SynthRandom(seed: configuration.seed, stream: SynthRandom.tag("ids"))
        cscPersonOffset = random.int(9_000_000)
        policeNominalOffset = random.int(90_000_000)
    }

    func cscPersonID(_ person: Int) -> String {
        String(1_000_000 + Identifiers.permuted(person, multiplier: 48271, offset: cscPersonOffset, modulus: 9_000_000))
    }

    func policeNominalID(_ person: Int) -> String {
        String(10_000_000 + Identifiers.permuted(person, multiplier: 1_000_003, offset: policeNominalOffset, modulus: 90_000_000))
    }

    /// The content stream of a dataset (what happened) and its noise stream (how it was keyed),
    /// for the whole plan or for one chunk.
    func streams(_ dataset: SynthDataset, chunk: Chunk?) -> (content: SynthRandom, noise: SynthRandom) {
        let tag: UInt64 = switch dataset {
        case .cscReferrals: SynthRandom.tag("csc_referrals")
        case .schoolAttendance: SynthRandom.tag("school_attendance")
        case .policeDAIncidents: SynthRandom.tag("police_da_incidents")
        case .housingCases: SynthRandom.tag("housing_cases")
        }
        let mode = chunk.map { UInt64($0.index) + 1 } ?? 0
        return (SynthRandom(seed: configuration.seed, stream: tag, mode, SynthRandom.tag("content")),
                SynthRandom(seed: configuration.seed, stream: tag, mode, SynthRandom.tag("noise")))
    }

    /// A value that is invalid as a UK postcode although it looks like one: an inward code
    /// using a letter postcodes never end in, or no inward code at all.
    static func invalidPostcode(_ household: Household, _ random: inout SynthRandom) -> String {
        let outward = household.postcode.outward
        switch random.int(3) {
        case 0: return outward + " " + String(household.postcode.sector) + random.pick(["CI", "AK", "MO", "VV", "IC"])
        case 1: return outward
        default: return outward + "-" + String(household.postcode.sector) + "AB"
        }
    }

    /// A date that does not exist (31 April, 30 February, 29 February of a common year).
    static func impossibleDate(year: Int, style: DateStyle, _ random: inout SynthRandom) -> String {
        switch random.int(3) {
        case 0: return style.format(year: year, month: 4, day: 31)
        case 1: return style.format(year: year, month: 2, day: 30)
        default:
            let common = CivilDate.isLeapYear(year) ? year + 1 : year
            return style.format(year: common, month: 2, day: 29)
        }
    }
}

/// Produces the records of one dataset in order.
protocol RowGenerator: Sendable {
    mutating func next() -> SynthRecord?
}

/// A slice of single-dataset (benchmark) mode: the rows drawn for one range of subjects
/// (children, households, or pupil-terms), taken round and round the population. Each chunk has
/// random streams of its own, so chunks can be generated in parallel and still give the same
/// bytes in the same order.
struct Chunk: Sendable {
    let index: Int
    /// Positions in the dataset's list of subjects; taken modulo its length.
    let subjects: Range<Int>
}

extension SynthDataset {
    /// Subjects per chunk: sized so that a chunk is some thousands of rows.
    var subjectsPerChunk: Int {
        switch self {
        case .cscReferrals: CSCReferralRows.subjectsPerChunk
        case .schoolAttendance: SchoolAttendanceRows.subjectsPerChunk
        case .policeDAIncidents: PoliceIncidentRows.subjectsPerChunk
        case .housingCases: HousingCaseRows.subjectsPerChunk
        }
    }

    /// Chunks in one pass over the subjects: if that many chunks in a row give no rows, none will.
    func chunksPerCycle(_ world: World) -> Int {
        let subjects = switch self {
        case .cscReferrals: CSCReferralRows.subjectCount(world)
        case .schoolAttendance: SchoolAttendanceRows.subjectCount(world)
        case .policeDAIncidents: PoliceIncidentRows.subjectCount(world)
        case .housingCases: HousingCaseRows.subjectCount(world)
        }
        return max(1, (subjects + subjectsPerChunk - 1) / subjectsPerChunk)
    }

    func chunk(_ index: Int) -> Chunk {
        Chunk(index: index, subjects: (index * subjectsPerChunk)..<((index + 1) * subjectsPerChunk))
    }

    /// The rows of the plan (`chunk` nil) or of one chunk.
    func generator(_ world: World, chunk: Chunk?) -> any RowGenerator {
        switch self {
        case .cscReferrals: CSCReferralRows(world: world, chunk: chunk)
        case .schoolAttendance: SchoolAttendanceRows(world: world, chunk: chunk)
        case .policeDAIncidents: PoliceIncidentRows(world: world, chunk: chunk)
        case .housingCases: HousingCaseRows(world: world, chunk: chunk)
        }
    }
}
