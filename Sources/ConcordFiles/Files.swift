#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file read sequentially in chunks, without loading it whole.
public final class InputFile {
    public let path: String
    /// Size in bytes when opened, for progress.
    public let size: Int
    private let descriptor: Int32

    public init(path: String) throws(FileError) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: path, action: "open", code: errno) }
        var status = stat()
        fstat(descriptor, &status)
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Calls `body` with each successive piece of the file, up to `chunkSize` bytes at a time.
    public func forEachChunk(chunkSize: Int = 1 << 20, _ body: (ArraySlice<UInt8>) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try read(into: $0) }
            if count == 0 { return }
            try body(buffer[..<count])
        }
    }

    /// Reads up to `buffer.count` bytes; returns how many, 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw FileError(path: path, action: "read", code: errno) }
        }
    }
}

/// A file that appears at its path complete or not at all: written under a temporary name in the
/// same directory, flushed to disk, then renamed into place. A crash or an error leaves the
/// destination untouched, so nobody ever reads half an extract.
public final class AtomicOutputFile {
    public let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    /// - Parameter mode: permissions of the final file.
    public init(path: String, mode: mode_t = 0o640) throws(FileError) {
        self.path = path
        var template = Array("\(path).partial-XXXXXX".utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw FileError(path: path, action: "create", code: errno) }
        temporaryPath = String(cString: template)
        fchmod(descriptor, mode)
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    deinit { abandon() }

    public func write(_ bytes: some Collection<UInt8>) throws(FileError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// The bytes written so far that are still in memory.
    public var bufferedByteCount: Int { buffer.count }

    /// Flushes, syncs and renames the file into place.
    public func commit() throws(FileError) {
        try flush()
        guard fsync(descriptor) == 0 else { throw FileError(path: path, action: "sync", code: errno) }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw FileError(path: path, action: "rename into place", code: code)
        }
    }

    /// Deletes the temporary file; the destination is left as it was. Idempotent.
    public func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }

    private func flush() throws(FileError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, action: "write", code: errno)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Creates a directory and its missing parents, like `mkdir -p`.
public func createDirectory(_ path: String, mode: mode_t = 0o755) throws(FileError) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        prefix += component
        if mkdir(prefix, mode) != 0, errno != EEXIST {
            throw FileError(path: prefix, action: "create directory", code: errno)
        }
        prefix += "/"
    }
    var status = stat()
    guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
        throw FileError(path: path, action: "use as a directory", code: ENOTDIR)
    }
}

/// A file operation that failed, with the operating system's reason.
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var action: String
    /// The `errno` value.
    public var code: Int32

    public init(path: String, action: String, code: Int32) {
        self.path = path
        self.action = action
        self.code = code
    }

    public var description: String {
        "cannot \(action) \(path): \(String(cString: strerror(code)))"
    }
}
