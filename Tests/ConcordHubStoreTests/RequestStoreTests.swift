import ConcordCore
@testable import ConcordHubStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("Requests in the store", .enabled(if: databaseAvailable))
struct RequestStoreTests {
    /// Applies the shipped early-help agreement and adds its analyst n-carrow.
    private func prepare(_ store: HubStore) async throws -> Agreement {
        let text = try repositoryFile("Agreements/early-help-domestic-abuse.v1.yaml")
        let catalogue = SchemaCatalogue(try ["csc_referrals", "police_da_incidents", "housing_cases", "school_attendance"].map(shippedSchema))
        let agreement = try Agreement(yaml: text, file: "early-help", catalogue: catalogue)
        _ = try await store.applyAgreement(yaml: text, agreement: agreement, by: .operator("tests"))
        _ = try await store.addUser(id: "n-carrow", role: .analyst, by: .operator("tests"))
        return agreement
    }

    /// A stored request by n-carrow with a decision of `effect`.
    private func request(_ store: HubStore, _ agreement: Agreement, _ effect: Decision.Effect) async throws -> RequestRecord {
        let reasons = effect == .permit ? [] : [DecisionReason(code: effect == .deny ? "purpose-mismatch" : "approval-required", message: "m")]
        return try await store.createRequest(NewRequest(
            agreementID: agreement.id, agreementVersion: agreement.version, requester: "n-carrow", purpose: "EH-DA", datasets: ["police_da_incidents"],
            fields: [DatasetField("police_da_incidents", "GENDER")], level: .aggregate, asOf: CivilDate(year: 2026, month: 11, day: 1), justification: nil),
            decision: Decision(effect: effect, reasons: reasons))
    }

    /// The CHECK constraints keep every row's columns true to its state, whatever writes to it.
    @Test func checkConstraintsTieColumnsToStates() async throws {
        try await withStore { store, _ in
            let agreement = try await prepare(store)
            let refused = try await request(store, agreement, .deny)
            #expect(refused.state == .refused && refused.reasons.map(\.code) == ["purpose-mismatch"])
            #expect(refused.request.asOf == CivilDate(year: 2026, month: 11, day: 1))
            let pending = try await request(store, agreement, .approvalRequired)
            let approved = try await request(store, agreement, .permit)
            #expect(pending.state == .pending && approved.state == .approved)
            let violations: [PostgresQuery] = [
                "UPDATE requests SET state = 'ready' WHERE id = \(approved.id)",
                "UPDATE requests SET state = 'failed' WHERE id = \(approved.id)",
                "UPDATE requests SET state = 'cancelled' WHERE id = \(pending.id)",
                "UPDATE requests SET state = 'denied' WHERE id = \(pending.id)",
                "UPDATE requests SET reasons = '[]' WHERE id = \(refused.id)",
                "UPDATE requests SET decided_by = 'n-carrow' WHERE id = \(pending.id)",
                "UPDATE requests SET output_sha256 = sha256('x'), output_rows = 1, output_bytes = 1 WHERE id = \(approved.id)",
            ]
            for query in violations {
                let error = await hubStoreError { _ = try await store.withTransaction { try await $0.query(query) } }
                #expect(error.map { if case .database(_, "23514") = $0 { true } else { false } } == true, "\(query.sql): \(String(describing: error))")
            }
            // The store's own transitions satisfy them, each with its audit entry.
            let ready = try #require(try await store.completeRequest(id: approved.id, output: RequestOutput(sha256: Array(repeating: 7, count: 32), rows: 3, bytes: 40),
                                                                     linkageReport: nil))
            #expect(ready.state == .ready && ready.output?.rows == 3)
            #expect(try await store.completeRequest(id: approved.id, output: RequestOutput(sha256: Array(repeating: 7, count: 32), rows: 3, bytes: 40),
                                                    linkageReport: nil) == nil, "only an approved request takes an output")
            #expect(try await store.cancelRequest(id: pending.id, by: "n-carrow").state == .cancelled)
            let actions = try await store.auditEntries(limit: 1000).map(\.entry.action).filter { $0.hasPrefix("request.") }
            #expect(actions == ["request.create", "request.create", "request.create", "request.output", "request.cancel"])
        }
    }
}
