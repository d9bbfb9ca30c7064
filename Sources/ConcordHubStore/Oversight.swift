import PostgresNIO

/// An agreement's activity in one calendar month (UTC), for the public register: counts only.
public struct MonthlyActivity: Sendable, Hashable {
    /// `YYYY-MM`.
    public var month: String
    /// Uploads accepted that were shared under the agreement.
    public var uploads: Int
    /// Requests made under it, whatever was decided.
    public var requests: Int
    /// Outputs downloaded (download links used).
    public var downloads: Int
}

/// When an agency last published an extract of a dataset shared under an agreement (the IG
/// dashboard's uploads page, docs/ig-dashboard.md section 4).
public struct ExtractFreshness: Sendable, Hashable {
    public var agency: String
    public var dataset: String
    /// RFC 3339 UTC; `nil` when none was ever published.
    public var lastPublished: String?
    /// Seconds from then to the database's now.
    public var secondsSince: Int?
    /// Rows of the last published extract.
    public var lastRows: Int?
    /// Extracts published in the last 30 days.
    public var recentExtracts: Int
}

extension HubStore {
    /// The agreement's uploads, requests and downloads per month, oldest month first; months
    /// without any are left out.
    public func monthlyActivity(agreement: String) async throws -> [MonthlyActivity] {
        var binds = PostgresBindings()
        binds.append(agreement)
        func month(_ column: String) -> String { "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM')" }
        let query = PostgresQuery(unsafeSQL: """
            WITH u AS (SELECT \(month("up.completed_at")) AS m, count(*) AS n FROM uploads up
                       WHERE up.state = 'complete' AND \(Self.sentUnderAgreement) GROUP BY 1),
                 r AS (SELECT \(month("created_at")) AS m, count(*) AS n FROM requests WHERE agreement_id = $1 GROUP BY 1),
                 d AS (SELECT \(month("k.used_at")) AS m, count(*) AS n FROM request_links k
                       JOIN requests q ON q.id = k.request_id WHERE q.agreement_id = $1 AND k.used_at IS NOT NULL GROUP BY 1)
            SELECT m, coalesce(u.n, 0), coalesce(r.n, 0), coalesce(d.n, 0) FROM u FULL JOIN r USING (m) FULL JOIN d USING (m) ORDER BY m
            """, binds: binds)
        return try await rows(query).map { row in
            let (month, uploads, requests, downloads) = try row.decode((String, Int, Int, Int).self)
            return MonthlyActivity(month: month, uploads: uploads, requests: requests, downloads: downloads)
        }
    }

    /// For each agency and dataset shared under `agreement` that has published an extract: when
    /// the last one was published, its rows, and how many in the last 30 days. Pairs never
    /// published are absent: the caller knows which pairs the agreement expects.
    public func extractFreshness(agreement: String) async throws -> [ExtractFreshness] {
        var binds = PostgresBindings()
        binds.append(agreement)
        let query = PostgresQuery(unsafeSQL: """
            SELECT DISTINCT ON (e.agency_id, e.dataset) e.agency_id, e.dataset, \(SQLTime.rfc3339("e.published_at")),
                   extract(epoch FROM now() - e.published_at)::bigint, e.rows,
                   count(*) FILTER (WHERE e.published_at > now() - interval '30 days') OVER (PARTITION BY e.agency_id, e.dataset)
            FROM extracts e JOIN uploads up ON up.id = e.upload_id
            WHERE e.published_at IS NOT NULL AND \(Self.sharedUnderAgreement)
            ORDER BY e.agency_id, e.dataset, e.published_at DESC
            """, binds: binds)
        return try await rows(query).map { row in
            let (agency, dataset, published, seconds, rows, recent) = try row.decode((String, String, String, Int, Int, Int).self)
            return ExtractFreshness(agency: agency, dataset: dataset, lastPublished: published, secondsSince: seconds, lastRows: rows, recentExtracts: recent)
        }
    }
}
