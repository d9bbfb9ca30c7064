import ConcordCore
import ConcordHubStore
import Foundation
import HTTPTypes
import Hummingbird

/// The audit log over HTTP: the query, signed checkpoints, and inclusion and consistency proofs
/// (`concord-tlog/1`, docs/transparency-log.md).
extension HubService {
    /// The latest checkpoint, or with `tree_size` the one signed at that size.
    func getCheckpoint(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let checkpoint: StoredCheckpoint?
        if let size = try Self.integer(request, "tree_size", in: 0...Int.max) {
            checkpoint = try await store.checkpoint(size: Int64(size))
            guard checkpoint != nil else { throw Problem(.notFound, "audit.no-checkpoint", "the hub signed no checkpoint at \(size) entries") }
        } else {
            checkpoint = try await store.latestCheckpoint()
        }
        guard let checkpoint else {
            throw Problem(.notFound, "audit.no-checkpoint", "the hub has not signed a checkpoint yet; it signs one within a minute of the first entry")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: checkpoint.note)))
    }

    /// An entry's inclusion proof. An agency or an analyst gets proofs of their own entries only;
    /// any other seq is as good as absent to them. Reading a proof shows the entry, so it is
    /// audited like a read.
    func auditInclusionProof(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        guard let seq = try Self.integer(request, "seq", in: 1...Int.max) else {
            throw Problem.badRequest("request.invalid-parameter", "seq is required: the audit entry's sequence number")
        }
        let (treeSize, latest) = try await treeSize(request, "tree_size")
        let proof = try await Self.proof { try await store.inclusionProof(seq: Int64(seq), treeSize: treeSize) }
        let seesAll = if case .person(let user) = caller { user.role == .igOfficer } else { false }
        if !seesAll, proof.record.entry.actor != caller.auditActor {
            throw Problem(.notFound, "audit.no-proof", "\(caller.auditActor) has no audit entry \(seq)")
        }
        try await store.audit(AuditEntry(actor: caller.auditActor, action: "audit.read", subject: "audit_log",
                                         details: .object(["inclusion_proof": .integer(seq), "tree_size": .integer(Int(treeSize))])))
        return try json(Self.inclusionJSON(proof, checkpoint: latest?.size == treeSize ? latest : nil), status: .ok)
    }

    func auditConsistencyProof(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        guard let first = try Self.integer(request, "first", in: 0...Int.max) else {
            throw Problem.badRequest("request.invalid-parameter", "first is required: the tree size of the older checkpoint")
        }
        let (second, _) = try await treeSize(request, "second")
        let proof = try await Self.proof { try await store.consistencyProof(first: Int64(first), second: second) }
        return try json(.object([
            "first": .integer(Int(proof.first)), "second": .integer(Int(proof.second)),
            "first_root": .string(Data(proof.firstRoot).base64EncodedString()), "second_root": .string(Data(proof.secondRoot).base64EncodedString()),
            "consistency_proof": .array(proof.hashes.map { .string(Data($0).base64EncodedString()) }),
        ]), status: .ok)
    }

    /// Entries matching the query's filters (`AuditFilter`), oldest first. Reading is itself audited.
    func readAudit(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let after = try Self.integer(request, "after", in: 0...Int.max) ?? 0
        let limit = try Self.integer(request, "limit", in: 1...1000) ?? 100
        let views = try await auditViews(after: after, limit: limit, filter: try Self.auditFilter(request), actor: caller.auditActor)
        return try json(.object(["entries": .array(views.map(CanonicalJSON.object))]), status: .ok)
    }

    /// Entries as readers see them (`AuditRecord.view`); the read is itself audited as `audit.read`.
    func auditViews(after: Int, limit: Int, filter: AuditFilter, actor: AuditActor) async throws -> [[String: CanonicalJSON]] {
        let records = try await store.auditEntries(after: Int64(after), limit: limit, filter: filter)
        try await store.audit(AuditEntry(actor: actor, action: "audit.read", subject: "audit_log",
                                         details: .object(["after": .integer(after), "entries": .integer(records.count)])))
        let roles = try await store.userRoles()
        return records.map { $0.view(roles: roles) }
    }

    /// The audit filters of a query (`GET /v1/audit`, the dashboard's access log): `actor`,
    /// `action` (repeated or comma-separated), `subject`, `agreement`, `dataset`, `since`, `until`.
    /// Empty values (a form's untouched fields) are no filter.
    static func auditFilter(_ request: Request) throws -> AuditFilter {
        let parameters = request.uri.queryParameters
        // PostgreSQL's text holds no NUL, and no audit field holds any control character.
        func checked(_ name: String, _ text: String) throws -> String {
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw Problem.badRequest("request.invalid-parameter", "\(name) must not contain control characters")
            }
            return text
        }
        func value(_ name: String) throws -> String? {
            guard let text = parameters[Substring(name)].map(String.init), !text.isEmpty else { return nil }
            return try checked(name, text)
        }
        func time(_ name: String) throws -> String? {
            guard let text = try value(name) else { return nil }
            guard let time = AuditFilter.time(text) else {
                throw Problem.badRequest("request.invalid-parameter", "\(name) must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
            }
            return time
        }
        return AuditFilter(
            actor: try value("actor"), actions: try parameters[values: "action"].flatMap { $0.split(separator: ",").map(String.init) }.map { try checked("action", $0) },
            subject: try value("subject"), agreement: try value("agreement"), dataset: try value("dataset"), since: try time("since"), until: try time("until"))
    }

    /// `answer` with the evidence of the entry recording `action` on `subject` as its `audit`
    /// member (see `auditEvidence`); unchanged when the log has no such entry.
    func withEvidence(_ answer: CanonicalJSON, of action: String, subject: String) async -> CanonicalJSON {
        guard case .object(var members) = answer,
              let entry = try? await store.auditEntries(limit: 1, filter: AuditFilter(actions: [action], subject: subject)).first else { return answer }
        members["audit"] = await auditEvidence(seq: entry.seq)
        return .object(members)
    }

    /// Signs a checkpoint now rather than at the checkpointer's next tick, so the answer about
    /// what was just audited (`what`) carries its entry's inclusion proof. A failure costs only
    /// that: the proof can be fetched once the next checkpoint is signed.
    func signCheckpointNow(after what: String) async {
        do {
            try await store.signCheckpoint(with: keys, now: now())
        } catch {
            logger.error("could not sign an audit checkpoint after \(what): \(error)")
        }
    }

    /// What a caller keeps of an audit entry about them: its `seq` and, once a checkpoint covers it,
    /// the entry, its inclusion proof and the signed checkpoint. Missing parts are left out rather
    /// than failing the answer they travel in: the caller can fetch the proof later.
    func auditEvidence(seq: Int64) async -> CanonicalJSON {
        guard let checkpoint = try? await store.latestCheckpoint(), checkpoint.size >= seq,
              let proof = try? await store.inclusionProof(seq: seq, treeSize: checkpoint.size) else {
            return .object(["seq": .integer(Int(seq))])
        }
        return Self.inclusionJSON(proof, checkpoint: checkpoint)
    }

    static func inclusionJSON(_ proof: AuditInclusionProof, checkpoint: StoredCheckpoint?) -> CanonicalJSON {
        var members: [String: CanonicalJSON] = [
            "seq": .integer(Int(proof.record.seq)), "tree_size": .integer(Int(proof.treeSize)),
            "root_hash": .string(Data(proof.rootHash).base64EncodedString()), "entry": .string(proof.record.content),
            "inclusion_proof": .array(proof.hashes.map { .string(Data($0).base64EncodedString()) }),
        ]
        if let checkpoint { members["checkpoint"] = .string(checkpoint.note) }
        return .object(members)
    }

    /// The tree size a proof is asked for: the parameter `name`, else the latest checkpoint's.
    private func treeSize(_ request: Request, _ name: String) async throws -> (Int64, latest: StoredCheckpoint?) {
        let latest = try await store.latestCheckpoint()
        guard let size = try Self.integer(request, name, in: 0...Int.max).map(Int64.init) ?? latest?.size else {
            throw Problem(.notFound, "audit.no-checkpoint", "the hub has not signed a checkpoint yet; give \(name) or wait for one")
        }
        return (size, latest)
    }

    /// A proof the signed tree cannot give (sizes beyond it, an entry not in it) is a 404.
    private static func proof<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch HubStoreError.proofOutOfRange(let reason) {
            throw Problem(.notFound, "audit.no-proof", "no such proof: \(reason)")
        }
    }

    /// A whole-number query parameter, `nil` when absent.
    static func integer(_ request: Request, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw Problem.badRequest("request.invalid-parameter", "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}
