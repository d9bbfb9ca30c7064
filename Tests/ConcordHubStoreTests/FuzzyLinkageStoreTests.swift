import ConcordCore
@testable import ConcordHubStore
import ConcordTestSupport
import Foundation
import Testing

/// The hub's fuzzy pass (`docs/pprl.md`, section 5) against a real PostgreSQL: records whose
/// match keys all differ, encoded by the agency's own pseudonymiser, linked on their encodings.
@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct FuzzyLinkageStoreTests {
    static let key = try! LinkageKey(version: 1, secret: Array(0..<32))

    /// A record's encoding columns (`clk`, `clk_b1`, `clk_b2`) as `RecordPseudonymiser` writes
    /// them at the agency, from raw identifiers.
    static func encoding(_ forename: String, _ surname: String, _ born: String, _ postcode: String, keyVersion: Int = 1) throws -> [String] {
        let schema = try DatasetSchema(yaml: """
            format: concord-dataset/1
            dataset: people
            version: 1
            title: People
            fields:
              - {name: First, type: name, role: identifier, identity: forename}
              - {name: Last, type: name, role: identifier, identity: surname}
              - {name: Born, type: date, formats: [YYYY-MM-DD], role: identifier, identity: date_of_birth}
              - {name: Home, type: postcode, role: identifier, identity: postcode}
            fuzzy_encoding: {scheme: concord-clk/1, parameters: standard, key_version: \(keyVersion)}
            """, file: "people.yaml")
        let key = try LinkageKey(version: keyVersion, secret: Array(0..<32))
        let header = ["First", "Last", "Born", "Home"]
        var pseudonymiser = RecordPseudonymiser(schema: schema, key: key, columns: try ExtractHeader.columns(of: header, for: schema),
                                                clk: try CLKEncoder(parameters: try #require(schema.encoding), key: key))
        let result = pseudonymiser.pseudonymise(CSVRecordBatch(records: [header, [forename, surname, born, postcode]]), skippingFirst: true)
        var parser = CSVParser()
        let rows = try (result.output.withUnsafeBytes { try parser.consume($0) } + parser.finish()).flatMap(\.strings)
        return try #require(rows.first)
    }

    @Test func typosTheKeysMissAreLinkedAndReviewBandPairsAreNot() async throws {
        let encodings = ["csc_referrals": 1, "police_da_incidents": 1, "school_attendance": 1]
        try await LinkageStoreTests().withFixture(fuzzy: .standard, encodings: encodings) { hub in
            // Rows are [mk_upn, mk2, mk3, mk3_swapped]: no two share a key value.
            let csc = [try Self.encoding("William", "Smith", "1980-07-21", "B33 8TH"), try Self.encoding("Zoe", "O'Brien", "2014-03-05", "CM1 1AA")]
            // Smyth: Dice 0.90 with Smith. O'Bryan at another address: 0.75, in the review band.
            let police = [try Self.encoding("William", "Smyth", "1980-07-21", "B33 8TH"), try Self.encoding("Zoe", "O'Bryan", "2014-03-05", "SS1 2PQ")]
            try await hub.publish("csc_referrals", [["", "a1", "b1", ""], ["", "c1", "d1", ""]], encodings: csc)
            try await hub.publish("police_da_incidents", [["", "a2", "b2", ""], ["", "c2", "d2", ""]], encodings: police)
            let report = try await hub.link()
            let (cscPersons, policePersons) = try await (hub.persons("csc_referrals"), hub.persons("police_da_incidents"))
            try #require(cscPersons.count == 2 && policePersons.count == 2, "\(cscPersons) \(policePersons)")
            #expect(cscPersons[0] == policePersons[0], "Smith and Smyth are one person")
            #expect(cscPersons[1] != policePersons[1], "a review-band pair is not merged")
            #expect(report.persons == 3)
            let fuzzy = try #require(report.run.fuzzy)
            #expect(fuzzy.links == 1 && fuzzy.reviewPairs == 1)
            #expect(fuzzy.candidates == 4 && fuzzy.comparisons >= 2)
            #expect(report.linkedBy.first { $0.key == "fuzzy" }?.records == 2)
            let evidence = try await column("SELECT evidence FROM linkage_nodes WHERE evidence IS NOT NULL", as: String.self, on: hub.store)
            #expect(evidence == ["fuzzy", "fuzzy"])
            let audited = try #require(try await hub.store.auditEntries().last { $0.entry.action == "linkage.update" })
            guard case .object(let details) = audited.entry.details, case .object(let counts)? = details["fuzzy"] else {
                Issue.record("the audit entry has no fuzzy counts")
                return
            }
            #expect(counts["links"] == .integer(1) && counts["review_pairs"] == .integer(1))
            #expect(!String(decoding: audited.entry.details.bytes, as: UTF8.self).contains("0.8"), "no score in the audit log")

            // The next night a third spelling arrives from the schools: it is compared with the
            // nodes outside the run (read because they share its blocks) and joins the person.
            try await hub.publish("school_attendance", [["u9", "a3", "b3", ""]], encodings: [try Self.encoding("Wiliam", "Smith", "1980-07-21", "B33 8TH")])
            let next = try await hub.link()
            #expect(next.run.newNodes == 1 && next.run.clusteredNodes == 3)
            #expect(try await hub.persons("school_attendance") == [cscPersons[0]])
            #expect(try await hub.persons("csc_referrals") == cscPersons, "persons keep their numbers")
            #expect(try await hub.persons("police_da_incidents") == policePersons)
            #expect(next.run.merges == 0 && next.run.splits == 0)
        }
    }

    @Test func encodingsUnderDifferentParametersAreNeverCompared() async throws {
        // The police schema encodes under linkage key version 2: another fingerprint.
        try await LinkageStoreTests().withFixture(fuzzy: .standard, encodings: ["csc_referrals": 1, "police_da_incidents": 2]) { hub in
            #expect(hub.plan.fuzzy?.refused == ["police_da_incidents": CLKParameters.standard(keyVersion: 2).fingerprint])
            try await hub.publish("csc_referrals", [["", "a1", "b1", ""]], encodings: [try Self.encoding("William", "Smith", "1980-07-21", "B33 8TH")])
            try await hub.publish("police_da_incidents", [["", "a2", "b2", ""]],
                                  encodings: [try Self.encoding("William", "Smyth", "1980-07-21", "B33 8TH", keyVersion: 2)])
            let report = try await hub.link()
            #expect(report.persons == 2, "nothing links across the two encodings")
            #expect(report.run.fuzzy?.refusedDatasets == ["police_da_incidents": CLKParameters.standard(keyVersion: 2).fingerprint])
            #expect(report.run.fuzzy?.comparisons == 0)
        }
    }
}
