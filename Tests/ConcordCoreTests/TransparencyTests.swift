@testable import ConcordCore
import Crypto
import Foundation
import Testing

/// `concord-tlog/1` against `Tests/Vectors/transparency/vectors.json`, which
/// `make_vectors.py` computes from RFC 6962's recursive definitions with hashlib alone.
@Suite("Transparency log: Merkle proofs and checkpoints")
struct TransparencyTests {
    struct Vectors: Decodable {
        struct Inclusion: Decodable { var index: Int64; var size: Int64; var path: [String] }
        struct Consistency: Decodable { var first: Int64; var second: Int64; var proof: [String] }
        struct CheckpointVector: Decodable {
            var seed_hex: String
            var public_key_line: String
            var key_id: String
            var origin: String
            var size: Int64
            var root_hex: String
            var time: String
            var key_hash_hex: String
            var note: String
        }
        var leaves_hex: [String]
        var leaf_hashes: [String]
        var roots: [String]
        var inclusion: [Inclusion]
        var consistency: [Consistency]
        var checkpoint: CheckpointVector
    }

    static let vectors: Vectors = {
        let data = try! Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Vectors/transparency/vectors.json"))
        return try! JSONDecoder().decode(Vectors.self, from: data)
    }()

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
    }

    static var leafHashes: [[UInt8]] { vectors.leaves_hex.map { MerkleTree.leafHash(bytes($0)) } }

    /// The subtree hashes of the vectors' leaves, by building every tree the way the hub's cache does.
    static var subtreeHashes: [MerkleTree.Subtree: [UInt8]] {
        var builder = MerkleTreeBuilder()
        var hashes: [MerkleTree.Subtree: [UInt8]] = [:]
        for leaf in leafHashes { for (subtree, hash) in builder.append(leafHash: leaf) { hashes[subtree] = hash } }
        return hashes
    }

    @Test func leafHashesAndEveryRoot() {
        #expect(Self.leafHashes.map(\.lowercaseHex) == Self.vectors.leaf_hashes)
        var builder = MerkleTreeBuilder()
        var roots = [builder.root.lowercaseHex]
        for leaf in Self.leafHashes {
            builder.append(leafHash: leaf)
            roots.append(builder.root.lowercaseHex)
        }
        #expect(roots == Self.vectors.roots)
        // The certificate-transparency project's root of its eight test leaves.
        #expect(Self.vectors.roots[8] == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
    }

    @Test func rootsFromCachedSubtreesAndAResumedBuilder() {
        let hashes = Self.subtreeHashes
        for size in 0...Int64(Self.leafHashes.count) {
            #expect(hashes.of(0..<size).lowercaseHex == Self.vectors.roots[Int(size)])
            var resumed = MerkleTreeBuilder(size: size, frontierHashes: MerkleTree.subtrees(0..<size).map { hashes[$0]! })
            for leaf in Self.leafHashes[Int(size)...] { resumed.append(leafHash: leaf) }
            #expect(resumed.root.lowercaseHex == Self.vectors.roots.last)
        }
    }

    @Test func inclusionProofsMatchTheVectorsAndVerify() {
        let hashes = Self.subtreeHashes
        for vector in Self.vectors.inclusion {
            let proof = MerkleTree.inclusionProof(index: vector.index, size: vector.size).map { range in hashes.of(range) }
            #expect(proof.map(\.lowercaseHex) == vector.path, "leaf \(vector.index) of \(vector.size)")
            let root = Self.bytes(Self.vectors.roots[Int(vector.size)])
            let leaf = Self.leafHashes[Int(vector.index)]
            #expect(MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, size: vector.size, proof: proof, root: root))
            // Another leaf, another index, a shorter proof or a flipped bit must all fail.
            #expect(!MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash([0xFF]), index: vector.index, size: vector.size, proof: proof, root: root))
            if vector.size > 1 {
                let other = (vector.index + 1) % vector.size
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: other, size: vector.size, proof: proof, root: root))
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, size: vector.size, proof: Array(proof.dropLast()), root: root))
                var flipped = proof
                flipped[0][0] ^= 1
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, size: vector.size, proof: flipped, root: root))
            }
            #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: vector.size, size: vector.size, proof: proof, root: root))
        }
    }

    @Test func consistencyProofsMatchTheVectorsAndVerify() {
        let hashes = Self.subtreeHashes
        for vector in Self.vectors.consistency {
            let proof = MerkleTree.consistencyProof(first: vector.first, second: vector.second).map { range in hashes.of(range) }
            #expect(proof.map(\.lowercaseHex) == vector.proof, "\(vector.first) to \(vector.second)")
            let first = Self.bytes(Self.vectors.roots[Int(vector.first)])
            let second = Self.bytes(Self.vectors.roots[Int(vector.second)])
            #expect(MerkleTree.verifyConsistency(first: vector.first, second: vector.second, proof: proof, firstRoot: first, secondRoot: second))
            if vector.first < vector.second {
                var flipped = proof
                flipped[flipped.count - 1][31] ^= 1
                #expect(!MerkleTree.verifyConsistency(first: vector.first, second: vector.second, proof: flipped, firstRoot: first, secondRoot: second))
                // A tree that is not a prefix: the old root of another log of the same size.
                let forged = MerkleTree.leafHash(Array("not this log".utf8))
                #expect(!MerkleTree.verifyConsistency(first: vector.first, second: vector.second, proof: proof, firstRoot: forged, secondRoot: second))
                #expect(!MerkleTree.verifyConsistency(first: vector.first, second: vector.second, proof: [], firstRoot: first, secondRoot: second))
            }
        }
        #expect(MerkleTree.verifyConsistency(first: 0, second: 5, proof: [], firstRoot: MerkleTree.emptyRoot, secondRoot: Self.bytes(Self.vectors.roots[5])))
    }

    @Test func checkpointNoteFromTheVectorsVerifies() throws {
        let vector = Self.vectors.checkpoint
        let hubKey = try PublicKeyLine(line: vector.public_key_line)
        #expect(hubKey.id == vector.key_id)
        #expect(Checkpoint.origin(for: hubKey) == vector.origin)
        #expect(Checkpoint.keyHash(name: vector.origin, publicKey: hubKey.raw).lowercaseHex == vector.key_hash_hex)
        let checkpoint = try Checkpoint(note: vector.note, hubKey: hubKey)
        #expect(checkpoint == Checkpoint(origin: vector.origin, size: vector.size, rootHash: Self.bytes(vector.root_hex), time: vector.time))
        #expect(vector.note.hasPrefix(checkpoint.body + "\n\u{2014} "))
        // Ed25519 over the same body with the same seed: byte for byte what Python signed.
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Self.bytes(vector.seed_hex))
        #expect(try Checkpoint(note: try checkpoint.signedNote(key: key, publicKey: hubKey), hubKey: hubKey) == checkpoint)
    }

    @Test func alteredOrForeignCheckpointsAreRefused() throws {
        let vector = Self.vectors.checkpoint
        let hubKey = try PublicKeyLine(line: vector.public_key_line)
        let resized = vector.note.replacingOccurrences(of: "\n9\n", with: "\n10\n")
        #expect(throws: CheckpointError.badSignature) { try Checkpoint(note: resized, hubKey: hubKey) }
        let stranger = PrivateKeyDocument.generate(.hubSigning, owner: "hub").publicKey
        #expect(throws: CheckpointError.self) { try Checkpoint(note: vector.note, hubKey: stranger) }
        #expect(throws: CheckpointError.self) { try Checkpoint(note: "concord-audit/x\n9\n", hubKey: hubKey) }
        #expect(throws: CheckpointError.self) { try Checkpoint(note: vector.note.replacingOccurrences(of: "time ", with: "when "), hubKey: hubKey) }
        // A cosigner's line beside the hub's is ignored, not an error.
        let cosigned = vector.note + "\u{2014} witness.example AAAA\n"
        #expect(try Checkpoint(note: cosigned, hubKey: hubKey).size == vector.size)
    }

    /// After a hub key rotation, checkpoints signed by the previous key are read with the list of
    /// the hub's keys; a list without that key refuses them, and an altered one is still refused.
    @Test func checkpointsOfARotatedKeyVerifyWithTheHubsKeyList() throws {
        let vector = Self.vectors.checkpoint
        let old = try PublicKeyLine(line: vector.public_key_line)
        let current = PrivateKeyDocument.generate(.hubSigning, owner: "hub").publicKey
        #expect(try Checkpoint(note: vector.note, hubKeys: [current, old]) == Checkpoint(note: vector.note, hubKey: old))
        #expect(throws: CheckpointError.self) { try Checkpoint(note: vector.note, hubKeys: [current]) }
        #expect(throws: CheckpointError.self) { try Checkpoint(note: vector.note, hubKeys: []) }
        let resized = vector.note.replacingOccurrences(of: "\n9\n", with: "\n10\n")
        #expect(throws: CheckpointError.badSignature) { try Checkpoint(note: resized, hubKeys: [current, old]) }
    }

    /// The vectors' ninth leaf is an audit entry (seq 9) and their checkpoint covers it: evidence an agency would keep.
    @Test func auditEvidenceIsCheckedWhole() throws {
        let vector = Self.vectors.checkpoint
        let hubKey = try PublicKeyLine(line: vector.public_key_line)
        let entry = String(decoding: Self.bytes(Self.vectors.leaves_hex[8]), as: UTF8.self)
        let path = try #require(Self.vectors.inclusion.first { $0.index == 8 && $0.size == 9 }).path
        func evidence(entry: String = entry, path: [String] = path, note: String? = vector.note) -> CanonicalJSON {
            var members: [String: CanonicalJSON] = [
                "seq": .integer(9), "tree_size": .integer(9), "root_hash": .string(Base64.encode(Self.bytes(vector.root_hex))),
                "entry": .string(entry), "inclusion_proof": .array(path.map { .string(Base64.encode(Self.bytes($0))) }),
            ]
            if let note { members["checkpoint"] = .string(note) }
            return .object(members)
        }
        let checked = try AuditEvidence(json: evidence(), hubKey: hubKey)
        #expect(checked.seq == 9 && checked.entryFields["action"] == .string("agency.add"))
        #expect(try AuditEvidence(json: checked.json, hubKey: hubKey) == checked)
        #expect(throws: AuditEvidenceError.self) { try AuditEvidence(json: evidence(entry: entry.replacingOccurrences(of: "Essex", with: "Kent")), hubKey: hubKey) }
        #expect(throws: AuditEvidenceError.self) { try AuditEvidence(json: evidence(path: Array(path.dropFirst())), hubKey: hubKey) }
        let uncovered = #expect(throws: AuditEvidenceError.self) { try AuditEvidence(json: evidence(note: nil), hubKey: hubKey) }
        guard case .notCovered? = uncovered else { Issue.record("evidence without a checkpoint was not refused as not covered"); return }
    }

    @Test func utcTimestampsRoundTrip() {
        for seconds: Int64 in [0, 1_795_846_806, 951_782_400] {
            #expect(CivilDate.secondsSinceEpoch(utcTimestamp: CivilDate.utcTimestamp(secondsSinceEpoch: seconds)) == seconds)
        }
        #expect(CivilDate.secondsSinceEpoch(utcTimestamp: "2026-11-22T24:00:00Z") == nil)
        #expect(CivilDate.secondsSinceEpoch(utcTimestamp: "2026-11-22 06:20:06Z") == nil)
    }
}

extension [MerkleTree.Subtree: [UInt8]] {
    /// `MTH` of `range` from these subtree hashes.
    func of(_ range: Range<Int64>) -> [UInt8] { MerkleTree.hash(of: range) { self[$0]! } }
}
