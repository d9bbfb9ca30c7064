import ArgumentParser
import ConcordCore
import ConcordFiles
import Foundation

/// Where the dataset schemas are, shared by the subcommands.
struct SchemaOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Folder of dataset schemas agreements are checked against (default: Schemas/datasets, else /usr/share/concord/Schemas/datasets).", valueName: "dir"))
    var schemas: String?

    func catalogue() throws -> SchemaCatalogue {
        let candidates = schemas.map { [$0] } ?? ["Schemas/datasets", "/usr/share/concord/Schemas/datasets"]
        guard let directory = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ValidationError("no dataset schemas at \(candidates.joined(separator: " or ")); name the folder with --schemas")
        }
        return try DocumentFiles.loadCatalogue(directory)
    }
}

/// The extract a command reads, the schema it follows and the linkage key it is pseudonymised with.
struct ExtractOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The dataset schema (YAML).", valueName: "file"))
    var schema: String

    @Option(help: ArgumentHelp("The partnership's linkage key file (mode 0600).", valueName: "file"))
    var key: String

    @Option(name: .customLong("in"), help: ArgumentHelp("The extract (CSV).", valueName: "file"))
    var input: String
}

/// One agreement, named by file or by id, for the commands that read one.
struct AgreementSelection: ParsableArguments {
    @Argument(help: ArgumentHelp("An agreement file, or an agreement id.", valueName: "file-or-id"))
    var agreement: String

    @Option(name: .customLong("agreements-dir"), help: ArgumentHelp("Folder of agreements, for an id.", valueName: "dir"))
    var agreementsDirectory = "Agreements"

    @OptionGroup var schemaOptions: SchemaOptions

    func load() throws -> Agreement {
        try loadAgreement(agreement, folder: agreementsDirectory, catalogue: schemaOptions.catalogue())
    }
}

/// The agreements an extract is sent under: what of it may leave the agency (`ReleasePlan`).
struct ReleaseOptions: ParsableArguments {
    @Option(name: .customLong("agreement"), help: ArgumentHelp("An agreement (file or id) the extract is sent under; repeat for several. Only what every one permits is written. Without it, everything the schema lets leave.", valueName: "file-or-id"))
    var agreements: [String] = []

    @Option(help: ArgumentHelp("The sending agency's id, as the agreements name it (with --agreement).", valueName: "id"))
    var agency: String?

    @Option(name: .customLong("agreements-dir"), help: ArgumentHelp("Folder of agreements, for ids.", valueName: "dir"))
    var agreementsDirectory = "Agreements"

    @OptionGroup var schemaOptions: SchemaOptions

    func validate() throws {
        if !agreements.isEmpty && agency == nil { throw ValidationError("--agency is needed with --agreement: name the agency sending the extract") }
    }

    /// The release plan under the agreements, or `nil` without any.
    func plan(for schema: DatasetSchema) throws -> ReleasePlan? {
        guard !agreements.isEmpty, let agency else { return nil }
        let catalogue = try schemaOptions.catalogue()
        let loaded = try agreements.map { try loadAgreement($0, folder: agreementsDirectory, catalogue: catalogue) }
        return try ReleasePlan(schema: schema, agreements: loaded, agency: agency)
    }
}

/// `--format text|json`: for people, or for scripts and monitoring.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
