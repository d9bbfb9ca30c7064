import ConcordCore
@testable import ConcordHubStore
import Foundation
import PostgresNIO
import ConcordTestSupport
import Testing

/// A manifest for an envelope of `dataset` from `agency`.
func manifest(agency: String, dataset: String = "csc_referrals", rows: Int = 2, columns: [String] = [],
              agreements: [String] = ["early-help-domestic-abuse.v1"]) -> EnvelopeManifest {
    EnvelopeManifest(agency: agency, dataset: dataset, schemaVersion: 1, agreements: agreements,
                     extractDate: CivilDate(year: 2025, month: 3, day: 1)!, rows: rows, columns: columns, linkageKeyID: "lk-0123456789abcdef",
                     compression: "zstd", payloadBytes: 100, payloadSHA256: String(repeating: "ab", count: 32), created: "2025-03-01T02:00:00Z")
}

func digest(_ seed: UInt8) -> [UInt8] { [UInt8](repeating: seed, count: 32) }

@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct UploadTests {
    @Test func startIsIdempotentByHeaderDigest() async throws {
        try await withStore { store, _ in
            try await store.addAgency(id: "essex-cc", name: "Essex CC", publicKey: agencyKey("essex-cc"), by: .hub)
            try await store.addAgency(id: "essex-police", name: "Essex Police", publicKey: agencyKey("essex-police"), by: .hub)
            let first = try await store.startUpload(agencyID: "essex-cc", headerDigest: digest(1), manifest: manifest(agency: "essex-cc"), envelopeLength: 1000)
            #expect(first.state == .receiving)
            #expect(first.received == 0)
            #expect(first.dataset == "csc_referrals")
            try await store.setReceived(id: first.id, received: 600)
            let again = try await store.startUpload(agencyID: "essex-cc", headerDigest: digest(1), manifest: manifest(agency: "essex-cc"), envelopeLength: 1000)
            #expect(again.id == first.id)
            #expect(again.received == 600, "a repeated start resumes where the upload stopped")
            await #expect(throws: HubStoreError.uploadOfAnotherAgency(digest(1).lowercaseHex)) {
                try await store.startUpload(agencyID: "essex-police", headerDigest: digest(1), manifest: manifest(agency: "essex-police"), envelopeLength: 1000)
            }
            await #expect(throws: HubStoreError.self) { try await store.setReceived(id: first.id, received: 1001) }
            #expect(try await store.upload(headerDigest: digest(1))?.id == first.id)
            #expect(try await store.upload(id: UUID()) == nil)
            #expect(try await store.auditEntries().filter { $0.entry.action == "upload.start" }.count == 1)
        }
    }

    @Test func aRefusedUploadKeepsItsProblemAndIsAudited() async throws {
        try await withStore { store, _ in
            try await store.addAgency(id: "essex-cc", name: "Essex CC", publicKey: agencyKey("essex-cc"), by: .hub)
            let upload = try await store.startUpload(agencyID: "essex-cc", headerDigest: digest(2), manifest: manifest(agency: "essex-cc"), envelopeLength: 10)
            let problem = #"{"type":"about:blank","title":"refused","reasons":["no active agreement"]}"#
            let refused = try await store.refuseUpload(id: upload.id, problem: problem, details: ["reasons": .array([.string("no active agreement")])])
            #expect(refused.state == .refused)
            #expect(try await store.upload(id: upload.id)?.problem == problem)
            await #expect(throws: HubStoreError.uploadState(upload: upload.id.uuidString.lowercased(), state: "refused", expected: "receiving")) {
                try await store.completeUpload(id: upload.id, receipt: "{}")
            }
            let last = try #require(try await store.auditEntries().last)
            #expect(last.entry.action == "upload.refused")
            #expect(last.entry.outcome == "refused")
            #expect(last.entry.actor == .agency("essex-cc"))
            #expect(last.entry.details == .object([
                "reasons": .array([.string("no active agreement")]), "dataset": .string("csc_referrals"), "header_digest": .string(digest(2).lowercaseHex),
            ]))
            #expect(try await store.verifyAuditLog().isIntact)
        }
    }
}

@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct DatasetLoadingTests {
    /// Registers the agency and an upload, and makes the csc_referrals table.
    private func prepare(_ store: HubStore, agency: String = "essex-cc", seed: UInt8) async throws -> (DatasetTable, UploadRecord) {
        if try await store.agency(id: agency) == nil {
            try await store.addAgency(id: agency, name: agency, publicKey: agencyKey(agency), by: .hub)
        }
        let table = try await store.ensureDatasetTable(schema: shippedSchema("csc_referrals"))
        let upload = try await store.startUpload(agencyID: agency, headerDigest: digest(seed), manifest: manifest(agency: agency), envelopeLength: 10)
        return (table, upload)
    }

    private func visible(_ store: HubStore) async throws -> [String] {
        try await column("SELECT mk1 FROM current_csc_referrals ORDER BY mk1", as: String.self, on: store)
    }

    private let columns = ["mk1", "ReferralDate", "PreviousReferrals12m", "Disability", "AssessmentFactors", "DOB"]

    @Test func stagedRowsAreInvisibleUntilPublishedAndValuesSurviveEscaping() async throws {
        try await withStore { store, _ in
            let (table, upload) = try await prepare(store, seed: 1)
            #expect(try await store.ensureDatasetTable(schema: shippedSchema("csc_referrals")) == table, "idempotent")
            let tricky = "a\\b\tc\nd\re,\"f\""
            let staged = try await store.stage(uploadID: upload.id, agencyID: "essex-cc", dataset: table, mode: .snapshot,
                                               retainUntil: CivilDate(year: 2030, month: 1, day: 31), columns: columns) { writer in
                try await writer.append(row: ["k1", "2024-02-29", "3", "true", tricky, "2015-06"])
                try await writer.append(CSVRecordBatch(records: [["k2", "", "", "", "", ""], ["k3", "2023-01-01", "0", "false", "\\N", "2016-01"]]))
            }
            #expect(staged.rows == 3)
            #expect(staged.state == .staged)
            #expect(try await visible(store).isEmpty)
            #expect(try await column("SELECT count(*) FROM ds_csc_referrals", as: Int.self, on: store) == [3])

            let published = try await store.publish(extractID: staged.id, receipt: #"{"receipt":1}"#, auditEntry: AuditEntry(
                actor: .agency("essex-cc"), action: "upload.accepted", subject: upload.id.uuidString.lowercased(), details: .object(["rows": .integer(3)])))
            #expect(published.superseded.isEmpty)
            #expect(try await visible(store) == ["k1", "k2", "k3"])
            let row = try await store.client.query("""
                SELECT referral_date::text, previous_referrals12m, disability, assessment_factors, dob, _agency
                FROM current_csc_referrals WHERE mk1 = 'k1'
                """, logger: testLogger).decode((String, Int64, Bool, String, String, String).self).all()
            #expect(row.first?.0 == "2024-02-29")
            #expect(row.first?.1 == 3)
            #expect(row.first?.2 == true)
            #expect(row.first?.3 == tricky)
            #expect(row.first?.4 == "2015-06")
            #expect(row.first?.5 == "essex-cc")
            #expect(try await column("SELECT count(*) FROM current_csc_referrals WHERE mk1 = 'k2' AND referral_date IS NULL AND disability IS NULL",
                                     as: Int.self, on: store) == [1])
            #expect(try await column("SELECT assessment_factors FROM current_csc_referrals WHERE mk1 = 'k3'", as: String.self, on: store) == ["\\N"])
            #expect(try await column("SELECT retain_until::text FROM extracts", as: String.self, on: store) == ["2030-01-31"])
            let stored = try await store.upload(id: upload.id)
            #expect(stored?.state == .complete)
            #expect(stored?.receipt == #"{"receipt":1}"#)
            #expect(try await store.auditEntries().last?.entry.action == "upload.accepted")
        }
    }

    @Test func aSnapshotReplacesTheAgencysPreviousExtractAndAnAppendAdds() async throws {
        try await withStore { store, _ in
            func load(_ keys: [String], seed: UInt8, agency: String = "essex-cc", mode: ExtractMode) async throws -> PublishedExtract {
                let (table, upload) = try await prepare(store, agency: agency, seed: seed)
                let staged = try await store.stage(uploadID: upload.id, agencyID: agency, dataset: table, mode: mode, retainUntil: nil, columns: ["mk1"]) { writer in
                    for key in keys { try await writer.append(row: [key]) }
                }
                return try await store.publish(extractID: staged.id, receipt: "{}", auditEntry: AuditEntry(
                    actor: .agency(agency), action: "upload.accepted", subject: upload.id.uuidString.lowercased()))
            }
            let first = try await load(["a1", "a2"], seed: 1, mode: .snapshot)
            let other = try await load(["p1"], seed: 2, agency: "essex-police", mode: .snapshot)
            #expect(try await visible(store) == ["a1", "a2", "p1"])
            let second = try await load(["b1"], seed: 3, mode: .snapshot)
            #expect(second.superseded == [first.extract.id])
            #expect(try await visible(store) == ["b1", "p1"], "the other agency's snapshot stays")
            #expect(try await store.extract(id: first.extract.id)?.state == .superseded)
            #expect(try await column("SELECT count(*) FROM ds_csc_referrals WHERE _extract = \(first.extract.id)", as: Int.self, on: store) == [0])
            _ = try await load(["c1"], seed: 4, mode: .append)
            #expect(try await visible(store) == ["b1", "c1", "p1"])
            #expect(try await store.extract(id: other.extract.id)?.state == .published)
        }
    }

    @Test func aCrashBetweenStagingAndPublishLeavesNothingVisible() async throws {
        try await withFreshDatabase { configuration in
            // The first hub stages, then goes away without publishing.
            let (staged, uploadID) = try await withClient(configuration) { client in
                let store = HubStore(client: client, logger: testLogger)
                try await store.migrate()
                let (table, upload) = try await prepare(store, seed: 7)
                let staged = try await store.stage(uploadID: upload.id, agencyID: "essex-cc", dataset: table, mode: .snapshot, retainUntil: nil,
                                                   columns: ["mk1"]) { writer in
                    try await writer.append(CSVRecordBatch(records: (0..<1000).map { ["key\($0)"] }))
                }
                return (staged, upload.id)
            }
            #expect(staged.rows == 1000)
            // The restarted hub recovers before serving.
            try await withClient(configuration) { client in
                let store = HubStore(client: client, logger: testLogger)
                try await store.migrate()
                #expect(try await store.recoverInterruptedStaging() == [staged.id])
                #expect(try await visible(store).isEmpty)
                #expect(try await column("SELECT count(*) FROM ds_csc_referrals", as: Int.self, on: store) == [0])
                #expect(try await store.extract(id: staged.id)?.state == .discarded)
                #expect(try await store.upload(id: uploadID)?.state == .receiving, "the upload can be completed again")
                let last = try #require(try await store.auditEntries().last)
                #expect(last.entry.action == "extract.discard")
                #expect(last.entry.actor == .hub)
                #expect(last.entry.subject == String(staged.id))
                #expect(try await store.verifyAuditLog().isIntact)
                #expect(try await store.recoverInterruptedStaging().isEmpty)
            }
        }
    }

    @Test func aFailedLoadLeavesNoExtract() async throws {
        try await withStore { store, _ in
            let (table, upload) = try await prepare(store, seed: 9)
            await #expect(throws: HubStoreError.rowShape(row: 2, cells: 2, columns: 1)) {
                try await store.stage(uploadID: upload.id, agencyID: "essex-cc", dataset: table, mode: .snapshot, retainUntil: nil, columns: ["mk1"]) { writer in
                    try await writer.append(row: ["ok"])
                    try await writer.append(row: ["too", "many"])
                }
            }
            await #expect(throws: HubStoreError.unknownColumn(dataset: "csc_referrals", column: "Forename")) {
                try await store.stage(uploadID: upload.id, agencyID: "essex-cc", dataset: table, mode: .snapshot, retainUntil: nil, columns: ["Forename"]) { _ in }
            }
            #expect(try await column("SELECT count(*) FROM extracts", as: Int.self, on: store) == [0])
            #expect(try await column("SELECT count(*) FROM ds_csc_referrals", as: Int.self, on: store) == [0])
        }
    }

    @Test func aColumnAnAgreementCoarsensIsWidenedToText() async throws {
        try await withStore { store, _ in
            let schema = try shippedSchema("csc_referrals")
            let typed = try await store.ensureDatasetTable(schema: schema)
            #expect(typed.column(named: "ReferralDate")?.type == .date)
            var plan = ReleasePlan(schema: schema)
            for index in plan.fields.indices where plan.fields[index].field == "ReferralDate" { plan.fields[index].generalisation = .yearMonth }
            let widened = try await store.ensureDatasetTable(schema: schema, plan: plan)
            #expect(widened.column(named: "ReferralDate")?.type == .text)
            // Back under the schema's own plan the column stays text: never narrowed.
            #expect(try await store.ensureDatasetTable(schema: schema).column(named: "ReferralDate")?.type == .text)
            #expect(try await column("SELECT data_type FROM information_schema.columns WHERE table_name = 'current_csc_referrals' AND column_name = 'referral_date'",
                                     as: String.self, on: store) == ["text"])
        }
    }
}
