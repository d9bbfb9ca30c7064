import ConcordCore
@testable import ConcordHubStore
import Foundation
import NIOCore
import ConcordTestSupport
import Testing

@Suite struct DatabaseURLTests {
    @Test func parsesTCPURLsWithTLSModes() throws {
        let configuration = try HubDatabaseConfiguration(url: "postgresql://hub:s%40cret@db.example:6543/concord?sslmode=require")
        #expect(configuration.endpoint == .tcp(host: "db.example", port: 6543, tls: .require))
        #expect(configuration.username == "hub")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == "concord")
        let defaults = try HubDatabaseConfiguration(url: "postgres://hub@localhost/concord")
        #expect(defaults.endpoint == .tcp(host: "localhost", port: 5432, tls: .prefer))
        #expect(defaults.password == nil)
    }

    @Test func parsesUnixSocketURLs() throws {
        let configuration = try HubDatabaseConfiguration(url: "postgres://concord@/concord?host=/var/lib/concord/socket")
        #expect(configuration.endpoint == .unixSocket(path: "/var/lib/concord/socket/.s.PGSQL.5432"))
    }

    @Test func neverShowsThePassword() throws {
        let configuration = try HubDatabaseConfiguration(url: "postgres://hub:topsecret@127.0.0.1:5432/concord?sslmode=disable")
        #expect(configuration.description == "postgres://hub:***@127.0.0.1:5432/concord?sslmode=disable")
        #expect(!"\(configuration)".contains("topsecret"))
    }

    @Test(arguments: [
        "mysql://hub@localhost/concord", "postgres://localhost/concord", "postgres://hub@localhost/", "postgres://hub@localhost/concord?sslmode=maybe",
        "postgres://hub@localhost/concord?application_name=x",
    ])
    func refusesUnusableURLs(url: String) {
        #expect(throws: HubStoreError.self) { try HubDatabaseConfiguration(url: url) }
    }
}

@Suite struct MigrationFileTests {
    /// Numbers a branch being merged has reserved: the only gaps allowed, since a database past a
    /// gap would never apply a migration filling it later.
    static let reserved = [8]

    @Test func migrationsAreNumberedFromOneWithoutGaps() {
        let numbers = Array(1...(Migration.all.count + Self.reserved.count)).filter { !Self.reserved.contains($0) }
        #expect(Migration.all.map(\.version) == numbers)
    }

    @Test func splitterKeepsDollarQuotedBodiesWhole() {
        let statements = SQLStatementSplitter.split("""
            -- a comment; with a semicolon
            CREATE TABLE t (a text DEFAULT 'x;y');
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no; never'; END $$;
            DO $body$ BEGIN PERFORM 1; END $body$;
            /* trailing ; comment */
            """)
        #expect(statements.count == 3)
        #expect(statements[1].contains("RAISE EXCEPTION 'no; never'; END $$"))
        #expect(statements[2].contains("PERFORM 1; END $body$"))
    }

    @Test func foundationMigrationHasItsTables() {
        let sql = Migration.all[0].statements.joined(separator: "\n")
        for table in ["agencies", "users", "agreements", "request_nonces", "uploads", "extracts", "audit_log"] {
            #expect(sql.contains("CREATE TABLE \(table) ("), "missing \(table)")
        }
    }
}

@Suite struct DatasetTableTests {
    @Test func namesAndTypesColumnsFromThePseudonymisedLayout() throws {
        let table = try DatasetTable(schema: shippedSchema("csc_referrals"))
        #expect(table.tableName == "ds_csc_referrals")
        #expect(table.viewName == "current_csc_referrals")
        let byName = Dictionary(uniqueKeysWithValues: table.columns.map { ($0.name, $0) })
        #expect(byName["mk1"]?.sqlName == "mk1")
        #expect(byName["mk1"]?.type == .text)
        #expect(byName["DOB"]?.sqlName == "dob")
        #expect(byName["DOB"]?.type == .text, "a generalised date is text")
        #expect(byName["ReferralDate"]?.sqlName == "referral_date")
        #expect(byName["ReferralDate"]?.type == .date)
        #expect(byName["PreviousReferrals12m"]?.sqlName == "previous_referrals12m")
        #expect(byName["PreviousReferrals12m"]?.type == .bigint)
        #expect(byName["Disability"]?.type == .boolean)
        #expect(byName["Postcode"]?.type == .text)
        #expect(table.columns.map(\.name) == ReleasePlan(schema: try shippedSchema("csc_referrals")).columns)
    }

    @Test func snakeCaseCoversTheShippedNamingStyles() {
        #expect(DatasetTable.sqlName(for: "NHSNumber") == "nhs_number")
        #expect(DatasetTable.sqlName(for: "PersonID") == "person_id")
        #expect(DatasetTable.sqlName(for: "Academic Year") == "academic_year")
        #expect(DatasetTable.sqlName(for: "AGE_AT_INCIDENT") == "age_at_incident")
        #expect(DatasetTable.sqlName(for: "mk3_swapped") == "mk3_swapped")
        #expect(DatasetTable.sqlName(for: "  Sessions -- Possible ") == "sessions_possible")
    }

    @Test func everyShippedSchemaGetsATable() throws {
        for dataset in ["csc_referrals", "housing_cases", "police_da_incidents", "school_attendance"] {
            let table = try DatasetTable(schema: shippedSchema(dataset))
            #expect(table.columns.allSatisfy { DatasetTable.isValidIdentifier($0.sqlName) })
        }
    }

    @Test func refusesClashingColumnsAndOverlongDatasetNames() throws {
        var schema = try shippedSchema("csc_referrals")
        schema.fields.append(Field(name: "Referral Date", type: .string(maximumLength: nil), role: .attribute))
        #expect(throws: HubStoreError.columnNameClash(dataset: "csc_referrals", column: "referral_date", names: ["ReferralDate", "Referral Date"])) {
            try DatasetTable(schema: schema)
        }
        schema = try shippedSchema("csc_referrals")
        schema.dataset = String(repeating: "a", count: DatasetTable.maximumDatasetNameLength + 1)
        #expect(throws: HubStoreError.self) { try DatasetTable(schema: schema) }
    }
}

@Suite struct CopyEncodingTests {
    private func encoded(_ cells: [String]) -> String {
        var buffer = ByteBuffer()
        Array("7\t".utf8).withUnsafeBufferPointer { prefix in
            CSVRecordBatch(records: [cells]).forEachRecord { record in
                StagingWriter.appendRow(prefix: prefix, cellCount: record.count, cell: { record[$0] }, to: &buffer)
            }
        }
        return String(buffer: buffer)
    }

    @Test func escapesWhatCopyTextFormatReserves() {
        #expect(encoded(["", "plain"]) == "7\t\\N\tplain\n")
        #expect(encoded(["a\tb\nc\rd\\e"]) == "7\t" + "a\\tb\\nc\\rd\\\\e" + "\n")
        #expect(encoded(["\\N", "é\t"]) == "7\t" + "\\\\N" + "\t" + "é\\t" + "\n")
    }
}

@Suite struct AuditChainTests {
    @Test func contentIsCanonicalAndHashCoversPreviousHash() throws {
        let entry = AuditEntry(actor: .operator("ana"), action: "agency.add", subject: "essex", details: .object(["name": .string("Essex")]))
        let content = AuditChain.content(seq: 1, at: "2025-01-02T03:04:05.000006Z", entry: entry).bytes
        #expect(String(decoding: content, as: UTF8.self)
            == #"{"action":"agency.add","actor":"operator:ana","at":"2025-01-02T03:04:05.000006Z","details":{"name":"Essex"},"outcome":"ok","seq":1,"subject":"essex"}"#)
        let first = AuditChain.hash(previous: AuditChain.genesis, content: content)
        #expect(first.count == 32)
        #expect(first != AuditChain.hash(previous: first, content: content))
    }

    @Test func timesAreRFC3339WithMicroseconds() {
        let time = AuditTime.now()
        #expect(time.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil, "\(time)")
    }

    @Test func actorsRoundTrip() {
        for actor in [AuditActor.agency("a:b"), .user("u"), .operator("o"), .hub] {
            #expect(AuditActor(actor.description) == actor)
        }
        #expect(AuditActor("robot:x") == nil)
    }

    @Test func tokensAreCctAnd43Base64urlCharacters() {
        let token = APIToken.generate()
        #expect(token.wholeMatch(of: /cct_[A-Za-z0-9_-]{43}/) != nil, "\(token)")
        #expect(token != APIToken.generate())
    }
}
