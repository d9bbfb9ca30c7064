import ConcordCore
import ConcordFiles
import Crypto
import Hummingbird
#if canImport(Glibc)
import Glibc
#endif

/// Envelopes being received, one file each under `<data_dir>/uploads`, named by header digest.
/// The database's `received` is the truth: bytes past it (a write cut short by a crash) are cut
/// off before the next piece is written, and a piece is acknowledged only once it is on disk.
struct UploadSpool: Sendable {
    let directory: String

    init(directory: String) throws {
        try createDirectory(directory, mode: 0o700)
        self.directory = directory
    }

    func path(headerDigest: [UInt8]) -> String {
        "\(directory)/\(headerDigest.lowercaseHex).envelope"
    }

    /// Writes the envelope's prefix as the start of a new spool file, durably.
    func create(headerDigest: [UInt8], prefix: [UInt8]) throws {
        let descriptor = try openFile(path(headerDigest: headerDigest), flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(descriptor) }
        try write(prefix[...], to: descriptor, at: 0)
        try sync(descriptor)
    }

    /// Appends a streamed request body at `offset`, hashing it as it goes, refusing to grow past
    /// `length` or to take more than `maxPiece` bytes. On any failure the file is cut back to
    /// `offset`, so nothing of a refused piece is kept.
    /// - Returns: the new offset and the body's SHA-256.
    func append(_ body: RequestBody, headerDigest: [UInt8], at start: Int64, length: Int, maxPiece: Int) async throws -> (offset: Int, digest: SHA256Digest) {
        let offset = Int(start)
        let file = path(headerDigest: headerDigest)
        let descriptor = try openFile(file, flags: O_WRONLY)
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(offset)) == 0 else { throw FileError(path: file, action: "truncate", code: errno) }
        var position = offset
        var hash = SHA256()
        do {
            for try await buffer in body {
                guard position + buffer.readableBytes <= length else {
                    throw Problem(.contentTooLarge, "upload.beyond-length", "the piece runs past the envelope's announced length of \(length) bytes")
                }
                guard position - offset + buffer.readableBytes <= maxPiece else {
                    throw Problem(.contentTooLarge, "request.too-large", "a piece may be at most \(maxPiece) bytes; send smaller pieces")
                }
                try buffer.withUnsafeReadableBytes { bytes in
                    hash.update(bufferPointer: bytes)
                    try write(bytes.bindMemory(to: UInt8.self)[...], to: descriptor, at: position)
                }
                position += buffer.readableBytes
            }
            try sync(descriptor)
        } catch {
            _ = ftruncate(descriptor, off_t(offset))
            throw error
        }
        return (position, hash.finalize())
    }

    /// Cuts the file back to `offset` (a piece whose digest did not match).
    func cutBack(headerDigest: [UInt8], to offset: Int64) {
        _ = truncate(path(headerDigest: headerDigest), off_t(offset))
    }

    func remove(headerDigest: [UInt8]) {
        unlink(path(headerDigest: headerDigest))
    }

    private func openFile(_ file: String, flags: Int32) throws -> Int32 {
        let descriptor = open(file, flags | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileError(path: file, action: "open", code: errno) }
        return descriptor
    }

    private func write<Bytes: Collection<UInt8>>(_ bytes: Bytes, to descriptor: Int32, at offset: Int) throws where Bytes.SubSequence == Bytes {
        var remaining = bytes
        var position = offset
        while !remaining.isEmpty {
            let written = remaining.withContiguousStorageIfAvailable { pwrite(descriptor, $0.baseAddress, $0.count, off_t(position)) }
                ?? Array(remaining).withUnsafeBufferPointer { pwrite(descriptor, $0.baseAddress, $0.count, off_t(position)) }
            guard written > 0 else {
                if written < 0 && errno == EINTR { continue }
                throw Self.failure(action: "write", in: directory)
            }
            remaining = remaining.dropFirst(written)
            position += written
        }
    }

    private func sync(_ descriptor: Int32) throws {
        guard fsync(descriptor) == 0 else { throw Self.failure(action: "fsync", in: directory) }
    }

    /// A full disk is the operator's to fix and the agent's to wait for: a 507 it retries later
    /// (what was acknowledged stays durable; bytes past it are cut on the next append). Any other
    /// failure is the hub's own, a 500 with the error in its log.
    private static func failure(action: String, in directory: String) -> any Error {
        let code = errno
        guard code == ENOSPC || code == EDQUOT else { return FileError(path: directory, action: action, code: code) }
        return Problem(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "hub.no-space",
                       "the hub's data disk is full (\(action) in its upload spool): the bytes acknowledged so far are kept; send the rest later")
    }
}
