import ConcordCore
import Crypto
import PostgresNIO

/// A checkpoint the hub signed, as stored in `audit_checkpoints`.
public struct StoredCheckpoint: Sendable, Hashable {
    public var size: Int64
    public var rootHash: [UInt8]
    public var keyID: String
    /// The C2SP signed note, verbatim: what an IG officer keeps and `concord audit verify` checks.
    public var note: String
}

/// An inclusion proof of one audit entry in the tree of a given size (docs/transparency-log.md).
public struct AuditInclusionProof: Sendable, Hashable {
    public var record: AuditRecord
    public var treeSize: Int64
    public var rootHash: [UInt8]
    /// `PATH(seq − 1, D[treeSize])`, nearest the leaf first.
    public var hashes: [[UInt8]]
}

/// A consistency proof between two tree sizes.
public struct AuditConsistencyProof: Sendable, Hashable {
    public var first: Int64
    public var second: Int64
    public var firstRoot: [UInt8]
    public var secondRoot: [UInt8]
    public var hashes: [[UInt8]]
}

/// The audit log's Merkle tree (`concord-tlog/1`): grown and cached in `audit_tree_nodes` by the
/// checkpointer, which signs checkpoints into `audit_checkpoints`; proofs are read from the cache.
extension HubStore {
    /// Grows the tree to the whole log and, when it has grown since the last checkpoint (or there
    /// is none), signs and stores a new one. Returns the latest checkpoint. Refuses to sign over an
    /// entry that breaks the hash chain (`HubStoreError.auditChainBroken`).
    /// - Parameter now: seconds since the Unix epoch, the checkpoint's time.
    @discardableResult
    public func signCheckpoint(key: Curve25519.Signing.PrivateKey, publicKey: PublicKeyLine, now: Int64) async throws -> StoredCheckpoint {
        try await withTransaction { transaction in
            try await transaction.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.keyClass), \(AdvisoryLock.checkpoint))")
            let tree = try await transaction.growTree()
            if let latest = try await transaction.latestCheckpoint(), latest.size == tree.size { return latest }
            let checkpoint = Checkpoint(origin: Checkpoint.origin(for: publicKey), size: tree.size, rootHash: tree.root,
                                        time: CivilDate.utcTimestamp(secondsSinceEpoch: now))
            let stored = StoredCheckpoint(size: tree.size, rootHash: tree.root, keyID: publicKey.id,
                                          note: try checkpoint.signedNote(key: key, publicKey: publicKey))
            try await transaction.query("""
                INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, key_id, note)
                VALUES (\(stored.size), \(ByteBuffer(bytes: stored.rootHash)), \(checkpoint.time)::timestamptz, \(stored.keyID), \(stored.note))
                """)
            return stored
        }
    }

    /// The most recent checkpoint, or `nil` before the first.
    public func latestCheckpoint() async throws -> StoredCheckpoint? {
        try await withTransaction { try await $0.latestCheckpoint() }
    }

    /// The checkpoint signed at `size` entries, if the hub signed one then.
    public func checkpoint(size: Int64) async throws -> StoredCheckpoint? {
        try await rows("SELECT \(unescaped: StoredCheckpoint.columns) FROM audit_checkpoints WHERE tree_size = \(size)")
            .last.map { StoredCheckpoint(columns: try $0.decode(StoredCheckpoint.Columns.self)) }
    }

    /// Every stored checkpoint, smallest tree first.
    public func checkpoints() async throws -> [StoredCheckpoint] {
        try await rows("SELECT \(unescaped: StoredCheckpoint.columns) FROM audit_checkpoints ORDER BY tree_size")
            .map { StoredCheckpoint(columns: try $0.decode(StoredCheckpoint.Columns.self)) }
    }

    /// The inclusion proof of entry `seq` in the tree of `treeSize` entries, which the cache must
    /// already hold (sizes up to the latest checkpoint's).
    public func inclusionProof(seq: Int64, treeSize: Int64) async throws -> AuditInclusionProof {
        try await withTransaction { transaction in
            let cached = try await transaction.cachedTreeSize()
            guard seq >= 1, seq <= treeSize, treeSize <= cached else {
                throw HubStoreError.proofOutOfRange("entry \(seq) in a tree of \(treeSize) entries: the signed tree has \(cached); seq must be 1 to the tree size")
            }
            let ranges = MerkleTree.inclusionProof(index: seq - 1, size: treeSize)
            let nodes = try await transaction.subtreeHashes(for: ranges + [0..<treeSize])
            var record: AuditRecord?
            for try await row in try await transaction.query("\(unescaped: AuditRecord.selectSQL) WHERE seq = \(seq)") { record = try AuditRecord(row: row) }
            guard let record else { throw HubStoreError.proofOutOfRange("entry \(seq) is not in the log") }
            return AuditInclusionProof(record: record, treeSize: treeSize, rootHash: try nodes.hash(of: 0..<treeSize),
                                       hashes: try ranges.map { try nodes.hash(of: $0) })
        }
    }

    /// The proof that the tree of `first` entries is a prefix of the tree of `second`.
    public func consistencyProof(first: Int64, second: Int64) async throws -> AuditConsistencyProof {
        try await withTransaction { transaction in
            let cached = try await transaction.cachedTreeSize()
            guard first >= 0, first <= second, second <= cached else {
                throw HubStoreError.proofOutOfRange("sizes \(first) and \(second): the signed tree has \(cached); need 0 ≤ first ≤ second ≤ \(cached)")
            }
            let ranges = MerkleTree.consistencyProof(first: first, second: second)
            let nodes = try await transaction.subtreeHashes(for: ranges + [0..<first, 0..<second])
            return AuditConsistencyProof(first: first, second: second, firstRoot: try nodes.hash(of: 0..<first),
                                         secondRoot: try nodes.hash(of: 0..<second), hashes: try ranges.map { try nodes.hash(of: $0) })
        }
    }
}

extension HubTransaction {
    /// Adds every entry the tree lacks to `audit_tree_nodes`, checking each continues the hash
    /// chain, `batch` entries a round (memory stays bounded whatever the log's size). Run under
    /// the checkpoint lock.
    func growTree(batch: Int = 5000) async throws -> MerkleTreeBuilder {
        let cached = try await cachedTreeSize()
        let frontier = MerkleTree.subtrees(0..<cached)
        let known = try await subtreeHashes(frontier)
        var tree = MerkleTreeBuilder(size: cached, frontierHashes: try frontier.map { try known.hash($0) })
        var previous = AuditChain.genesis
        for try await hash in try await query("SELECT hash FROM audit_log WHERE seq = \(cached)").decode(ByteBuffer.self) { previous = Array(buffer: hash) }
        while true {
            var formed: [(subtree: MerkleTree.Subtree, hash: [UInt8])] = []
            var read = 0
            for try await row in try await query("\(unescaped: AuditRecord.selectSQL) WHERE seq > \(tree.size) ORDER BY seq LIMIT \(batch)") {
                let record = try AuditRecord(row: row)
                if let reason = record.problem(expectedSeq: tree.size + 1, previousHash: previous) {
                    throw HubStoreError.auditChainBroken(seq: record.seq, reason: reason)
                }
                formed += tree.append(leafHash: MerkleTree.leafHash(record.content.utf8))
                previous = record.hash
                read += 1
            }
            guard read > 0 else { return tree }
            try await query("""
                INSERT INTO audit_tree_nodes (level, idx, hash)
                SELECT * FROM unnest(\(formed.map { Int16($0.subtree.level) })::int2[], \(formed.map(\.subtree.index))::int8[],
                                     \(formed.map { ByteBuffer(bytes: $0.hash) })::bytea[])
                """)
        }
    }

    /// How many entries the cached tree holds.
    func cachedTreeSize() async throws -> Int64 {
        var size: Int64 = 0
        for try await value in try await query("SELECT coalesce(max(idx) + 1, 0) FROM audit_tree_nodes WHERE level = 0").decode(Int64.self) { size = value }
        return size
    }

    func latestCheckpoint() async throws -> StoredCheckpoint? {
        var latest: StoredCheckpoint?
        for try await columns in try await query("SELECT \(unescaped: StoredCheckpoint.columns) FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1")
            .decode(StoredCheckpoint.Columns.self) {
            latest = StoredCheckpoint(columns: columns)
        }
        return latest
    }

    /// The cached hashes of every complete subtree `ranges` are made of.
    func subtreeHashes(for ranges: [Range<Int64>]) async throws -> SubtreeHashes {
        try await subtreeHashes(Array(Set(ranges.flatMap(MerkleTree.subtrees))))
    }

    func subtreeHashes(_ subtrees: [MerkleTree.Subtree]) async throws -> SubtreeHashes {
        var hashes = SubtreeHashes()
        guard !subtrees.isEmpty else { return hashes }
        let rows = try await query("""
            SELECT n.level, n.idx, n.hash FROM audit_tree_nodes n
            JOIN unnest(\(subtrees.map { Int16($0.level) })::int2[], \(subtrees.map(\.index))::int8[]) AS w (level, idx)
              ON n.level = w.level AND n.idx = w.idx
            """)
        for try await (level, index, hash) in rows.decode((Int16, Int64, ByteBuffer).self) {
            hashes.values[MerkleTree.Subtree(level: Int(level), index: index)] = Array(buffer: hash)
        }
        return hashes
    }
}

/// Subtree hashes read from the cache; a missing one means the cache lost a row.
struct SubtreeHashes {
    var values: [MerkleTree.Subtree: [UInt8]] = [:]

    func hash(_ subtree: MerkleTree.Subtree) throws -> [UInt8] {
        guard let value = values[subtree] else {
            throw HubStoreError.auditTreeIncomplete("level \(subtree.level), index \(subtree.index)")
        }
        return value
    }

    func hash(of range: Range<Int64>) throws -> [UInt8] {
        try MerkleTree.hash(of: range) { try hash($0) }
    }
}

extension StoredCheckpoint {
    static let columns = "tree_size, root_hash, key_id, note"
    typealias Columns = (Int64, ByteBuffer, String, String)

    init(columns: Columns) {
        self.init(size: columns.0, rootHash: Array(buffer: columns.1), keyID: columns.2, note: columns.3)
    }
}

/// What holding the audit log to its checkpoints found (`concord audit verify`, the IG dashboard).
public struct AuditLogCheck: Sendable {
    public var verification: AuditVerification
    /// Checkpoints the hub stored (all of them are checked).
    public var storedCheckpoints: Int
    /// The first broken entry first, then checkpoints that did not verify; empty when all is well.
    public var problems: [String]

    public var isIntact: Bool { problems.isEmpty }
}

extension HubStore {
    /// Verifies the whole log (`verifyAuditLog`) against `kept` checkpoints and every checkpoint the
    /// hub stored, each read with `hubKey`. `problems` are earlier ones to report with these (kept
    /// checkpoint files that could not be read).
    public func checkAuditLog(hubKeys: [PublicKeyLine], kept: [Checkpoint], problems: [String] = []) async throws -> AuditLogCheck {
        var problems = problems
        var all = kept
        let stored = try await checkpoints()
        for checkpoint in stored {
            do {
                all.append(try Checkpoint(note: checkpoint.note, hubKeys: hubKeys))
            } catch {
                problems.append("the hub's stored checkpoint of size \(checkpoint.size): \(error)")
            }
        }
        let verification = try await verifyAuditLog(against: all)
        if let broken = verification.firstBroken { problems.insert("entry \(broken.seq): \(broken.reason)", at: 0) }
        return AuditLogCheck(verification: verification, storedCheckpoints: stored.count, problems: problems)
    }
}
