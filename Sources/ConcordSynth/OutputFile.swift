import ConcordCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why synthetic files could not be written.
public struct SynthError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var action: String
    /// The `errno` value.
    public var code: Int32

    public var description: String {
        "cannot \(action) \(path): \(String(cString: strerror(code)))"
    }
}

/// A CSV file written in 1 MiB pieces under a temporary name in its directory and renamed into
/// place when complete, so a reader never sees half a file. Counts physical lines, so that a
/// record's line number is known even when a quoted field holds line breaks.
final class CSVOutputFile {
    let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var writer: CSVWriter
    /// The line the next record starts on.
    private(set) var nextLine = 1
    private static let flushThreshold = 1 << 20

    init(path: String, delimiter: UInt8) throws(SynthError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(directory).\(name).partial-XXXXXX".utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw SynthError(path: path, action: "create", code: errno) }
        temporaryPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fchmod(descriptor, 0o644)
        writer = CSVWriter(delimiter: delimiter, capacity: Self.flushThreshold + 64 * 1024)
    }

    deinit { abandon() }

    /// Appends a record; returns the line it starts on.
    /// - Parameter quoting: which fields may need quoting (all when `nil`).
    @discardableResult
    func append(_ fields: [String], quoting: [Bool]? = nil) throws(SynthError) -> Int {
        let line = nextLine
        let start = writer.bytes.count
        if let quoting { writer.appendRecord(fields, quoting: quoting) } else { writer.appendRecord(fields) }
        nextLine += countLineBreaks(writer.bytes, from: start)
        if writer.bytes.count >= Self.flushThreshold { try flush() }
        return line
    }

    /// Appends records already encoded in this file's dialect, which span `lines` lines.
    func appendEncoded(_ bytes: ArraySlice<UInt8>, lines: Int) throws(SynthError) {
        try flush()
        try writeAll(bytes)
        nextLine += lines
    }

    /// Appends a `truth.csv` record (`dataset,line,person_id`; nothing in it needs quoting).
    func appendTruth(dataset: SynthDataset, line: Int, person: Int) throws(SynthError) {
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

    private func flush() throws(SynthError) {
        try writeAll(writer.takeBytes()[...])
    }

    private func writeAll(_ bytes: ArraySlice<UInt8>) throws(SynthError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw SynthError(path: path, action: "write", code: errno)
            }
            offset += written
        }
    }

    /// Writes what is buffered and renames the file into place.
    func commit() throws(SynthError) {
        try flush()
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw SynthError(path: path, action: "rename into place", code: code)
        }
    }

    /// Deletes the temporary file. Idempotent.
    func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }
}

/// Creates a directory and its parents (like `mkdir -p`).
func makeDirectory(_ path: String) throws(SynthError) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        prefix += component
        if mkdir(prefix, 0o755) != 0, errno != EEXIST {
            throw SynthError(path: prefix, action: "create directory", code: errno)
        }
        prefix += "/"
    }
    var status = stat()
    guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
        throw SynthError(path: path, action: "use as a directory", code: ENOTDIR)
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
