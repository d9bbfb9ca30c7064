import ConcordCore
import Testing

@Suite("Release plans")
struct ReleasePlanTests {
    static let csc = try! shippedSchema("csc_referrals")

    @Test("by default everything the schema lets leave, as the schema says")
    func schemaDefault() {
        let plan = ReleasePlan(schema: Self.csc)
        #expect(plan.columns == Self.csc.pseudonymisedColumns)
        #expect(plan.fields.first { $0.field == "DOB" }?.generalisation == .yearMonth)
        #expect(plan.fields.first { $0.field == "ReferralDate" }?.generalisation == nil)
    }

    @Test("under an agreement: its linkage keys and permitted fields only, at its coarser generalisation")
    func underAgreement() throws {
        let plan = try ReleasePlan(schema: Self.csc, agreements: [fixtureAgreement], agency: "county-childrens")
        #expect(plan.matchKeys == ["mk2", "mk3", "mk3_swapped"])
        #expect(plan.fields.map(\.field) == ["DOB", "Ethnicity", "ReferralDate", "ReferralSource"])
        #expect(plan.fields.first { $0.field == "DOB" }?.generalisation == .year)
    }

    @Test("under several agreements: what all permit, at the coarsest generalisation any asks")
    func intersection() throws {
        var other = fixtureAgreement
        other.id = "other"
        other.linkage.matchKeys = ["mk3", "mk5"]
        other.providers[0].datasets[0].fields = [
            Agreement.FieldPermission(field: "ReferralDate", generalisation: .yearMonth),
            Agreement.FieldPermission(field: "DOB", generalisation: nil),
            Agreement.FieldPermission(field: "Gender", generalisation: nil),
        ]
        let plan = try ReleasePlan(schema: Self.csc, agreements: [fixtureAgreement, other], agency: "county-childrens")
        #expect(plan.matchKeys == ["mk3"])
        #expect(plan.fields == [ReleasePlan.Field(field: "DOB", generalisation: .year), ReleasePlan.Field(field: "ReferralDate", generalisation: .yearMonth)])

        other.linkage = Agreement.Linkage(permitted: false, datasets: [], matchKeys: [])
        #expect(try ReleasePlan(schema: Self.csc, agreements: [fixtureAgreement, other], agency: "county-childrens").matchKeys.isEmpty)
    }

    @Test("refusals: the wrong agency, another schema version, generalisations with no coarsest")
    func refusals() throws {
        #expect(throws: ReleasePlanError.notProvided(agreement: "test-agreement", agency: "county-police", dataset: "csc_referrals")) {
            try ReleasePlan(schema: Self.csc, agreements: [fixtureAgreement], agency: "county-police")
        }
        var newer = Self.csc
        newer.version = 2
        #expect(throws: ReleasePlanError.schemaVersion(agreement: "test-agreement", agreed: 1, actual: 2)) {
            try ReleasePlan(schema: newer, agreements: [fixtureAgreement], agency: "county-childrens")
        }
        #expect(throws: ReleasePlanError.noAgreement) { try ReleasePlan(schema: Self.csc, agreements: [], agency: "county-childrens") }
        let police = try shippedSchema("police_da_incidents")
        var ten = fixtureAgreement, fifteen = fixtureAgreement
        ten.providers[1].datasets[0].fields = [Agreement.FieldPermission(field: "AGE_AT_INCIDENT", generalisation: .band(width: 10))]
        fifteen.providers[1].datasets[0].fields = [Agreement.FieldPermission(field: "AGE_AT_INCIDENT", generalisation: .band(width: 15))]
        #expect(try ReleasePlan(schema: police, agreements: [ten], agency: "county-police").fields == [ReleasePlan.Field(field: "AGE_AT_INCIDENT", generalisation: .band(width: 10))])
        #expect(throws: ReleasePlanError.incompatibleGeneralisations(field: "AGE_AT_INCIDENT", ["band_10", "band_15", "band_5"])) {
            try ReleasePlan(schema: police, agreements: [ten, fifteen], agency: "county-police")
        }
    }

    @Test("the pseudonymiser writes exactly the plan: columns, coarsened values, nothing else")
    func pseudonymiserFollowsPlan() throws {
        let plan = try ReleasePlan(schema: Self.csc, agreements: [fixtureAgreement], agency: "county-childrens")
        let header = Self.csc.fields.map(\.name)
        var row = Array(repeating: "", count: header.count)
        for (name, value) in [("PersonID", "P1"), ("Forename", "Ann"), ("Surname", "Lee"), ("DOB", "05/03/2014"), ("Gender", "F"),
                              ("ReferralID", "R1"), ("ReferralDate", "01/02/2024"), ("ReferralSource", "1A"), ("Ethnicity", "WBRI"), ("Postcode", "CM1 1AA")] {
            row[header.firstIndex(of: name)!] = value
        }
        var pseudonymiser = RecordPseudonymiser(schema: Self.csc, key: vectorKey, columns: Array(header.indices), release: plan)
        let result = pseudonymiser.pseudonymise(CSVRecordBatch(records: [header, row]), skippingFirst: true)
        let line = String(decoding: result.output, as: UTF8.self).dropLast()
        let cells = line.split(separator: ",", omittingEmptySubsequences: false)
        #expect(cells.count == plan.columns.count)
        #expect(Array(cells.suffix(4)) == ["2014", "WBRI", "2024-02-01", "1A"])
        #expect(!line.contains("CM1") && !line.contains("2014-03"))
    }
}
