/// An audit entry with the proof that the hub's transparency log holds it (docs/transparency-log.md,
/// section 5): what the hub's answer to an upload carries as `audit`, checked, and what an agency
/// keeps beside its receipt as evidence of its own.
public struct AuditEvidence: Sendable, Hashable {
    public let seq: Int64
    /// The entry's canonical JSON content, verbatim: the leaf's data.
    public let entry: String
    /// The entry's members (`action`, `details`, …), read from `entry`.
    public let entryFields: [String: CanonicalJSON]
    public let inclusionProof: [[UInt8]]
    /// The signed checkpoint the proof leads to, and its note verbatim.
    public let checkpoint: Checkpoint
    public let checkpointNote: String

    /// Reads evidence as the hub sends it (`seq`, `tree_size`, `root_hash`, `entry`,
    /// `inclusion_proof`, `checkpoint`) and checks all of it: the checkpoint is signed by `hubKey`
    /// and is of `tree_size` and `root_hash`, the entry is entry `seq`, and the proof leads from it
    /// to the checkpoint's root.
    public init(json value: CanonicalJSON, hubKey: PublicKeyLine) throws(AuditEvidenceError) {
        guard case .object(let members) = value else { throw .malformed("the evidence is not a JSON object") }
        guard case .string(let note)? = members["checkpoint"] else {
            throw .notCovered("no checkpoint covers the entry yet; fetch its inclusion proof later")
        }
        guard case .integer(let seq)? = members["seq"], seq >= 1, case .integer(let size)? = members["tree_size"],
              case .string(let rootText)? = members["root_hash"], case .string(let entry)? = members["entry"],
              case .array(let items)? = members["inclusion_proof"] else {
            throw .malformed("seq, tree_size, root_hash, entry and inclusion_proof are required")
        }
        var proof: [[UInt8]] = []
        for item in items {
            guard case .string(let text) = item, let hash = Base64.decode(text), hash.count == 32 else {
                throw .malformed("inclusion_proof holds something other than base64 SHA-256 hashes")
            }
            proof.append(hash)
        }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(note: note, hubKey: hubKey) } catch { throw .invalid("\(error)") }
        guard checkpoint.size == Int64(size), Base64.decode(rootText) == checkpoint.rootHash else {
            throw .invalid("tree_size and root_hash are not those of the checkpoint sent with them")
        }
        guard case .object(let fields)? = try? CanonicalJSON(canonical: Array(entry.utf8)), fields["seq"] == .integer(seq) else {
            throw .invalid("the entry is not canonical JSON of entry \(seq)")
        }
        guard MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(entry.utf8), index: Int64(seq) - 1, size: checkpoint.size,
                                         proof: proof, root: checkpoint.rootHash) else {
            throw .invalid("the inclusion proof does not lead from entry \(seq) to the checkpoint's root")
        }
        self.seq = Int64(seq)
        self.entry = entry
        entryFields = fields
        inclusionProof = proof
        self.checkpoint = checkpoint
        checkpointNote = note
    }

    /// Whether the entry records `action` on `subject` with each of `details` as given: what a
    /// holder checks before taking the evidence as being about their upload or download.
    public func records(action: String, subject: String, details expected: [String: CanonicalJSON] = [:]) -> Bool {
        guard entryFields["action"] == .string(action), entryFields["subject"] == .string(subject),
              case .object(let details)? = entryFields["details"] else { return false }
        return expected.allSatisfy { details[$0.key] == $0.value }
    }

    /// The evidence as the hub sent it, to keep (and to check again with ``init(json:hubKey:)``).
    public var json: CanonicalJSON {
        .object([
            "seq": .integer(Int(seq)), "tree_size": .integer(Int(checkpoint.size)), "root_hash": .string(Base64.encode(checkpoint.rootHash)),
            "entry": .string(entry), "inclusion_proof": .array(inclusionProof.map { .string(Base64.encode($0)) }),
            "checkpoint": .string(checkpointNote),
        ])
    }
}

/// Evidence that is missing, unreadable or does not check out.
public enum AuditEvidenceError: Error, Sendable, Equatable, CustomStringConvertible {
    case notCovered(String)
    case malformed(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notCovered(let reason): reason
        case .malformed(let reason): "the audit evidence is malformed: \(reason)"
        case .invalid(let reason): "the audit evidence does not check out: \(reason)"
        }
    }
}
