import ConcordCore
@testable import ConcordHubStore
import ConcordTestSupport
import Crypto
import Foundation
import PostgresNIO
import Testing

/// The hub's signing key in these tests, and its public line.
private let hubKey = PrivateKeyDocument.generate(.hubSigning, owner: "hub")

private func sign(_ store: HubStore, at now: Int64 = 1_795_846_806) async throws -> StoredCheckpoint {
    try await store.signCheckpoint(key: try hubKey.signingKey(), publicKey: hubKey.publicKey, now: now)
}

private func appendEntries(_ store: HubStore, _ range: ClosedRange<Int>) async throws {
    for index in range {
        try await store.audit(AuditEntry(actor: .agency("essex-police"), action: "upload.accepted", subject: "upload-\(index)",
                                         details: .object(["dataset": .string("police_da_incidents"), "rows": .integer(index)])))
    }
}

@Suite("Transparency log in PostgreSQL", .enabled(if: databaseAvailable))
struct TransparencyStoreTests {
    @Test func checkpointsCommitToTheLogAndProofsVerifyAgainstThem() async throws {
        try await withStore { store, _ in
            try await appendEntries(store, 1...37)
            let first = try await sign(store)
            let checkpoint = try Checkpoint(note: first.note, hubKey: hubKey.publicKey)
            #expect(checkpoint.size == 37 && checkpoint.rootHash == first.rootHash && checkpoint.time == CivilDate.utcTimestamp(secondsSinceEpoch: 1_795_846_806))
            // Nothing new: the same checkpoint, not another.
            #expect(try await sign(store, at: 1_795_846_900) == first)

            for seq: Int64 in [1, 2, 16, 17, 32, 37] {
                let proof = try await store.inclusionProof(seq: seq, treeSize: 37)
                #expect(proof.record.seq == seq && proof.rootHash == checkpoint.rootHash)
                #expect(MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(proof.record.content.utf8), index: seq - 1, size: 37,
                                                   proof: proof.hashes, root: checkpoint.rootHash), "entry \(seq)")
            }
            await #expect(throws: HubStoreError.self) { try await store.inclusionProof(seq: 38, treeSize: 38) }

            try await appendEntries(store, 38...100)
            let second = try Checkpoint(note: try await sign(store).note, hubKey: hubKey.publicKey)
            #expect(second.size == 100)
            for first: Int64 in [1, 16, 37, 64, 99, 100] {
                let proof = try await store.consistencyProof(first: first, second: 100)
                #expect(MerkleTree.verifyConsistency(first: first, second: 100, proof: proof.hashes, firstRoot: proof.firstRoot,
                                                     secondRoot: second.rootHash), "\(first) to 100")
            }
            #expect(try await store.consistencyProof(first: 37, second: 100).firstRoot == checkpoint.rootHash)
            #expect(try await store.checkpoints().map(\.size) == [37, 100])

            let verification = try await store.verifyAuditLog(against: [checkpoint, second])
            #expect(verification.isIntact && verification.checkpointsMatched == 2 && verification.rootHash == second.rootHash)
        }
    }

    /// The tree grows in rounds of a few entries from where the cache stopped, to the same root as
    /// one pass over every entry.
    @Test func theTreeGrowsInRoundsToTheRootOfTheWholeLog() async throws {
        try await withStore { store, _ in
            var tree = MerkleTreeBuilder()
            for (round, count) in [5, 1, 17, 32].enumerated() {
                try await appendEntries(store, (round * 100)...(round * 100 + count - 1))
                let grown = try await store.withTransaction { try await $0.growTree(batch: 7) }
                for record in try await store.auditEntries(after: tree.size) { tree.append(leafHash: MerkleTree.leafHash(record.content.utf8)) }
                #expect(grown.size == tree.size && grown.root == tree.root)
            }
            #expect(try await sign(store).rootHash == tree.root)
        }
    }

    @Test func theRuntimeRoleCanGrowTheTreeButNotChangeIt() async throws {
        try await withStore { store, _ in
            try await appendEntries(store, 1...3)
            try await store.withTransaction { transaction in
                try await transaction.query("SET LOCAL ROLE concord_hub")
                #expect(try await transaction.growTree().size == 3)
            }
            _ = try await sign(store)
            for statement: PostgresQuery in ["UPDATE audit_tree_nodes SET idx = 9", "DELETE FROM audit_checkpoints", "TRUNCATE audit_tree_nodes"] {
                guard case .database(let message, _)? = await hubStoreError({ try await store.withTransaction { _ = try await $0.query(statement) } }) else {
                    Issue.record("\(statement.sql) was not refused")
                    continue
                }
                #expect(message.contains("is append-only"), "\(message)")
            }
        }
    }

    @Test func aCheckpointIsNotSignedOverABrokenChain() async throws {
        try await withStore { store, _ in
            try await appendEntries(store, 1...4)
            try await tamper(store, ["UPDATE audit_log SET content = replace(content, 'upload-3', 'upload-x') WHERE seq = 3"])
            await #expect(throws: HubStoreError.auditChainBroken(seq: 3, reason: "hash does not match the entry's content")) { try await sign(store) }
        }
    }

    struct Tampering: Sendable, CustomTestStringConvertible {
        var name: String
        var statements: [String]
        /// Rewrites the chain's hashes from this seq on, as a careful forger would.
        var rechainFrom: Int64?
        var firstBad: Int64
        var reason: String
        var testDescription: String { name }
    }

    /// Ten entries, a checkpoint kept by the IG officer, then the table edited by its owner with the
    /// triggers off: each way is found, naming the first bad entry.
    @Test(arguments: [
        Tampering(name: "an edited entry", statements: ["UPDATE audit_log SET content = replace(content, 'upload-4\"', 'upload-9\"'), subject = 'upload-9' WHERE seq = 4"],
                  firstBad: 4, reason: "hash does not match"),
        Tampering(name: "an edited entry with the chain rewritten after it",
                  statements: ["UPDATE audit_log SET content = replace(content, 'upload-4\"', 'upload-9\"'), subject = 'upload-9' WHERE seq = 4"],
                  rechainFrom: 4, firstBad: 4, reason: "not the one the hub added to its Merkle tree"),
        Tampering(name: "an edited entry with the chain and the tree cache rewritten",
                  statements: ["UPDATE audit_log SET content = replace(content, 'upload-4\"', 'upload-9\"'), subject = 'upload-9' WHERE seq = 4",
                               "ALTER TABLE audit_tree_nodes DISABLE TRIGGER USER", "DELETE FROM audit_tree_nodes"],
                  rechainFrom: 4, firstBad: 1, reason: "entries 1 to 10 do not hash to the root of the checkpoint of size 10"),
        Tampering(name: "a column edited, its hashed content not", statements: ["UPDATE audit_log SET subject = 'upload-9' WHERE seq = 5"],
                  firstBad: 5, reason: "differ from its hashed content"),
        Tampering(name: "a deleted entry", statements: ["DELETE FROM audit_log WHERE seq = 6"], firstBad: 6, reason: "entry 6 is missing"),
        Tampering(name: "the last entry deleted", statements: ["DELETE FROM audit_log WHERE seq = 10"], firstBad: 10,
                  reason: "the log ends at entry 9, but the checkpoint of size 10"),
        Tampering(name: "an inserted entry",
                  statements: ["UPDATE audit_log SET seq = seq + 100 WHERE seq >= 7", "UPDATE audit_log SET seq = seq - 99 WHERE seq > 100",
                               "INSERT INTO audit_log SELECT 7, at, actor, action, 'forged', outcome, replace(replace(content, '\"seq\":6', '\"seq\":7'), 'upload-6\"', 'forged\"'), hash, sha256(hash) FROM audit_log WHERE seq = 6"],
                  rechainFrom: 7, firstBad: 7, reason: "not the one the hub added to its Merkle tree"),
        Tampering(name: "two entries swapped",
                  statements: ["UPDATE audit_log SET seq = 1000 WHERE seq = 3", "UPDATE audit_log SET seq = 3 WHERE seq = 4", "UPDATE audit_log SET seq = 4 WHERE seq = 1000"],
                  firstBad: 3, reason: "prev_hash is not the previous entry's hash"),
    ])
    func tamperingIsFoundAtTheFirstBadEntry(_ tampering: Tampering) async throws {
        try await withStore { store, _ in
            try await appendEntries(store, 1...10)
            let kept = try Checkpoint(note: try await sign(store).note, hubKey: hubKey.publicKey)
            #expect(try await store.verifyAuditLog(against: [kept]).isIntact)
            try await tamper(store, tampering.statements)
            if let from = tampering.rechainFrom { try await rechain(store, from: from) }
            let verification = try await store.verifyAuditLog(against: [kept])
            #expect(verification.firstBroken?.seq == tampering.firstBad, "\(String(describing: verification.firstBroken))")
            #expect(verification.firstBroken?.reason.contains(tampering.reason) == true, "\(String(describing: verification.firstBroken))")
        }
    }

    /// Runs `statements` as the table's owner would in psql: user triggers off, then on again.
    private func tamper(_ store: HubStore, _ statements: [String]) async throws {
        try await store.withTransaction { transaction in
            try await transaction.query("ALTER TABLE audit_log DISABLE TRIGGER USER")
            for statement in statements { try await transaction.query(PostgresQuery(unsafeSQL: statement)) }
            try await transaction.query("ALTER TABLE audit_log ENABLE TRIGGER USER")
        }
    }

    /// Recomputes `prev_hash` and `hash` from entry `from` on, so the chain alone looks intact.
    private func rechain(_ store: HubStore, from: Int64) async throws {
        let records = try await store.auditEntries(limit: 1000)
        var previous = records.first { $0.seq == from - 1 }?.hash ?? [UInt8](repeating: 0, count: 32)
        var updates: [PostgresQuery] = ["ALTER TABLE audit_log DISABLE TRIGGER USER"]
        for record in records where record.seq >= from {
            let hash = Array(SHA256.hash(data: previous + Array(record.content.utf8)))
            updates.append("UPDATE audit_log SET prev_hash = \(ByteBuffer(bytes: previous)), hash = \(ByteBuffer(bytes: hash)) WHERE seq = \(record.seq)")
            previous = hash
        }
        updates.append("ALTER TABLE audit_log ENABLE TRIGGER USER")
        try await store.withTransaction { transaction in
            for update in updates { try await transaction.query(update) }
        }
    }
}
