import ConcordCore
import Crypto
import Foundation
import PostgresNIO

/// One agreement's hold on one extract's rows (docs/retention.md, section 2).
public struct RetentionHold: Sendable, Hashable {
    public var agreementID: String
    public var agreementVersion: Int
    /// Set at ingest: the day the agreement's retention for the dataset ends, counted from receipt.
    public var retainUntil: CivilDate?
    /// The day the hold ends: `retainUntil`, or the agreement's deletion deadline when it ended
    /// (terminated or expired) and that comes first; `nil` when neither is known.
    public var ends: CivilDate?
    /// Whether a purge released it already (the agreement no longer reads the rows).
    public var released: Bool

    public init(agreementID: String, agreementVersion: Int, retainUntil: CivilDate?, ends: CivilDate? = nil, released: Bool = false) {
        self.agreementID = agreementID
        self.agreementVersion = agreementVersion
        self.retainUntil = retainUntil
        self.ends = ends
        self.released = released
    }
}

/// A published extract and when its rows are deleted.
public struct ScheduledExtract: Sendable, Hashable {
    public var extractID: Int64
    public var uploadID: UUID
    public var agencyID: String
    public var dataset: String
    public var rows: Int64
    /// SHA-256 (hex) of the signed receipt the agency holds for it.
    public var receiptSHA256: String
    public var holds: [RetentionHold]

    /// The day the rows are deleted: the latest end of its holds (data covered by several
    /// agreements is kept until the latest retention ends); `nil` while any hold has no end.
    public var purgeOn: CivilDate? {
        let ends = holds.map(\.ends)
        guard !ends.isEmpty, !ends.contains(nil) else { return nil }
        return ends.compactMap { $0 }.max()
    }
}

/// A request's output file and when it is deleted.
public struct ScheduledOutput: Sendable, Hashable {
    public var requestID: UUID
    public var agreementID: String
    public var rows: Int64
    /// SHA-256 (hex) of the output file.
    public var sha256: String
    /// The earlier of: the shortest retention of its datasets under the agreement counted from
    /// the day it was made, and the agreement's deletion deadline once it ended.
    public var purgeOn: CivilDate
}

/// What retention will delete, and when, as of one day: the plan a purge carries out, and what
/// the IG dashboard shows.
public struct RetentionSchedule: Sendable, Hashable {
    /// The day the schedule is for (UTC).
    public var date: CivilDate
    /// Every published extract, by id.
    public var extracts: [ScheduledExtract]
    /// Every output file still kept.
    public var outputs: [ScheduledOutput]

    /// Extracts whose rows are due for deletion on `date` (on or after their `purgeOn`).
    public var dueExtracts: [ScheduledExtract] { extracts.filter { $0.purgeOn.map { $0 <= date } ?? false } }

    /// Holds that end on or before `date` on extracts another agreement still keeps: the rows stay,
    /// but the ended agreement stops reading them.
    public var dueReleases: [(extract: ScheduledExtract, hold: RetentionHold)] {
        extracts.filter { !($0.purgeOn.map { $0 <= date } ?? false) }.flatMap { extract in
            extract.holds.filter { !$0.released && ($0.ends.map { $0 <= date } ?? false) }.map { (extract, $0) }
        }
    }

    /// Outputs due for deletion on `date`.
    public var dueOutputs: [ScheduledOutput] { outputs.filter { $0.purgeOn <= date } }

    /// Whether a purge on `date` has anything to do.
    public var isEmpty: Bool { dueExtracts.isEmpty && dueReleases.isEmpty && dueOutputs.isEmpty }
}

extension HubStore {
    /// What retention deletes and when, as of `date` (docs/retention.md): each published extract
    /// with each agreement's hold on it, and each request output still kept. Nothing is changed.
    public func retentionSchedule(on date: CivilDate, catalogue: SchemaCatalogue) async throws -> RetentionSchedule {
        let agreements = try await heldAgreements(catalogue: catalogue)
        let deadlines = agreements.compactMapValues { $0.deleteBy(on: date) }
        return try await withConnection { connection in
            var extracts: [ScheduledExtract] = []
            for try await row in try await connection.queryUnlessClosed("""
                SELECT e.id, e.upload_id, e.agency_id, e.dataset, e.rows, up.receipt, a, coalesce(r.retain_until, e.retain_until)::text,
                       r.released_at IS NOT NULL
                FROM extracts e JOIN uploads up ON up.id = e.upload_id
                CROSS JOIN LATERAL jsonb_array_elements_text(up.manifest::jsonb -> 'agreements') a
                LEFT JOIN extract_retention r ON r.extract_id = e.id AND r.agreement_id = split_part(a, '.v', 1)
                WHERE e.state = 'published' ORDER BY e.id, a
                """, logger: logger).decode((Int64, UUID, String, String, Int64, String?, String, String?, Bool).self) {
                let (id, upload, agency, dataset, rows, receipt, reference, retainUntil, released) = row
                let parts = reference.components(separatedBy: ".v")
                let agreementID = parts[0]
                let retain = retainUntil.flatMap { CivilDate(iso: $0) }
                let ends = [retain, deadlines[agreementID]].compactMap { $0 }.min()
                let hold = RetentionHold(agreementID: agreementID, agreementVersion: parts.count == 2 ? Int(parts[1]) ?? 0 : 0,
                                         retainUntil: retain, ends: ends, released: released)
                if extracts.last?.extractID == id {
                    extracts[extracts.count - 1].holds.append(hold)
                } else {
                    extracts.append(ScheduledExtract(extractID: id, uploadID: upload, agencyID: agency, dataset: dataset, rows: rows,
                                                     receiptSHA256: SHA256.hash(data: Array((receipt ?? "").utf8)).lowercaseHex, holds: [hold]))
                }
            }
            var outputs: [ScheduledOutput] = []
            for try await (id, agreementID, datasets, completed, rows, sha256) in try await connection.queryUnlessClosed("""
                SELECT id, agreement_id, datasets, (completed_at AT TIME ZONE 'UTC')::date::text, output_rows, output_sha256
                FROM requests WHERE state = 'ready' AND purged_at IS NULL ORDER BY completed_at
                """, logger: logger).decode((UUID, String, [String], String, Int64, ByteBuffer).self) {
                guard let made = CivilDate(iso: completed), let held = agreements[agreementID] else { continue }
                let retentions = datasets.compactMap { held.agreement.permission(for: $0)?.permission.retention.after(made) }
                guard let purgeOn = (retentions + [deadlines[agreementID]].compactMap { $0 }).min() else { continue }
                outputs.append(ScheduledOutput(requestID: id, agreementID: agreementID, rows: rows, sha256: Array(buffer: sha256).lowercaseHex,
                                               purgeOn: purgeOn))
            }
            return RetentionSchedule(date: date, extracts: extracts, outputs: outputs)
        }
    }
}
