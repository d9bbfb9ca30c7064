import ConcordCore
import Crypto
import Foundation
import Testing

/// Keys and a sealed envelope for the tests.
struct EnvelopeFixture {
    static let hub = Curve25519.KeyAgreement.PrivateKey()
    static let agency = Curve25519.Signing.PrivateKey()
    static let chunkSize = 4096

    static func manifest(for payload: [UInt8], agency: String = "county-police", rows: Int = 3) -> EnvelopeManifest {
        EnvelopeManifest(agency: agency, dataset: "police_da_incidents", schemaVersion: 1, agreements: ["early-help-domestic-abuse.v1"],
                         extractDate: CivilDate(iso: "2026-11-21")!, rows: rows, columns: ["mk2", "INCIDENT_DATE"],
                         linkageKeyID: "lk1-0123456789abcdef", payloadBytes: payload.count,
                         payloadSHA256: SHA256.hash(data: payload).map { String(format: "%02x", $0) }.joined(), created: "2026-11-22T01:02:03Z")
    }

    /// Seals `payload`, fed to the sealer in pieces of `pieceSize`.
    static func seal(_ payload: [UInt8], manifest: EnvelopeManifest? = nil, hubKey: Curve25519.KeyAgreement.PublicKey = hub.publicKey,
                     pieceSize: Int = 1000, suite: Envelope.Suite = .x25519AES256GCM, chunkSize: Int = chunkSize) throws -> (envelope: [UInt8], header: Int) {
        var sealer = try EnvelopeSealer(manifest: manifest ?? Self.manifest(for: payload), hubKey: hubKey, signingKey: agency, suite: suite, chunkSize: chunkSize)
        var output = sealer.header
        var offset = 0
        while offset < payload.count {
            let end = min(payload.count, offset + pieceSize)
            output += try sealer.append(payload[offset..<end])
            offset = end
        }
        output += try sealer.finish()
        return (output, sealer.header.count)
    }

    /// Opens an envelope fed in pieces of `pieceSize`.
    static func open(_ envelope: [UInt8], pieceSize: Int = 777, hubKey: Curve25519.KeyAgreement.PrivateKey = hub,
                     agencyKey: Curve25519.Signing.PublicKey = agency.publicKey) throws(EnvelopeError) -> [UInt8] {
        var opener = EnvelopeOpener(hubKey: hubKey) { $0 == "county-police" ? agencyKey : nil }
        var output: [UInt8] = []
        var offset = 0
        while offset < envelope.count {
            let end = min(envelope.count, offset + pieceSize)
            output += try opener.consume(envelope[offset..<end])
            offset = end
        }
        output += try opener.finish()
        return output
    }

    static func payload(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    }
}

@Suite("Envelope")
struct EnvelopeTests {
    typealias F = EnvelopeFixture

    @Test("round trip at every size around chunk boundaries, whatever the pieces", arguments: [0, 1, 4095, 4096, 4097, 8192, 12_289, 100_000])
    func roundTrip(size: Int) throws {
        let payload = F.payload(size)
        for (sealPiece, openPiece) in [(1000, 777), (5000, 1), (100_000, 100_000)] where openPiece > 1 || size < 5000 {
            let (envelope, _) = try F.seal(payload, pieceSize: sealPiece)
            #expect(try F.open(envelope, pieceSize: openPiece) == payload, "seal pieces \(sealPiece), open pieces \(openPiece)")
        }
        let (chacha, _) = try F.seal(payload, suite: .x25519ChaChaPoly)
        #expect(try F.open(chacha) == payload)
    }

    @Test("zstd round trip at sizes around chunk boundaries, and it compresses", arguments: [0, 1, 4096, 20_000, 300_000])
    func zstdRoundTrip(size: Int) throws {
        let payload = Array((0..<size).map { index in UInt8(ascii: "a") + UInt8((index / 7) % 26) })
        var manifest = F.manifest(for: payload)
        manifest.compression = "zstd"
        for (sealPiece, openPiece) in [(1000, 777), (300_000, 5000)] {
            let (envelope, header) = try F.seal(payload, manifest: manifest, pieceSize: sealPiece)
            #expect(try F.open(envelope, pieceSize: openPiece) == payload)
            if size >= 20_000 { #expect(envelope.count - header < size / 4) }
        }
    }

    @Test("a decompression bomb is stopped at the first block beyond the manifest's size")
    func decompressionBomb() throws {
        let bomb = [UInt8](repeating: 0, count: 50_000_000)
        var manifest = F.manifest(for: Array(bomb.prefix(10)))
        manifest.compression = "zstd"
        let (envelope, header) = try F.seal(bomb, manifest: manifest, pieceSize: 1 << 20)
        #expect(envelope.count - header < 10_000)
        var opener = EnvelopeOpener(hubKey: F.hub) { _ in F.agency.publicKey }
        #expect { _ = try opener.consume(envelope) + opener.finish() } throws: { error in
            if case .payloadMismatch(let reason)? = error as? EnvelopeError { reason.contains("longer than") } else { false }
        }
    }

    @Test("with several hub and agency keys, the opener finds the ones used and says which", arguments: [0, 100, 10_000])
    func severalKeys(size: Int) throws {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let (envelope, _) = try F.seal(payload)
        let others = [Curve25519.KeyAgreement.PrivateKey(), Curve25519.KeyAgreement.PrivateKey()]
        var opener = EnvelopeOpener(hubKeys: [others[0], F.hub, others[1]]) {
            $0 == "county-police" ? [Curve25519.Signing.PrivateKey().publicKey, F.agency.publicKey] : []
        }
        var output = try opener.consume(envelope)
        output += try opener.finish()
        #expect(output == payload)
        #expect(opener.hubKeyIndex == 1 && opener.agencyKeyIndex == 1)
        var strangers = EnvelopeOpener(hubKeys: others) { _ in [F.agency.publicKey] }
        #expect(throws: EnvelopeError.chunkRejected(0)) { _ = try strangers.consume(envelope); _ = try strangers.finish() }
        var unsigned = EnvelopeOpener(hubKeys: [F.hub]) { _ in [Curve25519.Signing.PrivateKey().publicKey] }
        #expect(throws: EnvelopeError.badSignature("county-police")) { _ = try unsigned.consume(envelope) }
    }

    @Test("the wire size is the header plus each chunk and a tag")
    func sizes() throws {
        let (envelope, header) = try F.seal(F.payload(10_000))
        #expect(envelope.count == header + 10_000 + 3 * 16)
        let (empty, emptyHeader) = try F.seal([])
        #expect(empty.count == emptyHeader + 16)
    }

    @Test("the manifest and header digest are available as soon as the header has arrived")
    func headerFirst() throws {
        let (envelope, header) = try F.seal(F.payload(9000))
        var opener = EnvelopeOpener(hubKey: F.hub) { _ in F.agency.publicKey }
        _ = try opener.consume(envelope[..<(header - 1)])
        #expect(opener.manifest == nil)
        _ = try opener.consume(envelope[(header - 1)..<header])
        #expect(opener.manifest?.dataset == "police_da_incidents")
        #expect(opener.headerDigest == Array(SHA256.hash(data: envelope[..<(header - 96)])))
    }

    static let tamperings: [(String, @Sendable ([UInt8], Int) -> [UInt8], @Sendable (EnvelopeError) -> Bool)] = [
        ("a flipped bit in the magic", { e, _ in flip(e, 0) }, { $0 == .notAnEnvelope }),
        ("another format version", { e, _ in var e = e; e[9] = 2; return e }, { $0 == .unsupportedVersion(2) }),
        ("an unknown suite", { e, _ in var e = e; e[11] = 9; return e }, { $0 == .unsupportedSuite(9) }),
        ("an absurd chunk size", { e, _ in var e = e; e[12] = 0x7F; return e }, { if case .invalidHeader = $0 { true } else { false } }),
        ("an absurd manifest length", { e, _ in var e = e; e[16] = 0x7F; return e }, { if case .invalidHeader = $0 { true } else { false } }),
        ("a changed column in the manifest", { e, _ in replaceInManifest(e, "INCIDENT_DATE", "INCIDENT_DATF") }, { $0 == .badSignature("county-police") }),
        ("a changed agency in the manifest", { e, _ in replaceInManifest(e, "county-police", "county-pohice") }, { $0 == .unknownAgency("county-pohice") }),
        ("a manifest no longer canonical", { e, _ in replaceInManifest(e, "\"rows\":3", "\"rows\":03") }, { if case .invalidManifest = $0 { true } else { false } }),
        ("a changed row count", { e, h in replaceInManifest(e, "\"rows\":3", "\"rows\":4") }, { $0 == .badSignature("county-police") }),
        ("a flipped bit in the signature", { e, h in flip(e, h - 40) }, { $0 == .badSignature("county-police") }),
        ("a flipped bit in the encapsulated key", { e, h in flip(e, h - 5) }, { $0 == .chunkRejected(0) || $0 == .invalidHeader("the encapsulated key is not a valid X25519 public key") }),
        ("a flipped bit in the first chunk", { e, h in flip(e, h + 10) }, { $0 == .chunkRejected(0) }),
        ("a flipped bit in the last chunk's tag", { e, _ in flip(e, e.count - 1) }, { $0 == .chunkRejected(2) }),
        ("two chunks swapped", { e, h in swapChunks(e, h, 0, 1) }, { $0 == .chunkRejected(0) }),
        ("a chunk duplicated", { e, h in Array(e[..<(h + 4112)]) + Array(e[h..<(h + 4112)]) + Array(e[(h + 4112)...]) }, { $0 == .chunkRejected(1) }),
        ("a chunk dropped", { e, h in Array(e[..<h]) + Array(e[(h + 4112)...]) }, { $0 == .chunkRejected(0) }),
        ("the last chunk cut off", { e, h in Array(e[..<(h + 2 * 4112)]) }, { if case .truncated = $0 { true } else { false } }),
        ("cut inside a chunk", { e, h in Array(e[..<(h + 4112 + 100)]) }, { $0 == .chunkRejected(1) }),
        ("cut inside the header", { e, h in Array(e[..<(h - 10)]) }, { if case .truncated = $0 { true } else { false } }),
        ("bytes appended", { e, _ in e + [0, 1, 2] }, { $0 == .chunkRejected(2) }),
    ]

    @Test("every tampering is refused with a clear error", arguments: 0..<tamperings.count)
    func tampering(index: Int) throws {
        let (name, tamper, matches) = Self.tamperings[index]
        let (envelope, header) = try F.seal(F.payload(10_000))
        let tampered = tamper(envelope, header)
        #expect(tampered != envelope, "\(name)")
        do {
            _ = try F.open(tampered)
            Issue.record("\(name): opened")
        } catch {
            #expect(matches(error), "\(name): \(error)")
            #expect(!error.description.isEmpty)
        }
    }

    @Test("another hub's key, an unknown agency and another agency's signing key are refused")
    func wrongKeys() throws {
        let (envelope, _) = try F.seal(F.payload(5000))
        #expect(throws: EnvelopeError.chunkRejected(0)) { try F.open(envelope, hubKey: Curve25519.KeyAgreement.PrivateKey()) }
        #expect(throws: EnvelopeError.badSignature("county-police")) { try F.open(envelope, agencyKey: Curve25519.Signing.PrivateKey().publicKey) }
        let (stranger, _) = try F.seal(F.payload(10), manifest: F.manifest(for: F.payload(10), agency: "stranger"))
        #expect(throws: EnvelopeError.unknownAgency("stranger")) { try F.open(stranger) }
    }

    @Test("a payload moved under another envelope's header does not open")
    func movedPayload() throws {
        let payload = F.payload(5000)
        let (first, header) = try F.seal(payload)
        let (second, _) = try F.seal(payload)
        #expect(throws: EnvelopeError.chunkRejected(0)) { try F.open(Array(first[..<header]) + Array(second[header...])) }
    }

    @Test("a manifest that does not match its payload is refused at the end")
    func manifestMismatch() throws {
        let payload = F.payload(5000)
        var wrongLength = F.manifest(for: payload)
        wrongLength.payloadBytes = 4999
        #expect { try F.open(try F.seal(payload, manifest: wrongLength).envelope) } throws: { ($0 as? EnvelopeError).map { if case .payloadMismatch = $0 { true } else { false } } ?? false }
        var wrongHash = F.manifest(for: payload)
        wrongHash.payloadSHA256 = String(repeating: "0", count: 64)
        #expect { try F.open(try F.seal(payload, manifest: wrongHash).envelope) } throws: { ($0 as? EnvelopeError).map { if case .payloadMismatch = $0 { true } else { false } } ?? false }
    }

    @Test("manifests must be canonical and complete")
    func manifests() throws {
        let manifest = F.manifest(for: [1, 2, 3])
        #expect(try EnvelopeManifest(canonical: manifest.json.bytes) == manifest)
        let text = String(decoding: manifest.json.bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"agency\":\"county-police\",\"agreements\":[\"early-help-domestic-abuse.v1\"],\"columns\":"))
        for bad in [text.replacingOccurrences(of: ",", with: ", "), text.replacingOccurrences(of: "\"rows\":3", with: "\"rows\":3.0"),
                    text.replacingOccurrences(of: "\"rows\":3,", with: ""), text.replacingOccurrences(of: "{", with: "{\"extra\":1,")] {
            #expect(throws: EnvelopeError.self) { try EnvelopeManifest(canonical: Array(bad.utf8)) }
        }
    }

    @Test("canonical JSON matches RFC 8785 for strings, integers and nesting")
    func canonicalJSON() throws {
        let value = CanonicalJSON.object(["b": .array([.integer(-12), .boolean(true)]), "a": .string("é\"\\\n\u{1}"), "A": .integer(0)])
        #expect(String(decoding: value.bytes, as: UTF8.self) == "{\"A\":0,\"a\":\"é\\\"\\\\\\n\\u0001\",\"b\":[-12,true]}")
        #expect(try CanonicalJSON(canonical: value.bytes) == value)
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON(canonical: Array("{\"b\":1,\"a\":2}".utf8)) }
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON(canonical: Array(String(repeating: "[", count: 40).utf8)) }
    }

    private static func flip(_ bytes: [UInt8], _ index: Int) -> [UInt8] {
        var bytes = bytes
        bytes[index] ^= 0x04
        return bytes
    }

    private static func replaceInManifest(_ bytes: [UInt8], _ old: String, _ new: String) -> [UInt8] {
        let text = String(decoding: bytes[20...], as: UTF8.self)
        guard let range = text.range(of: old) else { return bytes }
        let offset = 20 + text.utf8.distance(from: text.startIndex, to: range.lowerBound)
        var result = bytes
        result.replaceSubrange(offset..<offset + old.utf8.count, with: Array(new.utf8))
        return result
    }

    private static func swapChunks(_ bytes: [UInt8], _ header: Int, _ first: Int, _ second: Int) -> [UInt8] {
        let wire = 4096 + 16
        var result = bytes
        let a = Array(bytes[(header + first * wire)..<(header + (first + 1) * wire)])
        let b = Array(bytes[(header + second * wire)..<(header + (second + 1) * wire)])
        result.replaceSubrange((header + first * wire)..<(header + (first + 1) * wire), with: b)
        result.replaceSubrange((header + second * wire)..<(header + (second + 1) * wire), with: a)
        return result
    }
}

@Suite("Envelope test vector")
struct EnvelopeVectorTests {
    struct Vector: Decodable {
        var chunk_size: Int
        var hub_x25519_private_key: String
        var hub_x25519_public_key: String
        var agency: String
        var agency_ed25519_public_key: String
        var manifest: String
        var header_digest: String
        var payload: String
        var envelope_base64: String
    }

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
    }

    @Test("the vector in Tests/Vectors/envelope opens to its payload and manifest")
    func vector() throws {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Vectors/envelope/vector.json"))
        let vector = try JSONDecoder().decode(Vector.self, from: data)
        let hub = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Self.bytes(vector.hub_x25519_private_key))
        #expect(Array(hub.publicKey.rawRepresentation) == Self.bytes(vector.hub_x25519_public_key))
        let agency = try Curve25519.Signing.PublicKey(rawRepresentation: Self.bytes(vector.agency_ed25519_public_key))
        var opener = EnvelopeOpener(hubKey: hub) { $0 == vector.agency ? agency : nil }
        let envelope = try #require(Data(base64Encoded: vector.envelope_base64))
        let plaintext = try opener.consume(envelope) + opener.finish()
        #expect(plaintext == Array(vector.payload.utf8))
        #expect(opener.manifest?.json.bytes == Array(vector.manifest.utf8))
        #expect(opener.headerDigest == Self.bytes(vector.header_digest))
        #expect(opener.manifest?.rows == 300)
    }
}

@Suite("Exchange keys")
struct ExchangeKeyTests {
    @Test("private key files round-trip and never show the key", arguments: ExchangeKeyKind.allCases)
    func roundTrip(kind: ExchangeKeyKind) throws {
        let key = PrivateKeyDocument.generate(kind, owner: "county-police")
        let parsed = try PrivateKeyDocument(fileContents: key.fileContents)
        #expect(parsed.publicKey == key.publicKey)
        #expect(parsed.kind == kind && parsed.owner == "county-police")
        let secretLine = try #require(key.fileContents.split(separator: "\n").first { $0.hasPrefix("key: ") })
        #expect(!key.description.contains(secretLine.dropFirst(5)))
        #expect(try PublicKeyLine(line: key.publicKey.description) == key.publicKey)
        #expect(key.publicKey.id.count == 19)
    }

    @Test("a key is usable only for its kind, and a signing pair signs and verifies")
    func kinds() throws {
        let agency = PrivateKeyDocument.generate(.agencySigning, owner: "a")
        let hub = PrivateKeyDocument.generate(.hubEncryption, owner: "hub")
        #expect(throws: ExchangeKeyError.wrongKind(.agencySigning)) { try agency.encryptionKey() }
        #expect(throws: ExchangeKeyError.wrongKind(.hubEncryption)) { try hub.signingKey() }
        #expect(throws: ExchangeKeyError.wrongKind(.hubEncryption)) { try hub.publicKey.signingKey() }
        let signature = try agency.signingKey().signature(for: Array("m".utf8))
        #expect(try agency.publicKey.signingKey().isValidSignature(signature, for: Array("m".utf8)))
        #expect(try hub.encryptionKey().publicKey.rawRepresentation == hub.publicKey.encryptionKey().rawRepresentation)
    }

    @Test("key ids follow the spec")
    func ids() throws {
        let line = PublicKeyLine(kind: .hubSigning, owner: "hub", raw: Array(repeating: 7, count: 32))
        let digest = SHA256.hash(data: Array("concord-public-key-id-v1".utf8) + [0] + Array("hub-signing".utf8) + [0] + Array(repeating: 7, count: 32))
        #expect(line.id == "hs-" + digest.prefix(8).map { String(format: "%02x", $0) }.joined())
    }

    @Test("malformed key files and lines are refused", arguments: [
        "format: concord-private-key/1\nkind: agency-signing\nowner: a\n",
        "format: concord-private-key/2\nkind: agency-signing\nowner: a\nkey: AAAA\n",
        "format: concord-private-key/1\nkind: root\nowner: a\nkey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "format: concord-private-key/1\nkind: agency-signing\nowner: a\nkey: AAAA\n",
        "format: concord-private-key/1\nformat: concord-private-key/1\n",
    ])
    func malformed(text: String) {
        #expect(throws: ExchangeKeyError.self) { try PrivateKeyDocument(fileContents: text) }
    }
}
