import ConcordCore
import PostgresNIO

/// A stretch of time a report covers: from `since` (inclusive) to `until` (exclusive), both
/// midnight UTC. People write it as `YYYY-MM` (a calendar month), `YYYY` (a year) or two dates.
public struct ReportPeriod: Sendable, Hashable, CustomStringConvertible {
    public var since: CivilDate
    public var until: CivilDate

    /// Refuses an empty or backwards period.
    public init?(since: CivilDate, until: CivilDate) {
        guard since < until else { return nil }
        self.since = since
        self.until = until
    }

    /// `2026-11` (that month) or `2026` (that year); `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 1, parts[0].count == 4, let year = Int(parts[0]), let since = CivilDate(year: year, month: 1, day: 1),
           let until = CivilDate(year: year + 1, month: 1, day: 1) {
            self.init(since: since, until: until)
        } else if parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]), let month = Int(parts[1]),
                  let since = CivilDate(year: year, month: month, day: 1),
                  let until = month == 12 ? CivilDate(year: year + 1, month: 1, day: 1) : CivilDate(year: year, month: month + 1, day: 1) {
            self.init(since: since, until: until)
        } else {
            return nil
        }
    }

    /// `2026-11-01 to 2026-12-01 (exclusive)`.
    public var description: String { "\(since) to \(until) (exclusive)" }

    /// The bounds as `AuditFilter` takes them.
    var filter: (since: String, until: String) { (since.description + "T00:00:00Z", until.description + "T00:00:00Z") }
}

/// What an IG officer reports on one agreement for a period (`concord audit report`, the IG
/// dashboard): every access to its requests' outputs and the decisions behind them, uploads per
/// agency and dataset, linkage runs with their match rates, and refusals. Built from the audit
/// log alone (and the requests the entries are about), so it shows only what the hub wrote
/// there: user ids, agency ids, counts, reasons; never row data, so never a pseudonym or a raw
/// identifier.
public struct AccessReport: Sendable, Hashable {
    public var agreement: String
    public var period: ReportPeriod
    public var accesses: [Access]
    public var uploads: [Uploads]
    public var linkageRuns: [LinkageRunSummary]
    public var refusals: [Refusal]
    /// The last audit entry the report read (its `seq`), so a reader can tie it to a checkpoint.
    public var lastSeq: Int64

    /// One event in the life of a request under the agreement: asked, approved, denied,
    /// cancelled, output made, link made, downloaded.
    public struct Access: Sendable, Hashable {
        public var seq: Int64
        public var at: String
        /// `user:ID` or `hub` (outputs are made by the hub).
        public var actor: String
        public var role: String
        /// `request.create`, `request.approve`, `request.download`, …
        public var action: String
        public var request: String
        public var requester: String
        public var purpose: String
        /// The requester's justification, and for a decision the officer's reason.
        public var justification: String
        public var reason: String
        public var datasets: [String]
        public var level: String
        /// Rows of the output made or downloaded; `nil` for events that move no rows.
        public var rows: Int?
        public var outcome: String
    }

    /// Uploads of one dataset by one agency that named the agreement.
    public struct Uploads: Sendable, Hashable {
        public var agency: String
        public var dataset: String
        public var accepted: Int
        public var refused: Int
        public var rows: Int
        /// When the last accepted one arrived, RFC 3339 UTC.
        public var lastAccepted: String?
    }

    /// One linkage run under the agreement.
    public struct LinkageRunSummary: Sendable, Hashable {
        public var seq: Int64
        public var at: String
        public var run: Int
        public var persons: Int
        public var merges: Int
        public var splits: Int
        public var datasets: [DatasetRate]
    }

    /// A dataset's records in a linkage run and how many were linked to another record.
    public struct DatasetRate: Sendable, Hashable {
        public var dataset: String
        public var records: Int
        public var linked: Int
        /// `linked / records`, 0 when there are no records.
        public var rate: Double { records == 0 ? 0 : Double(linked) / Double(records) }
    }

    /// Something refused under the agreement: an upload, a request, a decision, a download.
    public struct Refusal: Sendable, Hashable {
        public var seq: Int64
        public var at: String
        public var actor: String
        public var action: String
        public var subject: String
        public var reasons: [String]
    }
}

extension HubStore {
    /// The access report of `agreement` (any of its versions) over `period`.
    public func accessReport(agreement: String, period: ReportPeriod) async throws -> AccessReport {
        let bounds = period.filter
        let filter = AuditFilter(agreement: agreement, since: bounds.since, until: bounds.until)
        let entries = try await allAuditEntries(filter: filter)
        let roles = try await userRoles()
        let requests = try await rows("SELECT \(unescaped: RequestRecord.columns) FROM requests r WHERE agreement_id = \(agreement)")
            .map(RequestRecord.init(row:))
        var report = AccessReport(agreement: agreement, period: period, accesses: [], uploads: [], linkageRuns: [], refusals: [],
                                  lastSeq: entries.last?.seq ?? 0)
        let byID = Dictionary(uniqueKeysWithValues: requests.map { ($0.id.uuidString.lowercased(), $0) })
        var uploads: [String: AccessReport.Uploads] = [:]
        for record in entries {
            let entry = record.entry
            let details: [String: CanonicalJSON] = if case .object(let members) = entry.details { members } else { [:] }
            if entry.outcome == "refused" {
                report.refusals.append(AccessReport.Refusal(seq: record.seq, at: record.at, actor: entry.actor.description, action: entry.action,
                                                            subject: entry.subject, reasons: Self.reasons(details)))
            }
            switch entry.action {
            case "upload.accepted", "upload.refused":
                guard case .agency(let agency) = entry.actor, case .string(let dataset)? = details["dataset"] else { continue }
                let key = agency + "\u{0}" + dataset
                var summary = uploads[key] ?? AccessReport.Uploads(agency: agency, dataset: dataset, accepted: 0, refused: 0, rows: 0)
                if entry.action == "upload.accepted" {
                    summary.accepted += 1
                    if case .integer(let rows)? = details["rows_loaded"] { summary.rows += rows }
                    summary.lastAccepted = record.at
                } else {
                    summary.refused += 1
                }
                uploads[key] = summary
            case "linkage.update":
                report.linkageRuns.append(Self.linkageRun(record, details: details))
            case let action where action.hasPrefix("request.") && action != "request.refused":
                guard let request = byID[entry.subject] else { continue }
                let role = if case .user(let id) = entry.actor { roles[id] ?? "unknown" } else { "hub" }
                var rows: Int?
                if case .integer(let count)? = details["rows"] { rows = count }
                var reason = ""
                if case .string(let text)? = details["reason"] { reason = text }
                report.accesses.append(AccessReport.Access(
                    seq: record.seq, at: record.at, actor: entry.actor.description, role: role, action: entry.action, request: entry.subject,
                    requester: request.request.requester, purpose: request.request.purpose, justification: request.request.justification ?? "",
                    reason: reason, datasets: request.request.datasets, level: request.request.level.rawValue, rows: rows, outcome: entry.outcome))
            default:
                continue
            }
        }
        report.uploads = uploads.values.sorted { ($0.agency, $0.dataset) < ($1.agency, $1.dataset) }
        return report
    }

    private static func linkageRun(_ record: AuditRecord, details: [String: CanonicalJSON]) -> AccessReport.LinkageRunSummary {
        func integer(_ key: String) -> Int { if case .integer(let value)? = details[key] { value } else { 0 } }
        func counts(_ key: String) -> [String: Int] {
            guard case .object(let members)? = details[key] else { return [:] }
            return members.compactMapValues { if case .integer(let value) = $0 { value } else { nil } }
        }
        let records = counts("records")
        let linked = counts("linked_records")
        return AccessReport.LinkageRunSummary(
            seq: record.seq, at: record.at, run: integer("run"), persons: integer("persons"), merges: integer("merges"), splits: integer("splits"),
            datasets: records.keys.sorted().map { AccessReport.DatasetRate(dataset: $0, records: records[$0] ?? 0, linked: linked[$0] ?? 0) })
    }

    /// A refusal's reasons as the entry gives them: `reasons` (text or `{code, message}`), else `reason`.
    private static func reasons(_ details: [String: CanonicalJSON]) -> [String] {
        if case .array(let items)? = details["reasons"] {
            return items.map { item in
                switch item {
                case .string(let text): text
                case .object(let members):
                    if case .string(let message)? = members["message"] { message } else { String(decoding: item.bytes, as: UTF8.self) }
                default: String(decoding: item.bytes, as: UTF8.self)
                }
            }
        }
        if case .string(let reason)? = details["reason"] { return [reason] }
        return []
    }
}
