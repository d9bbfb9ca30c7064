import Crypto

/// What the hub commits to about its audit log at one moment: a C2SP tlog-checkpoint body
/// (`concord-tlog/1`, docs/transparency-log.md) — origin, tree size, root hash, time.
public struct Checkpoint: Sendable, Hashable {
    public var origin: String
    public var size: Int64
    public var rootHash: [UInt8]
    /// When it was signed, `YYYY-MM-DDTHH:MM:SSZ` (the `time` extension line).
    public var time: String

    public init(origin: String, size: Int64, rootHash: [UInt8], time: String) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.time = time
    }

    /// The log's name for a hub's receipt-signing key: `concord-audit/<hs-… key id>`, also the
    /// signed-note key name. A new key is a new log.
    public static func origin(for hubKey: PublicKeyLine) -> String { "concord-audit/\(hubKey.id)" }

    /// The note text that is signed: four lines, each ending in a line feed.
    public var body: String { "\(origin)\n\(size)\n\(Base64.encode(rootHash))\ntime \(time)\n" }

    /// Signs the checkpoint as a C2SP signed note with the hub's receipt-signing key.
    public func signedNote(key: Curve25519.Signing.PrivateKey, publicKey: PublicKeyLine) throws -> String {
        let signature = Array(try key.signature(for: Array(body.utf8)))
        return body + "\n" + "\(Self.signatureDash) \(origin) \(Base64.encode(Self.keyHash(name: origin, publicKey: publicKey.raw) + signature))\n"
    }

    /// Reads a signed checkpoint note and checks it: the body's form, the origin of `hubKey`, and a
    /// signature line by that key that verifies. Other signature lines (cosigners) are ignored.
    public init(note: String, hubKey: PublicKeyLine) throws(CheckpointError) {
        let bytes = Array(note.utf8)
        guard let separator = Self.find([0x0A, 0x0A], in: bytes) else { throw .malformed("no blank line between the checkpoint and its signatures") }
        let body = Array(bytes[...separator])
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 4 else { throw .malformed("a checkpoint has an origin, a size, a root hash and a time line") }
        let origin = String(lines[lines.startIndex])
        let sizeText = lines[lines.startIndex + 1]
        guard let size = Int64(sizeText), size >= 0, sizeText == String(size) else { throw .malformed("the size '\(sizeText.prefix(40))' is not a decimal number") }
        guard let root = Base64.decode(lines[lines.startIndex + 2]), root.count == 32 else { throw .malformed("the root hash is not the base64 of 32 bytes") }
        let timeLine = lines[lines.startIndex + 3]
        guard timeLine.hasPrefix("time "), CivilDate.secondsSinceEpoch(utcTimestamp: timeLine.dropFirst(5)) != nil else {
            throw .malformed("the fourth line is not 'time YYYY-MM-DDTHH:MM:SSZ'")
        }
        guard origin == Self.origin(for: hubKey) else {
            throw .wrongLog("the checkpoint is of log '\(origin.prefix(80))', not '\(Self.origin(for: hubKey))' of the hub key given")
        }
        let keyHash = Self.keyHash(name: origin, publicKey: hubKey.raw)
        let signatures = String(decoding: bytes[(separator + 2)...], as: UTF8.self).split(separator: "\n")
        let prefix = "\(Self.signatureDash) \(origin) "
        let verified = signatures.contains { line in
            guard line.hasPrefix(prefix), let blob = Base64.decode(line.dropFirst(prefix.count)), blob.count == 68,
                  Array(blob.prefix(4)) == keyHash, let key = try? hubKey.signingKey() else { return false }
            return key.isValidSignature(blob.dropFirst(4), for: body)
        }
        guard verified else { throw .badSignature }
        self.init(origin: origin, size: size, rootHash: root, time: String(timeLine.dropFirst(5)))
    }

    /// Reads a checkpoint signed by any of `hubKeys`: the hub's current key and those a key rotation
    /// replaced (each key is its own log origin, but the tree is the same). When none verifies, the
    /// error is that of the key whose log the note names, if one does.
    public init(note: String, hubKeys: [PublicKeyLine]) throws(CheckpointError) {
        var failure = CheckpointError.wrongLog("no hub key given")
        for key in hubKeys {
            do {
                self = try Checkpoint(note: note, hubKey: key)
                return
            } catch {
                if case .wrongLog = failure { failure = error }
            }
        }
        throw failure
    }

    /// A signed note's signature lines start with an em dash (U+2014) and a space.
    static let signatureDash = "\u{2014}"

    /// The signed-note key hash of an Ed25519 key: `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[0..<4]`.
    static func keyHash(name: String, publicKey: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + publicKey).prefix(4))
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        return (0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

/// A checkpoint note that cannot be read or trusted.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case wrongLog(String)
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let reason): "the checkpoint is malformed: \(reason)"
        case .wrongLog(let reason): reason
        case .badSignature: "the checkpoint has no signature by the hub key given that verifies"
        }
    }
}
