import Crypto
import Foundation

/// What a key of the exchange is for.
public enum ExchangeKeyKind: String, Sendable, Hashable, CaseIterable {
    /// An agency's Ed25519 key: signs its envelopes' manifests.
    case agencySigning = "agency-signing"
    /// The hub's X25519 key: envelopes are encrypted to it (HPKE).
    case hubEncryption = "hub-encryption"
    /// The hub's Ed25519 key: signs receipts and audit checkpoints.
    case hubSigning = "hub-signing"

    var idPrefix: String {
        switch self {
        case .agencySigning: "as"
        case .hubEncryption: "he"
        case .hubSigning: "hs"
        }
    }
}

/// A public key as one line of text another party pastes into its configuration:
/// `concord-public-key/1 <kind> <owner> <base64 of the 32 raw bytes>`.
public struct PublicKeyLine: Sendable, Hashable, CustomStringConvertible {
    public static let format = "concord-public-key/1"
    public let kind: ExchangeKeyKind
    /// The agency id, or `hub`.
    public let owner: String
    public let raw: [UInt8]

    public init(kind: ExchangeKeyKind, owner: String, raw: [UInt8]) {
        self.kind = kind
        self.owner = owner
        self.raw = raw
    }

    public init(line: String) throws(ExchangeKeyError) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == Self.format else { throw .malformed("expected '\(Self.format) KIND OWNER KEY'") }
        guard let kind = ExchangeKeyKind(rawValue: String(parts[1])) else { throw .malformed("'\(parts[1])' is not a key kind") }
        guard let raw = Base64.decode(parts[3]), raw.count == 32 else { throw .malformed("the key is not 32 bytes of base64") }
        self.init(kind: kind, owner: String(parts[2]), raw: raw)
    }

    public var description: String { "\(Self.format) \(kind.rawValue) \(owner) \(Base64.encode(raw))" }

    /// A fingerprint naming the key: `<as|he|hs>-<16 hex digits>`.
    public var id: String {
        let digest = SHA256.hash(data: Array("concord-public-key-id-v1".utf8) + [0] + Array(kind.rawValue.utf8) + [0] + raw)
        return "\(kind.idPrefix)-" + digest.prefix(8).lowercaseHex
    }

    public func signingKey() throws(ExchangeKeyError) -> Curve25519.Signing.PublicKey {
        guard kind != .hubEncryption, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { throw .wrongKind(kind) }
        return key
    }

    public func encryptionKey() throws(ExchangeKeyError) -> Curve25519.KeyAgreement.PublicKey {
        guard kind == .hubEncryption, let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw) else { throw .wrongKind(kind) }
        return key
    }
}

/// A private key file's contents (`docs/envelope.md`, section 5). Its `description` is the
/// public line, never the key.
public struct PrivateKeyDocument: Sendable, CustomStringConvertible {
    public static let format = "concord-private-key/1"
    public let kind: ExchangeKeyKind
    public let owner: String
    let raw: [UInt8]

    /// A fresh key from the operating system's CSPRNG.
    public static func generate(_ kind: ExchangeKeyKind, owner: String) -> PrivateKeyDocument {
        let raw = switch kind {
        case .agencySigning, .hubSigning: Array(Curve25519.Signing.PrivateKey().rawRepresentation)
        case .hubEncryption: Array(Curve25519.KeyAgreement.PrivateKey().rawRepresentation)
        }
        return PrivateKeyDocument(kind: kind, owner: owner, raw: raw)
    }

    init(kind: ExchangeKeyKind, owner: String, raw: [UInt8]) {
        self.kind = kind
        self.owner = owner
        self.raw = raw
    }

    public init(fileContents text: String) throws(ExchangeKeyError) {
        let values: [String: String]
        do {
            values = try KeyFileLines.parse(text, names: ["format", "kind", "owner", "key"])
        } catch {
            switch error {
            case .malformedLine(let line): throw .malformed("line \(line) is not 'format:', 'kind:', 'owner:' or 'key:' followed by a value")
            case .duplicate(let name): throw .malformed("'\(name)' appears twice")
            }
        }
        guard values["format"] == Self.format else { throw .malformed("the format line is not 'format: \(Self.format)'") }
        guard let kindText = values["kind"], let kind = ExchangeKeyKind(rawValue: kindText) else { throw .malformed("'kind:' is missing or unknown") }
        guard let owner = values["owner"], !owner.isEmpty else { throw .malformed("'owner:' is missing") }
        guard let encoded = values["key"], let raw = Base64.decode(encoded), raw.count == 32 else { throw .malformed("'key:' is not 32 bytes of base64") }
        self.init(kind: kind, owner: owner, raw: raw)
    }

    public var fileContents: String {
        """
        # Concord private key (\(kind.rawValue)) of \(owner), public key id \(publicKey.id).
        # Secret: it never leaves this machine. Share only the public line: \(PublicKeyLine.format) ...
        format: \(Self.format)
        kind: \(kind.rawValue)
        owner: \(owner)
        key: \(Base64.encode(raw))

        """
    }

    public var publicKey: PublicKeyLine {
        let publicRaw = switch kind {
        case .agencySigning, .hubSigning: Array(try! Curve25519.Signing.PrivateKey(rawRepresentation: raw).publicKey.rawRepresentation)
        case .hubEncryption: Array(try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw).publicKey.rawRepresentation)
        }
        return PublicKeyLine(kind: kind, owner: owner, raw: publicRaw)
    }

    public var description: String { "private key of \(publicKey)" }

    public func signingKey() throws(ExchangeKeyError) -> Curve25519.Signing.PrivateKey {
        guard kind != .hubEncryption, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else { throw .wrongKind(kind) }
        return key
    }

    public func encryptionKey() throws(ExchangeKeyError) -> Curve25519.KeyAgreement.PrivateKey {
        guard kind == .hubEncryption, let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw) else { throw .wrongKind(kind) }
        return key
    }
}

/// A key that cannot be used. Messages hold no key material.
public enum ExchangeKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case wrongKind(ExchangeKeyKind)

    public var description: String {
        switch self {
        case .malformed(let reason): reason
        case .wrongKind(let kind): "a \(kind.rawValue) key cannot be used for this"
        }
    }
}
