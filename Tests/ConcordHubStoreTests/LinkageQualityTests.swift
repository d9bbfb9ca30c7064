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
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let summary = try Synthesiser(SynthConfiguration(seed: 5, people: 20000)).write(to: directory)
        let key = try LinkageKey(version: 1, secret: Array(0..<32))
        var truth: [(found: Int64, truth: String)] = []
        try await LinkageStoreTests().withFixture { hub in
            var pseudonymised: [SynthDataset: (lines: [Int], output: String)] = [:]
            for dataset in Self.datasets {
                let input = try #require(summary.files.first { $0.dataset == dataset }).path
                let output = "\(directory)/\(dataset).pseudonymised.csv", rejects = "\(directory)/\(dataset).rejects.csv"
                var job = PseudonymiseJob(schema: try shippedSchema(dataset.rawValue), key: key, inputPath: input, outputPath: output,
                                          rejectsPath: rejects, parallelism: 2)
                job.rejectsOnlyIfAny = false
                _ = try await job.run()
                let rejected = Set(try csvRecords(rejects).dropFirst().map { Int($0[0])! })
                let lines = try csvRecords(summary.truthPath).dropFirst().filter { $0[0] == dataset.rawValue }.map { Int($0[1])! }
                pseudonymised[dataset] = (lines.filter { !rejected.contains($0) }.sorted(), output)
                var reader = CSVFileReader(input: try InputFile(path: output), parser: CSVParser())
                let firstBatch = try #require(try reader.next())
                try await hub.publish(dataset.rawValue, columns: try #require(firstBatch.firstRecord)) { writer in
                    try await writer.append(firstBatch.droppingFirstRecord())
                    while let batch = try reader.next() { try await writer.append(batch) }
                }
            }
            let report = try await hub.link()
            let truePerson = Dictionary(try csvRecords(summary.truthPath).dropFirst().map { ("\($0[0]):\($0[1])", $0[2]) }, uniquingKeysWith: { a, _ in a })
            for dataset in Self.datasets {
                let persons = try await hub.persons(dataset.rawValue)
                let lines = try #require(pseudonymised[dataset]).lines
                try #require(persons.count == lines.count, "every accepted record of \(dataset) is linked to a person")
                truth += zip(persons, lines).map { (found: $0, truth: truePerson["\(dataset):\($1)"]!) }
            }
            print("linkage report: \(report.persons) persons; by key \(report.linkedBy.map { "\($0.key) \($0.records)" }.joined(separator: ", ")); conflicts \(report.run.conflicts)")
        }
        let quality = LinkageQuality(truth)
        print("linkage quality (20,000 people, default error rates): \(quality)")
        #expect(quality.precision >= 0.995)
        #expect(quality.recall >= 0.99)
    }
}

/// Every record of a small comma-separated file, whole (tests only).
func csvRecords(_ path: String) throws -> [[String]] {
    var reader = CSVFileReader(input: try InputFile(path: path), parser: CSVParser())
    var records: [[String]] = []
    while let batch = try reader.next() { records += batch.strings }
    return records
}
