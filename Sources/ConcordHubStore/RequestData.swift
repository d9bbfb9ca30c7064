import ConcordCore
import PostgresNIO

/// The records a request's output is made of (docs/requests.md, "Outputs"): the rows of its
/// datasets' published extracts that were shared under its agreement (the upload's manifest names
/// a version of it), published by the end of `as_of` when given, each with its person number in
/// the agreement's linkage when its dataset is linked (`linked`, from `linkedDatasets(plan:)`):
/// the person of the `linkage_nodes` entry holding its match-key tuple (docs/linkage.md, section 2).
///
/// Every query binds the same three values: `$1` the agreement id, `$2` the `as_of` date or
/// NULL, `$3` the request's datasets; identifiers are validated and double-quoted.
extension HubStore {
    /// Streams every record of `dataset` with the values of `fields` (as text; `nil` when empty),
    /// ordered by person number (records without one last), without holding them in memory.
    public func forEachRecord(of request: RequestRecord, dataset: String, fields: [String], linked: LinkedDataset?,
                              _ body: (_ person: Int64?, _ values: [String?]) throws -> Void) async throws {
        let columns = try fields.map { try Self.column($0, of: dataset) + "::text" }
        let person = Self.person(linked)
        let sql = "SELECT \(([person] + columns).joined(separator: ", ")) \(try Self.records(of: dataset, number: 1, linked: linked)) ORDER BY 1 NULLS LAST, d.\"_row\""
        try await withLinkageTransaction { transaction in
            try await transaction.query("SET LOCAL datestyle = 'ISO'")
            for try await row in try await transaction.query(PostgresQuery(unsafeSQL: sql, binds: try Self.binds(request, datasets: [dataset]))) {
                var cells = row.makeIterator()
                guard let first = cells.next() else { continue }
                let person = try first.decode(Int64?.self)
                var values: [String?] = []
                values.reserveCapacity(fields.count)
                while let cell = cells.next() { values.append(try cell.decode(String?.self)) }
                try body(person, values)
            }
        }
    }

    /// Distinct persons by the request's dimensions (its fields): for each combination of
    /// categories that occurs, how many persons have, in each dimension, a record with that
    /// value (`""`: no record of that dimension's dataset, or the field empty). A person with
    /// several values in a dimension counts in each of them. A record without a person number
    /// counts as a person of its own.
    public func personCounts(of request: RequestRecord, linked: [String: LinkedDataset]) async throws -> [(categories: [String], persons: Int)] {
        let dimensions = request.request.fields
        var parts: [String] = []
        for (index, dataset) in request.request.datasets.enumerated() {
            let person = Self.person(linked[dataset])
            var select = "SELECT coalesce('p' || \(person)::text, 'r' || ($3::text[])[\(index + 1)] || ':' || d.\"_row\"::text) AS unit"
            for (position, dimension) in dimensions.enumerated() {
                let value = dimension.dataset == dataset ? try Self.column(dimension.field, of: dataset) + "::text" : "NULL::text"
                select += ", \(value) AS v\(position)"
            }
            parts.append(select + " " + (try Self.records(of: dataset, number: index + 1, linked: linked[dataset])))
        }
        var sql = "WITH recs AS (\(parts.joined(separator: " UNION ALL "))), cells AS (SELECT u.unit"
        for index in dimensions.indices { sql += ", coalesce(v\(index).value, '') AS c\(index)" }
        sql += " FROM (SELECT DISTINCT unit FROM recs) u"
        for index in dimensions.indices {
            sql += " LEFT JOIN (SELECT DISTINCT unit, v\(index) AS value FROM recs WHERE v\(index) IS NOT NULL) v\(index) ON v\(index).unit = u.unit"
        }
        let groups = dimensions.indices.map { "c\($0)" }.joined(separator: ", ")
        sql += ") SELECT \(groups), count(DISTINCT unit) FROM cells GROUP BY \(groups)"
        return try await withLinkageTransaction { transaction in
            try await transaction.query("SET LOCAL datestyle = 'ISO'")
            var result: [(categories: [String], persons: Int)] = []
            for try await row in try await transaction.query(PostgresQuery(unsafeSQL: sql, binds: try Self.binds(request, datasets: request.request.datasets))) {
                var categories: [String] = []
                var persons = 0
                for (position, cell) in row.enumerated() {
                    if position < dimensions.count { categories.append(try cell.decode(String.self)) } else { persons = try cell.decode(Int.self) }
                }
                result.append((categories, persons))
            }
            return result
        }
    }

    /// `FROM … WHERE …` for the records of `dataset`, the `number`th (from 1) of `$3`, joined to
    /// their linkage nodes (as `l`) when the dataset is linked.
    private static func records(of dataset: String, number: Int, linked: LinkedDataset?) throws -> String {
        try DatasetTable.validateDatasetName(dataset)
        let nodes = linked.map { " LEFT JOIN linkage_nodes l ON l.agreement_id = $1 AND l.dataset = ($3::text[])[\(number)] AND l.keys = \($0.keys)" } ?? ""
        return """
            FROM \(quoted("current_" + dataset)) d JOIN extracts e ON e.id = d."_extract" JOIN uploads up ON up.id = e.upload_id\(nodes) \
            WHERE \(sharedUnderAgreement) \
            AND ($2::text IS NULL OR e.published_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC')
            """
    }

    /// SQL: the upload aliased `up` was sent under (its manifest names a version of) the
    /// agreement bound as `$1`.
    static let sentUnderAgreement = "EXISTS (SELECT 1 FROM jsonb_array_elements_text(up.manifest::jsonb -> 'agreements') a WHERE split_part(a, '.v', 1) = $1)"

    /// SQL: the extract aliased `e`, of the upload aliased `up`, was sent under the agreement bound
    /// as `$1`, and that agreement's hold on it has not been released by a purge
    /// (docs/retention.md). Outputs and linkage read only such extracts' rows.
    static let sharedUnderAgreement = sentUnderAgreement
        + " AND NOT EXISTS (SELECT 1 FROM extract_retention r WHERE r.extract_id = e.id AND r.agreement_id = $1 AND r.released_at IS NOT NULL)"

    /// A record's person number: its linkage node's person, or none when its dataset is not linked.
    private static func person(_ linked: LinkedDataset?) -> String {
        linked == nil ? "NULL::bigint" : "l.person"
    }

    private static func binds(_ request: RequestRecord, datasets: [String]) throws -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(request.request.agreementID)
        binds.append(request.request.asOf?.description)
        binds.append(datasets)
        return binds
    }

    /// The column holding `field` in the dataset table (docs/hub-database.md section 5).
    private static func column(_ field: String, of dataset: String) throws -> String {
        let name = DatasetTable.sqlName(for: field)
        guard DatasetTable.isValidIdentifier(name) else { throw HubStoreError.invalidIdentifier(field, reason: "it is not a column of \(dataset)") }
        return "d." + quoted(name)
    }
}
