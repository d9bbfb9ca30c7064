import ConcordCore
import Crypto
import Foundation
import PostgresNIO

/// One thing a purge does (a row of `purge_items`, docs/retention.md section 4).
public struct PurgeItem: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The extract's rows are deleted: no agreement holds them any longer.
        case delete
        /// The agreement stops reading the extract; other agreements (`keptUnder`) still hold it.
        case release
        /// A request's output file is deleted.
        case output
    }

    public var kind: Kind
    public var agreementID: String
    public var dataset: String?
    public var agencyID: String?
    public var extractID: Int64?
    public var uploadID: UUID?
    /// The receipt's SHA-256 for an extract; the file's for an output.
    public var sha256: String?
    public var requestID: UUID?
    public var rows: Int64
    public var keptUnder: [String]
}

/// A purge recorded in `purge_jobs`, with everything it covers.
public struct PurgeJob: Sendable, Hashable {
    public var id: Int64
    /// The day whose schedule it carries out.
    public var date: CivilDate
    public var items: [PurgeItem]

    /// The extracts whose rows it deletes, by dataset.
    public var deletions: [String: [Int64]] {
        Dictionary(grouping: items.filter { $0.kind == .delete }, by: { $0.dataset ?? "" }).mapValues { $0.compactMap(\.extractID) }
    }

    /// The agreements whose readable data it changes: their linkage must run again.
    public var agreementsAffected: Set<String> { Set(items.filter { $0.kind != .output }.map(\.agreementID)) }

    /// The datasets whose published rows it changes.
    public var datasetsAffected: Set<String> { Set(items.compactMap(\.dataset)) }
}

extension HubStore {
    /// Records a purge of what `schedule` says is due, and makes it take effect at once in one
    /// transaction: due extracts become `purged` (out of every view), released holds stop their
    /// agreement reading the rows, due outputs are marked purged (no longer downloadable); audited
    /// as `purge.start`. Nothing is deleted yet: `deletePurgedRows` and `completePurge` finish it.
    /// When a purge is still running (a crash interrupted it), returns that one instead, to be
    /// finished first; returns `nil` when nothing is due.
    public func beginPurge(_ schedule: RetentionSchedule, by actor: AuditActor) async throws -> PurgeJob? {
        try await withTransaction { transaction in
            try await transaction.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.keyClass), \(AdvisoryLock.purge))")
            if let running = try await runningPurge(in: transaction) { return running }
            guard !schedule.isEmpty else { return nil }
            let due = schedule.dueExtracts
            // An extract superseded since the schedule was read is no longer published: not ours.
            var purged: Set<Int64> = []
            for try await id in try await transaction.query("""
                UPDATE extracts SET state = 'purged', ended_at = now() WHERE id = ANY(\(due.map(\.extractID))) AND state = 'published' RETURNING id
                """).decode(Int64.self) {
                purged.insert(id)
            }
            var items: [PurgeItem] = []
            for extract in due where purged.contains(extract.extractID) {
                let open = extract.holds.filter { !$0.released }
                for hold in open.isEmpty ? extract.holds : open {
                    items.append(extract.item(.delete, agreement: hold.agreementID, keptUnder: []))
                }
            }
            for (extract, hold) in schedule.dueReleases {
                let others = extract.holds.filter { !$0.released && $0.agreementID != hold.agreementID && !($0.ends.map { $0 <= schedule.date } ?? false) }
                items.append(extract.item(.release, agreement: hold.agreementID, keptUnder: others.map(\.agreementID)))
                try await transaction.query("""
                    INSERT INTO extract_retention (extract_id, agreement_id, agreement_version, retain_until, released_at)
                    VALUES (\(extract.extractID), \(hold.agreementID), \(max(hold.agreementVersion, 1)),
                            \((hold.retainUntil ?? hold.ends ?? schedule.date).description)::date, now())
                    ON CONFLICT (extract_id, agreement_id) DO UPDATE SET released_at = now()
                    """)
            }
            try await transaction.query("""
                UPDATE extract_retention SET released_at = now() WHERE extract_id = ANY(\(Array(purged))) AND released_at IS NULL
                """)
            var outputs: Set<UUID> = []
            for try await id in try await transaction.query("""
                UPDATE requests SET purged_at = now() WHERE id = ANY(\(schedule.dueOutputs.map(\.requestID))) AND purged_at IS NULL RETURNING id
                """).decode(UUID.self) {
                outputs.insert(id)
            }
            for output in schedule.dueOutputs where outputs.contains(output.requestID) {
                items.append(PurgeItem(kind: .output, agreementID: output.agreementID, sha256: output.sha256, requestID: output.requestID,
                                       rows: output.rows, keptUnder: []))
            }
            guard !items.isEmpty else { return nil }
            guard let jobID = try await transaction.query(
                "INSERT INTO purge_jobs (purge_date) VALUES (\(schedule.date.description)::date) RETURNING id"
            ).collect().first?.decode(Int64.self) else { throw HubStoreError.database(message: "no purge job id returned", sqlState: nil) }
            for item in items {
                try await transaction.query("""
                    INSERT INTO purge_items (job_id, kind, agreement_id, dataset, agency_id, extract_id, upload_id, receipt_sha256, request_id, rows, kept_under)
                    VALUES (\(jobID), \(item.kind.rawValue), \(item.agreementID), \(item.dataset), \(item.agencyID), \(item.extractID), \(item.uploadID),
                            \(item.sha256), \(item.requestID), \(item.rows), \(item.keptUnder))
                    """)
            }
            let job = PurgeJob(id: jobID, date: schedule.date, items: items)
            try await transaction.audit(AuditEntry(actor: actor, action: "purge.start", subject: "purge-\(jobID)", details: .object([
                "date": .string(schedule.date.description),
                "extracts_deleted": .integer(job.deletions.values.reduce(0) { $0 + $1.count }),
                "holds_released": .integer(items.filter { $0.kind == .release }.count),
                "outputs_deleted": .integer(outputs.count),
            ])))
            return job
        }
    }

    /// The purge a crash left running, if any.
    public func runningPurge() async throws -> PurgeJob? {
        try await withTransaction { try await runningPurge(in: $0) }
    }

    private func runningPurge(in transaction: HubTransaction) async throws -> PurgeJob? {
        guard let (id, date) = try await transaction.query("SELECT id, purge_date::text FROM purge_jobs WHERE state = 'running'")
            .collect().first?.decode((Int64, String).self) else { return nil }
        var items: [PurgeItem] = []
        for try await (kind, agreement, dataset, agency, extract, upload, sha256, request, rows, keptUnder) in try await transaction.query("""
            SELECT kind, agreement_id, dataset, agency_id, extract_id, upload_id, receipt_sha256, request_id, rows, kept_under
            FROM purge_items WHERE job_id = \(id) ORDER BY kind, agreement_id, extract_id, request_id
            """).decode((String, String, String?, String?, Int64?, UUID?, String?, UUID?, Int64, [String]).self) {
            // The table's CHECK allows only the three kinds.
            items.append(PurgeItem(kind: PurgeItem.Kind(rawValue: kind) ?? .delete, agreementID: agreement, dataset: dataset, agencyID: agency,
                                   extractID: extract, uploadID: upload, sha256: sha256, requestID: request, rows: rows, keptUnder: keptUnder))
        }
        return PurgeJob(id: id, date: CivilDate(iso: date)!, items: items)
    }

    /// Deletes at most `limit` rows of the purged `extracts` of `dataset`, in a short transaction
    /// of its own (so ingest and requests never wait long). Returns how many it deleted: call it
    /// until it returns 0. Deleting what is gone already deletes nothing, so it is safe to repeat.
    public func deletePurgedRows(dataset: String, extracts: [Int64], limit: Int) async throws -> Int {
        try DatasetTable.validateDatasetName(dataset)
        let table = quoted("ds_" + dataset)
        return try await withTransaction { transaction in
            // Only extracts a purge marked: a published extract's rows are never touched here.
            try await transaction.query("""
                WITH gone AS (DELETE FROM \(unescaped: table) WHERE "_row" IN (
                    SELECT d."_row" FROM \(unescaped: table) d JOIN extracts e ON e.id = d."_extract"
                    WHERE d."_extract" = ANY(\(extracts)) AND e.state = 'purged' LIMIT \(limit)) RETURNING 1)
                SELECT count(*) FROM gone
                """).collect().first?.decode(Int.self) ?? 0
        }
    }

    /// Finishes a purge whose rows and files are gone: checks that no row of its extracts is left,
    /// appends each signed deletion certificate (`deletion.certificate`, docs/retention.md
    /// section 5) and marks the job `done`, in one transaction. A purge already done is left as it is.
    @discardableResult
    public func completePurge(_ job: PurgeJob, key: Curve25519.Signing.PrivateKey, publicKey: PublicKeyLine, completedAt: Int64,
                              actor: AuditActor) async throws -> [DeletionCertificate] {
        try await withTransaction { transaction in
            let state = try await transaction.query("SELECT state FROM purge_jobs WHERE id = \(job.id) FOR UPDATE").collect().first?.decode(String.self)
            guard state == "running" else { return [] }
            for (dataset, extracts) in job.deletions {
                try DatasetTable.validateDatasetName(dataset)
                let left = try await transaction.query(
                    "SELECT count(*) FROM \(unescaped: quoted("ds_" + dataset)) WHERE \"_extract\" = ANY(\(extracts))"
                ).collect().first?.decode(Int.self) ?? 0
                guard left == 0 else {
                    throw HubStoreError.database(message: "purge \(job.id) left \(left) rows of \(dataset); run the purge again", sqlState: nil)
                }
            }
            let certificates = DeletionCertificate.certificates(for: job, keyID: publicKey.id, completedAt: CivilDate.utcTimestamp(secondsSinceEpoch: completedAt))
            var signed: [DeletionCertificate] = []
            for var certificate in certificates {
                try certificate.sign(with: key)
                try await transaction.audit(AuditEntry(actor: actor, action: DeletionCertificate.auditAction, subject: certificate.subject,
                                                       details: certificate.auditDetails))
                signed.append(certificate)
            }
            try await transaction.query("UPDATE purge_jobs SET state = 'done', completed_at = now() WHERE id = \(job.id)")
            return signed
        }
    }
}

extension ScheduledExtract {
    func item(_ kind: PurgeItem.Kind, agreement: String, keptUnder: [String]) -> PurgeItem {
        PurgeItem(kind: kind, agreementID: agreement, dataset: dataset, agencyID: agencyID, extractID: extractID, uploadID: uploadID,
                  sha256: receiptSHA256, rows: rows, keptUnder: keptUnder)
    }
}
