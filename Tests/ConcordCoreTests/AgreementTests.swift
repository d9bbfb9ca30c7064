import ConcordCore
import Foundation
import Testing

private func date(_ text: String) -> CivilDate { CivilDate(iso: text)! }

@Suite("Decisions")
struct DecisionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var request: DecisionRequest
        var effect: Decision.Effect
        var codes: [String]
        var agreement: Agreement = fixtureAgreement
        var testDescription: String { name }
    }

    static let inForce = date("2026-06-01")
    static let csc = DatasetField("csc_referrals", "ReferralDate")
    static let police = DatasetField("police_da_incidents", "DASH_RISK")
    static func request(_ analyst: String = "b-analyst", datasets: [String] = ["csc_referrals", "police_da_incidents"],
                        fields: [DatasetField] = [csc, police], level: Agreement.OutputLevel = .aggregate, linked: Bool = true,
                        purpose: String? = "EH-DA", on day: CivilDate = inForce) -> DecisionRequest {
        DecisionRequest(principal: .analyst(analyst), action: .request(datasets: datasets, fields: fields, level: level, linked: linked), purpose: purpose, date: day)
    }
    static func upload(_ agency: String = "county-childrens", _ dataset: String = "csc_referrals", columns: [String] = ["mk2", "mk3", "ReferralDate", "DOB"], on day: CivilDate = inForce) -> DecisionRequest {
        DecisionRequest(principal: .agency(agency), action: .upload(dataset: dataset, columns: columns), date: day)
    }
    static func with(_ change: (inout Agreement) -> Void) -> Agreement {
        var agreement = fixtureAgreement
        change(&agreement)
        return agreement
    }

    static let cases: [Case] = [
        Case(name: "upload by its provider, permitted columns and match keys", request: upload(), effect: .permit, codes: []),
        Case(name: "upload on the first and last day of validity", request: upload(on: date("2026-01-01")), effect: .permit, codes: []),
        Case(name: "upload on the last day", request: upload(on: date("2027-12-31")), effect: .permit, codes: []),
        Case(name: "upload a day before validity", request: upload(on: date("2025-12-31")), effect: .deny, codes: ["outside-validity"]),
        Case(name: "upload a day after validity", request: upload(on: date("2028-01-01")), effect: .deny, codes: ["outside-validity"]),
        Case(name: "upload under a suspended agreement", request: upload(), effect: .deny, codes: ["not-in-force"], agreement: with { $0.status = .suspended }),
        Case(name: "upload under a draft", request: upload(), effect: .deny, codes: ["not-in-force"], agreement: with { $0.status = .draft }),
        Case(name: "upload by the wrong party", request: upload("county-police"), effect: .deny, codes: ["not-a-provider"]),
        Case(name: "upload of a dataset not in the agreement", request: upload("county-childrens", "school_attendance"), effect: .deny, codes: ["dataset-not-provided"]),
        Case(name: "upload with a field not permitted and an identifier", request: upload(columns: ["mk2", "Forename", "ReferralOutcome"]), effect: .deny,
             codes: ["field-not-permitted", "field-not-permitted"]),
        Case(name: "upload of match keys when linkage is not permitted", request: upload(columns: ["mk2", "ReferralDate"]), effect: .deny,
             codes: ["field-not-permitted"], agreement: with { $0.linkage = Agreement.Linkage(permitted: false, datasets: [], matchKeys: []) }),
        Case(name: "upload of an encoding when the fuzzy pass is not permitted", request: upload(columns: ["mk2", "ReferralDate", "clk", "clk_b1", "clk_b2"]),
             effect: .deny, codes: ["field-not-permitted", "field-not-permitted", "field-not-permitted"]),
        Case(name: "upload of an encoding under the fuzzy pass", request: upload(columns: ["mk2", "ReferralDate", "clk", "clk_b1", "clk_b2"]),
             effect: .permit, codes: [], agreement: with { $0.linkage.fuzzy = .standard }),
        Case(name: "request needing approval", request: request(), effect: .approvalRequired, codes: ["approval-required"]),
        Case(name: "request without approval needed", request: request(), effect: .permit, codes: [], agreement: with { $0.outputs.approvalRequired = false }),
        Case(name: "request by someone not named", request: request("mallory"), effect: .deny, codes: ["not-a-recipient"]),
        Case(name: "request for another purpose", request: request(purpose: "MARKETING"), effect: .deny, codes: ["purpose-mismatch"]),
        Case(name: "request with no purpose", request: request(purpose: nil), effect: .deny, codes: ["purpose-mismatch"]),
        Case(name: "request for a field not permitted", request: request(fields: [csc, DatasetField("csc_referrals", "ReferralOutcome")]), effect: .deny,
             codes: ["field-not-permitted"]),
        Case(name: "request for a field of a dataset not requested", request: request(datasets: ["csc_referrals"], fields: [csc, police], linked: false), effect: .deny,
             codes: ["field-not-permitted"]),
        Case(name: "request for a dataset not in the agreement", request: request(datasets: ["csc_referrals", "housing_cases"], fields: [csc]), effect: .deny,
             codes: ["dataset-not-provided", "dataset-not-linkable"]),
        Case(name: "linked request when linkage is not permitted", request: request(), effect: .deny, codes: ["linkage-not-permitted"],
             agreement: with { $0.linkage = Agreement.Linkage(permitted: false, datasets: [], matchKeys: []) }),
        Case(name: "rows from an aggregate-only agreement", request: request(level: .rowLevel), effect: .deny, codes: ["row-level-not-permitted"]),
        Case(name: "rows from a row-level agreement", request: request(level: .rowLevel), effect: .approvalRequired, codes: ["approval-required"],
             agreement: with { $0.outputs.level = .rowLevel }),
        Case(name: "every failing rule at once", request: request("mallory", datasets: ["csc_referrals"], fields: [DatasetField("csc_referrals", "Forename")],
                                                                   level: .rowLevel, purpose: "X", on: date("2030-01-01")),
             effect: .deny, codes: ["not-in-force", "outside-validity", "not-a-recipient", "purpose-mismatch", "field-not-permitted", "row-level-not-permitted"],
             agreement: with { $0.status = .expired }),
        Case(name: "approval by an approver", request: DecisionRequest(principal: .igOfficer("ig-officer"), action: .approve(requester: "b-analyst"), date: inForce),
             effect: .permit, codes: []),
        Case(name: "approval of one's own request", request: DecisionRequest(principal: .igOfficer("p-ives"), action: .approve(requester: "p-ives"), date: inForce),
             effect: .deny, codes: ["self-approval"]),
        Case(name: "approval by someone else", request: DecisionRequest(principal: .igOfficer("eve"), action: .approve(requester: "b-analyst"), date: inForce),
             effect: .deny, codes: ["not-an-approver"]),
        Case(name: "audit log read by an IG contact after the agreement ended",
             request: DecisionRequest(principal: .igOfficer("i-gale"), action: .readAuditLog, date: date("2029-01-01")), effect: .permit, codes: [],
             agreement: with { $0.status = .expired }),
        Case(name: "audit log read by an outsider", request: DecisionRequest(principal: .igOfficer("eve"), action: .readAuditLog, date: inForce),
             effect: .deny, codes: ["not-an-approver"]),
        Case(name: "purge by the system after termination", request: DecisionRequest(principal: .system, action: .purge, date: date("2030-01-01")),
             effect: .permit, codes: [], agreement: with { $0.status = .terminated }),
        Case(name: "an analyst cannot upload", request: DecisionRequest(principal: .analyst("a-analyst"), action: .upload(dataset: "csc_referrals", columns: []), date: inForce),
             effect: .deny, codes: ["action-not-allowed"]),
        Case(name: "an agency cannot purge", request: DecisionRequest(principal: .agency("county-police"), action: .purge, date: inForce),
             effect: .deny, codes: ["action-not-allowed"]),
    ]

    @Test("each rule", arguments: cases)
    func rule(_ testCase: Case) {
        let decision = Decision.evaluate(testCase.request, under: testCase.agreement)
        #expect(decision.effect == testCase.effect)
        #expect(decision.reasons.map(\.code) == testCase.codes)
        #expect(decision.reasons.allSatisfy { !$0.message.isEmpty })
    }

    @Test("no request is permitted when any rule denies: every combination of failing rules")
    func denyDominates() {
        // Five independent ways to fail; every non-empty subset must deny with exactly those reasons.
        for mask in 1..<32 {
            let analyst = mask & 1 != 0 ? "mallory" : "b-analyst"
            let purpose = mask & 2 != 0 ? "OTHER" : "EH-DA"
            let day = mask & 4 != 0 ? date("2028-06-01") : Self.inForce
            let level: Agreement.OutputLevel = mask & 8 != 0 ? .rowLevel : .aggregate
            let fields = mask & 16 != 0 ? [DatasetField("csc_referrals", "NHSNumber")] : [Self.csc]
            let decision = Decision.evaluate(Self.request(analyst, fields: fields, level: level, purpose: purpose, on: day), under: fixtureAgreement)
            #expect(decision.effect == .deny, "mask \(mask)")
            #expect(decision.reasons.count == mask.nonzeroBitCount, "mask \(mask): \(decision.reasons)")
        }
    }
}

@Suite("Agreements")
struct AgreementLoaderTests {
    private func problems(_ yaml: String) -> [DocumentProblem] {
        do {
            _ = try Agreement(yaml: yaml, file: "a.yaml", catalogue: shippedCatalogue)
            return []
        } catch {
            return error.problems
        }
    }

    @Test("the fixture loads with everything in place")
    func fixture() {
        let agreement = fixtureAgreement
        #expect(agreement.id == "test-agreement" && agreement.version == 2)
        #expect(agreement.providers.map(\.agency) == ["county-childrens", "county-police"])
        #expect(agreement.permission(for: "csc_referrals")?.permission.fields.first { $0.field == "DOB" }?.generalisation == .year)
        #expect(agreement.permission(for: "police_da_incidents")?.permission.retention.months == 18)
        #expect(agreement.analystIDs == ["a-analyst", "b-analyst"])
        #expect(agreement.deleteWithinAfterEnd.days == 30)
    }

    /// Each case: a change to the fixture, the lint code it must produce, and a text on the line
    /// the problem must be reported at.
    @Test("each lint rule, with its code and line", arguments: [
        ("fields: [ReferralDate, ReferralSource", "fields: [ReferralDate, Colour, ReferralSource", "unknown-field", "Colour"),
        ("fields: [ReferralDate, ReferralSource", "fields: [ReferralDate, NHSNumber, ReferralSource", "identifier-permitted", "NHSNumber"),
        ("fields: [ReferralDate, ReferralSource", "fields: [ReferralDate, ReferralSummary, ReferralSource", "free-text-permitted", "ReferralSummary"),
        ("{field: DOB, generalise: year}", "{field: DOB, generalise: postcode_area}", "generalisation-too-fine", "postcode_area"),
        ("fields: [INCIDENT_DATE", "fields: [{field: INCIDENT_DATE, generalise: band_5}", "generalisation-too-fine", "INCIDENT_DATE"),
        ("- dataset: csc_referrals", "- dataset: csc_referals", "unknown-dataset", "csc_referals"),
        ("match_keys: [mk2, mk3, mk3_swapped]", "match_keys: [mk2, mk1]", "unknown-match-key", "match_keys"),
        ("datasets: [csc_referrals, police_da_incidents]", "datasets: [csc_referrals, housing_cases]", "linkage-dataset-not-provided", "housing_cases"),
        ("validity: {start: 2026-01-01, end: 2027-12-31}", "validity: {start: 2026-01-01, end: 2025-12-31}", "dates-out-of-order", "validity"),
        ("next_review: 2026-12-01", "next_review: 2028-12-01", "dates-out-of-order", "next_review"),
        ("          retention: P18M\n", "", "retention-missing", "dataset: police_da_incidents"),
        ("  article_9: {condition: substantial_public_interest, citation: \"DPA 2018 Sch. 1 para. 18\"}\n", "", "article-9-missing", "article_6"),
        ("  article_10: {condition: dpa_schedule_1, citation: \"DPA 2018 Sch. 1 para. 18\"}\n", "", "article-10-missing", "article_6"),
        ("  minimum_cell_count: 10\n", "", "aggregate-without-disclosure-control", "level: aggregate"),
        ("approval: {required: true, approvers: [ig-officer, p-ives]}", "approval: {required: true, approvers: []}", "approvers-missing", "approvers"),
        ("approval: {required: true, approvers: [ig-officer, p-ives]}", "approval: {required: true, approvers: [ig-officer, a-analyst]}", "unknown-approver", "level: aggregate"),
        ("party: county-childrens, date", "party: county-council, date", "unknown-party", "providers:"),
        ("fields: [INCIDENT_DATE, DASH_RISK", "fields: [INCIDENT_DATE, DASH_RISK, INCIDENT_DATE", "duplicate-field", "DASH_RISK, INCIDENT_DATE"),
        ("next_review: 2026-12-01", "next_review: 2025-12-01", "dates-out-of-order", "next_review"),
        ("party: county-childrens, date: 2025-12-01", "party: county-childrens, date: 2026-02-01", "dates-out-of-order", "providers:"),
        ("people: [{id: a-analyst, name: Alex Analyst}", "people: [{id: p-ives, name: Pat Ives}", "approver-is-recipient", "level: aggregate"),
        ("        - dataset: police_da_incidents", "        - dataset: csc_referrals", "duplicate-dataset", "csc_referrals\n          schema_version: 1\n          fields: [INCIDENT"),
        ("status: active", "status: signed", "invalid", "status"),
    ])
    func lintRule(original: String, replacement: String, code: String, marker: String) throws {
        let yaml = fixtureAgreementYAML.replacingOccurrences(of: original, with: replacement)
        #expect(yaml != fixtureAgreementYAML, "the fixture no longer contains \(original)")
        let markerOffset = try #require(yaml.range(of: marker)?.lowerBound)
        let line = yaml[..<markerOffset].filter { $0 == "\n" }.count + 1
        let found = problems(yaml)
        #expect(found.contains { $0.code == code && $0.line == line }, "expected \(code) at line \(line); found \(found.map { "\($0.code)@\($0.line ?? 0)" })")
    }

    @Test("the same id and version in two files is reported")
    func duplicates() {
        let (agreements, problems) = Agreement.load(files: [("a/test-agreement.v2.yaml", fixtureAgreementYAML), ("b/test-agreement.v2.yaml", fixtureAgreementYAML)], catalogue: shippedCatalogue)
        #expect(agreements.count == 1)
        #expect(problems.map(\.code) == ["duplicate-agreement"])
        #expect(problems.first?.file == "b/test-agreement.v2.yaml" && problems.first?.message.contains("a/test-agreement.v2.yaml") == true)
    }

    @Test("a file must be named after the agreement's id and version")
    func fileName() {
        let (agreements, problems) = Agreement.load(files: [("Agreements/test.yaml", fixtureAgreementYAML)], catalogue: shippedCatalogue)
        #expect(agreements.count == 1)
        #expect(problems.map(\.message) == ["the file of test-agreement version 2 must be named test-agreement.v2.yaml"])
    }

    @Test("ISO 8601 durations", arguments: [("P2Y", 2, 0, 0), ("P18M", 0, 18, 0), ("P1Y6M", 1, 6, 0), ("P30D", 0, 0, 30), ("P2W", 0, 0, 14), ("P1Y2M3D", 1, 2, 3)])
    func durations(text: String, years: Int, months: Int, days: Int) throws {
        let duration = try #require(ISODuration(text))
        #expect((duration.years, duration.months, duration.days) == (years, months, days))
    }

    @Test("invalid durations", arguments: ["", "P", "2Y", "P2", "PY", "P1M2Y", "P1Y1Y", "PT1H", "P-1Y"])
    func invalidDurations(text: String) {
        #expect(ISODuration(text) == nil)
    }

    @Test("a duration after a date clamps to the month's end")
    func durationArithmetic() throws {
        #expect(try #require(ISODuration("P1M")).after(date("2026-01-31")) == date("2026-02-28"))
        #expect(try #require(ISODuration("P2Y")).after(date("2024-02-29")) == date("2026-02-28"))
        #expect(try #require(ISODuration("P30D")).after(date("2026-12-15")) == date("2027-01-14"))
    }

    @Test("calendar days round-trip across centuries")
    func civilDays() {
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let civil = CivilDate(daysSinceEpoch: days)
            #expect(civil?.daysSinceEpoch == days || civil == nil)
        }
        #expect(CivilDate(daysSinceEpoch: 0) == date("1970-01-01"))
        #expect(CivilDate(utcSecondsSinceEpoch: 1_798_761_599) == date("2026-12-31"))
    }

    @Test("the ODRL export has the policy, permission, constraint and duty structure")
    func odrl() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: fixtureAgreement.odrlJSON()) as? [String: Any])
        #expect(json["@type"] as? String == "Agreement")
        #expect(json["uid"] as? String == "urn:concord:agreement:test-agreement:v2")
        let context = try #require(json["@context"] as? [Any])
        #expect(context.first as? String == "http://www.w3.org/ns/odrl.jsonld")
        let permissions = try #require(json["permission"] as? [[String: Any]])
        #expect(permissions.count == 2)
        let csc = try #require(permissions.first { ($0["target"] as? String) == "urn:concord:dataset:csc_referrals:v1" })
        #expect(csc["assigner"] as? String == "urn:concord:agency:county-childrens")
        #expect(csc["action"] as? [String] == ["use", "concord:link"])
        let constraints = try #require(csc["constraint"] as? [[String: Any]])
        #expect(constraints.contains { $0["leftOperand"] as? String == "purpose" && $0["operator"] as? String == "eq" && $0["rightOperand"] as? String == "EH-DA" })
        #expect(constraints.contains { $0["leftOperand"] as? String == "dateTime" && $0["operator"] as? String == "lteq"
            && ($0["rightOperand"] as? [String: String]) == ["@value": "2027-12-31", "@type": "xsd:date"] })
        #expect(constraints.contains { $0["leftOperand"] as? String == "concord:minimumCellCount" && $0["rightOperand"] as? Int == 10 })
        let duty = try #require((csc["duty"] as? [[String: Any]])?.first)
        #expect(duty["action"] as? String == "delete")
        #expect(((duty["constraint"] as? [[String: Any]])?.first?["rightOperand"] as? [String: String])?["@value"] == "P2Y")
        let prohibitions = try #require(json["prohibition"] as? [[String: Any]])
        #expect(prohibitions.compactMap { $0["action"] as? String } == ["concord:re_identification", "concord:onward_sharing"])
        #expect(fixtureAgreement.odrlJSON() == fixtureAgreement.odrlJSON())
    }
}
