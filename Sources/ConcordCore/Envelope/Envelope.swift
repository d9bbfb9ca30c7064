import Crypto
import Foundation

/// The constants of `concord-envelope/1` (`docs/envelope.md`).
public enum Envelope {
    public static let magic: [UInt8] = Array("CONCORD".utf8) + [0]
    public static let version: UInt16 = 1
    public static let chunkSizes = 4096...16_777_216
    public static let defaultChunkSize = 1 << 20
    public static let maximumManifestBytes = 1 << 20
    static let manifestLengths = 2...maximumManifestBytes
    /// Before the manifest: magic, version, suite, chunk size and the manifest's length.
    static let fixedHeaderBytes = 20
    /// After the header: the agency's Ed25519 signature, then the HPKE encapsulated key.
    static let signatureBytes = 64
    static let encapsulatedKeyBytes = 32
    /// The prefix (header, signature, encapsulated key) is this many bytes plus the manifest's length.
    public static let prefixBytesAroundManifest = fixedHeaderBytes + signatureBytes + encapsulatedKeyBytes
    static let tagBytes = 16
    static let signatureContext = Array("concord-envelope-v1 header".utf8) + [0]
    static let infoContext = Array("concord-envelope-v1 payload".utf8) + [0]
    static let chunkContext = Array("concord-envelope-v1 chunk".utf8) + [0]

    /// The HPKE ciphersuites an envelope may use.
    public enum Suite: UInt16, Sendable, CaseIterable {
        case x25519AES256GCM = 1
        case x25519ChaChaPoly = 2

        var ciphersuite: HPKE.Ciphersuite {
            switch self {
            case .x25519AES256GCM: HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256)
            case .x25519ChaChaPoly: HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .chaChaPoly)
            }
        }
    }

    /// The manifest length `M` an envelope's first 20 bytes announce: the big-endian u32 at offset 16.
    static func announcedManifestLength(_ start: [UInt8]) -> Int {
        start[16..<fixedHeaderBytes].reduce(0) { $0 << 8 | Int($1) }
    }

    /// The length of the prefix (header, signature and encapsulated key: `116 + M` bytes) that an
    /// envelope's first 20 bytes announce; `nil` when they are not an envelope's or `M` is out of bounds.
    public static func prefixLength(announcedIn start: some Collection<UInt8>) -> Int? {
        let start = Array(start.prefix(fixedHeaderBytes))
        guard start.count == fixedHeaderBytes, Array(start[0..<magic.count]) == magic else { return nil }
        let manifestLength = announcedManifestLength(start)
        return manifestLengths.contains(manifestLength) ? prefixBytesAroundManifest + manifestLength : nil
    }

    static func info(headerDigest: [UInt8]) -> Data { Data(infoContext + headerDigest) }

    static func chunkAAD(index: UInt64, last: Bool) -> Data {
        var aad = chunkContext
        for shift in stride(from: 56, through: 0, by: -8) { aad.append(UInt8(truncatingIfNeeded: index >> UInt64(shift))) }
        aad.append(last ? 1 : 0)
        return Data(aad)
    }

    static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for shift in stride(from: T.bitWidth - 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}

/// Writes an envelope: a signed header, then the payload sealed chunk by chunk as it is appended,
/// so a payload of any size is sealed in memory bounded by the chunk size.
public struct EnvelopeSealer {
    /// Magic through `enc`: everything before the chunks.
    public let header: [UInt8]
    /// SHA-256 of the signed header: the envelope's name.
    public let headerDigest: [UInt8]
    private let chunkSize: Int
    private var sender: HPKE.Sender
    private var pending: [UInt8] = []
    private var index: UInt64 = 0
    private let compressor: ZstdCompressor?

    public init(manifest: EnvelopeManifest, hubKey: Curve25519.KeyAgreement.PublicKey, signingKey: Curve25519.Signing.PrivateKey,
                suite: Envelope.Suite = .x25519AES256GCM, chunkSize: Int = Envelope.defaultChunkSize) throws {
        precondition(Envelope.chunkSizes.contains(chunkSize), "chunk size out of range")
        let manifestBytes = manifest.json.bytes
        precondition(manifestBytes.count <= Envelope.maximumManifestBytes, "manifest too large")
        var signed = Envelope.magic
        Envelope.appendBigEndian(Envelope.version, to: &signed)
        Envelope.appendBigEndian(suite.rawValue, to: &signed)
        Envelope.appendBigEndian(UInt32(chunkSize), to: &signed)
        Envelope.appendBigEndian(UInt32(manifestBytes.count), to: &signed)
        signed += manifestBytes
        let signature = try signingKey.signature(for: Envelope.signatureContext + signed)
        headerDigest = Array(SHA256.hash(data: signed))
        sender = try HPKE.Sender(recipientKey: hubKey, ciphersuite: suite.ciphersuite, info: Envelope.info(headerDigest: headerDigest))
        header = signed + Array(signature) + Array(sender.encapsulatedKey)
        self.chunkSize = chunkSize
        compressor = manifest.compression == "zstd" ? ZstdCompressor() : nil
        pending.reserveCapacity(chunkSize * 2)
    }

    /// Adds payload bytes; returns the sealed chunks now complete. A full chunk is held back until
    /// more bytes arrive, since only then is it known not to be the last.
    public mutating func append(_ bytes: some Collection<UInt8>) throws -> [UInt8] {
        if let compressor {
            pending += compressor.compress(Array(bytes), end: false)
        } else {
            pending.append(contentsOf: bytes)
        }
        return try sealFullChunks()
    }

    /// Seals what remains as the last chunk.
    public mutating func finish() throws -> [UInt8] {
        if let compressor { pending += compressor.compress([], end: true) }
        let output = try sealFullChunks() + seal(pending[...], last: true)
        pending.removeAll()
        return output
    }

    /// Seals every full chunk but one, which may yet be the last.
    private mutating func sealFullChunks() throws -> [UInt8] {
        var output: [UInt8] = []
        var start = 0
        while pending.count - start > chunkSize {
            output += try seal(pending[start..<start + chunkSize], last: false)
            start += chunkSize
        }
        pending.removeFirst(start)
        return output
    }

    private mutating func seal(_ plaintext: ArraySlice<UInt8>, last: Bool) throws -> [UInt8] {
        let sealed = try sender.seal(plaintext, authenticating: Envelope.chunkAAD(index: index, last: last))
        index += 1
        return Array(sealed)
    }
}

/// Opens an envelope fed in pieces of any size: checks the header and the agency's signature, then
/// hands back plaintext as each chunk is authenticated. Only after `finish` is the payload known to
/// be complete and exactly what the manifest describes.
public struct EnvelopeOpener {
    private let hubKeys: [Curve25519.KeyAgreement.PrivateKey]
    private let agencyKeys: (String) -> [Curve25519.Signing.PublicKey]
    private var buffer: [UInt8] = []
    /// One HPKE context per hub key, from the header until the first chunk tells which opens it.
    private var candidates: [HPKE.Recipient] = []
    private var recipient: HPKE.Recipient?
    private var chunkSize = 0
    private var index: UInt64 = 0
    private var hash = SHA256()
    private var plaintextBytes = 0
    private var decompressor: ZstdDecompressor?
    public private(set) var manifest: EnvelopeManifest?
    public private(set) var headerDigest: [UInt8]?
    /// Which of the agency's keys (their index in what `agencyKeys` returned) signed the header.
    public private(set) var agencyKeyIndex: Int?
    /// Which of the hub keys (their index in `hubKeys`) the payload was sealed to; known once the
    /// first chunk has opened. The header does not name the hub key, so each is tried.
    public private(set) var hubKeyIndex: Int?

    /// - Parameter agencyKey: the registered signing key of an agency, by id; `nil` for an unknown agency.
    public init(hubKey: Curve25519.KeyAgreement.PrivateKey, agencyKey: @escaping (String) -> Curve25519.Signing.PublicKey?) {
        self.init(hubKeys: [hubKey]) { agencyKey($0).map { [$0] } ?? [] }
    }

    /// An opener for a hub that holds several keys (during a key rotation's overlap) and agencies
    /// that hold several signing keys: the header must verify with one of the agency's keys, the
    /// payload must open with one of the hub's.
    /// - Parameter agencyKeys: an agency's signing keys, by id; none for an unknown agency.
    public init(hubKeys: [Curve25519.KeyAgreement.PrivateKey], agencyKeys: @escaping (String) -> [Curve25519.Signing.PublicKey]) {
        precondition(!hubKeys.isEmpty, "an envelope opener needs a hub key")
        self.hubKeys = hubKeys
        self.agencyKeys = agencyKeys
    }

    /// Takes the next bytes; returns the plaintext of the chunks they completed.
    public mutating func consume(_ bytes: some Collection<UInt8>) throws(EnvelopeError) -> [UInt8] {
        buffer.append(contentsOf: bytes)
        if manifest == nil {
            guard try readHeader() else { return [] }
        }
        // Hold back one chunk: it may be the last, which only the end of the input tells.
        var output: [UInt8] = []
        let wire = chunkSize + Envelope.tagBytes
        var start = 0
        while buffer.count - start > wire {
            output += try open(buffer[start..<start + wire], last: false)
            start += wire
        }
        buffer.removeFirst(start)
        return output
    }

    /// Opens the last chunk and checks the payload against the manifest.
    public mutating func finish() throws(EnvelopeError) -> [UInt8] {
        guard let manifest else { throw .truncated("the envelope ends inside its header") }
        guard buffer.count >= Envelope.tagBytes else { throw .truncated("the envelope ends before its last chunk") }
        let output = try open(buffer[...], last: true)
        buffer.removeAll()
        if let decompressor, !decompressor.atFrameEnd {
            throw .payloadMismatch("the compressed payload ends inside a zstd frame")
        }
        guard plaintextBytes == manifest.payloadBytes else {
            throw .payloadMismatch("the payload is \(plaintextBytes) bytes; the manifest says \(manifest.payloadBytes)")
        }
        let digest = hash.finalize().lowercaseHex
        guard digest == manifest.payloadSHA256 else { throw .payloadMismatch("the payload's SHA-256 is not the manifest's") }
        return output
    }

    private mutating func open(_ ciphertext: ArraySlice<UInt8>, last: Bool) throws(EnvelopeError) -> [UInt8] {
        guard let plaintext = openChunk(ciphertext, last: last) else {
            if last && ciphertext.count == chunkSize + Envelope.tagBytes {
                // A full-size chunk that does not open as the last one may be a chunk of a longer payload.
                if openChunk(ciphertext, last: false) != nil {
                    throw .truncated("the envelope ends after chunk \(index), which is not its last")
                }
            }
            throw .chunkRejected(Int(index))
        }
        index += 1
        guard let decompressor else {
            try absorb(Array(plaintext))
            return Array(plaintext)
        }
        var output: [UInt8] = []
        try decompressor.decompress(Array(plaintext)) { (block) throws(EnvelopeError) in
            try absorb(block)
            output += block
        }
        return output
    }

    /// The chunk's plaintext, or `nil` when it does not authenticate. The first chunk is tried with
    /// each hub key's context; the one that opens it is used from then on.
    private mutating func openChunk(_ ciphertext: ArraySlice<UInt8>, last: Bool) -> Data? {
        let aad = Envelope.chunkAAD(index: index, last: last)
        if recipient != nil { return try? recipient!.open(ciphertext, authenticating: aad) }
        for (keyIndex, candidate) in candidates.enumerated() {
            var context = candidate
            if let plaintext = try? context.open(ciphertext, authenticating: aad) {
                recipient = context
                hubKeyIndex = keyIndex
                candidates = []
                return plaintext
            }
        }
        return nil
    }

    /// Counts and hashes payload bytes, stopping as soon as there are more than the manifest says
    /// (which also stops a decompression bomb after one block).
    private mutating func absorb(_ bytes: [UInt8]) throws(EnvelopeError) {
        plaintextBytes += bytes.count
        hash.update(data: bytes)
        if let manifest, plaintextBytes > manifest.payloadBytes {
            throw .payloadMismatch("the payload is longer than the manifest's \(manifest.payloadBytes) bytes")
        }
    }

    /// Parses and verifies the header once enough bytes have arrived; `false` until then.
    private mutating func readHeader() throws(EnvelopeError) -> Bool {
        guard buffer.count >= Envelope.fixedHeaderBytes else { return false }
        guard Array(buffer[0..<8]) == Envelope.magic else { throw .notAnEnvelope }
        let version = UInt16(buffer[8]) << 8 | UInt16(buffer[9])
        guard version == Envelope.version else { throw .unsupportedVersion(Int(version)) }
        guard let suite = Envelope.Suite(rawValue: UInt16(buffer[10]) << 8 | UInt16(buffer[11])) else {
            throw .unsupportedSuite(Int(UInt16(buffer[10]) << 8 | UInt16(buffer[11])))
        }
        let chunkSize = buffer[12..<16].reduce(0) { $0 << 8 | Int($1) }
        guard Envelope.chunkSizes.contains(chunkSize) else { throw .invalidHeader("chunk size \(chunkSize) is outside \(Envelope.chunkSizes)") }
        let manifestLength = Envelope.announcedManifestLength(buffer)
        guard Envelope.manifestLengths.contains(manifestLength) else {
            throw .invalidHeader("manifest length \(manifestLength) is outside \(Envelope.manifestLengths)")
        }
        let headerEnd = Envelope.fixedHeaderBytes + manifestLength
        let signatureEnd = headerEnd + Envelope.signatureBytes
        let prefixEnd = signatureEnd + Envelope.encapsulatedKeyBytes
        guard buffer.count >= prefixEnd else { return false }
        let manifest = try EnvelopeManifest(canonical: Array(buffer[Envelope.fixedHeaderBytes..<headerEnd]))
        let keys = agencyKeys(manifest.agency)
        guard !keys.isEmpty else { throw .unknownAgency(manifest.agency) }
        let signed = Array(buffer[0..<headerEnd])
        let signature = buffer[headerEnd..<signatureEnd]
        guard let keyIndex = keys.firstIndex(where: { $0.isValidSignature(signature, for: Envelope.signatureContext + signed) }) else {
            throw .badSignature(manifest.agency)
        }
        let digest = Array(SHA256.hash(data: signed))
        do {
            candidates = try hubKeys.map {
                try HPKE.Recipient(privateKey: $0, ciphersuite: suite.ciphersuite, info: Envelope.info(headerDigest: digest),
                                   encapsulatedKey: Data(buffer[signatureEnd..<prefixEnd]))
            }
        } catch {
            throw .invalidHeader("the encapsulated key is not a valid X25519 public key")
        }
        agencyKeyIndex = keyIndex
        self.manifest = manifest
        self.chunkSize = chunkSize
        decompressor = manifest.compression == "zstd" ? ZstdDecompressor() : nil
        headerDigest = digest
        buffer.removeFirst(prefixEnd)
        return true
    }
}

/// Why an envelope was refused. Messages never include payload content.
public enum EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Text from a manifest not yet authenticated, as an error may show it: quoted, at most 64
    /// characters, control and non-ASCII characters escaped, so that a refusal (logged, audited,
    /// sent back) cannot carry a megabyte, a NUL or a terminal escape from a stranger.
    static func shown(_ text: String) -> String {
        let escaped = text.unicodeScalars.prefix(64).map { $0.escaped(asASCII: true) }.joined()
        return "'\(escaped)\(text.unicodeScalars.count > 64 ? "…" : "")'"
    }

    case notAnEnvelope
    case unsupportedVersion(Int)
    case unsupportedSuite(Int)
    case invalidHeader(String)
    case invalidManifest(String)
    case unknownAgency(String)
    case badSignature(String)
    case chunkRejected(Int)
    case truncated(String)
    case payloadMismatch(String)

    public var description: String {
        switch self {
        case .notAnEnvelope: "not a Concord envelope (wrong magic bytes)"
        case .unsupportedVersion(let version): "envelope format version \(version) is not one this version of Concord reads (1)"
        case .unsupportedSuite(let suite): "envelope suite \(suite) is not one this version of Concord reads (1, 2)"
        case .invalidHeader(let reason): "invalid envelope header: \(reason)"
        case .invalidManifest(let reason): "invalid envelope manifest: \(reason)"
        case .unknownAgency(let agency): "the envelope claims to come from \(Self.shown(agency)), which is not a registered agency"
        case .badSignature(let agency): "the envelope's signature is not \(agency)'s: it was altered or signed with another key"
        case .chunkRejected(let index): "chunk \(index) does not open: the envelope was altered, its chunks reordered or duplicated, or it was sealed to another hub key"
        case .truncated(let reason): "the envelope is truncated: \(reason)"
        case .payloadMismatch(let reason): "the payload does not match its manifest: \(reason)"
        }
    }
}
