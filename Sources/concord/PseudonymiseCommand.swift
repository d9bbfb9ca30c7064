import ArgumentParser
import ConcordAgent
import ConcordCore
import ConcordFiles
import Foundation

struct PseudonymiseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pseudonymise",
        abstract: "Turn an agency extract into match keys and non-identifying fields.",
        discussion: """
        Validates every row of the extract against the dataset schema, then writes one row per valid
        record: the schema's match keys (HMAC-SHA256 under the linkage key, docs/pseudonyms.md),
        quasi-identifiers generalised as the schema says, and attributes normalised. Identifiers and
        free text are never written.

        A row with any invalid field is not written: it goes to the rejects file as line, field and
        reason (never the value). The rejects file stays at the agency. Without --rejects it is
        OUT with .rejects.csv, created only if a row is rejected.

        With --agreement (and --agency), only what every named agreement permits is written: the
        match keys their linkage uses, the fields they all permit, each at the coarsest
        generalisation any of them asks for.

        The header must name exactly the schema's fields (any order); if it does not, nothing is
        written. Output and rejects appear complete or not at all.

        A summary goes to standard error; progress too when it is a terminal.

        Exit status: 0 when the extract was processed (rows may have been rejected: see the
        summary), 1 when nothing was written.

        Example:
          concord pseudonymise --schema Schemas/datasets/csc_referrals.yaml --key linkage.key \\
              --in csc_referrals.csv --out csc_referrals.pseudonymised.csv --rejects csc_referrals.rejects.csv
        """
    )

    @OptionGroup var extract: ExtractOptions

    @Option(name: .customLong("out"), help: ArgumentHelp("Where to write the pseudonymised extract.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Where to describe rejected rows.", valueName: "file"))
    var rejects: String?

    @Option(help: "Batches processed in parallel (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var release: ReleaseOptions

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if extract.input == output { throw ValidationError("--in and --out must be different files") }
    }

    func run() async throws {
        let schema = try DocumentFiles.loadSchema(extract.schema)
        let key = try KeyFiles.readLinkageKey(extract.key)
        var job = PseudonymiseJob(schema: schema, key: key, inputPath: extract.input, outputPath: output, rejectsPath: rejects, parallelism: jobs)
        job.release = try release.plan(for: schema)
        let start = ContinuousClock.now
        let showProgress = Console.showsProgress
        var lastDrawn = start
        let summary = try await job.run { progress in
            guard showProgress, lastDrawn.duration(to: .now) > .milliseconds(250) else { return }
            lastDrawn = .now
            let percent = progress.bytesTotal > 0 ? progress.bytesRead * 100 / progress.bytesTotal : 0
            Console.progress("\(schema.dataset): \(progress.rowsRead) rows read, \(progress.rowsRejected) rejected (\(percent)%)")
        }
        if showProgress { Console.endProgress() }
        let seconds = start.duration(to: .now).inSeconds
        let rate = seconds > 0 ? Int(Double(summary.rowsRead) / seconds) : 0
        var line = "\(schema.dataset): read \(summary.rowsRead) rows, wrote \(summary.rowsWritten), rejected \(summary.rowsRejected)"
        line += " in \(String(format: "%.2f", seconds)) s (\(rate) rows/s) under \(key.id) -> \(summary.outputPath)"
        if let rejectsPath = summary.rejectsPath { line += "; rejects in \(rejectsPath)" }
        Console.note(line)
    }
}
