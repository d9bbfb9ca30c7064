import Crypto

/// The hub's secret for analysts' person ids (`docs/requests.md`, "Person ids"). From it the hub
/// derives one key per agreement version, so a person has the same `person_id` in every output
/// under that agreement version and unrelated ids under any other. It never leaves the hub.
///
/// Its `description` is its id, never the secret.
public struct PersonIDSecret: Sendable, CustomStringConvertible {
    public static let fileFormat = "concord-person-id-secret/1"
    public static let byteCount = 32
    let secret: [UInt8]

    public init(secret: some Collection<UInt8>) throws(PersonIDSecretError) {
        guard secret.count == Self.byteCount else { throw .wrongLength(secret.count) }
        self.secret = Array(secret)
    }

    /// A fresh secret from the operating system's CSPRNG.
    public static func generate() -> PersonIDSecret {
        // 32 bytes by construction.
        try! PersonIDSecret(secret: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// Names the secret without revealing it: `ps-<16 hex digits>`.
    public var id: String {
        "ps-" + SHA256.hash(data: Array("concord-person-id-secret-id-v1".utf8) + [0] + secret).prefix(8).lowercaseHex
    }

    public var description: String { "person-id secret \(id)" }

    /// The key of one agreement version: HKDF-SHA256 with salt `concord-person-id-v1` and info
    /// `<agreement id>.v<version>`, 32 bytes.
    public func key(agreement: String, version: Int) -> PersonIDKey {
        let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: Array("concord-person-id-v1".utf8),
                                             info: Array("\(agreement).v\(version)".utf8), outputByteCount: 32)
        return PersonIDKey(hmac: PrekeyedHMACSHA256(key: derived.withUnsafeBytes { Array($0) }))
    }

    /// Parses a secret file: `format:` and `secret:` (standard base64) lines.
    public init(fileContents text: String) throws(PersonIDSecretError) {
        let values: [String: String]
        do {
            values = try KeyFileLines.parse(text, names: ["format", "secret"])
        } catch {
            throw .malformed
        }
        guard values["format"] == Self.fileFormat else { throw .unsupportedFormat(values["format"] ?? "") }
        guard let encoded = values["secret"], let secret = Base64.decode(encoded) else { throw .malformed }
        try self.init(secret: secret)
    }

    /// The text of a secret file, with a warning for whoever opens it.
    public var fileContents: String {
        """
        # Concord hub person-id secret \(id). Analysts' person ids are derived from it: keep it on
        # the hub, back it up with the hub's keys; a new secret gives every person new ids.
        format: \(Self.fileFormat)
        secret: \(Base64.encode(secret))

        """
    }
}

/// The person-id key of one agreement version.
public struct PersonIDKey: Sendable {
    let hmac: PrekeyedHMACSHA256

    /// `p_` and 32 lower-case hex digits: the first 16 bytes of HMAC-SHA256 over the linkage's
    /// person number as 8 bytes, big-endian.
    public func personID(_ person: Int64) -> String {
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: person) >> (56 - 8 * $0)) }
        return "p_" + hmac.authenticationCode(for: bytes).prefix(16).lowercaseHex
    }
}

/// Why a person-id secret file could not be used. Messages never include the secret.
public enum PersonIDSecretError: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongLength(Int)
    case malformed
    case unsupportedFormat(String)

    public var description: String {
        switch self {
        case .wrongLength(let count): "a person-id secret is 32 bytes, not \(count)"
        case .malformed: "expected 'format:' and 'secret:' lines, the secret in base64"
        case .unsupportedFormat(let format): "'\(format)' is not a format this version of Concord reads; expected \(PersonIDSecret.fileFormat)"
        }
    }
}
