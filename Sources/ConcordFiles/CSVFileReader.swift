import ConcordCore

/// Reads a CSV file chunk by chunk and hands back parsed batches, so any size of file is read in
/// bounded memory.
public struct CSVFileReader {
    public let input: InputFile
    private var parser: CSVParser
    private var ready: [CSVRecordBatch] = []
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var atEnd = false
    /// Bytes read so far, for progress.
    public private(set) var bytesRead = 0

    public init(input: InputFile, parser: CSVParser) {
        self.input = input
        self.parser = parser
    }

    /// The next batch of records, or `nil` at the end of the file.
    public mutating func next() throws -> CSVRecordBatch? {
        while ready.isEmpty && !atEnd {
            let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
            bytesRead += count
            do {
                if count == 0 {
                    atEnd = true
                    ready = try parser.finish()
                } else {
                    ready = try buffer.withUnsafeBytes { try parser.consume(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                }
            } catch let error as CSVError {
                throw CSVFileError.malformed(input.path, error)
            }
        }
        return ready.isEmpty ? nil : ready.removeFirst()
    }
}

/// A CSV file that cannot be read as CSV. Nothing is written when it is thrown.
public enum CSVFileError: Error, Sendable, CustomStringConvertible {
    case empty(String)
    case malformed(String, CSVError)
    /// The header line does not name the schema's columns.
    case header(String, HeaderMismatch)

    public var description: String {
        switch self {
        case .empty(let path): "\(path) is empty: a CSV file starts with a header line naming its columns"
        case .malformed(let path, let error): "\(path): \(error). Nothing was written."
        case .header(let path, let mismatch): "\(path): \(mismatch)"
        }
    }
}
