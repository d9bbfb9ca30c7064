import ConcordCore
import Foundation
import Testing
@testable import ConcordSynth

/// One run with the default error rates, shared by the tests that only read it.
let defaultRun: (directory: String, summary: SynthSummary) = {
    let directory = sharedRunDirectory("defaultRun")
    let summary = try! Synthesiser(SynthConfiguration(seed: 20250731, people: 2_000)).write(to: directory)
    return (directory, summary)
}()

/// A larger run with many invalid rows, for the tests that need a few of everything.
let messyRun: (directory: String, summary: SynthSummary) = {
    let directory = sharedRunDirectory("messyRun")
    var rates = ErrorRates.default
    rates.invalidValue = 0.1
    let summary = try! Synthesiser(SynthConfiguration(seed: 3, people: 8_000, errorRates: rates)).write(to: directory)
    return (directory, summary)
}()

@Suite struct DeterminismTests {
    @Test func sameSeedGivesIdenticalBytes() throws {
        let configuration = SynthConfiguration(seed: 11, people: 1_500)
        let first = temporaryDirectory(), second = temporaryDirectory()
        defer { removeDirectory(first); removeDirectory(second) }
        let a = try Synthesiser(configuration).write(to: first)
        let b = try Synthesiser(configuration).write(to: second)
        #expect(a.files.map(\.rows) == b.files.map(\.rows))
        for name in SynthDataset.allCases.map(\.fileName) + ["truth.csv"] {
            let left = try readBytes(first + "/" + name), right = try readBytes(second + "/" + name)
            #expect(!left.isEmpty)
            #expect(left == right, "\(name) differs between two runs with the same seed")
        }
    }

    @Test func differentSeedGivesDifferentFiles() throws {
        let first = temporaryDirectory(), second = temporaryDirectory()
        defer { removeDirectory(first); removeDirectory(second) }
        _ = try Synthesiser(SynthConfiguration(seed: 11, people: 1_500)).write(to: first)
        _ = try Synthesiser(SynthConfiguration(seed: 12, people: 1_500)).write(to: second)
        for name in SynthDataset.allCases.map(\.fileName) + ["truth.csv"] {
            #expect(try readBytes(first + "/" + name) != readBytes(second + "/" + name), "\(name) is the same for seeds 11 and 12")
        }
    }

    @Test func rowsSequenceMatchesTheWrittenFile() throws {
        let synthesiser = Synthesiser(SynthConfiguration(seed: 20250731, people: 2_000))
        for dataset in SynthDataset.allCases {
            var writer = CSVWriter(delimiter: dataset.delimiter)
            writer.appendRecord(dataset.columns)
            for record in synthesiser.rows(dataset) { writer.appendRecord(record.fields) }
            #expect(writer.bytes == (try readBytes(defaultRun.directory + "/" + dataset.fileName)), "\(dataset)")
        }
    }

    @Test func errorRatesDoNotChangeWhatHappened() throws {
        // Same seed, different error rates: same people and events, so the same number of rows
        // and the same true person for each of them.
        let noisy = Synthesiser(SynthConfiguration(seed: 5, people: 1_500))
        let clean = Synthesiser(SynthConfiguration(seed: 5, people: 1_500, errorRates: .none))
        for dataset in SynthDataset.allCases {
            #expect(noisy.rows(dataset).map(\.personID) == clean.rows(dataset).map(\.personID), "\(dataset)")
        }
    }
}

@Suite struct SchemaConformanceTests {
    @Test(arguments: SynthDataset.allCases)
    func headerIsTheSchemaColumnsInOrder(dataset: SynthDataset) throws {
        let schema = try loadSchema(dataset)
        #expect(dataset.columns == schema.fields.map(\.name))
        #expect(dataset.delimiter == schema.dialect.delimiter)
        let validation = try validate(dataset, in: defaultRun.directory)
        #expect(validation.header == dataset.columns)
    }

    @Test(arguments: SynthDataset.allCases)
    func rejectsAreExactlyTheInjectedInvalidRows(dataset: SynthDataset) throws {
        let validation = try validate(dataset, in: defaultRun.directory)
        let file = try #require(defaultRun.summary.files.first { $0.dataset == dataset })
        #expect(validation.recordLines.count == file.rows)
        #expect(file.rows > 0)
        #expect(validation.rejects.count == file.invalidRows, "\(validation.rejects.prefix(5))")
        // And they are the very rows marked invalid, by line.
        var line = 2
        var invalidLines: [Int] = []
        for record in Synthesiser(SynthConfiguration(seed: 20250731, people: 2_000)).rows(dataset) {
            if record.isInvalid { invalidLines.append(line) }
            line += 1 + record.fields.reduce(0) { $0 + $1.utf8.filter { $0 == 0x0A }.count }
        }
        #expect(validation.rejectedLines == invalidLines)
    }

    @Test(arguments: SynthDataset.allCases)
    func manyInvalidRowsAreAllRejectedAndNothingElse(dataset: SynthDataset) throws {
        let summary = messyRun.summary
        let validation = try validate(dataset, in: messyRun.directory)
        #expect(summary.invalidRows(dataset) > 5)
        #expect(validation.rejects.count == summary.invalidRows(dataset), "\(validation.rejects.prefix(5))")
        // Each rejected row has exactly one bad value.
        #expect(validation.rejects.allSatisfy { $0.problems.count == 1 }, "\(validation.rejects.filter { $0.problems.count != 1 }.prefix(3))")
    }

    @Test func cleanDataHasNoRejects() throws {
        let directory = temporaryDirectory()
        defer { removeDirectory(directory) }
        let summary = try Synthesiser(SynthConfiguration(seed: 4, people: 2_000, errorRates: .none)).write(to: directory)
        for dataset in SynthDataset.allCases {
            #expect(summary.invalidRows(dataset) == 0)
            #expect(try validate(dataset, in: directory).rejects.isEmpty, "\(dataset)")
        }
    }

    @Test func datesUseEveryFormatTheSchemasDeclare() throws {
        let csc = try parseCSV(messyRun.directory + "/csc_referrals.csv", delimiter: UInt8(ascii: ",")).flatMap(\.strings).dropFirst()
        #expect(csc.contains { $0[4].contains("/") } && csc.contains { $0[4].contains("-") }, "DOB in DD/MM/YYYY and YYYY-MM-DD")
        #expect(csc.contains { $0[11].contains("/") } && csc.contains { $0[11].contains("-") }, "ReferralDate in both formats")
        let housing = try parseCSV(messyRun.directory + "/housing_cases.csv", delimiter: UInt8(ascii: ",")).flatMap(\.strings).dropFirst()
        let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        #expect(housing.contains { row in monthNames.contains { row[6].contains($0) } }, "approach_date in DD-MMM-YYYY")
        #expect(housing.contains { $0[6].contains("/") }, "approach_date in D/M/YYYY")
        #expect(housing.contains { $0[6].hasPrefix("1/") || $0[6].contains("/1/") || $0[6].contains("/3/") }, "D/M/YYYY without zero padding")
    }
}

@Suite struct TruthTests {
    @Test func truthPointsAtEveryRecordAndNothingElse() throws {
        let truth = try readTruth(defaultRun.directory)
        #expect(truth.header == ["dataset", "line", "person_id"])
        for dataset in SynthDataset.allCases {
            let schema = try loadSchema(dataset)
            let lines = try parseCSV(defaultRun.directory + "/" + dataset.fileName, delimiter: schema.dialect.delimiter)
                .flatMap(\.lineNumbers).dropFirst()
            let truthRows = truth.rows.filter { $0.dataset == dataset.rawValue }
            #expect(truthRows.map(\.line) == Array(lines), "\(dataset)")
            #expect(truthRows.count == defaultRun.summary.rows(dataset))
            let expected = Synthesiser(SynthConfiguration(seed: 20250731, people: 2_000)).rows(dataset).map(\.personID)
            #expect(truthRows.map(\.person) == expected)
        }
        #expect(truth.rows.allSatisfy { $0.person.count == 7 && $0.person.hasPrefix("P") })
    }

    @Test func multiLineRecordsAreNumberedByTheLineTheyStartOn() throws {
        // Free text sometimes holds line breaks; the line numbers must then skip.
        let directory = temporaryDirectory()
        defer { removeDirectory(directory) }
        _ = try Synthesiser(SynthConfiguration(seed: 9, people: 6_000)).write(to: directory)
        var multiLine = 0
        for dataset in SynthDataset.allCases {
            let lines = try parseCSV(directory + "/" + dataset.fileName, delimiter: dataset.delimiter).flatMap(\.lineNumbers)
            multiLine += zip(lines, lines.dropFirst()).filter { $1 - $0 > 1 }.count
            let truthLines = try readTruth(directory).rows.filter { $0.dataset == dataset.rawValue }.map(\.line)
            #expect(truthLines == Array(lines.dropFirst()))
        }
        #expect(multiLine > 0)
    }
}

@Suite struct RealismTests {
    private func people(in dataset: SynthDataset, _ truth: [(dataset: String, line: Int, person: String)]) -> Set<String> {
        Set(truth.filter { $0.dataset == dataset.rawValue }.map(\.person))
    }

    @Test func agenciesSeeOverlappingPeople() throws {
        let truth = try readTruth(defaultRun.directory).rows
        let csc = people(in: .cscReferrals, truth), school = people(in: .schoolAttendance, truth)
        let police = people(in: .policeDAIncidents, truth), housing = people(in: .housingCases, truth)
        #expect(!csc.isEmpty && !school.isEmpty && !police.isEmpty && !housing.isEmpty)
        // Most children referred to social care are of school age, so are in school data.
        let cscInSchool = Double(csc.intersection(school).count) / Double(csc.count)
        #expect(cscInSchool > 0.5 && cscInSchool < 0.95, "\(cscInSchool)")
        // Domestic abuse households are much more likely to be referred and to approach housing.
        #expect(Double(csc.intersection(police).count) / Double(csc.count) > 0.2)
        #expect(housing.intersection(police).count > 0)
    }

    @Test func coverageRatesAreRealistic() throws {
        let world = World(configuration: SynthConfiguration(seed: 20250731, people: 2_000), people: 2_000, withPlan: true)
        let population = world.population
        let truth = try readTruth(defaultRun.directory).rows
        // About one person in five is a child.
        let childShare = Double(population.children.count) / Double(population.people.count)
        #expect(childShare > 0.15 && childShare < 0.3, "\(childShare)")
        // About 6% of children are referred to social care.
        let referred = people(in: .cscReferrals, truth).count
        let referredShare = Double(referred) / Double(population.children.count)
        #expect(referredShare > 0.03 && referredShare < 0.1, "\(referredShare)")
        // About 4% of households have domestic abuse incidents, 3% approach housing.
        let plan = try #require(world.plan)
        let daShare = Double(Set(plan.incidents.map(\.household)).count) / Double(population.households.count)
        #expect(daShare > 0.02 && daShare < 0.07, "\(daShare)")
        let housingShare = Double(Set(plan.housingCases.map { population.people[Int($0.applicant)].household }).count) / Double(population.households.count)
        #expect(housingShare > 0.015 && housingShare < 0.05, "\(housingShare)")
        // Every child of compulsory school age (reception to year 11) is in the school data, three terms each.
        let school = truth.filter { $0.dataset == "school_attendance" }
        let rowsPerPupil = Dictionary(grouping: school, by: \.person).mapValues(\.count)
        let year = Days.civil(world.asOf).month >= 9 ? Days.civil(world.asOf).year : Days.civil(world.asOf).year - 1
        for index in population.people.indices {
            let age = Days.age(birth: Int(population.people[index].birth), on: Days.number(year: year, month: 8, day: 31))
            if (4...15).contains(age) {
                #expect(rowsPerPupil[Identifiers.personID(index)] == 3, "pupil \(index) aged \(age)")
            }
        }
        // Incidents involve several people who share the incident reference.
        let police = try parseCSV(defaultRun.directory + "/police_da_incidents.csv", delimiter: UInt8(ascii: "|")).flatMap(\.strings).dropFirst()
        let perIncident = Dictionary(grouping: police, by: { $0[0] }).mapValues(\.count)
        #expect(perIncident.values.allSatisfy { $0 >= 2 })
        #expect(Double(police.count) / Double(perIncident.count) > 2.2)
        #expect(police.allSatisfy { ["VICTIM", "PERPETRATOR", "CHILD_PRESENT", "WITNESS", "OTHER"].contains($0[8]) })
    }

    @Test func identifiersLookReal() throws {
        let csc = try parseCSV(defaultRun.directory + "/csc_referrals.csv", delimiter: UInt8(ascii: ",")).flatMap(\.strings).dropFirst()
        let nhsNumbers = csc.map { $0[6] }.filter { !$0.isEmpty && $0 != "NULL" }
        #expect(!nhsNumbers.isEmpty)
        var valid = 0
        for text in nhsNumbers {
            let digits = text.filter(\.isNumber)
            #expect(digits.hasPrefix("999"), "\(text) is outside the test range")
            if Array(text.utf8).withUnsafeBufferPointer({ NHSNumber.normalised($0) }) != nil { valid += 1 }
        }
        #expect(valid >= nhsNumbers.count - defaultRun.summary.invalidRows(.cscReferrals))
        // The share of referrals without an NHS number is near the configured 25% (plus untraced children).
        let missing = Double(csc.count - nhsNumbers.count) / Double(csc.count)
        #expect(missing > 0.15 && missing < 0.5, "\(missing)")

        let school = try parseCSV(defaultRun.directory + "/school_attendance.csv", delimiter: UInt8(ascii: ",")).flatMap(\.strings).dropFirst()
        for upn in Set(school.map { $0[0] }) {
            let bytes = Array(upn.utf8)
            #expect(bytes.count == 13)
            #expect(Identifiers.upnCheckLetter(Array(bytes[1...])) == bytes[0], "\(upn) has a wrong check letter")
        }
        // Position 2 has weight 2: a lone 1 there gives remainder 2, the letter C.
        #expect(Identifiers.upnCheckLetter(Array("000000000000".utf8)) == UInt8(ascii: "A"))
        #expect(Identifiers.upnCheckLetter(Array("100000000000".utf8)) == UInt8(ascii: "C"))

        // Unit postcodes are real-looking: valid shape, and the inward letters never C I K M O V.
        let postcodes = school.map { $0[5] }
        let parsed = postcodes.compactMap { text in Array(text.utf8).withUnsafeBufferPointer { Postcode($0) } }
        #expect(parsed.count >= postcodes.count - defaultRun.summary.invalidRows(.schoolAttendance))
        #expect(Set(parsed.map(\.district)).count > 20)
    }

    @Test func nhsNumbersAreValidUniqueAndInTheTestRange() {
        var seen = Set<Int>()
        var missing = 0
        for ordinal in 0..<200_000 {
            guard let number = Identifiers.nhsNumber(ordinal: ordinal, offset: 123_457) else { missing += 1; continue }
            #expect((9_990_000_000...9_999_999_999).contains(number))
            #expect(seen.insert(number).inserted)
            let valid = Array(String(number).utf8).withUnsafeBufferPointer { NHSNumber.normalised($0) }
            #expect(valid == String(number))
        }
        // One nine-digit stem in eleven has no valid check digit.
        #expect(missing > 15_000 && missing < 22_000)
    }

    @Test func namesAreDiverse() throws {
        var forenames = Set<String>(), surnames = Set<String>()
        for dataset in SynthDataset.allCases {
            let rows = try parseCSV(defaultRun.directory + "/" + dataset.fileName, delimiter: dataset.delimiter).flatMap(\.strings).dropFirst()
            let (f, s) = switch dataset {
            case .cscReferrals: (2, 3)
            case .schoolAttendance: (2, 1)
            case .policeDAIncidents: (2, 3)
            case .housingCases: (1, 2)
            }
            for row in rows {
                forenames.insert(row[f])
                surnames.insert(row[s])
            }
        }
        #expect(surnames.contains { $0.contains("'") || $0.contains("\u{2019}") }, "apostrophes (O'Brien)")
        #expect(surnames.contains { $0.contains("-") }, "double-barrelled surnames")
        #expect(forenames.union(surnames).contains { !$0.utf8.allSatisfy { $0 < 0x80 } }, "diacritics")
        #expect(surnames.count > 150)
        #expect(forenames.count > 150)
    }

    @Test func nicknameGroupsAreInTheShippedTable() throws {
        let csv = try String(contentsOfFile: repositoryRoot + "/Schemas/nicknames.csv", encoding: .utf8)
        let pairs = Set(csv.split(whereSeparator: \.isNewline).map(String.init))
        let table = NicknameTable.shipped
        for group in NicknameGroups.groups {
            let canonical = NicknameGroups.key(group[0])
            #expect(table.canonical(canonical) == canonical, "\(group[0]) is itself a variant")
            let listedAsVariant = pairs.contains { $0.hasPrefix(canonical + ",") }
            #expect(!listedAsVariant, "\(canonical) is listed as a variant")
            for member in group.dropFirst() {
                let variant = NicknameGroups.key(member)
                // A spelling with diacritics (Seán) normalises to the canonical form itself.
                if variant == canonical { continue }
                let listed = pairs.contains("\(variant),\(canonical)")
                #expect(listed, "\(variant),\(canonical) is not in Schemas/nicknames.csv")
                #expect(table.canonical(variant) == canonical)
            }
        }
        // Every forename that has variants reaches them.
        let names = NameTables.shared
        #expect(names.forenameVariants.filter { !$0.isEmpty }.count > 60)
    }

    @Test func diacriticFoldingGivesASCII() {
        for name in NameTables.shared.forenames + NameTables.shared.surnames {
            if let folded = Diacritics.fold(name) {
                #expect(folded.utf8.allSatisfy { $0 < 0x80 }, "\(name) → \(folded)")
            }
        }
    }
}

@Suite struct KeyingErrorTests {
    /// The values of one match key over every valid record, by true person.
    private func matchKeys(_ name: String, in directory: String) throws -> [String: Set<String>] {
        let truth = try readTruth(directory).rows
        var personAt: [String: String] = [:]
        for row in truth { personAt["\(row.dataset):\(row.line)"] = row.person }
        var keys: [String: Set<String>] = [:]
        for dataset in SynthDataset.allCases {
            let validation = try validate(dataset, in: directory)
            let column = try #require(validation.outputColumns.firstIndex(of: name))
            for (line, cells) in validation.output where !cells[column].isEmpty {
                keys[personAt["\(dataset.rawValue):\(line)"]!, default: []].insert(cells[column])
            }
        }
        return keys
    }

    @Test func cleanDataGivesEveryPersonOneIdentity() throws {
        let directory = temporaryDirectory()
        defer { removeDirectory(directory) }
        _ = try Synthesiser(SynthConfiguration(seed: 21, people: 2_000, errorRates: .none)).write(to: directory)
        for key in ["mk3", "mk4", "mk5"] {
            let keys = try matchKeys(key, in: directory)
            #expect(keys.count > 300)
            #expect(keys.values.allSatisfy { $0.count == 1 }, "\(key): \(keys.filter { $0.value.count > 1 }.prefix(3))")
        }
    }

    @Test func defaultErrorsSplitSomeButNotMostIdentities() throws {
        let keys = try matchKeys("mk3", in: defaultRun.directory)
        let split = Double(keys.values.filter { $0.count > 1 }.count) / Double(keys.count)
        #expect(split > 0.01 && split < 0.3, "\(split)")
    }

    @Test func typosStayValidNames() {
        var random = SynthRandom(seed: 1, stream: 2)
        for name in ["Ng", "Li", "O'Brien", "Smith-Jones", "Wiśniewska", "Ó Súilleabháin", "Ho", "Eze"] {
            for _ in 0..<200 {
                let typo = Keying.typo(name, &random)
                #expect(typo.count >= name.count - 1)
                #expect(Array(typo.utf8).withUnsafeBufferPointer { PersonalName($0) } != nil, "\(name) → \(typo)")
            }
        }
    }
}

@Suite struct SingleDatasetTests {
    @Test(arguments: SynthDataset.allCases)
    func writesExactlyTheRowsAskedFor(dataset: SynthDataset) throws {
        let directory = temporaryDirectory()
        defer { removeDirectory(directory) }
        var rates = ErrorRates.default
        rates.invalidValue = 0.01
        let summary = try Synthesiser(SynthConfiguration(seed: 8, people: 1_000, errorRates: rates)).write(dataset, rows: 6_000, to: directory)
        #expect(summary.files.map(\.dataset) == [dataset])
        #expect(summary.rows(dataset) == 6_000)
        #expect(summary.people == 3_000)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == [dataset.fileName, "truth.csv"].sorted())
        let validation = try validate(dataset, in: directory)
        #expect(validation.recordLines.count == 6_000)
        #expect(validation.rejects.count == summary.invalidRows(dataset))
        let truth = try readTruth(directory).rows
        #expect(truth.map(\.line) == validation.recordLines)
    }

    @Test(arguments: SynthDataset.allCases)
    func parallelFileEqualsTheSequentialRows(dataset: SynthDataset) throws {
        // The file is generated in parallel chunks; the sequence one chunk after another.
        let synthesiser = Synthesiser(SynthConfiguration(seed: 13, people: 800))
        let directory = temporaryDirectory()
        defer { removeDirectory(directory) }
        let rows = 20_000
        _ = try synthesiser.write(dataset, rows: rows, to: directory)
        var writer = CSVWriter(delimiter: dataset.delimiter)
        writer.appendRecord(dataset.columns)
        var people: [String] = []
        for record in synthesiser.rows(dataset, count: rows) {
            writer.appendRecord(record.fields)
            people.append(record.personID)
        }
        #expect(people.count == rows)
        #expect(writer.bytes == (try readBytes(directory + "/" + dataset.fileName)))
        #expect(try readTruth(directory).rows.map(\.person) == people)
        // Large runs cycle through the population but never repeat an id that must be unique.
        let records = try parseCSV(directory + "/" + dataset.fileName, delimiter: dataset.delimiter).flatMap(\.strings).dropFirst()
        switch dataset {
        case .cscReferrals: #expect(Set(records.map { $0[10] }).count == rows, "ReferralID")
        case .housingCases: #expect(Set(records.map { $0[0] }).count == rows, "case_ref")
        case .policeDAIncidents: #expect(Set(records.map { "\($0[0])|\($0[1])" }).count == rows, "INCIDENT_REF and NOMINAL_ID")
        case .schoolAttendance: #expect(Set(records.map { "\($0[0])|\($0[7])|\($0[8])" }).count == rows, "UPN, year and term")
        }
    }

    @Test func rowsSequenceStopsAtTheCount() {
        let synthesiser = Synthesiser(SynthConfiguration(seed: 8, people: 500))
        for dataset in SynthDataset.allCases {
            #expect(synthesiser.rows(dataset, count: 2_500).reduce(0) { count, _ in count + 1 } == 2_500)
        }
    }
}
