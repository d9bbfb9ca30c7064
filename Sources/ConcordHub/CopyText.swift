import ConcordCore

/// PostgreSQL's `COPY … FROM STDIN` text format, written straight from parsed CSV records: fields
/// separated by tabs, records by newlines, backslash, tab, newline and carriage return escaped,
/// and an empty field written `\N` (NULL), as an absent value in the extract means unknown.
public enum CopyText {
    /// Appends every record of `batch` (all but the first when it is the header) to `output`.
    public static func append(_ batch: CSVRecordBatch, skippingFirst: Bool = false, to output: inout [UInt8]) {
        output.reserveCapacity(output.count + batch.byteCount + batch.count * 16)
        var isFirst = true
        batch.forEachRecord { record in
            defer { isFirst = false }
            if skippingFirst && isFirst { return }
            for index in 0..<record.count {
                if index > 0 { output.append(0x09) }
                appendField(record[index], to: &output)
            }
            output.append(0x0A)
        }
    }

    static func appendField(_ field: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        if field.isEmpty {
            output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
            return
        }
        guard field.contains(where: needsEscape) else {
            output.append(contentsOf: field)
            return
        }
        for byte in field {
            switch byte {
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: output.append(byte)
            }
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
