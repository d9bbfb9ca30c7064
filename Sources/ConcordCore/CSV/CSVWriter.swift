/// Appends RFC 4180 records to a byte buffer: fields are quoted only when they contain the
/// delimiter, a quote, CR or LF; records end with LF.
public struct CSVWriter: Sendable {
    public let delimiter: UInt8
    public private(set) var bytes: [UInt8] = []
    private var fieldsInRecord = 0

    public init(delimiter: UInt8 = UInt8(ascii: ","), capacity: Int = 0) {
        self.delimiter = delimiter
        bytes.reserveCapacity(capacity)
    }

    /// Appends a field whose bytes the caller writes and knows need no quoting (a match key).
    public mutating func appendPlainField(_ write: (inout [UInt8]) -> Void) {
        separate()
        write(&bytes)
    }

    /// Appends a field, quoting it when needed.
    public mutating func appendField(_ field: UnsafeBufferPointer<UInt8>) {
        separate()
        let quote = UInt8(ascii: "\"")
        let delimiter = self.delimiter
        guard field.contains(where: { $0 == delimiter || $0 == quote || $0 == 0x0A || $0 == 0x0D }) else {
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
        bytes.append(0x0A)
        fieldsInRecord = 0
    }

    /// Appends a whole record of strings.
    public mutating func appendRecord(_ fields: [String]) {
        for field in fields { appendField(field) }
        endRecord()
    }

    /// Hands over the bytes written so far and starts empty.
    public mutating func takeBytes() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: false) }
        return bytes
    }

    private mutating func separate() {
        if fieldsInRecord > 0 { bytes.append(delimiter) }
        fieldsInRecord += 1
    }
}
