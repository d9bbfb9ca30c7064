import Crypto

/// The secret HMAC key a partnership's agencies share to compute match keys. It never reaches the
/// hub: without it, nobody can test a guessed identifier against a pseudonym.
///
/// Its `description` is its key id, never the key, so it is safe to interpolate into messages.
public struct LinkageKey: Sendable, CustomStringConvertible {
    public static let fileFormat = "concord-linkage-key/1"
    public static let byteCount = 32
    public static let versions = 1...65535

    /// The key's version; match keys carry it, and the hub links only values of one version.
    public let version: Int
    let secret: [UInt8]

    /// Wraps existing key bytes (32 of them).
    public init(version: Int, secret: some Collection<UInt8>) throws(LinkageKeyError) {
        guard Self.versions.contains(version) else { throw .invalidVersion }
        guard secret.count == Self.byteCount else { throw .wrongLength(secret.count) }
        self.version = version
        self.secret = Array(secret)
    }

    /// A fresh random key from the operating system's CSPRNG.
    public static func generate(version: Int) throws(LinkageKeyError) -> LinkageKey {
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        return try LinkageKey(version: version, secret: secret)
    }

    /// A name for the key that reveals nothing about it: `lk<version>-<16 hex digits>`.
    public var id: String {
        var hash = SHA256()
        hash.update(data: Array("concord-linkage-key-id-v1".utf8) + [0])
        hash.update(data: secret)
        let hex = hash.finalize().prefix(8).lowercaseHex
        return "lk\(version)-\(hex)"
    }

    public var description: String { "linkage key \(id)" }

    /// Parses the text of a key file (`docs/pseudonyms.md`, section 4).
    public init(fileContents text: String) throws(LinkageKeyError) {
        let values: [String: String]
        do {
            values = try KeyFileLines.parse(text, names: ["format", "version", "key"])
        } catch {
            switch error {
            case .malformedLine(let line): throw .malformedLine(line)
            case .duplicate(let name): throw .duplicateEntry(name)
            }
        }
        guard let format = values["format"] else { throw .missingEntry("format") }
        guard format == Self.fileFormat else { throw .unsupportedFormat(format) }
        guard let versionText = values["version"] else { throw .missingEntry("version") }
        guard let version = Int(versionText) else { throw .invalidVersion }
        guard let encoded = values["key"] else { throw .missingEntry("key") }
        guard let secret = Base64.decode(encoded) else { throw .notBase64 }
        try self.init(version: version, secret: secret)
    }

    /// The text of a key file, with a warning for whoever opens it.
    public var fileContents: String {
        """
        # Concord linkage key \(id). A secret shared by the agencies of one partnership:
        # never send it to the hub, never commit it, never put it in a ticket or an email.
        format: \(Self.fileFormat)
        version: \(version)
        key: \(Base64.encode(secret))

        """
    }
}

/// Why a linkage key could not be used. Messages never include key material.
public enum LinkageKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidVersion
    case wrongLength(Int)
    case malformedLine(Int)
    case duplicateEntry(String)
    case missingEntry(String)
    case unsupportedFormat(String)
    case notBase64

    public var description: String {
        switch self {
        case .invalidVersion: "the key version must be a whole number from 1 to 65535"
        case .wrongLength(let count): "a linkage key is 32 bytes, not \(count)"
        case .malformedLine(let line): "line \(line) is not 'format:', 'version:' or 'key:' followed by a value"
        case .duplicateEntry(let name): "'\(name)' appears twice"
        case .missingEntry(let name): "'\(name):' is missing"
        case .unsupportedFormat(let format): "'\(format)' is not a key format this version of Concord reads; expected \(LinkageKey.fileFormat)"
        case .notBase64: "the key is not valid base64"
        }
    }
}

extension StringProtocol {
    var trimmingASCIISpaces: Substring {
        let view = self[...]
        let start = view.firstIndex { $0 != " " && $0 != "\t" } ?? view.endIndex
        let end = view[start...].lastIndex { $0 != " " && $0 != "\t" }.map { view.index(after: $0) } ?? start
        return Substring(view[start..<end])
    }
}
