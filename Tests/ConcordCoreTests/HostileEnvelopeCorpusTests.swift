@testable import ConcordCore
import Crypto
import Foundation
import Testing

/// Hostile envelopes described in `Tests/Corpora/envelopes/cases.json`, each with the exact
/// refusal the opener must give (or none: it must open to its payload). They are built at test
/// time from the spec's vector, so that its keys sign and seal them: bytes of the vector edited,
/// or payloads sealed here by an implementation of `docs/envelope.md` written apart from the
/// library's sealer, so that manifests the sealer would never write can be signed and sealed.
@Suite("Hostile envelope corpus")
struct HostileEnvelopeCorpusTests {
    struct Corpus: Decodable {
        var manifestTemplate: String
        var cases: [Case]
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var vector: [Edit]?
        var seal: Seal?
        var error: String
        var testDescription: String { name }
    }

    /// One change to the vector's bytes.
    struct Edit: Decodable, Sendable {
        var at: Int?
        var hex: String?
        var truncate: Int?
        var append: String?
        var insert: Int?
    }

    struct Seal: Decodable, Sendable {
        var manifest: String?
        var payloadRepeat: [Repeat]?
        var chunkSize: Int?
        var signer: String?
        var extraChunkAfterLast: Bool?
        var markLast: Bool?
        var zstdZeros: Int?
        var claimedBytes: Int?
        var zstdTruncate: Int?
    }

    /// `["abc", 3]` in the file: a string or a count.
    enum Repeat: Decodable, Sendable {
        case text(String), count(Int)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) { self = .count(count) } else { self = .text(try container.decode(String.self)) }
        }
    }

    struct Vector: Decodable {
        var agency: String
        var agency_ed25519_private_key: String
        var hub_x25519_private_key: String
        var envelope_base64: String
        var payload: String
    }

    static let corpus: Corpus = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try! decoder.decode(Corpus.self, from: Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Corpora/envelopes/cases.json")))
    }()

    static let vector: Vector = try! JSONDecoder().decode(Vector.self, from: Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Vectors/envelope/vector.json")))
    static let hub = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: bytes(vector.hub_x25519_private_key))
    static let agency = try! Curve25519.Signing.PrivateKey(rawRepresentation: bytes(vector.agency_ed25519_private_key))

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
    }

    @Test("the corpus covers versions, suites, chunk sizes and counts, manifests, signatures, truncation and compression")
    func complete() {
        #expect(Self.corpus.cases.count >= 50)
        #expect(Set(Self.corpus.cases.map(\.name)).count == Self.corpus.cases.count)
    }

    @Test("each hostile envelope is refused with exactly its error, in bounded time", .timeLimit(.minutes(1)), arguments: corpus.cases)
    func hostile(_ testCase: Case) throws {
        let (envelope, payload) = try Self.build(testCase)
        // Fed in odd-sized pieces, as uploads arrive.
        var opener = EnvelopeOpener(hubKey: Self.hub) { $0 == Self.vector.agency ? Self.agency.publicKey : nil }
        do {
            var output: [UInt8] = []
            var offset = 0
            while offset < envelope.count {
                let end = min(envelope.count, offset + 65_537)
                output += try opener.consume(envelope[offset..<end])
                offset = end
            }
            output += try opener.finish()
            #expect(testCase.error.isEmpty, "\(testCase.name): opened")
            #expect(output == payload, "\(testCase.name)")
        } catch {
            #expect(error.description == testCase.error, "\(testCase.name): \(error.description)")
        }
    }

    /// The case's envelope and the payload it must open to.
    static func build(_ testCase: Case) throws -> (envelope: [UInt8], payload: [UInt8]) {
        var envelope = Array(Data(base64Encoded: vector.envelope_base64)!)
        let payload = Array(vector.payload.utf8)
        if let edits = testCase.vector {
            for edit in edits {
                if let at = edit.at, let hex = edit.hex {
                    let start = at < 0 ? envelope.count + at : at
                    envelope.replaceSubrange(start..<start + hex.count / 2, with: bytes(hex))
                } else if let length = edit.truncate {
                    envelope = Array(envelope.prefix(length < 0 ? envelope.count + length : length))
                } else if let hex = edit.append {
                    envelope += bytes(hex)
                } else if let at = edit.insert, let hex = edit.hex {
                    envelope.insert(contentsOf: bytes(hex), at: at)
                }
            }
            return (envelope, payload)
        }
        let seal = try #require(testCase.seal)
        var plaintext = payload
        if let parts = seal.payloadRepeat, case .text(let text) = parts[0], case .count(let count) = parts[1] {
            plaintext = Array(String(repeating: text, count: count).utf8)
        }
        // What is sealed (compressed or not), and what the manifest claims the payload is.
        var sealed = plaintext
        var claimed = plaintext
        if let zeros = seal.zstdZeros {
            claimed = [UInt8](repeating: 0, count: seal.claimedBytes ?? zeros)
            sealed = ZstdCompressor().compress([UInt8](repeating: 0, count: zeros), end: true)
        } else if let cut = seal.zstdTruncate {
            sealed = ZstdCompressor().compress(plaintext, end: true)
            sealed.removeLast(cut)
        }
        let sha = SHA256.hash(data: claimed).map { String(format: "%02x", $0) }.joined()
        let manifest = (seal.manifest ?? corpus.manifestTemplate)
            .replacingOccurrences(of: "{bytes-1}", with: String(claimed.count - 1))
            .replacingOccurrences(of: "{bytes}", with: String(claimed.count))
            .replacingOccurrences(of: "{sha}", with: sha)
            .replacingOccurrences(of: "{SHA}", with: sha.uppercased())
        let signer = seal.signer == "other" ? Curve25519.Signing.PrivateKey() : agency
        return (try rawSeal(manifest: Array(manifest.utf8), payload: sealed, chunkSize: seal.chunkSize ?? 4096, signer: signer,
                            markLast: seal.markLast ?? true, extraChunk: seal.extraChunkAfterLast ?? false), plaintext)
    }

    /// `docs/envelope.md` sections 1 and 3, written out from the spec.
    static func rawSeal(manifest: [UInt8], payload: [UInt8], chunkSize: Int, signer: Curve25519.Signing.PrivateKey,
                        markLast: Bool, extraChunk: Bool) throws -> [UInt8] {
        func bigEndian(_ value: UInt64, _ count: Int) -> [UInt8] { (0..<count).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
        let header = Array("CONCORD".utf8) + [0] + bigEndian(1, 2) + bigEndian(1, 2) + bigEndian(UInt64(chunkSize), 4)
            + bigEndian(UInt64(manifest.count), 4) + manifest
        let signature = try signer.signature(for: Array("concord-envelope-v1 header".utf8) + [0] + header)
        let digest = Array(SHA256.hash(data: header))
        let suite = HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256)
        var sender = try HPKE.Sender(recipientKey: hub.publicKey, ciphersuite: suite, info: Data(Array("concord-envelope-v1 payload".utf8) + [0] + digest))
        var output = header + Array(signature) + Array(sender.encapsulatedKey)
        var chunks = stride(from: 0, to: max(payload.count, 1), by: chunkSize).map { payload[$0..<min($0 + chunkSize, payload.count)] }
        if extraChunk { chunks.append(ArraySlice(Array("after the last".utf8))) }
        let lastIndex = extraChunk ? chunks.count - 2 : chunks.count - 1
        for (index, chunk) in chunks.enumerated() {
            let last = (index == lastIndex && markLast) || (extraChunk && index == chunks.count - 1)
            let aad = Array("concord-envelope-v1 chunk".utf8) + [0] + bigEndian(UInt64(index), 8) + [last ? 1 : 0]
            output += Array(try sender.seal(chunk, authenticating: aad))
        }
        return output
    }
}
