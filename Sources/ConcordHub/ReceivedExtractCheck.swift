import ConcordCore

/// What the hub checks of a pseudonymised extract before it trusts a byte of it: the columns are
/// exactly the schema's pseudonymised layout (so no identifier or free-text column can slip in),
/// every match key is a well-formed pseudonym of a single linkage key version, and every
/// quasi-identifier is no finer than the schema's generalisation (a full date of birth or a full
/// postcode is refused, not stored). It catches a misconfigured or outdated agent at the door.
public struct ReceivedExtractCheck: Sendable {
    public let schema: DatasetSchema
    private let columns: [String]
    private let matchKeyColumns: Int
    private let generalisations: [Generalisation?]
    /// The encoding the release carries after the fields, if any.
    private let encoding: CLKParameters?
    /// The linkage key version of the first match key seen; every other must match it.
    public private(set) var keyVersion: Int?
    public private(set) var rowsChecked = 0

    /// - Parameter release: what the agreements let the agency send; by default what the schema lets leave.
    public init(schema: DatasetSchema, release: ReleasePlan? = nil) {
        let release = release ?? ReleasePlan(schema: schema)
        self.schema = schema
        columns = release.columns
        matchKeyColumns = release.matchKeys.count
        generalisations = release.fields.map(\.generalisation)
        encoding = release.encoding
    }

    /// Refuses a header that is not exactly the schema's pseudonymised columns, in order.
    public func checkHeader(_ header: [String]) throws(ReceivedExtractViolation) {
        let expected = columns
        guard header == expected else {
            let unexpected = header.filter { !expected.contains($0) }
            var reason = "the columns are not those of a pseudonymised \(schema.dataset) version \(schema.version) extract (expected \(expected.joined(separator: ", ")))"
            if !unexpected.isEmpty { reason += "; unknown columns: \(unexpected.joined(separator: ", "))" }
            throw ReceivedExtractViolation(line: 1, column: nil, reason: reason)
        }
    }

    /// Checks every record of `batch` (all but the first when it is the header).
    public mutating func check(_ batch: CSVRecordBatch, skippingFirst: Bool = false) -> [ReceivedExtractViolation] {
        var violations: [ReceivedExtractViolation] = []
        var isFirst = true
        batch.forEachRecord { record in
            defer { isFirst = false }
            if skippingFirst && isFirst { return }
            rowsChecked += 1
            guard record.count == columns.count else {
                violations.append(ReceivedExtractViolation(line: record.line, column: nil, reason: "has \(record.count) fields; expected \(columns.count)"))
                return
            }
            for index in 0..<matchKeyColumns where !record[index].isEmpty {
                if let reason = checkMatchKey(record[index]) {
                    violations.append(ReceivedExtractViolation(line: record.line, column: columns[index], reason: reason))
                }
            }
            for (offset, generalisation) in generalisations.enumerated() {
                let cell = record[matchKeyColumns + offset]
                guard let generalisation, !cell.isEmpty, !generalisation.admits(cell) else { continue }
                violations.append(ReceivedExtractViolation(line: record.line, column: columns[matchKeyColumns + offset],
                                                           reason: "is finer than the schema allows (\(generalisation))"))
            }
            if let encoding {
                let first = matchKeyColumns + generalisations.count
                for index in first..<columns.count where !record[index].isEmpty {
                    if let reason = Self.checkEncodingCell(record[index], isFilter: index == first, encoding: encoding) {
                        violations.append(ReceivedExtractViolation(line: record.line, column: columns[index], reason: reason))
                    }
                }
            }
        }
        return violations
    }

    /// A `clk` cell or a blocking token, made under the schema's encoding key version: encodings
    /// of another version are refused at the door rather than never compared later.
    private static func checkEncodingCell(_ cell: UnsafeBufferPointer<UInt8>, isFilter: Bool, encoding: CLKParameters) -> String? {
        let version: Int?
        if isFilter {
            guard let parsed = CLKFilter.parse(String(decoding: cell, as: UTF8.self)) else {
                return "is not an encoding (c<version>: and 171 base64url characters, docs/pprl.md)"
            }
            version = parsed.keyVersion
        } else {
            guard let tokenVersion = MatchKeyHasher.version(ofMatchKey: cell) else { return "is not a blocking token (k<version>: and 43 base64url characters)" }
            version = tokenVersion
        }
        guard version == encoding.keyVersion else {
            return "is encoded under linkage key version \(version ?? 0), but the schema's encoding is under version \(encoding.keyVersion) (\(encoding.fingerprint))"
        }
        return nil
    }

    private mutating func checkMatchKey(_ cell: UnsafeBufferPointer<UInt8>) -> String? {
        guard let version = MatchKeyHasher.version(ofMatchKey: cell) else {
            return "is not a match key (k<version>: and 43 base64url characters)"
        }
        if let keyVersion, keyVersion != version {
            return "is under linkage key version \(version) but the extract started with version \(keyVersion)"
        }
        keyVersion = version
        return nil
    }
}

/// Something in a received extract that the hub refuses.
public struct ReceivedExtractViolation: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: String?
    public var reason: String

    public init(line: Int, column: String?, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        column.map { "line \(line), column \($0): \(reason)" } ?? "line \(line): \(reason)"
    }
}
