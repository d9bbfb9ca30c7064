/// Matches an extract's header to its schema. A mismatch stops everything before a row is
/// written: an unexpected column might hold an identifier the schema does not know to protect.
public enum ExtractHeader {
    /// For each schema field, in schema order, the index of its column in the extract.
    public static func columns(of header: [String], for schema: DatasetSchema) throws(HeaderMismatch) -> [Int] {
        let names = header.map { String($0.trimmingASCIISpaces) }
        var indexByName: [String: Int] = [:]
        var duplicated: [String] = []
        for (index, name) in names.enumerated() where indexByName.updateValue(index, forKey: name) != nil {
            duplicated.append(name)
        }
        let expected = Set(schema.fields.map(\.name))
        let missing = schema.fields.map(\.name).filter { indexByName[$0] == nil }
        let unexpected = names.filter { !expected.contains($0) }
        guard missing.isEmpty, unexpected.isEmpty, duplicated.isEmpty else {
            throw HeaderMismatch(dataset: schema.dataset, version: schema.version, schemaFields: schema.fields.count,
                                 missing: missing, unexpected: unexpected, duplicated: duplicated)
        }
        return schema.fields.map { indexByName[$0.name]! }
    }
}

/// The extract's header does not name exactly the schema's fields.
public struct HeaderMismatch: Error, Sendable, Equatable, CustomStringConvertible {
    public var dataset: String
    public var version: Int
    /// How many fields the schema has.
    public var schemaFields: Int
    public var missing: [String]
    public var unexpected: [String]
    public var duplicated: [String]

    public init(dataset: String, version: Int, schemaFields: Int, missing: [String], unexpected: [String], duplicated: [String]) {
        self.dataset = dataset
        self.version = version
        self.schemaFields = schemaFields
        self.missing = missing
        self.unexpected = unexpected
        self.duplicated = duplicated
    }

    public var description: String {
        let advice = " Nothing was written. Export the columns the schema lists, or update the schema first."
        // Not one column the schema names: the first line is most likely a record (the header was
        // left out) or not split at all (another delimiter or encoding). Its cells are then data,
        // perhaps names and dates of birth, which an error must never repeat.
        if unexpected.count + duplicated.count > 0 && missing.count == schemaFields {
            let cells = unexpected.count + duplicated.count
            return "the first line names none of dataset \(dataset) version \(version)'s columns (it has \(cells) \(cells == 1 ? "cell" : "cells")):"
                + " is the header line missing, or is the file not UTF-8 CSV with the schema's delimiter?" + advice
        }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing columns: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("columns the schema does not know: \(Self.shown(unexpected))") }
        if !duplicated.isEmpty { parts.append("columns named twice: \(Self.shown(duplicated))") }
        return "the header does not match dataset \(dataset) version \(version): \(parts.joined(separator: "; "))." + advice
    }

    /// Column names from the file, as a message shows them: the first ten, each cut to 40
    /// characters with control and non-ASCII characters escaped, and how many more there are.
    static func shown(_ names: [String]) -> String {
        let shown = names.prefix(10).map { name in
            name.unicodeScalars.prefix(40).map { $0.escaped(asASCII: true) }.joined() + (name.unicodeScalars.count > 40 ? "…" : "")
        }
        return shown.joined(separator: ", ") + (names.count > 10 ? " and \(names.count - 10) more" : "")
    }
}
