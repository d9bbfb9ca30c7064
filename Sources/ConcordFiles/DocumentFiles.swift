import ConcordCore
import Foundation

/// Schemas, agreements and configuration files read from disk, with problems that name the file.
public enum DocumentFiles {
    /// The whole file as UTF-8 text (documents are small: schemas, agreements, configuration).
    public static func readText(_ path: String) throws(InvalidDocumentError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InvalidDocumentError(problems: [DocumentProblem(file: path, line: nil, column: nil, path: "", message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InvalidDocumentError(problems: [DocumentProblem(file: path, line: nil, column: nil, path: "", message: "not UTF-8 text")])
        }
        return text
    }

    /// The `.yaml` and `.yml` files directly in a folder, sorted.
    public static func yamlFiles(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .sorted()
            .map { "\(directory)/\($0)" }
    }

    public static func loadSchema(_ path: String) throws(InvalidDocumentError) -> DatasetSchema {
        try DatasetSchema(yaml: readText(path), file: path)
    }

    /// Every dataset schema in a folder.
    public static func loadCatalogue(_ directory: String) throws -> SchemaCatalogue {
        SchemaCatalogue(try yamlFiles(in: directory).map { try loadSchema($0) })
    }
}
