import ConcordCore
import Foundation
import PostgresNIO

/// Where an analyst's request is (docs/requests.md, "States"). `refused`, `denied`, `cancelled`,
/// `ready` and `failed` are final, except that a `ready` output not yet downloaded may still be
/// cancelled.
public enum RequestState: String, Sendable, Hashable, CaseIterable {
    case refused, pending, approved, denied, cancelled, ready, failed
}

/// What an analyst asks for, before the hub has decided on it.
public struct NewRequest: Sendable, Hashable {
    public var agreementID: String
    public var agreementVersion: Int
    public var requester: String
    public var purpose: String
    public var datasets: [String]
    /// `dataset.Field`: the fields of a row-level output, the dimensions of an aggregate one.
    public var fields: [DatasetField]
    public var level: Agreement.OutputLevel
    public var asOf: CivilDate?
    public var justification: String?

    public init(agreementID: String, agreementVersion: Int, requester: String, purpose: String, datasets: [String], fields: [DatasetField],
                level: Agreement.OutputLevel, asOf: CivilDate?, justification: String?) {
        self.agreementID = agreementID
        self.agreementVersion = agreementVersion
        self.requester = requester
        self.purpose = purpose
        self.datasets = datasets
        self.fields = fields
        self.level = level
        self.asOf = asOf
        self.justification = justification
    }
}

/// The output a request produced: its digest and size.
public struct RequestOutput: Sendable, Hashable {
    public var sha256: [UInt8]
    public var rows: Int64
    public var bytes: Int64

    public init(sha256: [UInt8], rows: Int64, bytes: Int64) {
        self.sha256 = sha256
        self.rows = rows
        self.bytes = bytes
    }
}

/// One stored request with everything that has happened to it. Times are RFC 3339 UTC.
public struct RequestRecord: Sendable, Hashable {
    public var id: UUID
    public var request: NewRequest
    public var state: RequestState
    /// Every reason of the decision (for `refused`), or why approval is needed (`pending`).
    public var reasons: [DecisionReason]
    public var createdAt: String
    /// The IG officer who approved or denied it, with their reason and when.
    public var decidedBy: String?
    public var decisionReason: String?
    public var decidedAt: String?
    public var cancelledAt: String?
    public var completedAt: String?
    public var output: RequestOutput?
    /// The linkage report of the run the output came from, as JSON.
    public var linkageReport: String?
    public var error: String?
    /// Whether a download link of it has been used.
    public var downloaded: Bool
}

/// What an IG officer's approval or denial came to.
public enum RequestDecisionOutcome: Sendable, Hashable {
    case decided(RequestRecord)
    /// The agreement does not let this officer decide (not an approver, their own request, not in
    /// force): nothing changed; the attempt is audited.
    case refused([DecisionReason])
}

/// A download link as handed out: the token is shown this once; the hub keeps its SHA-256.
public struct DownloadLink: Sendable, Hashable {
    public var token: String
    public var expiresAt: String
}

extension HubStore {
    /// Stores a request with the hub's decision on it, in one transaction with its audit entry
    /// (`request.create`): `deny` → `refused` with every reason, `approvalRequired` → `pending`,
    /// `permit` → `approved`.
    public func createRequest(_ new: NewRequest, decision: Decision) async throws -> RequestRecord {
        let id = UUID()
        let state: RequestState = switch decision.effect {
        case .deny: .refused
        case .approvalRequired: .pending
        case .permit: .approved
        }
        let reasons = Self.reasonsJSON(decision.reasons)
        var details: [String: CanonicalJSON] = [
            "agreement": .string("\(new.agreementID).v\(new.agreementVersion)"), "purpose": .string(new.purpose),
            "datasets": .array(new.datasets.map(CanonicalJSON.string)), "fields": .array(new.fields.map { .string($0.description) }),
            "level": .string(new.level.rawValue), "effect": .string(decision.effect.rawValue), "reasons": reasons,
        ]
        if let asOf = new.asOf { details["as_of"] = .string(asOf.description) }
        if let justification = new.justification { details["justification"] = .string(justification) }
        return try await withTransaction { transaction in
            try await transaction.query("""
                INSERT INTO requests (id, agreement_id, agreement_version, requester, purpose, datasets, fields, level, as_of, justification, state, reasons)
                VALUES (\(id), \(new.agreementID), \(new.agreementVersion), \(new.requester), \(new.purpose), \(new.datasets),
                        \(new.fields.map(\.description)), \(new.level.rawValue), \(new.asOf?.description)::date, \(new.justification),
                        \(state.rawValue), \(String(decoding: reasons.bytes, as: UTF8.self)))
                """)
            try await transaction.audit(AuditEntry(
                actor: .user(new.requester), action: "request.create", subject: id.uuidString.lowercased(),
                outcome: state.rawValue, details: .object(details)))
            return try await Self.request(id, in: transaction)
        }
    }

    /// Approves or denies a pending request as `officer`. `decide` judges the officer against the
    /// request (the agreement's `approve` action); unless it permits, nothing changes and the
    /// attempt is audited as refused. Throws `requestState` unless the request is pending.
    public func decideRequest(id: UUID, officer: String, approve: Bool, reason: String,
                              decide: @Sendable (RequestRecord) -> Decision) async throws -> RequestDecisionOutcome {
        let action = approve ? "request.approve" : "request.deny"
        let outcome: RequestDecisionOutcome = try await withTransaction { transaction in
            let record = try await Self.request(id, in: transaction, lock: true)
            guard record.state == .pending else { throw HubStoreError.requestState(request: id.uuidString.lowercased(), state: record.state.rawValue, expected: "pending") }
            let decision = decide(record)
            guard decision.effect == .permit else {
                try await transaction.audit(AuditEntry(actor: .user(officer), action: action, subject: id.uuidString.lowercased(), outcome: "refused",
                                                       details: .object(["reason": .string(reason), "reasons": Self.reasonsJSON(decision.reasons)])))
                return .refused(decision.reasons)
            }
            let state: RequestState = approve ? .approved : .denied
            try await transaction.query("""
                UPDATE requests SET state = \(state.rawValue), decided_by = \(officer), decision_reason = \(reason), decided_at = now() WHERE id = \(id)
                """)
            try await transaction.audit(AuditEntry(actor: .user(officer), action: action, subject: id.uuidString.lowercased(), outcome: state.rawValue,
                                                   details: .object(["reason": .string(reason), "requester": .string(record.request.requester)])))
            return .decided(try await Self.request(id, in: transaction))
        }
        return outcome
    }

    /// Cancels a request for its requester: while pending or approved, or ready and not yet
    /// downloaded. Audited as `request.cancel`. Returns the record (the caller deletes any output).
    public func cancelRequest(id: UUID, by user: String) async throws -> RequestRecord {
        try await withTransaction { transaction in
            let record = try await Self.request(id, in: transaction, lock: true)
            guard record.request.requester == user else { throw HubStoreError.unknownRequest(id.uuidString.lowercased()) }
            guard [.pending, .approved, .ready].contains(record.state), !record.downloaded else {
                let state = record.downloaded ? "downloaded" : record.state.rawValue
                throw HubStoreError.requestState(request: id.uuidString.lowercased(), state: state, expected: "pending, approved or ready and not downloaded")
            }
            try await transaction.query("UPDATE requests SET state = 'cancelled', cancelled_at = now() WHERE id = \(id)")
            try await transaction.audit(AuditEntry(actor: .user(user), action: "request.cancel", subject: id.uuidString.lowercased(),
                                                   details: .object(["previous_state": .string(record.state.rawValue)])))
            return try await Self.request(id, in: transaction)
        }
    }

    /// Records the output of an approved request (`ready`), with the linkage report of its run;
    /// audited as `request.output` with its digest, rows and bytes. Returns `nil`, changing
    /// nothing, when the request is no longer approved (cancelled meanwhile).
    public func completeRequest(id: UUID, output: RequestOutput, linkageReport: String?) async throws -> RequestRecord? {
        try await withTransaction { transaction in
            let updated = try await transaction.query("""
                UPDATE requests SET state = 'ready', completed_at = now(), output_sha256 = \(ByteBuffer(bytes: output.sha256)),
                    output_rows = \(output.rows), output_bytes = \(output.bytes), linkage_report = \(linkageReport)
                WHERE id = \(id) AND state = 'approved' RETURNING id
                """).collect()
            guard !updated.isEmpty else { return nil }
            try await transaction.audit(AuditEntry(actor: .hub, action: "request.output", subject: id.uuidString.lowercased(), details: .object([
                "sha256": .string(output.sha256.lowercaseHex), "rows": .integer(Int(output.rows)), "bytes": .integer(Int(output.bytes)),
            ])))
            return try await Self.request(id, in: transaction)
        }
    }

    /// Marks an approved request `failed` with a reason for its requester (never row data).
    /// Audited as `request.output` with outcome `failed`.
    @discardableResult
    public func failRequest(id: UUID, error: String) async throws -> RequestRecord? {
        try await withTransaction { transaction in
            let updated = try await transaction.query("""
                UPDATE requests SET state = 'failed', completed_at = now(), error = \(error) WHERE id = \(id) AND state = 'approved' RETURNING id
                """).collect()
            guard !updated.isEmpty else { return nil }
            try await transaction.audit(AuditEntry(actor: .hub, action: "request.output", subject: id.uuidString.lowercased(), outcome: "failed",
                                                   details: .object(["error": .string(error)])))
            return try await Self.request(id, in: transaction)
        }
    }

    /// One request, or `nil`.
    public func request(id: UUID) async throws -> RequestRecord? {
        try await rows("SELECT \(unescaped: RequestRecord.columns) FROM requests r WHERE id = \(id)").first.map(RequestRecord.init(row:))
    }

    /// The requests `user` made, and those under the agreements in `approverOf` (the ones an IG
    /// officer may decide), newest first.
    public func requests(requester user: String, approverOf agreements: [String] = [], limit: Int = 1000) async throws -> [RequestRecord] {
        try await rows("""
            SELECT \(unescaped: RequestRecord.columns) FROM requests r
            WHERE requester = \(user) OR agreement_id = ANY(\(agreements)) ORDER BY created_at DESC, id LIMIT \(limit)
            """).map(RequestRecord.init(row:))
    }

    /// Every request in `state`, oldest first.
    public func requests(in state: RequestState) async throws -> [RequestRecord] {
        try await rows("SELECT \(unescaped: RequestRecord.columns) FROM requests r WHERE state = \(state.rawValue) ORDER BY created_at, id")
            .map(RequestRecord.init(row:))
    }

    // MARK: Download links

    /// A single-use link to download a ready output, valid for `lifetime` seconds, for the
    /// requester only. Audited as `request.link` (without the token).
    public func createDownloadLink(requestID: UUID, by user: String, lifetime: Int) async throws -> DownloadLink {
        let token = APIToken.generate(prefix: DownloadLink.prefix)
        return try await withTransaction { transaction in
            let record = try await Self.request(requestID, in: transaction, lock: true)
            guard record.request.requester == user else { throw HubStoreError.unknownRequest(requestID.uuidString.lowercased()) }
            guard record.state == .ready else {
                throw HubStoreError.requestState(request: requestID.uuidString.lowercased(), state: record.state.rawValue, expected: "ready")
            }
            let expires = try await transaction.query("""
                INSERT INTO request_links (token_sha256, request_id, created_by, expires_at)
                VALUES (\(ByteBuffer(bytes: APIToken.digest(token))), \(requestID), \(user), now() + make_interval(secs => \(lifetime)))
                RETURNING \(unescaped: SQLTime.rfc3339("expires_at"))
                """).collect().first?.decode(String.self) ?? ""
            try await transaction.audit(AuditEntry(actor: .user(user), action: "request.link", subject: requestID.uuidString.lowercased(),
                                                   details: .object(["expires_at": .string(expires)])))
            return DownloadLink(token: token, expiresAt: expires)
        }
    }

    /// Uses a download link for `user`: it must be theirs, unused and unexpired, and the request
    /// still ready. Marks it used and writes the `request.download` audit entry (who, when,
    /// bytes, rows) in one transaction, before a byte is sent, and returns that entry with the
    /// request. Expired or used: `downloadLinkGone`; the caller audits refused attempts.
    /// `refusal` gives the reason the request's agreement no longer permits the download (it was
    /// suspended, terminated or has expired), checked in the same transaction; a request whose
    /// output retention deleted is refused too.
    public func redeemDownloadLink(token: String, by user: String,
                                   refusal: (RequestRecord) async throws -> String? = { _ in nil }) async throws -> (record: RequestRecord, entry: AuditRecord) {
        try await withTransaction { transaction in
            let digest = ByteBuffer(bytes: APIToken.digest(token))
            let rows = try await transaction.query("""
                SELECT request_id, created_by, used_at IS NOT NULL, expires_at <= now() FROM request_links WHERE token_sha256 = \(digest) FOR UPDATE
                """).collect()
            guard let row = rows.first else { throw HubStoreError.unknownDownloadLink(request: nil) }
            let (requestID, owner, used, expired) = try row.decode((UUID, String, Bool, Bool).self)
            let subject = requestID.uuidString.lowercased()
            guard owner == user else { throw HubStoreError.unknownDownloadLink(request: subject) }
            guard !used else { throw HubStoreError.downloadLinkGone(request: subject, reason: "it has been used; make a new one") }
            guard !expired else { throw HubStoreError.downloadLinkGone(request: subject, reason: "it has expired; make a new one") }
            let record = try await Self.request(requestID, in: transaction, lock: true)
            guard record.state == .ready, let output = record.output else {
                throw HubStoreError.downloadLinkGone(request: subject, reason: "request \(subject) is \(record.state.rawValue)")
            }
            let purged = try await transaction.query("SELECT purged_at IS NOT NULL FROM requests WHERE id = \(requestID)").collect().first?.decode(Bool.self)
            guard purged != true else {
                throw HubStoreError.downloadLinkGone(request: subject, reason: "its output was deleted when the agreement's retention ended")
            }
            if let reason = try await refusal(record) { throw HubStoreError.downloadLinkGone(request: subject, reason: reason) }
            try await transaction.query("UPDATE request_links SET used_at = now(), used_by = \(user) WHERE token_sha256 = \(digest)")
            let entry = try await transaction.audit(AuditEntry(actor: .user(user), action: "request.download", subject: requestID.uuidString.lowercased(),
                                                               details: .object([
                "sha256": .string(output.sha256.lowercaseHex), "rows": .integer(Int(output.rows)), "bytes": .integer(Int(output.bytes)),
            ])))
            var downloaded = record
            downloaded.downloaded = true
            return (downloaded, entry)
        }
    }

    // MARK: Reading

    private static func request(_ id: UUID, in transaction: HubTransaction, lock: Bool = false) async throws -> RequestRecord {
        let rows = try await transaction.query("""
            SELECT \(unescaped: RequestRecord.columns) FROM requests r WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")
            """).collect()
        guard let row = rows.first else { throw HubStoreError.unknownRequest(id.uuidString.lowercased()) }
        return try RequestRecord(row: row)
    }

    static func reasonsJSON(_ reasons: [DecisionReason]) -> CanonicalJSON {
        .array(reasons.map { .object(["code": .string($0.code), "message": .string($0.message)]) })
    }
}

extension DownloadLink {
    /// Tokens are `cdl_` and 43 base64url characters (32 random bytes).
    public static let prefix = "cdl_"
}

extension RequestRecord {
    static let columns = """
        id, agreement_id, agreement_version, requester, purpose, datasets, fields, level, as_of::text AS as_of, justification, state, reasons,
        \(SQLTime.rfc3339("created_at")) AS created_at, decided_by, decision_reason, \(SQLTime.rfc3339("decided_at")) AS decided_at,
        \(SQLTime.rfc3339("cancelled_at")) AS cancelled_at, \(SQLTime.rfc3339("completed_at")) AS completed_at,
        output_sha256, output_rows, output_bytes, linkage_report, error,
        EXISTS (SELECT 1 FROM request_links k WHERE k.request_id = r.id AND k.used_at IS NOT NULL) AS downloaded
        """

    init(row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        let id = try cells["id"].decode(UUID.self)
        func invalid(_ what: String) -> HubStoreError { .database(message: "request \(id) has an unreadable \(what)", sqlState: nil) }
        guard let state = RequestState(rawValue: try cells["state"].decode(String.self)) else { throw invalid("state") }
        guard let level = Agreement.OutputLevel(rawValue: try cells["level"].decode(String.self)) else { throw invalid("level") }
        let fields = try cells["fields"].decode([String].self).map { text -> DatasetField in
            let parts = text.split(separator: ".", maxSplits: 1)
            return DatasetField(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        guard case .array(let items)? = try? CanonicalJSON(canonical: Array(try cells["reasons"].decode(String.self).utf8)) else { throw invalid("reasons") }
        let reasons = items.compactMap { item -> DecisionReason? in
            guard case .object(let members) = item, case .string(let code)? = members["code"], case .string(let message)? = members["message"] else { return nil }
            return DecisionReason(code: code, message: message)
        }
        var output: RequestOutput?
        if let digest = try cells["output_sha256"].decode(ByteBuffer?.self), let rows = try cells["output_rows"].decode(Int64?.self),
           let bytes = try cells["output_bytes"].decode(Int64?.self) {
            output = RequestOutput(sha256: Array(buffer: digest), rows: rows, bytes: bytes)
        }
        self.init(
            id: id,
            request: NewRequest(
                agreementID: try cells["agreement_id"].decode(String.self), agreementVersion: try cells["agreement_version"].decode(Int.self),
                requester: try cells["requester"].decode(String.self), purpose: try cells["purpose"].decode(String.self),
                datasets: try cells["datasets"].decode([String].self), fields: fields, level: level,
                asOf: try cells["as_of"].decode(String?.self).flatMap { CivilDate(iso: $0) }, justification: try cells["justification"].decode(String?.self)),
            state: state, reasons: reasons, createdAt: try cells["created_at"].decode(String.self),
            decidedBy: try cells["decided_by"].decode(String?.self), decisionReason: try cells["decision_reason"].decode(String?.self),
            decidedAt: try cells["decided_at"].decode(String?.self), cancelledAt: try cells["cancelled_at"].decode(String?.self),
            completedAt: try cells["completed_at"].decode(String?.self), output: output,
            linkageReport: try cells["linkage_report"].decode(String?.self), error: try cells["error"].decode(String?.self),
            downloaded: try cells["downloaded"].decode(Bool.self))
    }
}
