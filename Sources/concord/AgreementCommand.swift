import ArgumentParser
import ConcordCore
import ConcordFiles
import Foundation

struct AgreementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement",
        abstract: "Check, explain and export data sharing agreements.",
        discussion: "The format, concord-agreement/1, is specified in docs/agreements.md.",
        subcommands: [Lint.self, Show.self, Export.self, Apply.self, List.self, ChangeState.self, Terminate.self]
    )

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check agreements and report every problem.",
            discussion: """
            Checks the format and the meaning of each agreement against the dataset schemas: unknown
            datasets or fields, identifiers or free text permitted, generalisations finer than the
            schema's, linkage on keys the datasets lack, dates out of order, missing retention,
            special-category or criminal-offence data without an Article 9 or 10 condition, aggregate
            outputs without disclosure control, approval without approvers, and the same agreement
            version in two files.

            Each problem is printed as FILE:LINE:COLUMN: PATH: message [code]; with --format json,
            as a JSON array of {file, line, column, path, code, message}. Exits 0 only when there is
            no problem, 1 otherwise.

            Example:
              concord agreement lint Agreements/
            """
        )

        @Argument(help: ArgumentHelp("Agreement files, or folders of them.", valueName: "path"))
        var paths: [String]

        @OptionGroup var schemaOptions: SchemaOptions

        @Option(help: "Output format.")
        var format: OutputFormat = .text

        func validate() throws {
            if paths.isEmpty { throw ValidationError("name at least one agreement file or folder") }
        }

        func run() async throws {
            let catalogue = try schemaOptions.catalogue()
            let files = try paths.flatMap { path -> [String] in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue ? try DocumentFiles.yamlFiles(in: path) : [path]
            }
            let texts = files.map { (path: $0, text: (try? DocumentFiles.readText($0)) ?? "") }
            let unreadable = files.filter { (try? DocumentFiles.readText($0)) == nil }.map {
                DocumentProblem(file: $0, line: nil, column: nil, path: "", message: "cannot read the file as UTF-8 text")
            }
            let (agreements, found) = Agreement.load(files: texts.filter { file in !unreadable.contains { $0.file == file.path } }, catalogue: catalogue)
            let problems = unreadable + found
            switch format {
            case .text:
                for problem in problems { print("\(problem) [\(problem.code)]") }
                Console.note(problems.isEmpty
                    ? "\(agreements.count) agreements ok (\(files.count) files)"
                    : "\(problems.count) problems in \(Set(problems.map(\.file)).count) of \(files.count) files")
            case .json:
                let objects: [[String: Any]] = problems.map { problem in
                    ["file": problem.file, "line": problem.line as Any, "column": problem.column as Any,
                     "path": problem.path, "code": problem.code, "message": problem.message]
                }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            }
            if !problems.isEmpty { throw ExitCode(1) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise an agreement for an IG officer to check against the signed copy.",
            discussion: """
            Names the agreement by file, or by id (the latest version in --agreements-dir, default Agreements/).

            Example:
              concord agreement show early-help-domestic-abuse
            """
        )

        @OptionGroup var selection: AgreementSelection

        func run() async throws {
            print(try selection.load().summary)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export an agreement as a W3C ODRL 2.2 policy (JSON-LD).",
            discussion: """
            Permissions per dataset with purpose and validity constraints and a duty to delete at the
            end of retention, prohibitions for each prohibited use, and the deletion obligation when
            the agreement ends. Mapping: docs/agreements.md, section 6.

            Example:
              concord agreement export --odrl early-help.odrl.json early-help-domestic-abuse
            """
        )

        @Option(help: ArgumentHelp("Where to write the ODRL policy; - for standard output.", valueName: "file"))
        var odrl: String

        @OptionGroup var selection: AgreementSelection

        func run() async throws {
            let agreement = try selection.load()
            let json = agreement.odrlJSON() + Data("\n".utf8)
            if odrl == "-" {
                FileHandle.standardOutput.write(json)
            } else {
                try json.write(to: URL(fileURLWithPath: odrl), options: .atomic)
                Console.note("wrote the ODRL policy of \(agreement.id) version \(agreement.version) to \(odrl)")
            }
        }
    }
}

/// An agreement named by file, or by id (its latest version in `folder`).
func loadAgreement(_ name: String, folder: String, catalogue: SchemaCatalogue) throws -> Agreement {
    if FileManager.default.fileExists(atPath: name) {
        return try Agreement(yaml: DocumentFiles.readText(name), file: name, catalogue: catalogue)
    }
    let (agreements, _) = Agreement.load(files: try DocumentFiles.yamlFiles(in: folder).map { ($0, try DocumentFiles.readText($0)) }, catalogue: catalogue)
    guard let latest = agreements.filter({ $0.id == name }).max(by: { $0.version < $1.version }) else {
        throw ValidationError("no file \(name), and no valid agreement with id \(name) in \(folder)/ (concord agreement lint \(folder) says why)")
    }
    return latest
}

extension Agreement {
    /// A plain-text summary for people, in the order of a paper agreement.
    var summary: String {
        var lines: [String] = []
        lines.append("\(title)")
        lines.append("\(id) version \(version), \(status.rawValue), valid \(validFrom) to \(validUntil), next review \(nextReview)")
        lines.append("")
        lines.append("Purpose \(purpose.code): \(purpose.statement)")
        lines.append("  permitted uses:")
        lines += purpose.permittedUses.map { "    - \($0)" }
        lines.append("  prohibited: \(purpose.prohibitions.map { $0.rawValue.replacingOccurrences(of: "_", with: " ") }.joined(separator: "; "))")
        lines.append("")
        lines.append("Lawful basis:")
        lines.append("  Article 6: \(lawfulBasis.article6.name) (\(lawfulBasis.article6.citation))")
        if let clause = lawfulBasis.article9 { lines.append("  Article 9: \(clause.name) (\(clause.citation))") }
        if let clause = lawfulBasis.article10 { lines.append("  Article 10: \(clause.name) (\(clause.citation))") }
        lines.append("")
        lines.append("Providers:")
        for provider in providers {
            lines.append("  \(provider.name) [\(provider.agency)], \(provider.role.replacingOccurrences(of: "_", with: " ")); IG: \(provider.igContact.name) <\(provider.igContact.email)>")
            for dataset in provider.datasets {
                let fields = dataset.fields.map { field in field.generalisation.map { "\(field.field) (\($0))" } ?? field.field }
                lines.append("    \(dataset.dataset) v\(dataset.schemaVersion), kept \(dataset.retention): \(fields.joined(separator: ", "))")
            }
        }
        lines.append("Recipients:")
        for recipient in recipients {
            lines.append("  \(recipient.name) [\(recipient.group)]: \(recipient.people.map { "\($0.name) [\($0.id)]" }.joined(separator: ", ")); IG: \(recipient.igContact.name) <\(recipient.igContact.email)>")
        }
        lines.append("Signed by: \(signatories.map { "\($0.name), \($0.role), \($0.party), \($0.date)" }.joined(separator: "; "))")
        lines.append("")
        lines.append(linkage.permitted
            ? "Linkage: \(linkage.datasets.joined(separator: " + ")) on \(linkage.matchKeys.joined(separator: ", ")) (in that order)"
            : "Linkage: not permitted")
        var output = "Outputs: \(outputs.level == .aggregate ? "aggregate only" : "row level (pseudonymous person ids)")"
        if let minimum = outputs.minimumCellCount { output += ", cells under \(minimum) suppressed" }
        if let rounding = outputs.roundingBase { output += ", counts rounded to \(rounding)" }
        output += outputs.approvalRequired ? "; each request approved by one of \(outputs.approvers.joined(separator: ", "))" : "; no approval needed"
        lines.append(output)
        lines.append("After the agreement ends: data deleted within \(deleteWithinAfterEnd)")
        lines.append("Security: encryption in transit \(security.encryptionInTransit), at rest \(security.encryptionAtRest); analysts work in a \(security.analystEnvironment.replacingOccurrences(of: "_", with: " "))")
        return lines.joined(separator: "\n")
    }
}
