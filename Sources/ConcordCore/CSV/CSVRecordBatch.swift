/// Consecutive CSV records parsed from a stream, stored as one contiguous byte buffer so a batch
/// can move between tasks cheaply and be processed without an allocation per field.
public struct CSVRecordBatch: Sendable {
    /// Every field's unescaped bytes, back to back.
    var bytes: [UInt8] = []
    /// End offset in `bytes` of each field, across all records; a field starts where the previous ends.
    var fieldEnds: [Int] = []
    /// Index in `fieldEnds` of each record's first field.
    var recordFirstField: [Int] = []
    /// The physical line each record starts on (1-based; the header is line 1).
    public private(set) var lineNumbers: [Int] = []

    public init() {}

    /// Builds a batch from records given as strings (for tests and small inputs).
    public init(records: [[String]], firstLine: Int = 1) {
        for (offset, record) in records.enumerated() {
            for field in record {
                bytes.append(contentsOf: field.utf8)
                endField()
            }
            endRecord(line: firstLine + offset, firstField: fieldEnds.count - record.count)
        }
    }

    public var count: Int { lineNumbers.count }
    public var isEmpty: Bool { lineNumbers.isEmpty }
    /// Bytes held by the fields: a measure of the batch's memory.
    public var byteCount: Int { bytes.count }

    mutating func endField() {
        fieldEnds.append(bytes.count)
    }

    mutating func endRecord(line: Int, firstField: Int) {
        recordFirstField.append(firstField)
        lineNumbers.append(line)
    }

    /// Calls `body` with a view of each record in order.
    public func forEachRecord(_ body: (CSVRecord) throws -> Void) rethrows {
        try bytes.withUnsafeBufferPointer { base in
            for index in 0..<count {
                try body(record(index, in: base))
            }
        }
    }

    /// The first record as strings: the header, in the first batch of a file.
    public var firstRecord: [String]? {
        guard !isEmpty else { return nil }
        return bytes.withUnsafeBufferPointer { record(0, in: $0).strings }
    }

    private func record(_ index: Int, in base: UnsafeBufferPointer<UInt8>) -> CSVRecord {
        let end = index + 1 < count ? recordFirstField[index + 1] : fieldEnds.count
        return CSVRecord(base: base, fieldEnds: fieldEnds, fields: recordFirstField[index]..<end, line: lineNumbers[index])
    }

    /// The batch without its first record: the rows of a file's first batch, without the header.
    public func droppingFirstRecord() -> CSVRecordBatch {
        guard count > 1 else { return CSVRecordBatch() }
        let firstField = recordFirstField[1]
        let byteOffset = firstField == 0 ? 0 : fieldEnds[firstField - 1]
        var rest = CSVRecordBatch()
        rest.bytes = Array(bytes[byteOffset...])
        rest.fieldEnds = fieldEnds[firstField...].map { $0 - byteOffset }
        rest.recordFirstField = recordFirstField.dropFirst().map { $0 - firstField }
        rest.lineNumbers = Array(lineNumbers.dropFirst())
        return rest
    }

    /// The records as strings, for tests.
    public var strings: [[String]] {
        var records: [[String]] = []
        forEachRecord { records.append($0.strings) }
        return records
    }
}

/// A view of one record inside a batch. Valid only inside `CSVRecordBatch.forEachRecord`.
public struct CSVRecord {
    let base: UnsafeBufferPointer<UInt8>
    let fieldEnds: [Int]
    let fields: Range<Int>
    /// The physical line the record starts on.
    public let line: Int

    public var count: Int { fields.count }

    /// The bytes of field `index` (0-based), unescaped.
    public subscript(index: Int) -> UnsafeBufferPointer<UInt8> {
        let global = fields.lowerBound + index
        let start = global == 0 ? 0 : fieldEnds[global - 1]
        return UnsafeBufferPointer(rebasing: base[start..<fieldEnds[global]])
    }

    /// Each field decoded as UTF-8, with invalid sequences replaced.
    public var strings: [String] {
        (0..<count).map { String(decoding: self[$0], as: UTF8.self) }
    }
}
