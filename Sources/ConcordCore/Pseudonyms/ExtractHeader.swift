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
            throw HeaderMismatch(dataset: schema.dataset, version: schema.version, missing: missing, unexpected: unexpected, duplicated: duplicated)
        }
        return schema.fields.map { indexByName[$0.name]! }
    }
}

/// The extract's header does not name exactly the schema's fields.
public struct HeaderMismatch: Error, Sendable, Equatable, CustomStringConvertible {
    public var dataset: String
    public var version: Int
    public var missing: [String]
    public var unexpected: [String]
    public var duplicated: [String]

    public init(dataset: String, version: Int, missing: [String], unexpected: [String], duplicated: [String]) {
        self.dataset = dataset
        self.version = version
        self.missing = missing
        self.unexpected = unexpected
        self.duplicated = duplicated
    }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing columns: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("columns the schema does not know: \(unexpected.joined(separator: ", "))") }
        if !duplicated.isEmpty { parts.append("columns named twice: \(duplicated.joined(separator: ", "))") }
        return "the header does not match dataset \(dataset) version \(version): \(parts.joined(separator: "; "))."
            + " Nothing was written. Export the columns the schema lists, or update the schema first."
    }
}
