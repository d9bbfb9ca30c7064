import ConcordCore
import ConcordFiles
import Crypto

/// Pseudonymises one extract file into a file the agency may send on: validates every row against
/// the dataset schema, writes match keys and the non-identifying fields, and sends bad rows to a
/// rejects file that stays at the agency.
///
/// Streams in bounded memory (a few batches in flight, whatever the file size), uses every core,
/// and keeps the output in input order. Output and rejects appear complete or not at all.
public struct PseudonymiseJob: Sendable {
    public var schema: DatasetSchema
    public var key: LinkageKey
    public var inputPath: String
    public var outputPath: String
    /// Where rejected rows are described; `nil` writes `<output>.rejects.csv` only if a row is rejected.
    public var rejectsPath: String?
    /// Whether a named `rejectsPath` is created only when a row is rejected, as the default one is.
    public var rejectsOnlyIfAny = false
    /// What leaves the agency; `nil` for everything the schema allows.
    public var release: ReleasePlan?
    /// Batches processed at once; each holds `batchSize` rows.
    public var parallelism: Int
    public var batchSize = 4096
    public var maximumRecordBytes = CSVParser.defaultMaximumRecordBytes

    public init(schema: DatasetSchema, key: LinkageKey, inputPath: String, outputPath: String, rejectsPath: String? = nil, parallelism: Int) {
        self.schema = schema
        self.key = key
        self.inputPath = inputPath
        self.outputPath = outputPath
        self.rejectsPath = rejectsPath
        self.parallelism = max(1, parallelism)
    }

    /// The default rejects file for an output path.
    public static func defaultRejectsPath(for outputPath: String) -> String {
        (outputPath.hasSuffix(".csv") ? String(outputPath.dropLast(4)) : outputPath) + ".rejects.csv"
    }

    /// Runs the job. `progress` is called after each batch is written, from the calling task.
    public func run(progress: (PseudonymiseProgress) -> Void = { _ in }) async throws -> PseudonymiseSummary {
        let input = try InputFile(path: inputPath)
        var batches = CSVFileReader(input: input, parser: CSVParser(delimiter: schema.dialect.delimiter, maximumRecordBytes: maximumRecordBytes, batchSize: batchSize))
        guard let first = try batches.next(), let header = first.firstRecord else {
            throw CSVFileError.empty(inputPath)
        }
        let columns: [Int]
        do { columns = try ExtractHeader.columns(of: header, for: schema) } catch { throw CSVFileError.header(inputPath, error) }
        let release = release ?? ReleasePlan(schema: schema)
        // A release with an encoding (the schema's `fuzzy_encoding`, permitted by the agreements)
        // ends every row with it; a linkage key of another version than the schema's is refused.
        let clk = try release.encoding.map { try CLKEncoder(parameters: $0, key: key) }
        let pseudonymiser = RecordPseudonymiser(schema: schema, key: key, columns: columns, release: release, clk: clk)
        let outputColumns = release.columns

        let output = try AtomicOutputFile(path: outputPath)
        let rejects = try RejectsWriter(path: rejectsPath ?? Self.defaultRejectsPath(for: outputPath), always: rejectsPath != nil && !rejectsOnlyIfAny)
        defer {
            output.abandon()
            rejects.abandon()
        }
        // The envelope's manifest needs the output's length and SHA-256: taken as it is written,
        // rather than by reading the file again.
        var hash = SHA256()
        var outputBytes = 0
        func emit(_ bytes: [UInt8]) throws {
            hash.update(data: bytes)
            outputBytes += bytes.count
            try output.write(bytes)
        }
        var headerWriter = CSVWriter()
        headerWriter.appendRecord(outputColumns)
        try emit(headerWriter.bytes)

        var summary = PseudonymiseSummary(outputPath: outputPath)
        let inFlightLimit = parallelism * 2
        try await withThrowingTaskGroup(of: (Int, PseudonymisedBatch).self) { group in
            var nextBatch: CSVRecordBatch? = first
            var submitted = 0
            var nextToWrite = 0
            var finished: [Int: PseudonymisedBatch] = [:]
            while nextBatch != nil || submitted > nextToWrite {
                if let batch = nextBatch, submitted - nextToWrite < inFlightLimit {
                    let sequence = submitted
                    group.addTask { [pseudonymiser] in
                        var worker = pseudonymiser
                        return (sequence, worker.pseudonymise(batch, skippingFirst: sequence == 0))
                    }
                    submitted += 1
                    nextBatch = try batches.next()
                    continue
                }
                guard let (sequence, result) = try await group.next() else { break }
                finished[sequence] = result
                while let ready = finished.removeValue(forKey: nextToWrite) {
                    try emit(ready.output)
                    try rejects.write(ready.rejects)
                    summary.add(ready)
                    nextToWrite += 1
                    progress(PseudonymiseProgress(rowsRead: summary.rowsRead, rowsRejected: summary.rowsRejected,
                                                  bytesRead: batches.bytesRead, bytesTotal: input.size))
                }
            }
        }
        try output.commit()
        summary.outputBytes = outputBytes
        summary.outputSHA256 = hash.finalize().lowercaseHex
        summary.columns = outputColumns
        summary.rejectsPath = try rejects.commit()
        return summary
    }
}

/// The rejects file: `line,field,reason`, one line per problem. Created only when needed unless asked for.
private final class RejectsWriter {
    let path: String
    let always: Bool
    private var file: AtomicOutputFile?

    init(path: String, always: Bool) throws(FileError) {
        self.path = path
        self.always = always
        if always { try open() }
    }

    func write(_ rows: [RejectedRow]) throws(FileError) {
        guard !rows.isEmpty else { return }
        if file == nil { try open() }
        var writer = CSVWriter()
        for row in rows {
            for problem in row.problems {
                writer.appendRecord([String(row.line), problem.field, problem.reason])
            }
        }
        try file?.write(writer.bytes)
    }

    /// Commits the file if there is one; returns its path.
    func commit() throws(FileError) -> String? {
        guard let file else { return nil }
        try file.commit()
        return path
    }

    func abandon() { file?.abandon() }

    private func open() throws(FileError) {
        let file = try AtomicOutputFile(path: path)
        var writer = CSVWriter()
        writer.appendRecord(["line", "field", "reason"])
        try file.write(writer.bytes)
        self.file = file
    }
}

/// How far a job has got.
public struct PseudonymiseProgress: Sendable {
    public var rowsRead: Int
    public var rowsRejected: Int
    public var bytesRead: Int
    public var bytesTotal: Int
}

/// What a finished job did.
public struct PseudonymiseSummary: Sendable {
    public var rowsRead = 0
    public var rowsWritten = 0
    public var rowsRejected = 0
    public var outputPath: String
    public var rejectsPath: String?
    /// The output's header.
    public var columns: [String] = []
    /// The output file's length and lower-case hex SHA-256.
    public var outputBytes = 0
    public var outputSHA256 = ""

    mutating func add(_ batch: PseudonymisedBatch) {
        rowsRead += batch.rowsRead
        rowsWritten += batch.rowsWritten
        rowsRejected += batch.rowsRejected
    }
}
