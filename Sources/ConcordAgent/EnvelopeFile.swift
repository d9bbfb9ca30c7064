import ConcordCore
import Crypto
import Foundation

/// An envelope file waiting to be sent: what the upload protocol and the receipt check need from
/// it, read from its header without opening the payload (which only the hub can).
public struct EnvelopeFile: Sendable {
    public let path: String
    /// The whole file's length: the upload's `Upload-Length`.
    public let length: Int
    /// Bytes `0 ..< 116+M` (header, signature and encapsulated key): the body of the start request.
    public let prefixLength: Int
    /// SHA-256 of the signed header, lower-case hex: the envelope's name at the hub.
    public let headerDigest: String
    public let manifest: EnvelopeManifest
    /// SHA-256 of the canonical manifest bytes, lower-case hex, as the receipt states it.
    public let manifestSHA256: String

    /// The file name, as listed in the state directory.
    public var name: String { (path as NSString).lastPathComponent }

    /// Reads and checks an envelope's header.
    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw EnvelopeFileError.unreadable(path) }
        defer { try? handle.close() }
        let length = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let start = Array(try handle.read(upToCount: 20) ?? Data())
        let prefixLength = try Self.prefixLength(start, path: path)
        guard length > prefixLength else { throw EnvelopeFileError.truncated(path) }
        let rest = Array(try handle.read(upToCount: prefixLength - 20) ?? Data())
        guard rest.count == prefixLength - 20 else { throw EnvelopeFileError.truncated(path) }
        let manifestBytes = Array(rest[0..<(prefixLength - Envelope.prefixBytesAroundManifest)])
        self.path = path
        self.length = length
        self.prefixLength = prefixLength
        manifest = try EnvelopeManifest(canonical: manifestBytes)
        headerDigest = SHA256.hash(data: start + manifestBytes).lowercaseHex
        manifestSHA256 = SHA256.hash(data: manifestBytes).lowercaseHex
    }

    /// The prefix length `116 + M` from an envelope's first 20 bytes, where `M` is the manifest
    /// length, the big-endian u32 at offset 16 (`docs/envelope.md` section 1).
    public static func prefixLength(_ first: [UInt8], path: String = "envelope") throws -> Int {
        guard let length = Envelope.prefixLength(announcedIn: first) else { throw EnvelopeFileError.notAnEnvelope(path) }
        return length
    }

    /// `count` bytes from `offset` (fewer at the end of the file): reads only that piece, so memory
    /// stays bounded by the piece size whatever the envelope's size.
    public func read(offset: Int, count: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw EnvelopeFileError.unreadable(path) }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        return Array(try handle.read(upToCount: count) ?? Data())
    }
}

/// An envelope file that cannot be sent as it is.
public enum EnvelopeFileError: Error, Sendable, CustomStringConvertible {
    case unreadable(String)
    case notAnEnvelope(String)
    case truncated(String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read \(path)"
        case .notAnEnvelope(let path): "\(path) is not a Concord envelope"
        case .truncated(let path): "\(path) ends inside its header: it is not a whole envelope"
        }
    }
}

/// A receipt whose signature verified with the pinned hub key and which acknowledges exactly one
/// envelope: the only thing that lets an envelope leave the outbox.
public struct VerifiedReceipt: Sendable {
    public let signed: SignedUploadReceipt
    /// The hub's checked evidence that its audit log records this receipt, when it sent some.
    public internal(set) var auditEvidence: AuditEvidence?

    /// Accepts `receipt` for `envelope` only if the pinned `hubKey` signed it, it names that key,
    /// and its header digest, manifest and payload SHA-256 and row count are what was sent.
    public init(_ receipt: SignedUploadReceipt, for envelope: EnvelopeFile, hubKey: PublicKeyLine) throws(ReceiptError) {
        try receipt.verify(hubKey: hubKey)
        let problems = receipt.mismatches(headerDigest: envelope.headerDigest, manifestSHA256: envelope.manifestSHA256,
                                          payloadSHA256: envelope.manifest.payloadSHA256, rows: envelope.manifest.rows)
        guard problems.isEmpty else {
            throw .malformed("it does not acknowledge \(envelope.name): " + problems.joined(separator: "; "))
        }
        signed = receipt
    }
}
