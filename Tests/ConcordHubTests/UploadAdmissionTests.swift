import ConcordCore
@testable import ConcordHub
import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite("Upload admission under agreements")
struct UploadAdmissionTests {
    let catalogue: SchemaCatalogue
    let agreement: Agreement

    init() throws {
        let schemas = try ["police_da_incidents", "csc_referrals", "housing_cases", "school_attendance"].map { name in
            try DatasetSchema(yaml: String(contentsOf: root.appendingPathComponent("Schemas/datasets/\(name).yaml"), encoding: .utf8), file: name)
        }
        catalogue = SchemaCatalogue(schemas)
        let path = root.appendingPathComponent("Agreements/early-help-domestic-abuse.v1.yaml")
        agreement = try Agreement(yaml: String(contentsOf: path, encoding: .utf8), file: path.path, catalogue: catalogue)
    }

    private func manifest(columns: [String]? = nil, agreements: [String] = ["early-help-domestic-abuse.v1"], agency: String = "essex-police") throws -> EnvelopeManifest {
        let schema = try #require(catalogue.schemas["police_da_incidents"])
        let release = try ReleasePlan(schema: schema, agreements: [agreement], agency: "essex-police")
        return EnvelopeManifest(agency: agency, dataset: "police_da_incidents", schemaVersion: schema.version, agreements: agreements,
                                extractDate: CivilDate(year: 2026, month: 11, day: 21)!, rows: 1, columns: columns ?? release.columns,
                                linkageKeyID: "lk1-0", payloadBytes: 1, payloadSHA256: String(repeating: "0", count: 64), created: "2026-11-22T00:00:00Z")
    }

    private let today = CivilDate(year: 2026, month: 11, day: 22)!

    @Test func whatTheAgreementPermitsIsAdmittedWithItsRetention() throws {
        let admission = UploadAdmission(manifest: try manifest(), agency: "essex-police", schemas: catalogue,
                                        inForce: [agreement.id: agreement], today: today)
        #expect(admission.reasons == [])
        #expect(admission.release?.columns == (try manifest()).columns)
        let retention = try #require(agreement.permission(for: "police_da_incidents")?.permission.retention)
        #expect(admission.retainUntil == retention.after(today))
    }

    @Test func everyReasonIsListed() throws {
        let admission = UploadAdmission(manifest: try manifest(agreements: ["early-help-domestic-abuse.v2", "unknown.v1", "bad"]),
                                        agency: "essex-police", schemas: catalogue, inForce: [agreement.id: agreement], today: today)
        #expect(admission.reasons.count == 3)
        #expect(!admission.isAdmitted)
    }

    @Test func anotherAgencysManifestOrExtraColumnsAreRefused() throws {
        let impostor = UploadAdmission(manifest: try manifest(), agency: "essex-childrens-services", schemas: catalogue,
                                       inForce: [agreement.id: agreement], today: today)
        #expect(impostor.reasons.contains { $0.contains("signed for agency essex-police") })
        let extra = UploadAdmission(manifest: try manifest(columns: try manifest().columns + ["Surname"]), agency: "essex-police",
                                    schemas: catalogue, inForce: [agreement.id: agreement], today: today)
        #expect(extra.reasons.contains { $0.contains("not permitted") })
        let late = UploadAdmission(manifest: try manifest(), agency: "essex-police", schemas: catalogue, inForce: [agreement.id: agreement],
                                   today: CivilDate(year: 2030, month: 1, day: 1)!)
        #expect(late.reasons.contains { $0.contains("outside-validity") })
    }
}
