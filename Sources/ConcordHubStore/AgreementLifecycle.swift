import ConcordCore
import Foundation
import PostgresNIO

/// A suspension or termination decided at the hub (`concord agreement suspend|terminate`). The
/// applied YAML is never edited: the decision is a row of `agreement_states` that overrides the
/// document's `status` (docs/agreements.md section 1, docs/retention.md section 3).
public struct AgreementStateChange: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Permits nothing until a new version is applied.
        case suspended
        /// Permits nothing ever again; the data is purged within `retention.on_end.delete_within`.
        case terminated
    }

    public var agreementID: String
    public var agreementVersion: Int
    public var status: Status
    public var reason: String
    public var decidedBy: String
    /// The hub's UTC date of the decision: the day a termination's deletion period starts.
    public var decidedOn: CivilDate
}

/// The latest applied version of an agreement as the hub holds it now: the document with its
/// status overridden by a suspension or termination, and the day it ended, if it has.
public struct HeldAgreement: Sendable, Hashable {
    public var agreement: Agreement
    /// The suspension or termination of this version (or the termination of an earlier one).
    public var change: AgreementStateChange?
    /// The hub's UTC date when this version was applied.
    public var appliedOn: CivilDate
    /// Whether this version's document itself says `terminated` or `expired`.
    public var endedByDocument: Bool

    /// The day the agreement ended on or before `date`, the earliest of: its termination at the
    /// hub, the day a version saying `terminated` or `expired` was applied, and the end of its
    /// validity; `nil` while it runs (a suspended agreement has not ended).
    public func ended(on date: CivilDate) -> CivilDate? {
        [change?.status == .terminated ? change?.decidedOn : nil, endedByDocument ? appliedOn : nil,
         agreement.validUntil < date ? agreement.validUntil : nil].compactMap { $0 }.min()
    }

    /// The last day the hub may hold data under it: the end plus `retention.on_end.delete_within`.
    public func deleteBy(on date: CivilDate) -> CivilDate? {
        ended(on: date).map { agreement.deleteWithinAfterEnd.after($0) }
    }

    /// Whether it permits anything on `date`: active, within its validity, neither suspended nor terminated.
    public func isInForce(on date: CivilDate) -> Bool {
        agreement.status == .active && agreement.validFrom <= date && date <= agreement.validUntil
    }
}

extension HubStore {
    /// The latest applied version of every agreement, by id, loaded against `catalogue`, with
    /// suspensions and terminations applied to its status.
    public func heldAgreements(catalogue: SchemaCatalogue) async throws -> [String: HeldAgreement] {
        var latest: [String: (agreement: Agreement, appliedOn: CivilDate)] = [:]
        for stored in try await agreements() {
            let agreement = try Agreement(yaml: stored.document, file: "\(stored.id).v\(stored.version) (as applied)", catalogue: catalogue)
            // applied_at is a timestamptz the store renders as RFC 3339 UTC: its date is its first ten characters.
            let appliedOn = CivilDate(iso: stored.appliedAt.prefix(10))!
            if (latest[stored.id]?.agreement.version ?? 0) < agreement.version { latest[stored.id] = (agreement, appliedOn) }
        }
        let changes = try await agreementStateChanges()
        return latest.mapValues { agreement, appliedOn in
            var held = HeldAgreement(agreement: agreement, change: nil, appliedOn: appliedOn,
                                     endedByDocument: agreement.status == .terminated || agreement.status == .expired)
            // A termination ends every version; a suspension only the version it names.
            held.change = changes.first { $0.agreementID == agreement.id && $0.status == .terminated }
                ?? changes.first { $0.agreementID == agreement.id && $0.agreementVersion == agreement.version }
            if let change = held.change { held.agreement.status = change.status == .terminated ? .terminated : .suspended }
            return held
        }
    }

    /// Every suspension and termination, oldest first.
    public func agreementStateChanges() async throws -> [AgreementStateChange] {
        try await rows("""
            SELECT agreement_id, agreement_version, status, reason, decided_by, decided_on::text FROM agreement_states ORDER BY decided_at
            """).map { row in
            let (id, version, status, reason, by, on) = try row.decode((String, Int, String, String, String, String).self)
            guard let status = AgreementStateChange.Status(rawValue: status), let day = CivilDate(iso: on) else {
                throw HubStoreError.database(message: "agreement_states row of \(id).v\(version) is unreadable", sqlState: nil)
            }
            return AgreementStateChange(agreementID: id, agreementVersion: version, status: status, reason: reason, decidedBy: by, decidedOn: day)
        }
    }

    /// Suspends or terminates the latest applied version of agreement `id` on `date`, audited as
    /// `agreement.suspend` or `agreement.terminate` with the reason. Everything under it is refused
    /// from then on (uploads, requests, approvals, downloads). A terminated agreement cannot be
    /// suspended; terminating a suspended one is allowed (it replaces the suspension).
    @discardableResult
    public func changeAgreementState(id: String, to status: AgreementStateChange.Status, reason: String, on date: CivilDate,
                                     by actor: AuditActor) async throws -> AgreementStateChange {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw HubStoreError.agreementState(id: id, problem: "a reason is required") }
        return try await withTransaction { transaction in
            guard let version = try await transaction.query("SELECT max(version) FROM agreements WHERE id = \(id)").collect().first?.decode(Int?.self) else {
                throw HubStoreError.agreementState(id: id, problem: "no agreement \(id) is applied at this hub")
            }
            let terminated = try await transaction.query(
                "SELECT 1 FROM agreement_states WHERE agreement_id = \(id) AND status = 'terminated' FOR UPDATE").collect()
            guard terminated.isEmpty else { throw HubStoreError.agreementState(id: id, problem: "it is terminated already") }
            try await transaction.query("""
                INSERT INTO agreement_states (agreement_id, agreement_version, status, reason, decided_by, decided_on)
                VALUES (\(id), \(version), \(status.rawValue), \(reason), \(actor.description), \(date.description)::date)
                ON CONFLICT (agreement_id, agreement_version) DO UPDATE
                SET status = excluded.status, reason = excluded.reason, decided_by = excluded.decided_by,
                    decided_on = excluded.decided_on, decided_at = now()
                """)
            try await transaction.audit(AuditEntry(actor: actor, action: status == .terminated ? "agreement.terminate" : "agreement.suspend",
                                                   subject: "\(id).v\(version)", details: .object([
                                                       "reason": .string(reason), "on": .string(date.description),
                                                   ])))
            return AgreementStateChange(agreementID: id, agreementVersion: version, status: status, reason: reason,
                                        decidedBy: actor.description, decidedOn: date)
        }
    }
}

/// Where an agreement's review (`next_review`) stands on a day: the ICO code expects agreements
/// to be reviewed, and the hub flags those whose review is near or past.
public enum ReviewState: String, Sendable, Hashable, CaseIterable {
    /// `next_review` has passed.
    case overdue
    /// `next_review` is within the next 30 days (today included).
    case due
    case notDue = "not-due"

    public static let noticeDays = 30

    public init(_ agreement: Agreement, on date: CivilDate) {
        let days = agreement.nextReview.daysSinceEpoch - date.daysSinceEpoch
        self = days < 0 ? .overdue : days <= Self.noticeDays ? .due : .notDue
    }
}
