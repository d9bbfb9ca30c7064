import ArgumentParser
import ConcordAgent
import ConcordCore
import ConcordFiles
import ConcordHub

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The hub: where pseudonymised extracts meet.",
        discussion: "Today: the checks the hub applies to an extract before it accepts it. The server follows.",
        subcommands: [CheckExtract.self]
    )

    struct CheckExtract: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-extract",
            abstract: "Check a pseudonymised extract as the hub will before accepting it.",
            discussion: """
            Refuses an extract whose columns are not exactly the schema's pseudonymised columns (so
            no identifier or free-text column), whose match keys are not well-formed pseudonyms of
            one linkage key version, or whose quasi-identifiers are finer than the schema allows
            (a full date of birth or postcode). Prints each problem with its line and column and
            exits 1 if there is any; an agency can run it on its own output before sending.
            """
        )

        @Option(help: ArgumentHelp("The dataset schema (YAML).", valueName: "file"))
        var schema: String

        @Option(name: .customLong("in"), help: ArgumentHelp("The pseudonymised extract (CSV).", valueName: "file"))
        var input: String

        @Option(help: "Stop after this many problems.")
        var limit = 20

        @OptionGroup var release: ReleaseOptions

        func run() async throws {
            let schema = try loadSchema(schema)
            var reader = CSVFileReader(input: try InputFile(path: input), parser: CSVParser())
            guard let first = try reader.next(), let header = first.firstRecord else { throw CSVFileError.empty(input) }
            var check = ReceivedExtractCheck(schema: schema, release: try release.plan(for: schema))
            try check.checkHeader(header)
            var violations = check.check(first, skippingFirst: true)
            while violations.count < limit, let batch = try reader.next() {
                violations += check.check(batch)
            }
            for violation in violations.prefix(limit) { print("\(input): \(violation)") }
            guard violations.isEmpty else {
                let count = violations.count >= limit ? "at least \(limit) problems" : violations.count == 1 ? "1 problem" : "\(violations.count) problems"
                Console.note("\(input): refused: \(count)")
                throw ExitCode(1)
            }
            let version = check.keyVersion.map { "linkage key version \($0)" } ?? "no match keys"
            Console.note("\(input): ok: \(check.rowsChecked) rows of \(schema.dataset) version \(schema.version), \(version)")
        }
    }
}
