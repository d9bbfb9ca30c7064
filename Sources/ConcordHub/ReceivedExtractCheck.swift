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
                guard let generalisation, !cell.isEmpty, !Self.isGeneralised(cell, as: generalisation) else { continue }
                violations.append(ReceivedExtractViolation(line: record.line, column: columns[matchKeyColumns + offset],
                                                           reason: "is finer than the schema allows (\(generalisation))"))
            }
        }
        return violations
    }

    /// `k<version>:` and 43 base64url characters (32 bytes, unpadded).
    private mutating func checkMatchKey(_ cell: UnsafeBufferPointer<UInt8>) -> String? {
        guard let colon = cell.firstIndex(of: UInt8(ascii: ":")), cell.first == UInt8(ascii: "k"),
              let version = Self.decimal(UnsafeBufferPointer(rebasing: cell[1..<colon])), (1...65535).contains(version),
              cell.count - colon - 1 == 43,
              cell[(colon + 1)...].allSatisfy(Self.isBase64URL) else {
            return "is not a match key (k<version>: and 43 base64url characters)"
        }
        if let keyVersion, keyVersion != version {
            return "is under linkage key version \(version) but the extract started with version \(keyVersion)"
        }
        keyVersion = version
        return nil
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26 || byte &- 0x30 < 10 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    /// Whether a cell has exactly the shape the generalisation produces. Byte by byte, without
    /// strings or regular expressions: it runs on every generalised cell of every extract.
    static func isGeneralised(_ cell: UnsafeBufferPointer<UInt8>, as generalisation: Generalisation) -> Bool {
        func digits(_ part: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool { !part.isEmpty && part.allSatisfy(ASCIIByte.isDigit) }
        switch generalisation {
        case .year:
            return cell.count == 4 && digits(cell[...])
        case .yearMonth:
            guard cell.count == 7, cell[4] == UInt8(ascii: "-"), digits(cell[0..<4]), digits(cell[5..<7]) else { return false }
            let month = Int(cell[5] - 0x30) * 10 + Int(cell[6] - 0x30)
            return (1...12).contains(month)
        case .postcodeDistrict:
            return isOutward(cell[...])
        case .postcodeSector:
            guard cell.count >= 4, cell[cell.count - 2] == UInt8(ascii: " "), ASCIIByte.isDigit(cell[cell.count - 1]) else { return false }
            return isOutward(cell[0..<(cell.count - 2)])
        case .postcodeArea:
            return (1...3).contains(cell.count) && cell.allSatisfy { $0 &- 0x41 < 26 }
        case .band(let width):
            // "<low>-<high>", each optionally negative: the separator is the first '-' after a digit.
            guard let separator = cell.indices.dropFirst().first(where: { cell[$0] == UInt8(ascii: "-") && ASCIIByte.isDigit(cell[$0 - 1]) }),
                  let low = signedDecimal(cell[..<separator]), let high = signedDecimal(cell[(separator + 1)...]) else { return false }
            return high == low + width - 1 && low % width == 0
        }
    }

    /// An outward code is what precedes a valid inward code.
    private static func isOutward(_ part: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        if part.elementsEqual("GIR".utf8) { return true }
        guard (2...4).contains(part.count) else { return false }
        var candidate = Array(part)
        candidate.append(contentsOf: [UInt8(ascii: "1"), UInt8(ascii: "A"), UInt8(ascii: "A")])
        return candidate.withUnsafeBufferPointer { Postcode($0) } != nil
    }

    private static func signedDecimal(_ part: UnsafeBufferPointer<UInt8>.SubSequence) -> Int? {
        if part.first == UInt8(ascii: "-") { return decimal(UnsafeBufferPointer(rebasing: part.dropFirst())).map { -$0 } }
        return decimal(UnsafeBufferPointer(rebasing: part))
    }

    /// Plain decimal digits, at most 9 of them.
    private static func decimal(_ part: UnsafeBufferPointer<UInt8>) -> Int? {
        guard (1...9).contains(part.count), part.allSatisfy(ASCIIByte.isDigit) else { return nil }
        return part.reduce(0) { $0 * 10 + Int($1 - 0x30) }
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

private enum ASCIIByte {
    static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
}
