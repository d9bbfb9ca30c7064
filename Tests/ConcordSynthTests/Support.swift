import ConcordCore
import Foundation
@testable import ConcordSynth

/// The repository root, from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func loadSchema(_ dataset: SynthDataset) throws -> DatasetSchema {
    let path = repositoryRoot + "/Schemas/datasets/\(dataset.rawValue).yaml"
    return try DatasetSchema(yaml: String(contentsOfFile: path, encoding: .utf8), file: path)
}

/// A fresh empty directory under the temporary directory.
func temporaryDirectory(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "concord-synth-tests/\(safe)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The folder of the runs shared by several tests: one per test process, removed when it exits.
let sharedRunsRoot = NSTemporaryDirectory() + "concord-synth-tests/shared-\(UUID().uuidString)"

/// A directory for a run shared by several tests (see `sharedRunsRoot`).
func sharedRunDirectory(_ name: String) -> String {
    _ = removeSharedRunsAtExit
    let path = sharedRunsRoot + "/" + name
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private let removeSharedRunsAtExit: Void = {
    atexit { try? FileManager.default.removeItem(atPath: sharedRunsRoot) }
}()

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Every record of a CSV file, with the line it starts on (the header included, as line 1).
func parseCSV(_ path: String, delimiter: UInt8) throws -> [CSVRecordBatch] {
    let bytes = try readBytes(path)
    var parser = CSVParser(delimiter: delimiter)
    var batches = try bytes.withUnsafeBytes { buffer throws(CSVError) in try parser.consume(buffer) }
    batches += try parser.finish()
    return batches
}

/// What `concord pseudonymise` would make of one extract.
struct Validation {
    var header: [String]
    var recordLines: [Int] = []
    var rejectedLines: [Int] = []
    var rejects: [RejectedRow] = []
    /// Pseudonymised rows (match keys, then releasable fields) of the valid records, with their lines.
    var output: [(line: Int, cells: [String])] = []
    var outputColumns: [String]
}

func validate(_ dataset: SynthDataset, in directory: String) throws -> Validation {
    let schema = try loadSchema(dataset)
    let batches = try parseCSV(directory + "/" + dataset.fileName, delimiter: schema.dialect.delimiter)
    let header = batches.first?.firstRecord ?? []
    let columns = try ExtractHeader.columns(of: header, for: schema)
    let key = try LinkageKey(version: 1, secret: (0..<32).map { UInt8($0) })
    var pseudonymiser = RecordPseudonymiser(schema: schema, key: key, columns: columns)
    var result = Validation(header: header, outputColumns: schema.pseudonymisedColumns)
    for (index, batch) in batches.enumerated() {
        let lines = Array(batch.lineNumbers.dropFirst(index == 0 ? 1 : 0))
        result.recordLines += lines
        let pseudonymised = pseudonymiser.pseudonymise(batch, skippingFirst: index == 0)
        result.rejects += pseudonymised.rejects
        let rejected = Set(pseudonymised.rejects.map(\.line))
        result.rejectedLines += pseudonymised.rejects.map(\.line)
        var parser = CSVParser()
        var outputBatches = try pseudonymised.output.withUnsafeBytes { buffer throws(CSVError) in try parser.consume(buffer) }
        outputBatches += try parser.finish()
        let cells = outputBatches.flatMap(\.strings)
        let validLines = lines.filter { !rejected.contains($0) }
        precondition(cells.count == validLines.count)
        result.output += zip(validLines, cells).map { ($0, $1) }
    }
    return result
}

/// `truth.csv` as (dataset, line) → person id.
func readTruth(_ directory: String) throws -> (header: [String], rows: [(dataset: String, line: Int, person: String)]) {
    let batches = try parseCSV(directory + "/truth.csv", delimiter: UInt8(ascii: ","))
    let records = batches.flatMap(\.strings)
    return (records.first ?? [], records.dropFirst().map { ($0[0], Int($0[1]) ?? -1, $0[2]) })
}
