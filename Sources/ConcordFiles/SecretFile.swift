import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that hold secrets (linkage keys, private keys): created with mode 0600 and never
/// overwritten, and refused when group or others can read them. Errors name the file, never its
/// contents.
public enum SecretFile {
    /// Secret files are small; anything larger is not one.
    public static let maximumBytes = 4096

    /// The text of a secret file, refusing one that group or others may read.
    public static func read(_ path: String) throws(SecretFileError) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .cannotRead(path, String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .cannotRead(path, "not a regular file") }
        guard status.st_mode & 0o077 == 0 else { throw .tooOpen(path, mode: status.st_mode & 0o777) }
        guard let data = FileManager.default.contents(atPath: path), data.count <= maximumBytes,
              let text = String(bytes: data, encoding: .utf8) else {
            throw .cannotRead(path, "not a Concord key file")
        }
        return text
    }

    /// Writes a new secret file with mode 0600; never overwrites an existing file.
    public static func create(_ contents: String, at path: String) throws(SecretFileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw errno == EEXIST ? .exists(path) : .cannotWrite(path, String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        // The mode given to open is narrowed by the umask only; set it explicitly all the same.
        fchmod(descriptor, 0o600)
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw .cannotWrite(path, reason)
        }
    }
}

/// Why a secret file could not be used.
public enum SecretFileError: Error, Sendable, CustomStringConvertible {
    case cannotRead(String, String)
    case cannotWrite(String, String)
    case exists(String)
    case tooOpen(String, mode: mode_t)
    /// The file was read but its contents are not a valid key; the reason holds no key material.
    case invalid(String, String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): "cannot read the key \(path): \(reason)"
        case .cannotWrite(let path, let reason): "cannot write the key \(path): \(reason)"
        case .exists(let path): "\(path) already exists; a key is never overwritten (move the old one away first if you really mean to replace it)"
        case .tooOpen(let path, let mode):
            "\(path) can be read by other users (mode \(String(mode, radix: 8))); a key must be private: run chmod 600 \(path)"
        case .invalid(let path, let reason): "\(path) is not a valid key: \(reason)"
        }
    }
}
