import ConcordCore
import Foundation
import PostgresNIO

/// Where an upload is: `receiving` until it is accepted (`complete`, with a receipt) or refused
/// (with a problem); the two ends are final.
public enum UploadState: String, Sendable, Hashable, CaseIterable {
    case receiving, complete, refused
}

/// One envelope upload, named by its header digest.
public struct UploadRecord: Sendable, Hashable {
    public var id: UUID
    public var agencyID: String
    /// SHA-256 of the envelope header (docs/envelope.md, section 1): the idempotency key.
    public var headerDigest: [UInt8]
    /// The manifest's canonical JSON, verbatim.
    public var manifest: String
    public var dataset: String
    public var envelopeLength: Int64
    /// Bytes of the envelope received so far (where a resumed upload continues).
    public var received: Int64
    public var state: UploadState
    /// The signed receipt JSON, verbatim, once `complete`.
    public var receipt: String?
    /// The refusal's problem JSON, once `refused`.
    public var problem: String?
}

extension HubStore {
    /// Starts an upload, or returns the existing one with the same header digest (so a repeated
    /// start loads nothing twice: the caller answers with its receipt, or resumes at `received`).
    /// Audited as `upload.start` only when it is new. Throws `uploadOfAnotherAgency` when the
    /// digest belongs to another agency's upload.
    public func startUpload(agencyID: String, headerDigest: [UInt8], manifest: EnvelopeManifest,
                            envelopeLength: Int64, initialReceived: Int64 = 0) async throws -> UploadRecord {
        let id = UUID()
        let subject = id.uuidString.lowercased()
        guard (0...envelopeLength).contains(initialReceived) else {
            throw HubStoreError.receivedOutOfRange(upload: subject, received: initialReceived, envelopeLength: envelopeLength)
        }
        let manifestText = String(decoding: manifest.json.bytes, as: UTF8.self)
        let digest = ByteBuffer(bytes: headerDigest)
        return try await withTransaction { transaction in
            let inserted = try await transaction.query("""
                INSERT INTO uploads (id, agency_id, header_digest, manifest, dataset, envelope_length, received)
                VALUES (\(id), \(agencyID), \(digest), \(manifestText), \(manifest.dataset), \(envelopeLength), \(initialReceived))
                ON CONFLICT (header_digest) DO NOTHING RETURNING \(unescaped: UploadRecord.columns)
                """).collect()
            if let row = inserted.first {
                try await transaction.audit(AuditEntry(actor: .agency(agencyID), action: "upload.start", subject: subject, details: .object([
                    "header_digest": .string(headerDigest.lowercaseHex), "dataset": .string(manifest.dataset),
                    "rows": .integer(manifest.rows), "envelope_length": .integer(Int(envelopeLength)),
                ])))
                return try UploadRecord(row: row)
            }
            let existing = try await transaction.query("SELECT \(unescaped: UploadRecord.columns) FROM uploads WHERE header_digest = \(digest)").collect()
            guard let row = existing.first else { throw HubStoreError.unknownUpload(headerDigest.lowercaseHex) }
            let record = try UploadRecord(row: row)
            guard record.agencyID == agencyID else { throw HubStoreError.uploadOfAnotherAgency(headerDigest.lowercaseHex) }
            return record
        }
    }

    /// The upload with this id.
    public func upload(id: UUID) async throws -> UploadRecord? {
        try await uploadRecord("SELECT \(unescaped: UploadRecord.columns) FROM uploads WHERE id = \(id)")
    }

    /// The upload of the envelope with this header digest.
    public func upload(headerDigest: [UInt8]) async throws -> UploadRecord? {
        try await uploadRecord("SELECT \(unescaped: UploadRecord.columns) FROM uploads WHERE header_digest = \(ByteBuffer(bytes: headerDigest))")
    }

    private func uploadRecord(_ query: PostgresQuery) async throws -> UploadRecord? {
        try await rows(query).first.map(UploadRecord.init(row:))
    }

    /// Records how much of a `receiving` upload has arrived (not audited: progress, not a change
    /// of state).
    @discardableResult
    public func setReceived(id: UUID, received: Int64) async throws -> UploadRecord {
        try await withTransaction { transaction in
            let record = try await lockUpload(id, expecting: .receiving, in: transaction)
            guard (0...record.envelopeLength).contains(received) else {
                throw HubStoreError.receivedOutOfRange(upload: id.uuidString.lowercased(), received: received, envelopeLength: record.envelopeLength)
            }
            try await transaction.query("UPDATE uploads SET received = \(received) WHERE id = \(id)")
            var updated = record
            updated.received = received
            return updated
        }
    }

    /// Marks a `receiving` upload accepted with its signed receipt (stored verbatim), audited as
    /// `upload.accepted` with `details` added to the upload's id, digest and dataset. Uploads that
    /// load rows are completed by `publish`, in the transaction that makes the rows visible.
    @discardableResult
    public func completeUpload(id: UUID, receipt: String, details: [String: CanonicalJSON] = [:]) async throws -> UploadRecord {
        try await close(id, state: .complete, receipt: receipt, problem: nil, action: "upload.accepted", outcome: "ok", details: details)
    }

    /// Marks a `receiving` upload refused with its problem JSON (stored verbatim), audited as
    /// `upload.refused` with `details` (give every reason there) added to the upload's id,
    /// digest and dataset.
    @discardableResult
    public func refuseUpload(id: UUID, problem: String, details: [String: CanonicalJSON] = [:]) async throws -> UploadRecord {
        try await close(id, state: .refused, receipt: nil, problem: problem, action: "upload.refused", outcome: "refused", details: details)
    }

    /// Ends a `receiving` upload and audits it, in one transaction.
    private func close(_ id: UUID, state: UploadState, receipt: String?, problem: String?, action: String, outcome: String,
                       details: [String: CanonicalJSON]) async throws -> UploadRecord {
        try await withTransaction { transaction in
            let record = try await lockUpload(id, expecting: .receiving, in: transaction)
            try await transaction.audit(record.auditEntry(action: action, outcome: outcome, details: details))
            return try await finish(record, state: state, receipt: receipt, problem: problem, in: transaction)
        }
    }

    /// The upload, locked for the rest of the transaction, after checking its state.
    func lockUpload(_ id: UUID, expecting expected: UploadState, in transaction: HubTransaction) async throws -> UploadRecord {
        let rows = try await transaction.query("SELECT \(unescaped: UploadRecord.columns) FROM uploads WHERE id = \(id) FOR UPDATE").collect()
        guard let row = rows.first else { throw HubStoreError.unknownUpload(id.uuidString.lowercased()) }
        let record = try UploadRecord(row: row)
        guard record.state == expected else {
            throw HubStoreError.uploadState(upload: id.uuidString.lowercased(), state: record.state.rawValue, expected: expected.rawValue)
        }
        return record
    }

    func finish(_ record: UploadRecord, state: UploadState, receipt: String?, problem: String?, in transaction: HubTransaction) async throws -> UploadRecord {
        try await transaction.query("""
            UPDATE uploads SET state = \(state.rawValue), receipt = \(receipt), problem = \(problem), completed_at = now()
            WHERE id = \(record.id)
            """)
        var updated = record
        updated.state = state
        updated.receipt = receipt
        updated.problem = problem
        return updated
    }
}

extension UploadRecord {
    static let columns = "id, agency_id, header_digest, manifest, dataset, envelope_length, received, state, receipt, problem"

    init(row: PostgresRow) throws {
        let (id, agencyID, digest, manifest, dataset, envelopeLength, received, state, receipt, problem) =
            try row.decode((UUID, String, ByteBuffer, String, String, Int64, Int64, String, String?, String?).self)
        guard let parsedState = UploadState(rawValue: state) else {
            throw HubStoreError.database(message: "upload \(id) has unknown state \(state)", sqlState: nil)
        }
        self.init(id: id, agencyID: agencyID, headerDigest: Array(buffer: digest), manifest: manifest, dataset: dataset,
                  envelopeLength: envelopeLength, received: received, state: parsedState, receipt: receipt, problem: problem)
    }

    /// An audit entry about this upload, by its agency.
    func auditEntry(action: String, outcome: String, details: [String: CanonicalJSON]) -> AuditEntry {
        let base: [String: CanonicalJSON] = ["header_digest": .string(headerDigest.lowercaseHex), "dataset": .string(dataset)]
        return AuditEntry(actor: .agency(agencyID), action: action, subject: id.uuidString.lowercased(), outcome: outcome,
                          details: .object(base.merging(details) { _, given in given }))
    }
}
