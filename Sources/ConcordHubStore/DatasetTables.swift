import ConcordCore
import PostgresNIO

/// The PostgreSQL type of a dataset column.
public enum DatasetColumnType: String, Sendable, Hashable {
    case text, bigint, numeric, date, boolean
}

/// One column of a dataset table: the extract's column name and the SQL column it is stored in.
public struct DatasetColumn: Sendable, Hashable {
    /// As in the pseudonymised extract's header (a match key or schema field name).
    public var name: String
    /// The SQL column (docs/hub-database.md, "Dataset tables": lower snake case of `name`).
    public var sqlName: String
    public var type: DatasetColumnType
}

/// The table `ds_<dataset>` holding every extract of one dataset, and the view
/// `current_<dataset>` showing only rows of published extracts.
public struct DatasetTable: Sendable, Hashable {
    public var dataset: String
    public var tableName: String
    public var viewName: String
    /// Match keys, releasable fields, then the encoding's columns, in the pseudonymised layout's order.
    public var columns: [DatasetColumn]

    /// The longest dataset name whose view name, `current_<dataset>`, fits PostgreSQL's 63 bytes.
    public static let maximumDatasetNameLength = 63 - "current_".count

    /// The table for `schema`'s pseudonymised layout. A field generalised under `plan` (or, without
    /// one, under the schema) is text; so are match keys and every type whose normalised form is
    /// text. Integers, decimals, dates and booleans left as they are keep their SQL type.
    public init(schema: DatasetSchema, plan: ReleasePlan? = nil) throws(HubStoreError) {
        let plan = plan ?? ReleasePlan(schema: schema)
        try Self.validateDatasetName(schema.dataset)
        dataset = schema.dataset
        tableName = "ds_" + schema.dataset
        viewName = "current_" + schema.dataset
        var columns = plan.matchKeys.map { DatasetColumn(name: $0, sqlName: Self.sqlName(for: $0), type: .text) }
        for permission in plan.fields {
            let type: DatasetColumnType = if permission.generalisation != nil {
                .text
            } else {
                switch schema.field(named: permission.field)?.type {
                case .integer: .bigint
                case .decimal: .numeric
                case .date: .date
                case .boolean: .boolean
                default: .text
                }
            }
            columns.append(DatasetColumn(name: permission.field, sqlName: Self.sqlName(for: permission.field), type: type))
        }
        columns += (plan.encoding?.columns ?? []).map { DatasetColumn(name: $0, sqlName: Self.sqlName(for: $0), type: .text) }
        var namesBySQLName: [String: [String]] = [:]
        for column in columns {
            guard Self.isValidIdentifier(column.sqlName) else {
                throw .invalidIdentifier(column.name, reason: "it has no letters to make a column name of, or starts with a digit, or is over 63 characters")
            }
            namesBySQLName[column.sqlName, default: []].append(column.name)
        }
        if let (sqlName, names) = namesBySQLName.first(where: { $0.value.count > 1 }) {
            throw .columnNameClash(dataset: schema.dataset, column: sqlName, names: names)
        }
        self.columns = columns
    }

    /// The column an extract header names.
    public func column(named name: String) -> DatasetColumn? {
        columns.first { $0.name == name }
    }

    /// `^[a-z][a-z0-9_]{0,62}$`: what Concord lets become an SQL identifier (always double-quoted too).
    static func isValidIdentifier(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, (1...63).contains(bytes.count), IdentifierByte.isLower(first) else { return false }
        return bytes.allSatisfy { IdentifierByte.isLower($0) || IdentifierByte.isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    static func validateDatasetName(_ name: String) throws(HubStoreError) {
        guard isValidIdentifier(name), name.utf8.count <= maximumDatasetNameLength else {
            throw .invalidIdentifier(name, reason: "a dataset name must match ^[a-z][a-z0-9_]*$ and be at most \(maximumDatasetNameLength) characters")
        }
    }

    /// Lower snake case: `ReferralDate` → `referral_date`, `NHSNumber` → `nhs_number`,
    /// `Academic Year` → `academic_year`, `PreviousReferrals12m` → `previous_referrals12m`.
    /// Any run of characters other than ASCII letters and digits becomes one `_`; a word break
    /// is also made before an upper-case letter that follows a lower-case letter or digit, or that
    /// starts a word after an acronym.
    static func sqlName(for name: String) -> String {
        let bytes = Array(name.utf8)
        var output: [UInt8] = []
        func separate() { if let last = output.last, last != UInt8(ascii: "_") { output.append(UInt8(ascii: "_")) } }
        for (index, byte) in bytes.enumerated() {
            if IdentifierByte.isUpper(byte) {
                let previous = index > 0 ? bytes[index - 1] : 0
                let next = index + 1 < bytes.count ? bytes[index + 1] : 0
                if IdentifierByte.isLower(previous) || IdentifierByte.isDigit(previous) || (IdentifierByte.isUpper(previous) && IdentifierByte.isLower(next)) { separate() }
                output.append(byte | 0x20)
            } else if IdentifierByte.isLower(byte) || IdentifierByte.isDigit(byte) {
                output.append(byte)
            } else {
                separate()
            }
        }
        while output.last == UInt8(ascii: "_") { output.removeLast() }
        return String(decoding: output, as: UTF8.self)
    }
}

/// ASCII classes for identifiers (ConcordCore's own helpers are internal to it).
private enum IdentifierByte {
    static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    static func isUpper(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }
    static func isLower(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 }
}

/// An SQL identifier already validated by `DatasetTable.isValidIdentifier`, double-quoted.
func quoted(_ identifier: String) -> String { "\"\(identifier)\"" }

extension HubStore {
    /// Creates the dataset's table and view, or adds the columns it lacks; idempotent. A column
    /// that must now hold generalised text (an agreement coarsens it) is widened to text, never
    /// narrowed; columns the schema no longer has are kept. Runs under the migrations lock, as
    /// the database owner (call it at start-up, with the migrating store, for every schema). The
    /// runtime role `concord_hub`, if it exists, gets SELECT, INSERT and DELETE on the table and
    /// SELECT on the view. Returns the table with its columns' actual types.
    @discardableResult
    public func ensureDatasetTable(schema: DatasetSchema, plan: ReleasePlan? = nil) async throws -> DatasetTable {
        var table = try DatasetTable(schema: schema, plan: plan)
        let (tableSQL, view) = (quoted(table.tableName), quoted(table.viewName))
        table = try await withMigrationLock { connection in
            let transaction = HubTransaction(connection: connection, logger: logger)
            try await transaction.query("BEGIN")
            try await transaction.query("SET LOCAL datestyle = 'ISO'")
            try await transaction.query(PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS \(tableSQL) (
                    "_extract" bigint NOT NULL REFERENCES extracts (id), "_row" bigint GENERATED BY DEFAULT AS IDENTITY)
                """))
            try await transaction.query(PostgresQuery(unsafeSQL: "CREATE INDEX IF NOT EXISTS \(quoted("ix_" + table.dataset)) ON \(tableSQL) (\"_extract\")"))
            var existing: [String: String] = [:]
            for try await (name, type) in try await transaction.query("""
                SELECT column_name, data_type FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = \(table.tableName)
                """).decode((String, String).self) {
                existing[name] = type
            }
            let viewExists = try await transaction.query("SELECT to_regclass(\(view)) IS NOT NULL").collect().first?.decode(Bool.self) ?? false
            // Tables made before rows had ids (migration 0002) get them; existing rows are numbered.
            var alterations = existing["_row"] == nil ? ["ADD COLUMN \"_row\" bigint GENERATED BY DEFAULT AS IDENTITY"] : []
            var actual = table
            for (index, column) in table.columns.enumerated() {
                guard let type = existing[column.sqlName] else {
                    alterations.append("ADD COLUMN \(quoted(column.sqlName)) \(column.type.rawValue)")
                    continue
                }
                if type != column.type.rawValue, type != DatasetColumnType.text.rawValue {
                    alterations.append("ALTER COLUMN \(quoted(column.sqlName)) TYPE text USING \(quoted(column.sqlName))::text")
                    actual.columns[index].type = .text
                } else {
                    actual.columns[index].type = DatasetColumnType(rawValue: type) ?? .text
                }
            }
            if !alterations.isEmpty || !viewExists {
                // The view lists the table's columns as they were when it was made, and a column
                // under a view cannot change type: make it again.
                try await transaction.query(PostgresQuery(unsafeSQL: "DROP VIEW IF EXISTS \(view)"))
                if !alterations.isEmpty {
                    try await transaction.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(tableSQL) " + alterations.joined(separator: ", ")))
                }
                try await transaction.query(PostgresQuery(unsafeSQL: """
                    CREATE VIEW \(view) AS SELECT e.agency_id AS "_agency", d.* FROM \(tableSQL) d
                    JOIN extracts e ON e.id = d."_extract" WHERE e.state = 'published'
                    """))
            }
            if try await transaction.query("SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub'").collect().count == 1 {
                try await transaction.query(PostgresQuery(unsafeSQL: "GRANT SELECT, INSERT, DELETE ON \(tableSQL) TO concord_hub"))
                try await transaction.query(PostgresQuery(unsafeSQL: "GRANT SELECT ON \(view) TO concord_hub"))
            }
            try await transaction.query("COMMIT")
            return actual
        }
        return table
    }
}
