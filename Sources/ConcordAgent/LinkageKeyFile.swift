import ConcordCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and writes linkage key files with the permissions a secret needs: created 0600, and
/// refused when group or others can read them.
public enum LinkageKeyFile {
    /// Reads a key file, refusing one that group or others may read.
    public static func read(_ path: String) throws(LinkageKeyFileError) -> LinkageKey {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .cannotRead(path, String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .cannotRead(path, "not a regular file") }
        guard status.st_mode & 0o077 == 0 else { throw .tooOpen(path, mode: status.st_mode & 0o777) }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4096,
              let text = String(bytes: data, encoding: .utf8) else {
            throw .cannotRead(path, "not a linkage key file")
        }
        do {
            return try LinkageKey(fileContents: text)
        } catch {
            throw .invalid(path, error)
        }
    }

    /// Writes a new key file with mode 0600; never overwrites an existing file.
    public static func create(_ key: LinkageKey, at path: String) throws(LinkageKeyFileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw errno == EEXIST ? .exists(path) : .cannotWrite(path, String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        // The umask may have narrowed nothing, but a filesystem may ignore the mode: set it explicitly.
        fchmod(descriptor, 0o600)
        let bytes = Array(key.fileContents.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw .cannotWrite(path, reason)
        }
    }
}

/// Why a linkage key file could not be used. Messages name the file, never its contents.
public enum LinkageKeyFileError: Error, Sendable, CustomStringConvertible {
    case cannotRead(String, String)
    case cannotWrite(String, String)
    case exists(String)
    case tooOpen(String, mode: mode_t)
    case invalid(String, LinkageKeyError)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): "cannot read the linkage key \(path): \(reason)"
        case .cannotWrite(let path, let reason): "cannot write the linkage key \(path): \(reason)"
        case .exists(let path): "\(path) already exists; a linkage key is never overwritten (move the old one away first if you really mean to replace it)"
        case .tooOpen(let path, let mode):
            "\(path) can be read by other users (mode \(String(mode, radix: 8))); a linkage key must be private: run chmod 600 \(path)"
        case .invalid(let path, let error): "\(path) is not a valid linkage key: \(error)"
        }
    }
}
