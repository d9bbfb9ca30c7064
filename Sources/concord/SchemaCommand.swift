import ArgumentParser
import ConcordCore
import ConcordFiles
import Foundation

struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Check and explain dataset schemas.",
        subcommands: [Check.self, Show.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check dataset schemas and report every problem.",
            discussion: """
            Each problem is reported as FILE:LINE:COLUMN: FIELD-PATH: message. Exits 1 if any file
            is invalid. The format is specified in docs/dataset-schema.md.

            Example:
              concord schema check Schemas/datasets/*.yaml
            """
        )

        @Argument(help: ArgumentHelp("Dataset schema files (YAML).", valueName: "file"))
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("name at least one schema file") }
        }

        func run() async throws {
            var invalid = 0
            for file in files {
                do {
                    let schema = try DocumentFiles.loadSchema(file)
                    print("\(file): ok: \(schema.dataset) version \(schema.version), \(schema.fields.count) fields, \(schema.matchKeys.count) match keys")
                } catch {
                    invalid += 1
                    for problem in error.problems { print(problem) }
                }
            }
            if invalid > 0 {
                Console.note("\(invalid) of \(files.count) schemas are invalid")
                throw ExitCode(1)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain what a schema lets leave the agency.",
            discussion: """
            Lists each field with its role and what becomes of it, then the match keys and the
            columns of a pseudonymised extract.

            Example:
              concord schema show Schemas/datasets/police_da_incidents.yaml
            """
        )

        @Argument(help: ArgumentHelp("A dataset schema file.", valueName: "file"))
        var file: String

        func run() async throws {
            let schema = try DocumentFiles.loadSchema(file)
            print("\(schema.dataset) version \(schema.version): \(schema.title)")
            print("\nfields:")
            for field in schema.fields {
                let fate = switch field.role {
                case .identifier: "never leaves; used only for match keys"
                case .quasiIdentifier: "leaves generalised to \(field.generalisation.map(String.init(describing:)) ?? "?")"
                case .attribute: "leaves as is (normalised)"
                case .freeText: "never leaves"
                }
                let identity = field.identity.map { ", identity \($0)" } ?? ""
                print("  \(field.name) (\(field.type.keyword)\(field.required ? ", required" : "")\(identity)): \(fate)")
            }
            print("\nmatch keys:")
            for key in schema.matchKeys {
                let alias = key.hashedAs == key.name ? "" : " (compared with \(key.hashedAs))"
                print("  \(key.name) = \(key.components.map(\.description).joined(separator: " + "))\(alias)")
            }
            print("\npseudonymised columns: \(schema.pseudonymisedColumns.joined(separator: ", "))")
        }
    }
}

/// Loads a schema file, turning read failures into the same problem format as content errors.
