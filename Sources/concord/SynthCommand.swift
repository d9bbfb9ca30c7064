import ArgumentParser
import ConcordSynth

struct SynthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write synthetic agency extracts, and the truth about whose record each row is.",
        discussion: """
        Draws one synthetic population of households in Essex-like postcode districts and \
        writes what four agencies would hold about it, in the exact columns, delimiters and \
        date formats of Schemas/datasets:

          OUT/csc_referrals.csv        social care referrals (about 6% of children)
          OUT/school_attendance.csv    a row per pupil per term, last three terms
          OUT/police_da_incidents.csv  DA incidents, a row per person involved (|)
          OUT/housing_cases.csv        homelessness cases (about 3% of households)
          OUT/truth.csv                dataset,line,person_id for every row above

        The same people appear across agencies, as in life: children referred to social care \
        are also in the school data; households with police incidents are far more often \
        referred and homeless. truth.csv names the true person (P000001, ...) of each record \
        by its file and the line the record starts on (the header is line 1), so linkage \
        results can be scored exactly.

        Records carry realistic keying errors: surname typos, nicknames (Bill for William), \
        day and month of birth swapped, old postcodes after a move, missing NHS numbers and \
        UPNs, dropped diacritics, odd case and spacing. --error-rate-scale multiplies every \
        rate (0 for clean data, 2 for twice as messy). About 0.3% of rows hold a value the \
        schema rejects (a bad NHS check digit, 31/04, an invalid postcode) so that concord \
        pseudonymise has something to reject; the summary says how many per file.

        The data is synthetic: nobody in it exists. NHS numbers lie in the range 999 000 0000 \
        to 999 999 9999, which the NHS reserves for testing, never a real patient's number. \
        Output is deterministic: the same seed and options give byte-identical files on any \
        machine.

        --dataset NAME --rows N writes only OUT/NAME.csv with exactly N rows (and its \
        truth.csv), drawing events on the fly from a population of max(--people, N/2) \
        people, on every core: for benchmarks.

        Examples:
          concord synth --out extracts
          concord synth --seed 42 --people 50000 --error-rate-scale 0 --out clean
          concord synth --dataset csc_referrals --rows 1000000 --out bench
        """
    )

    @Option(help: "Seed for every random choice; the same seed gives the same files.")
    var seed: UInt64 = 1

    @Option(help: "People in the synthetic population.")
    var people: Int = 10_000

    @Option(name: .customLong("out"), help: ArgumentHelp("Directory to write the files to (created if missing).", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("Write only this dataset: \(SynthDataset.allCases.map(\.rawValue).joined(separator: ", ")). Needs --rows.", valueName: "name"))
    var dataset: String?

    @Option(help: "With --dataset: the number of rows to write.")
    var rows: Int?

    @Option(help: ArgumentHelp("Multiply every error rate by this (0 for clean data).", valueName: "x"))
    var errorRateScale: Double = 1

    @Option(help: ArgumentHelp("Rate of rows holding a value the schema rejects, after scaling (default 0.003 × scale).", valueName: "p"))
    var invalidRate: Double?

    func validate() throws {
        if people < 1 { throw ValidationError("--people must be at least 1") }
        if !(errorRateScale >= 0 && errorRateScale.isFinite) { throw ValidationError("--error-rate-scale must be a number of at least 0") }
        if let invalidRate, !(0...1).contains(invalidRate) { throw ValidationError("--invalid-rate must be between 0 and 1") }
        switch (dataset, rows) {
        case (nil, nil): break
        case (let name?, let count?):
            if SynthDataset(rawValue: name) == nil {
                throw ValidationError("unknown dataset '\(name)'; expected one of \(SynthDataset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if count < 0 { throw ValidationError("--rows must be at least 0") }
        case (nil, _?): throw ValidationError("--rows needs --dataset")
        case (_?, nil): throw ValidationError("--dataset needs --rows")
        }
    }

    func run() async throws {
        var rates = ErrorRates.default.scaled(by: errorRateScale)
        if let invalidRate { rates.invalidValue = invalidRate }
        let synthesiser = Synthesiser(SynthConfiguration(seed: seed, people: people, errorRates: rates))
        let start = ContinuousClock.now
        let showProgress = Console.showsProgress
        let report: (SynthProgress) -> Void = { progress in
            guard showProgress else { return }
            if progress.finished { Console.endProgress() } else { Console.progress("\(progress.dataset): \(progress.rowsWritten) rows") }
        }
        let summary: SynthSummary
        if let dataset, let rows, let chosen = SynthDataset(rawValue: dataset) {
            summary = try synthesiser.write(chosen, rows: rows, to: output, progress: report)
        } else {
            summary = try synthesiser.write(to: output, progress: report)
        }
        let elapsed = start.duration(to: .now)
        let seconds = elapsed.inSeconds
        let total = summary.files.reduce(0) { $0 + $1.rows }
        let rate = seconds > 0 ? Int(Double(total) / seconds) : 0
        Console.note("synthetic population: \(summary.people) people in \(summary.households) households (seed \(seed))")
        for file in summary.files {
            Console.note("  \(file.path): \(file.rows) rows, \(file.invalidRows) invalid on purpose")
        }
        Console.note("  \(summary.truthPath): the true person of each row")
        Console.note("\(total) rows in \(Int(seconds * 1000)) ms (\(rate) rows/s)")
    }
}
