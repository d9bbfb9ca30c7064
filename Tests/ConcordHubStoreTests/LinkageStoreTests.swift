import ConcordCore
@testable import ConcordHubStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// Linkage runs against a real PostgreSQL on hand-made match-key values, night after night.
@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct LinkageStoreTests {
    static let keys = ["mk_upn", "mk2", "mk3", "mk3_swapped"]
    static let providers = ["csc_referrals": "essex-childrens-services", "school_attendance": "essex-education", "police_da_incidents": "essex-police"]

    /// The shipped youth violence agreement (keys mk_upn, mk2, mk3, mk3_swapped, mk4, mk5 over three datasets).
    static func agreement() throws -> (Agreement, LinkagePlan) {
        let catalogue = SchemaCatalogue(try ["csc_referrals", "school_attendance", "police_da_incidents", "housing_cases"].map(shippedSchema))
        let path = "Agreements/youth-violence-vulnerability.v1.yaml"
        let agreement = try Agreement(yaml: repositoryFile(path), file: path, catalogue: catalogue)
        return (agreement, try LinkagePlan(agreement: agreement, catalogue: catalogue))
    }

    /// A linkage fixture: each night, snapshots of the given datasets; rows are `[mk_upn, mk2, mk3, mk3_swapped]`
    /// with "" for none (police records have no UPN column, so theirs must be "").
    struct Fixture {
        let store: HubStore
        let agreement: Agreement
        let plan: LinkagePlan
        /// Schemas used instead of the shipped ones (with an encoding, for the fuzzy pass).
        var schemas: [String: DatasetSchema] = [:]
        var uploads: UInt8 = 0

        func schema(_ dataset: String) throws -> DatasetSchema {
            try schemas[dataset] ?? shippedSchema(dataset)
        }

        /// Publishes hand-made rows of the fixture's four keys.
        /// `encodings`, when given, are each row's encoding columns (`CLKParameters.columns`).
        mutating func publish(_ dataset: String, _ rows: [[String]], encodings: [[String]]? = nil, agreements: [String]? = nil) async throws {
            let table = try await store.ensureDatasetTable(schema: schema(dataset))
            let carried = LinkageStoreTests.keys.indices.filter { table.column(named: LinkageStoreTests.keys[$0]) != nil }
            let encodingColumns = encodings == nil ? [] : try schema(dataset).encoding?.columns ?? []
            try await publish(dataset, columns: carried.map { LinkageStoreTests.keys[$0] } + encodingColumns, agreements: agreements) { writer in
                for (index, row) in rows.enumerated() { try await writer.append(row: carried.map { row[$0] } + (encodings?[index] ?? [])) }
            }
        }

        /// Publishes a snapshot of `dataset` from its provider, as an ingest would, shared under
        /// the fixture's agreement (or `agreements`).
        mutating func publish(_ dataset: String, columns: [String], agreements: [String]? = nil,
                              rows: (StagingWriter) async throws -> Void) async throws {
            let agency = LinkageStoreTests.providers[dataset]!
            if try await store.agency(id: agency) == nil {
                try await store.addAgency(id: agency, name: agency, publicKey: agencyKey(agency), by: .hub)
            }
            let table = try await store.ensureDatasetTable(schema: schema(dataset))
            uploads += 1
            let shared = agreements ?? ["\(agreement.id).v\(agreement.version)"]
            let upload = try await store.startUpload(agencyID: agency, headerDigest: digest(uploads),
                                                     manifest: manifest(agency: agency, dataset: dataset, agreements: shared), envelopeLength: 10)
            let extract = try await store.stage(uploadID: upload.id, agencyID: agency, dataset: table, mode: .snapshot, retainUntil: nil,
                                                columns: columns, rows: rows)
            _ = try await store.publish(extractID: extract.id, receipt: "{}", auditEntry: AuditEntry(actor: .agency(agency), action: "upload.accepted", subject: "\(upload.id)"))
        }

        func link() async throws -> LinkageReport {
            try await store.updateLinkage(agreement: agreement, plan: plan, actor: .hub)
        }

        /// Each published row's person, in the order the rows were loaded.
        func persons(_ dataset: String) async throws -> [Int64] {
            let linked = try #require(try await store.linkedDatasets(plan: plan).first { $0.dataset == dataset })
            var binds = PostgresBindings()
            binds.append(agreement.id)
            binds.append(dataset)
            return try await store.withLinkageTransaction { transaction in
                try await transaction.query(PostgresQuery(unsafeSQL: """
                    SELECT n.person FROM \(linked.view) d JOIN linkage_nodes n
                    ON n.agreement_id = $1 AND n.dataset = $2 AND n.keys = \(linked.keys) ORDER BY d."_row"
                    """, binds: binds)).decode(Int64.self).all()
            }
        }
    }

    /// - Parameter fuzzy: the fixture's datasets are given `encodings` (dataset → the linkage key
    ///   version of its schema's encoding) and its agreement the fuzzy pass with this band.
    func withFixture(fuzzy: FuzzyMatchPolicy? = nil, encodings: [String: Int] = [:], _ body: (inout Fixture) async throws -> Void) async throws {
        var (agreement, plan) = try Self.agreement()
        var schemas: [String: DatasetSchema] = [:]
        if let fuzzy {
            for (dataset, keyVersion) in encodings {
                var schema = try shippedSchema(dataset)
                schema.encoding = .standard(keyVersion: keyVersion)
                schemas[dataset] = schema
            }
            agreement.linkage.fuzzy = fuzzy
            let catalogue = SchemaCatalogue(try ["csc_referrals", "school_attendance", "police_da_incidents", "housing_cases"].map { try schemas[$0] ?? shippedSchema($0) })
            plan = try LinkagePlan(agreement: agreement, catalogue: catalogue)
        }
        try await withStore { store, _ in
            var fixture = Fixture(store: store, agreement: agreement, plan: plan, schemas: schemas)
            try await body(&fixture)
        }
    }

    @Test func linksAcrossDatasetsKeepsPersonsAcrossNightsAndRecordsMergesAndSplits() async throws {
        try await withFixture { hub in
            try await hub.publish("csc_referrals", [["U1", "A", "", ""], ["U2", "B", "", ""], ["U1", "A", "", ""]])
            try await hub.publish("school_attendance", [["U1", "", "", ""], ["U2", "C", "", ""]])
            try await hub.publish("police_da_incidents", [["", "A", "", ""], ["", "", "X", ""]])
            let first = try await hub.link()
            let (csc, school, police) = try await (hub.persons("csc_referrals"), hub.persons("school_attendance"), hub.persons("police_da_incidents"))
            #expect(csc[0] == csc[2] && csc[0] == school[0] && csc[0] == police[0], "UPN links CSC and school, then mk2 brings in the police record")
            #expect(csc[1] == school[1] && csc[1] != csc[0])
            #expect(Set([csc[0], csc[1], police[1]]).count == 3)
            #expect(first.persons == 3)
            #expect(first.run.newNodes == 6, "the repeated CSC record is one node")
            #expect(first.datasets.map(\.records) == [3, 2, 2])
            #expect(first.linkedBy.first { $0.key == "mk_upn" }?.records == 5, "the repeated CSC record counts twice")
            #expect(first.linkedBy.first { $0.key == "mk2" }?.records == 1)
            #expect(first.pairs.contains { $0.dataset == "police_da_incidents" && $0.other == "school_attendance" && $0.records == 1 && $0.rate == 0.5 })
            #expect(first.clusterSizes.first { $0.size == "4" }?.persons == 1)

            let idle = try await hub.link()
            #expect(idle.run.newNodes == 0 && idle.run.removedNodes == 0 && idle.run.clusteredNodes == 0, "nothing new: nothing is matched again")
            #expect(idle.run.datasetsRead.isEmpty, "no dataset's published extracts changed: none is read")
            #expect(idle.persons == first.persons && idle.datasets == first.datasets)

            // The next night's police snapshot repeats the same records: same persons, nothing clustered.
            try await hub.publish("police_da_incidents", [["", "A", "", ""], ["", "", "X", ""]])
            let same = try await hub.link()
            #expect(same.run.newNodes == 0 && same.run.clusteredNodes == 0)
            #expect(same.run.datasetsRead == ["police_da_incidents"])
            #expect(try await hub.persons("police_da_incidents") == police)

            // A new police record shares mk2 with the first person and mk3 with the lone police record: they merge, by mk3.
            try await hub.publish("police_da_incidents", [["", "A", "", ""], ["", "", "X", ""], ["", "A", "X", ""]])
            let merged = try await hub.link()
            #expect(merged.run.merges == 1)
            let afterMerge = try await hub.persons("police_da_incidents")
            #expect(afterMerge == [csc[0], csc[0], csc[0]], "the larger person keeps its number")
            #expect(try await hub.persons("csc_referrals") == csc)

            // The bridging record is withdrawn: the lone record splits off again, under a new number.
            try await hub.publish("police_da_incidents", [["", "A", "", ""], ["", "", "X", ""]])
            let split = try await hub.link()
            #expect(split.run.splits == 1 && split.run.removedNodes == 1)
            let afterSplit = try await hub.persons("police_da_incidents")
            #expect(afterSplit[0] == csc[0] && afterSplit[1] != csc[0] && afterSplit[1] != police[1])

            let events = try await column("SELECT kind || ' ' || coalesce(key, '-') FROM linkage_events ORDER BY run, kind", as: String.self, on: hub.store)
            #expect(events == ["merge mk3", "split mk3"])
            let audited = try await hub.store.auditEntries().filter { $0.entry.action == "linkage.update" }
            #expect(audited.count == 5)
            guard case .object(let details)? = audited.last?.entry.details else { Issue.record("no details"); return }
            #expect(details["splits"] == .integer(1))
            #expect(details["splits_by_key"] == .object(["mk3": .integer(1)]), "the audit log says which key caused the split")
            guard case .object(let mergeDetails) = audited[audited.count - 2].entry.details else { Issue.record("no details"); return }
            #expect(mergeDetails["merges_by_key"] == .object(["mk3": .integer(1)]))
            #expect(details["persons"] == .integer(3))
            #expect(try await hub.store.verifyAuditLog().isIntact)
        }
    }

    @Test func recordsThatDisagreeOnAUniqueKeyAreFlaggedAndKeptApart() async throws {
        try await withFixture { hub in
            try await hub.publish("csc_referrals", [["U3", "D", "", ""]])
            try await hub.publish("school_attendance", [["U4", "D", "", ""]])
            let report = try await hub.link()
            let (csc, school) = try await (hub.persons("csc_referrals"), hub.persons("school_attendance"))
            #expect(csc[0] != school[0], "two different UPNs are two children, whatever mk2 says")
            #expect(report.run.conflicts == ["mk_upn": 1])
            #expect(report.flaggedPersons == 2)
        }
    }

    @Test func rowsSharedUnderAnotherAgreementAreNotLinked() async throws {
        try await withFixture { hub in
            try await hub.publish("csc_referrals", [["U1", "A", "", ""]])
            // The school's extract was sent under school-readiness only: youth violence may not link it.
            try await hub.publish("school_attendance", [["U1", "A", "", ""]], agreements: ["school-readiness.v1"])
            let report = try await hub.link()
            #expect(report.datasets.map(\.dataset) == ["csc_referrals"])
            #expect(report.run.datasetsRead == ["csc_referrals"])
            #expect(try await hub.persons("csc_referrals").count == 1)
        }
    }

    @Test func aSwappedDateOfBirthLinksToTheRealOne() async throws {
        try await withFixture { hub in
            try await hub.publish("csc_referrals", [["", "", "S", ""]])
            try await hub.publish("police_da_incidents", [["", "", "", "S"], ["", "", "", "T"]])
            let report = try await hub.link()
            let (csc, police) = try await (hub.persons("csc_referrals"), hub.persons("police_da_incidents"))
            #expect(csc[0] == police[0] && police[1] != police[0])
            #expect(report.linkedBy.first { $0.key == "mk3_swapped" }?.records == 2)
        }
    }
}
