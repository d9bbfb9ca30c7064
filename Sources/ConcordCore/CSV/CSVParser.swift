/// A streaming RFC 4180 CSV parser over bytes: feed it chunks of any size and it hands back
/// batches of complete records, so memory stays bounded by the batch size and the largest
/// record, whatever the size of the file.
///
/// Accepts quoted fields with embedded quotes, delimiters and line breaks; CRLF, LF or CR line
/// ends; a leading UTF-8 byte-order mark; and skips blank lines. It refuses (with the line) a quote
/// inside an unquoted field, text after a closing quote, an unterminated quoted field, and a record
/// larger than `maximumRecordBytes`. It does not decode text: fields stay bytes.
public struct CSVParser: Sendable {
    public static let defaultMaximumRecordBytes = 1 << 20

    public let delimiter: UInt8
    public let maximumRecordBytes: Int
    /// Records per batch handed back by `consume`.
    public let batchSize: Int

    private enum State: Sendable {
        case recordStart, fieldStart, unquoted, quoted, quoteInQuoted
    }

    private var state = State.recordStart
    private var batch = CSVRecordBatch()
    private var line = 1
    private var recordLine = 1
    private var quoteLine = 1
    private var recordByteStart = 0
    private var recordFirstField = 0
    /// A CR just ended a line, so an LF right after it belongs to the same line break.
    private var afterCR = false
    private var byteOrderMarkPrefix: [UInt8]? = []

    public init(delimiter: UInt8 = UInt8(ascii: ","), maximumRecordBytes: Int = CSVParser.defaultMaximumRecordBytes, batchSize: Int = 4096) {
        precondition(delimiter != UInt8(ascii: "\"") && delimiter != 0x0A && delimiter != 0x0D, "invalid CSV delimiter")
        self.delimiter = delimiter
        self.maximumRecordBytes = maximumRecordBytes
        self.batchSize = max(1, batchSize)
    }

    /// Parses the next chunk of the stream; returns the batches it completed (usually none or one).
    public mutating func consume(_ chunk: UnsafeRawBufferPointer) throws(CSVError) -> [CSVRecordBatch] {
        var completed: [CSVRecordBatch] = []
        var bytes = chunk.bindMemory(to: UInt8.self)
        if var prefix = byteOrderMarkPrefix {
            let take = min(3 - prefix.count, bytes.count)
            prefix.append(contentsOf: bytes[0..<take])
            bytes = UnsafeBufferPointer(rebasing: bytes[take...])
            guard prefix.count == 3 else {
                byteOrderMarkPrefix = prefix
                return completed
            }
            byteOrderMarkPrefix = nil
            if prefix != [0xEF, 0xBB, 0xBF] {
                try prefix.withUnsafeBufferPointer { (prefixBytes) throws(CSVError) in try parse(prefixBytes, into: &completed) }
            }
        }
        try parse(bytes, into: &completed)
        return completed
    }

    /// Ends the stream: completes a last record without a line break and returns the batches
    /// still held (at most one unless the stream was shorter than a byte-order mark).
    public mutating func finish() throws(CSVError) -> [CSVRecordBatch] {
        var completed: [CSVRecordBatch] = []
        if let prefix = byteOrderMarkPrefix {
            byteOrderMarkPrefix = nil
            if prefix != [0xEF, 0xBB, 0xBF] {
                try prefix.withUnsafeBufferPointer { (prefixBytes) throws(CSVError) in try parse(prefixBytes, into: &completed) }
            }
        }
        switch state {
        case .quoted:
            throw CSVError(line: quoteLine, kind: .unterminatedQuotedField)
        case .fieldStart, .unquoted, .quoteInQuoted:
            batch.endField()
            endRecord(into: &completed)
        case .recordStart:
            break
        }
        if !batch.isEmpty {
            completed.append(batch)
            batch = CSVRecordBatch()
        }
        return completed
    }

    private mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>, into completed: inout [CSVRecordBatch]) throws(CSVError) {
        let quote = UInt8(ascii: "\"")
        let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A
        let delimiter = self.delimiter
        var index = 0
        let end = bytes.count
        while index < end {
            switch state {
            case .recordStart:
                let byte = bytes[index]
                if byte == lf || byte == cr {
                    countLineBreak(byte)
                    index += 1
                    continue
                }
                afterCR = false
                recordLine = line
                recordByteStart = batch.bytes.count
                recordFirstField = batch.fieldEnds.count
                state = .fieldStart

            case .fieldStart:
                if bytes[index] == quote {
                    state = .quoted
                    quoteLine = line
                    index += 1
                } else {
                    state = .unquoted
                }

            case .unquoted:
                let start = index
                while index < end {
                    let byte = bytes[index]
                    if byte == delimiter || byte == quote || byte == cr || byte == lf { break }
                    index += 1
                }
                try append(bytes, start..<index)
                guard index < end else { break }
                let byte = bytes[index]
                index += 1
                if byte == delimiter {
                    batch.endField()
                    state = .fieldStart
                } else if byte == quote {
                    throw CSVError(line: line, kind: .quoteInUnquotedField)
                } else {
                    batch.endField()
                    countLineBreak(byte)
                    endRecord(into: &completed)
                }

            case .quoted:
                let start = index
                while index < end {
                    let byte = bytes[index]
                    if byte == quote { break }
                    if byte == lf || byte == cr {
                        countLineBreak(byte)
                    } else {
                        afterCR = false
                    }
                    index += 1
                }
                try append(bytes, start..<index)
                if index < end {
                    state = .quoteInQuoted
                    index += 1
                }

            case .quoteInQuoted:
                let byte = bytes[index]
                index += 1
                if byte == quote {
                    try append(bytes, (index - 1)..<index)
                    state = .quoted
                } else if byte == delimiter {
                    batch.endField()
                    state = .fieldStart
                } else if byte == lf || byte == cr {
                    batch.endField()
                    countLineBreak(byte)
                    endRecord(into: &completed)
                } else {
                    throw CSVError(line: line, kind: .textAfterClosingQuote)
                }
            }
        }
    }

    private mutating func countLineBreak(_ byte: UInt8) {
        if byte == 0x0D {
            line += 1
            afterCR = true
        } else if afterCR {
            afterCR = false
        } else {
            line += 1
        }
    }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(CSVError) {
        guard !range.isEmpty else { return }
        guard batch.bytes.count - recordByteStart + range.count <= maximumRecordBytes else {
            throw CSVError(line: recordLine, kind: .recordTooLarge(maximumBytes: maximumRecordBytes))
        }
        batch.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
    }

    private mutating func endRecord(into completed: inout [CSVRecordBatch]) {
        batch.endRecord(line: recordLine, firstField: recordFirstField)
        state = .recordStart
        if batch.count >= batchSize {
            completed.append(batch)
            var next = CSVRecordBatch()
            next.bytes.reserveCapacity(batch.bytes.count)
            next.fieldEnds.reserveCapacity(batch.fieldEnds.count)
            batch = next
        }
    }
}

/// Why a CSV stream could not be parsed, and where.
public struct CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case quoteInUnquotedField
        case textAfterClosingQuote
        case unterminatedQuotedField
        case recordTooLarge(maximumBytes: Int)
    }

    /// The line where the problem is (for an unterminated field, where its opening quote is).
    public var line: Int
    public var kind: Kind

    public init(line: Int, kind: Kind) {
        self.line = line
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .quoteInUnquotedField:
            "line \(line): a quote inside an unquoted field; a field containing quotes must be enclosed in quotes, with each inner quote doubled"
        case .textAfterClosingQuote:
            "line \(line): text after the closing quote of a field; an inner quote must be doubled (\"\")"
        case .unterminatedQuotedField:
            "line \(line): a quoted field starts here and is never closed"
        case .recordTooLarge(let maximum):
            "line \(line): the record is larger than \(maximum) bytes, so the file is probably not CSV with this delimiter (or a quote is never closed)"
        }
    }
}
