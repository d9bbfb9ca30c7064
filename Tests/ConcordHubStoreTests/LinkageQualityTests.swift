import ConcordAgent
import ConcordCore
import ConcordFiles
@testable import ConcordHubStore
import ConcordSynth
import ConcordTestSupport
import Foundation
import Testing

/// Person linkage of a synthetic population, against the truth `concord synth` keeps.
@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct LinkageQualityTests {
    static let datasets: [SynthDataset] = [.cscReferrals, .schoolAttendance, .policeDAIncidents]

    @Test func aSyntheticPopulationLinksWithHighPrecisionAndRecall() async throws {
        let directory = try TemporaryDirectory()
        let summary = try Synthesiser(SynthConfiguration(seed: 5, people: 20000)).write(to: directory.path)
        let key = try LinkageKey(version: 1, secret: Array(0..<32))
        let encodings = Dictionary(uniqueKeysWithValues: Self.datasets.map { ($0.rawValue, 1) })
        var keysAlone: [(found: Int64, truth: String)] = [], withFuzzy: [(found: Int64, truth: String)] = []
        try await LinkageStoreTests().withFixture(fuzzy: .standard, encodings: encodings) { hub in
            var lines: [SynthDataset: [Int]] = [:]
            for dataset in Self.datasets {
                let input = try #require(summary.files.first { $0.dataset == dataset }).path
                let output = directory.file("\(dataset).pseudonymised.csv"), rejects = directory.file("\(dataset).rejects.csv")
                let schema = try hub.schema(dataset.rawValue)
                // What the provider may send under the agreement: match keys, fields and, since it
                // permits the fuzzy pass, the encoding (the agent's release plan).
                var job = PseudonymiseJob(schema: schema, key: key, inputPath: input, outputPath: output, rejectsPath: rejects, parallelism: 2)
                job.release = try ReleasePlan(schema: schema, agreements: [hub.agreement], agency: LinkageStoreTests.providers[dataset.rawValue]!)
                job.rejectsOnlyIfAny = false
                #expect(job.release?.encoding != nil)
                _ = try await job.run()
                let rejected = Set(try csvRecords(rejects).dropFirst().map { Int($0[0])! })
                lines[dataset] = try csvRecords(summary.truthPath).dropFirst().filter { $0[0] == dataset.rawValue }.map { Int($0[1])! }
                    .filter { !rejected.contains($0) }.sorted()
                let rows = try csvRecords(output)
                try await hub.publish(dataset.rawValue, columns: rows[0]) { writer in
                    for row in rows.dropFirst() { try await writer.append(row: row) }
                }
            }
            let truePerson = Dictionary(try csvRecords(summary.truthPath).dropFirst().map { ("\($0[0]):\($0[1])", $0[2]) }, uniquingKeysWith: { a, _ in a })
            func linked() async throws -> [(found: Int64, truth: String)] {
                var result: [(found: Int64, truth: String)] = []
                for dataset in Self.datasets {
                    let persons = try await hub.persons(dataset.rawValue)
                    let accepted = try #require(lines[dataset])
                    try #require(persons.count == accepted.count, "every accepted record of \(dataset) is linked to a person")
                    result += zip(persons, accepted).map { (found: $0, truth: truePerson["\(dataset):\($1)"]!) }
                }
                return result
            }
            // The same published rows linked twice: by the match keys alone, then (a plan with the
            // fuzzy pass has another signature, so the linkage is rebuilt) with the fuzzy pass.
            var keysOnly = hub.plan
            keysOnly.fuzzy = nil
            for index in keysOnly.datasets.indices { keysOnly.datasets[index].encoded = false }
            var plainAgreement = hub.agreement
            plainAgreement.linkage.fuzzy = nil
            let plain = try await hub.store.updateLinkage(agreement: plainAgreement, plan: keysOnly, actor: .hub)
            print("linkage report, match keys alone: \(plain.persons) persons; by key \(plain.linkedBy.map { "\($0.key) \($0.records)" }.joined(separator: ", ")); \(plain.run.milliseconds) ms \(plain.run.phases)")
            keysAlone = try await linked()
            let report = try await hub.link()
            let fuzzy = try #require(report.run.fuzzy)
            print("linkage report, with the fuzzy pass: \(report.persons) persons; by key \(report.linkedBy.map { "\($0.key) \($0.records)" }.joined(separator: ", ")); \(report.run.milliseconds) ms \(report.run.phases); fuzzy pass: \(fuzzy.candidates) candidates, \(fuzzy.nodesRead) nodes read, \(fuzzy.comparisons) comparisons, \(fuzzy.links) links, \(fuzzy.reviewPairs) review pairs")
            withFuzzy = try await linked()
        }
        let quality = LinkageQuality(keysAlone)
        print("linkage quality (20,000 people, default error rates), match keys alone: \(quality)")
        #expect(quality.precision >= 0.995)
        #expect(quality.recall >= 0.99)
        let fuzzyQuality = LinkageQuality(withFuzzy)
        print("linkage quality, with the hub's fuzzy pass: \(fuzzyQuality)")
        #expect(fuzzyQuality.precision >= 0.995)
        #expect(fuzzyQuality.recall >= 0.99)
        #expect(fuzzyQuality.f1 >= quality.f1)
    }
}

/// Every record of a small comma-separated file, whole (tests only).
func csvRecords(_ path: String) throws -> [[String]] {
    var reader = CSVFileReader(input: try InputFile(path: path), parser: CSVParser())
    var records: [[String]] = []
    while let batch = try reader.next() { records += batch.strings }
    return records
}
