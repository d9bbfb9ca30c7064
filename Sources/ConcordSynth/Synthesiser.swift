import ConcordCore
import ConcordFiles
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Deterministic synthetic agency extracts over one synthetic population: the four datasets of
/// `Schemas/datasets` and a `truth.csv` saying whose record each row really is. For tests, the
/// demo, measuring linkage quality, and benchmarks.
///
/// Everything derives from `SynthConfiguration.seed` through a PRNG defined in this module, never
/// from the clock, the locale, hashing or collection order: the same configuration writes
/// byte-identical files on any machine. The data is synthetic: names are drawn from lists, NHS
/// numbers lie in the 999 000 0000–999 999 9999 range reserved for testing, and no row describes
/// a real person.
///
/// ```swift
/// let synthesiser = Synthesiser(SynthConfiguration(seed: 7, people: 2_000))
/// let summary = try synthesiser.write(to: "/tmp/synth")
/// print(summary.rows(.cscReferrals))
/// ```
public struct Synthesiser: Sendable {
    public let configuration: SynthConfiguration

    public init(_ configuration: SynthConfiguration) {
        precondition(configuration.people >= 1, "the population needs at least one person")
        precondition(SynthConfiguration.asOfRange.contains(configuration.asOf),
                     "the reference date must lie between 2016-09-01 and 2030-07-31 (the academic years the school schema lists)")
        self.configuration = configuration
    }

    /// The population size used for `count` rows of one dataset: the configured size, or more
    /// (`count / 2`) so that large benchmark files do not repeat the same few people too often.
    public func benchmarkPopulationSize(rows count: Int) -> Int {
        max(configuration.people, count / 2)
    }

    /// Writes `DIR/csc_referrals.csv`, `DIR/school_attendance.csv`, `DIR/police_da_incidents.csv`,
    /// `DIR/housing_cases.csv` and `DIR/truth.csv` (creating `DIR` if needed). Each file appears
    /// complete or not at all.
    ///
    /// Coverage follows the population: every child of school age has a row per term for the last
    /// three terms; about 4% of households have police domestic abuse incidents (a row per person
    /// involved); about 6% of children are referred to children's social care, far more often
    /// where there is domestic abuse; about 3% of households approach the council as homeless.
    public func write(to directory: String, progress: (SynthProgress) -> Void = { _ in }) throws(FileError) -> SynthSummary {
        let world = World(configuration: configuration, people: configuration.people, withPlan: true)
        return try write(world: world, datasets: SynthDataset.allCases, limit: nil, directory: directory, progress: progress)
    }

    /// Single-dataset mode, for benchmarks: writes exactly `rows` records of one dataset to
    /// `DIR/<dataset>.csv`, and `DIR/truth.csv` for them. Rows are drawn on the fly from a
    /// population of `benchmarkPopulationSize(rows:)` people, cycling through it when more rows
    /// are asked for than its events give; memory stays bounded by the population.
    public func write(_ dataset: SynthDataset, rows: Int, to directory: String, progress: (SynthProgress) -> Void = { _ in }) throws(FileError) -> SynthSummary {
        precondition(rows >= 0)
        let world = World(configuration: configuration, people: benchmarkPopulationSize(rows: rows), withPlan: false)
        return try write(world: world, datasets: [dataset], limit: rows, directory: directory, progress: progress)
    }

    /// The records `write(to:)` puts in one dataset's file, generated as they are read.
    public func rows(_ dataset: SynthDataset) -> SynthRows {
        SynthRows(world: World(configuration: configuration, people: configuration.people, withPlan: true), dataset: dataset, limit: nil)
    }

    /// Exactly `count` records of one dataset, as `write(_:rows:to:)` writes them, generated as
    /// they are read.
    public func rows(_ dataset: SynthDataset, count: Int) -> SynthRows {
        SynthRows(world: World(configuration: configuration, people: benchmarkPopulationSize(rows: count), withPlan: false), dataset: dataset, limit: count)
    }

    private func write(world: World, datasets: [SynthDataset], limit: Int?, directory: String,
                       progress: (SynthProgress) -> Void) throws(FileError) -> SynthSummary {
        try createDirectory(directory)
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let truth = try CSVOutputFile(path: base + "truth.csv", delimiter: UInt8(ascii: ","))
        try truth.append(["dataset", "line", "person_id"])
        var summary = SynthSummary(people: world.population.people.count, households: world.population.households.count,
                                   files: [], truthPath: truth.path)
        for dataset in datasets {
            let file = try CSVOutputFile(path: base + dataset.fileName, delimiter: dataset.delimiter)
            try file.append(dataset.columns)
            var written = SynthSummary.File(dataset: dataset, path: file.path, rows: 0, invalidRows: 0)
            if let limit {
                try writeChunks(world: world, dataset: dataset, limit: limit, file: file, truth: truth, counts: &written, progress: progress)
            } else {
                var generator = dataset.generator(world, chunk: nil)
                let quoting = dataset.mayNeedQuoting
                while let record = generator.next() {
                    let line = try file.append(record.fields, quoting: quoting)
                    try truth.appendTruth(dataset: dataset, line: line, person: record.person)
                    written.rows += 1
                    if record.isInvalid { written.invalidRows += 1 }
                    if written.rows & 0xFFFF == 0 { progress(SynthProgress(dataset: dataset, rowsWritten: written.rows, finished: false)) }
                }
            }
            try file.commit()
            summary.files.append(written)
            progress(SynthProgress(dataset: dataset, rowsWritten: written.rows, finished: true))
        }
        try truth.commit()
        return summary
    }

    /// Single-dataset mode: chunks are generated and encoded in parallel, a few per core at a
    /// time, and written in order, so the bytes do not depend on the number of cores. The next
    /// wave of chunks is generated while the current one is written.
    private func writeChunks(world: World, dataset: SynthDataset, limit: Int, file: CSVOutputFile, truth: CSVOutputFile,
                             counts: inout SynthSummary.File, progress: (SynthProgress) -> Void) throws(FileError) {
        let width = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let cycle = dataset.chunksPerCycle(world)
        var next = 0
        var emptyRun = 0
        var chunksSeen = 0
        var rowsSeen = 0
        var pending: ChunkWave?
        defer { pending?.wait() }
        /// Starts the chunks still needed for the rows wanted (estimated from those seen), at most two per core.
        func startWave(expecting expected: Int) -> ChunkWave? {
            let remaining = limit - counts.rows - expected
            guard remaining > 0 else { return nil }
            let wanted = chunksSeen == 0 ? width : (remaining * chunksSeen + rowsSeen - 1) / max(1, rowsSeen)
            let size = min(2 * width, max(1, wanted))
            defer { next += size }
            return ChunkWave(world: world, dataset: dataset, chunks: next..<(next + size))
        }
        pending = startWave(expecting: 0)
        while let wave = pending, counts.rows < limit, emptyRun < cycle {
            let chunks = wave.wait()
            let waveRows = chunks.reduce(0) { $0 + $1.count }
            chunksSeen += chunks.count
            rowsSeen += waveRows
            pending = startWave(expecting: waveRows)
            for chunk in chunks {
                if chunk.count == 0 {
                    emptyRun += 1
                    if emptyRun >= cycle { break }
                    continue
                }
                emptyRun = 0
                let take = min(chunk.count, limit - counts.rows)
                let firstLine = file.nextLine
                try file.appendEncoded(chunk.bytes[..<chunk.recordEnds[take - 1]], lines: chunk.lineEnds[take - 1])
                for index in 0..<take {
                    let line = firstLine + (index == 0 ? 0 : chunk.lineEnds[index - 1])
                    try truth.appendTruth(dataset: dataset, line: line, person: Int(chunk.people[index]))
                    if chunk.invalid[index] { counts.invalidRows += 1 }
                }
                counts.rows += take
                progress(SynthProgress(dataset: dataset, rowsWritten: counts.rows, finished: false))
                if counts.rows == limit { break }
            }
            if pending == nil, counts.rows < limit { pending = startWave(expecting: 0) }
        }
    }
}

/// Chunks being encoded in the background.
///
/// The work starts on a thread of its own rather than on a Dispatch queue: the caller blocks in
/// `wait()`, possibly on a pool thread, and a pool as narrow as one core would then never run it.
/// (`concurrentPerform` inside is safe: the calling thread takes part in it.)
private final class ChunkWave: @unchecked Sendable {
    // Written once by the background thread, read only after `group.wait()`.
    private var chunks: [EncodedChunk] = []
    private let group = DispatchGroup()

    init(world: World, dataset: SynthDataset, chunks range: Range<Int>) {
        group.enter()
        let thread = Thread { [self] in
            chunks = EncodedChunk.encode(world: world, dataset: dataset, chunks: range)
            group.leave()
        }
        thread.start()
    }

    @discardableResult
    func wait() -> [EncodedChunk] {
        group.wait()
        return chunks
    }
}

/// One chunk's records, already CSV-encoded.
struct EncodedChunk: Sendable {
    var bytes: [UInt8] = []
    /// For each record, the offset in `bytes` where it ends.
    var recordEnds: [Int] = []
    /// For each record, the physical lines from the chunk's start to the record's end.
    var lineEnds: [Int] = []
    var people: [Int32] = []
    var invalid: [Bool] = []

    var count: Int { recordEnds.count }

    init(world: World, dataset: SynthDataset, index: Int) {
        var generator = dataset.generator(world, chunk: dataset.chunk(index))
        var writer = CSVWriter(delimiter: dataset.delimiter, capacity: 4 << 20)
        let quoting = dataset.mayNeedQuoting
        var lines = 0
        while let record = generator.next() {
            let start = writer.bytes.count
            writer.appendRecord(record.fields, quoting: quoting)
            lines += countLineBreaks(writer.bytes, from: start)
            recordEnds.append(writer.bytes.count)
            lineEnds.append(lines)
            people.append(Int32(record.person))
            invalid.append(record.isInvalid)
        }
        bytes = writer.takeBytes()
    }

    /// Encodes the chunks in parallel; returns them in order.
    static func encode(world: World, dataset: SynthDataset, chunks: Range<Int>) -> [EncodedChunk] {
        let results = UnsafeMutableBufferPointer<EncodedChunk>.allocate(capacity: chunks.count)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: chunks.count) { offset in
            (slots.baseAddress! + offset).initialize(to: EncodedChunk(world: world, dataset: dataset, index: chunks.lowerBound + offset))
        }
        let encoded = Array(results)
        _ = results.deinitialize()
        return encoded
    }
}

/// The records of one synthetic dataset, generated one at a time (nothing but the population and
/// its plan of events is held in memory).
public struct SynthRows: Sequence, IteratorProtocol, Sendable {
    public let dataset: SynthDataset
    private let world: World
    private let limit: Int?
    /// Empty chunks in a row after which no chunk will give rows.
    private let cycle: Int
    private var generator: any RowGenerator
    private var chunk = 0
    private var produced = 0
    private var producedInChunk = 0
    private var emptyRun = 0

    init(world: World, dataset: SynthDataset, limit: Int?) {
        self.dataset = dataset
        self.world = world
        self.limit = limit
        cycle = dataset.chunksPerCycle(world)
        generator = dataset.generator(world, chunk: limit == nil ? nil : dataset.chunk(0))
    }

    /// The header of the dataset's file.
    public var header: [String] { dataset.columns }

    public mutating func next() -> SynthRecord? {
        guard let limit else { return generator.next() }
        while produced < limit {
            if let record = generator.next() {
                produced += 1
                producedInChunk += 1
                return record
            }
            emptyRun = producedInChunk == 0 ? emptyRun + 1 : 0
            if emptyRun >= cycle { return nil }
            chunk += 1
            producedInChunk = 0
            generator = dataset.generator(world, chunk: dataset.chunk(chunk))
        }
        return nil
    }
}
