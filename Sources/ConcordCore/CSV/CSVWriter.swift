/// Appends RFC 4180 records to a byte buffer: fields are quoted only when they contain the
/// delimiter, a quote, CR or LF, or when `CSVParser` would otherwise not read them back (a
/// record of one empty field, which unquoted is a blank line, and a first field starting with a
/// byte-order mark); records end with LF.
public struct CSVWriter: Sendable {
    public let delimiter: UInt8
    public private(set) var bytes: [UInt8] = []
    private var fieldsInRecord = 0
    /// Where the current record starts in `bytes`.
    private var recordStart = 0
    /// Nothing has been written yet, so a byte-order mark at the start would be taken as the file's.
    private var atStreamStart = true

    public init(delimiter: UInt8 = UInt8(ascii: ","), capacity: Int = 0) {
        self.delimiter = delimiter
        bytes.reserveCapacity(capacity)
    }

    /// Appends a field whose bytes the caller writes and knows need no quoting (a match key).
    public mutating func appendPlainField(_ write: (inout [UInt8]) -> Void) {
        separate()
        atStreamStart = false
        write(&bytes)
    }

    /// Appends a field, quoting it when needed.
    public mutating func appendField(_ field: UnsafeBufferPointer<UInt8>) {
        separate()
        let quote = UInt8(ascii: "\"")
        let delimiter = self.delimiter
        let startsWithByteOrderMark = atStreamStart && field.starts(with: [0xEF, 0xBB, 0xBF])
        atStreamStart = false
        guard startsWithByteOrderMark || field.contains(where: { $0 == delimiter || $0 == quote || $0 == 0x0A || $0 == 0x0D }) else {
            bytes.append(contentsOf: field)
            return
        }
        bytes.append(quote)
        for byte in field {
            if byte == quote { bytes.append(quote) }
            bytes.append(byte)
        }
        bytes.append(quote)
    }

    public mutating func appendField(_ field: String) {
        var field = field
        field.withUTF8 { appendField($0) }
    }

    /// Appends an empty field.
    public mutating func appendEmptyField() {
        separate()
    }

    /// Ends the current record.
    public mutating func endRecord() {
        if fieldsInRecord == 1 && bytes.count == recordStart {
            bytes += [UInt8(ascii: "\""), UInt8(ascii: "\"")]
        }
        bytes.append(0x0A)
        fieldsInRecord = 0
        recordStart = bytes.count
        atStreamStart = false
    }

    /// Appends a whole record of strings.
    public mutating func appendRecord(_ fields: [String]) {
        for field in fields { appendField(field) }
        endRecord()
    }

    /// Hands over the bytes written so far and starts empty.
    public mutating func takeBytes() -> [UInt8] {
        defer {
            bytes.removeAll(keepingCapacity: false)
            recordStart = 0
        }
        return bytes
    }

    private mutating func separate() {
        if fieldsInRecord > 0 { bytes.append(delimiter) }
        fieldsInRecord += 1
    }
}
