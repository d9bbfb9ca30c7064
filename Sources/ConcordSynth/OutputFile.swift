import ConcordCore
import ConcordFiles

/// A CSV file that appears complete or not at all (an `AtomicOutputFile`), which counts physical
/// lines, so that a record's line number is known even when a quoted field holds line breaks.
final class CSVOutputFile {
    let path: String
    private let file: AtomicOutputFile
    private var writer: CSVWriter
    /// The line the next record starts on.
    private(set) var nextLine = 1
    private static let flushThreshold = 1 << 20

    init(path: String, delimiter: UInt8) throws(FileError) {
        self.path = path
        file = try AtomicOutputFile(path: path, mode: 0o644)
        writer = CSVWriter(delimiter: delimiter, capacity: Self.flushThreshold + 64 * 1024)
    }

    /// Appends a record; returns the line it starts on.
    /// - Parameter quoting: which fields may need quoting (all when `nil`).
    @discardableResult
    func append(_ fields: [String], quoting: [Bool]? = nil) throws(FileError) -> Int {
        let line = nextLine
        let start = writer.bytes.count
        if let quoting { writer.appendRecord(fields, quoting: quoting) } else { writer.appendRecord(fields) }
        nextLine += countLineBreaks(writer.bytes, from: start)
        if writer.bytes.count >= Self.flushThreshold { try flush() }
        return line
    }

    /// Appends records already encoded in this file's dialect, which span `lines` lines.
    func appendEncoded(_ bytes: ArraySlice<UInt8>, lines: Int) throws(FileError) {
        try flush()
        try file.write(bytes)
        nextLine += lines
    }

    /// Appends a `truth.csv` record (`dataset,line,person_id`; nothing in it needs quoting).
    func appendTruth(dataset: SynthDataset, line: Int, person: Int) throws(FileError) {
        writer.appendPlainField { bytes in
            bytes.append(contentsOf: dataset.rawValue.utf8)
            bytes.append(UInt8(ascii: ","))
            ASCIIText.appendDecimal(line, width: 1, to: &bytes)
            bytes.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: "P")])
            ASCIIText.appendDecimal(person + 1, width: 6, to: &bytes)
        }
        writer.endRecord()
        nextLine += 1
        if writer.bytes.count >= Self.flushThreshold { try flush() }
    }

    private func flush() throws(FileError) {
        try file.write(writer.takeBytes())
    }

    /// Writes what is buffered and renames the file into place.
    func commit() throws(FileError) {
        try flush()
        try file.commit()
    }

    /// Deletes the temporary file. Idempotent.
    func abandon() {
        file.abandon()
    }
}

/// Line feeds in `bytes[start...]`: the physical lines a record written there spans (line breaks
/// inside quoted fields, plus the one that ends it).
func countLineBreaks(_ bytes: [UInt8], from start: Int) -> Int {
    bytes.withUnsafeBufferPointer { buffer in
        var count = 0
        for index in start..<buffer.count where buffer[index] == 0x0A { count += 1 }
        return count
    }
}

extension CSVWriter {
    /// Appends a record, checking for characters that need quoting only in the fields `quoting`
    /// marks: the others are copied as they are, which is most of the cost of writing a row saved.
    mutating func appendRecord(_ fields: [String], quoting: [Bool]) {
        for (field, mayNeedQuoting) in zip(fields, quoting) {
            if mayNeedQuoting {
                appendField(field)
            } else {
                assert(!field.utf8.contains { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D },
                       "a field not marked for quoting needs it")
                appendPlainField { $0.append(contentsOf: field.utf8) }
            }
        }
        endRecord()
    }
}
