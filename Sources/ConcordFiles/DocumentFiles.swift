import ConcordCore
import Foundation

/// Schemas, agreements and configuration files read from disk, with problems that name the file.
public enum DocumentFiles {
    /// The whole file as UTF-8 text (documents are small: schemas, agreements, configuration).
    /// Reads at most one byte more than a document may have, so a huge file (or a device that
    /// never ends) is refused without being read into memory.
    public static func readText(_ path: String) throws(InvalidDocumentError) -> String {
        func refuse(_ message: String) -> InvalidDocumentError {
            InvalidDocumentError(problems: [DocumentProblem(file: path, line: nil, column: nil, path: "", message: message)])
        }
        let limit = YAMLDocumentReader.maximumDocumentBytes
        guard let handle = FileHandle(forReadingAtPath: path) else { throw refuse("cannot read the file") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: limit + 1) ?? Data() } catch { throw refuse("cannot read the file") }
        guard data.count <= limit else { throw refuse("the file is more than \(limit) bytes; documents are at most \(limit)") }
        guard let text = String(data: data, encoding: .utf8) else { throw refuse("not UTF-8 text") }
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
