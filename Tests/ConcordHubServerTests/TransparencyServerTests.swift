import ConcordCore
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Foundation
import ServiceLifecycle
import Testing

/// The audit log over HTTP: evidence in upload answers, checkpoints, proofs, the query, and
/// refusals audited without letting a flood through.
@Suite("Hub transparency log", .enabled(if: databaseAvailable))
struct TransparencyServerTests {
    static func hashes(_ value: CanonicalJSON?) throws -> [[UInt8]] {
        guard case .array(let items)? = value else { throw TestFailure("not a list of hashes") }
        return try items.map { item in
            guard case .string(let text) = item, let data = Data(base64Encoded: text) else { throw TestFailure("not base64") }
            return Array(data)
        }
    }

    static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

    /// An agency holds evidence of its own: the answer to its upload carries the audit entry (with
    /// the receipt's id), its inclusion proof and a checkpoint signed by the hub's key; later
    /// checkpoints are consistent with it.
    @Test func anUploadAnswerCarriesItsAuditEntryWithAProof() async throws {
        try await TestHub.with { hub in
            let answer = try await hub.upload(try await hub.envelope(rows: 60))
            #expect(answer.status == 200, "\(answer.text)")
            guard case .object(let audit)? = try answer.json()["audit"], case .object(let receipt)? = try answer.json()["receipt"],
                  case .object(let receiptBody)? = receipt["receipt"] else {
                Issue.record("no audit evidence: \(answer.text)")
                return
            }
            let checkpoint = try Checkpoint(note: try audit.string("checkpoint"), hubKey: hub.hubSigning.publicKey)
            let seq = Int64(try audit.integer("seq"))
            let entry = try audit.string("entry")
            let receiptID = try receiptBody.string("receipt_id")
            #expect(entry.contains("\"action\":\"upload.accepted\"") && entry.contains(receiptID))
            #expect(MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(entry.utf8), index: seq - 1, size: checkpoint.size,
                                               proof: try Self.hashes(audit["inclusion_proof"]), root: checkpoint.rootHash))
            // The same checkpoint is public.
            #expect(try await hub.send(.get, "/v1/audit/checkpoint").text == (try audit.string("checkpoint")))

            // The agency asks again later, and proves the log only grew since.
            let mine = try await hub.signed(.get, "/v1/audit/proofs/inclusion?seq=\(seq)")
            #expect(mine.status == 200, "\(mine.text)")
            #expect(try mine.json().string("entry") == entry)
            let notMine = try await hub.signed(.get, "/v1/audit/proofs/inclusion?seq=1")
            #expect(notMine.status == 404 && notMine.problemCode == "audit.no-proof")
            #expect(try await hub.upload(try await hub.envelope(rows: 30, seed: 2)).status == 200)
            let later = try Checkpoint(note: try await hub.send(.get, "/v1/audit/checkpoint").text, hubKey: hub.hubSigning.publicKey)
            #expect(later.size > checkpoint.size)
            #expect(try await hub.send(.get, "/v1/audit/checkpoint?tree_size=\(checkpoint.size)").text == (try audit.string("checkpoint")))
            #expect(try await hub.send(.get, "/v1/audit/checkpoint?tree_size=\(later.size + 1)").problemCode == "audit.no-checkpoint")
            let consistency = try await hub.signed(.get, "/v1/audit/proofs/consistency?first=\(checkpoint.size)").json()
            #expect(try consistency.integer("second") == Int(later.size))
            #expect(MerkleTree.verifyConsistency(first: checkpoint.size, second: later.size, proof: try Self.hashes(consistency["consistency_proof"]),
                                                 firstRoot: checkpoint.rootHash, secondRoot: later.rootHash))
            let beyond = try await hub.signed(.get, "/v1/audit/proofs/consistency?first=1&second=\(later.size + 50)")
            #expect(beyond.status == 404 && beyond.problemCode == "audit.no-proof")
        }
    }

    @Test func theIGOfficerQueriesTheLogWithFilters() async throws {
        try await TestHub.with { hub in
            let officer = try await hub.store.addUser(id: "ig", role: .igOfficer, by: .operator("tests")).token
            #expect(try await hub.upload(try await hub.envelope(rows: 40)).status == 200)
            #expect(try await hub.upload(try await hub.envelope(rows: 20, claimedAgreements: ["no-such-agreement.v1"])).status == 403)
            func query(_ parameters: String) async throws -> [[String: CanonicalJSON]] {
                let answer = try await hub.send(.get, "/v1/audit?\(parameters)", headers: Self.bearer(officer))
                guard case .array(let entries)? = try answer.json()["entries"] else { throw TestFailure(answer.text) }
                return entries.compactMap { if case .object(let members) = $0 { members } else { nil } }
            }
            let uploads = try await query("action=upload.accepted,upload.refused")
            #expect(try uploads.map { try $0.string("action") } == ["upload.accepted", "upload.refused"])
            let accepted = try #require(uploads.first)
            #expect(try accepted.string("role") == "agency" && (try accepted.string("agency")) == TestHub.agencyID)
            #expect(try accepted.string("dataset") == "police_da_incidents" && (try accepted.integer("rows")) == 40)
            #expect(accepted["agreements"] == .array([.string("\(TestHub.agreement).v1")]))
            #expect(uploads.allSatisfy { $0["request_id"] != nil })
            guard case .array(let reasons)? = uploads.last?["reasons"] else { Issue.record("the refusal has no reasons"); return }
            #expect(!reasons.isEmpty)

            let underAgreement = try await query("agreement=\(TestHub.agreement)")
            #expect(Set(try underAgreement.map { try $0.string("action") }).isSuperset(of: ["agreement.apply", "upload.accepted"]))
            #expect(try underAgreement.allSatisfy { try $0.string("action") != "upload.refused" })
            #expect(try await query("actor=agency:\(TestHub.agencyID)&dataset=police_da_incidents").count >= 2)
            #expect(try await query("until=2000-01-01").isEmpty)
            let today = CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970)!.description
            #expect(try await query("since=\(today)&action=upload.accepted").count == 1)
            let reads = try await query("action=audit.read")
            #expect(try reads.allSatisfy { try $0.string("role") == "ig-officer" && $0["request_id"] != nil })
            let badTime = try await hub.send(.get, "/v1/audit?since=yesterday", headers: Self.bearer(officer))
            #expect(badTime.status == 400 && badTime.problemCode == "request.invalid-parameter")
        }
    }

    /// Who may call each audit endpoint: the log itself only IG officers; checkpoints anyone;
    /// proofs IG officers, agencies and analysts (their own entries); never an admin or nobody.
    @Test func auditEndpointsCheckRoles() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 10)).status == 200)
            var tokens: [String: String] = [:]
            for (id, role) in [("ig", UserRole.igOfficer), ("analyst", .analyst), ("admin", .admin)] {
                tokens[id] = try await hub.store.addUser(id: id, role: role, by: .operator("tests")).token
            }
            let targets = ["/v1/audit", "/v1/audit/checkpoint", "/v1/audit/proofs/inclusion?seq=1", "/v1/audit/proofs/consistency?first=1"]
            let expected: [String: [Int]] = [
                "ig": [200, 200, 200, 200], "analyst": [403, 200, 404, 200], "admin": [403, 200, 403, 403], "none": [401, 200, 401, 401],
            ]
            for (caller, statuses) in expected {
                for (target, status) in zip(targets, statuses) {
                    let answer = try await hub.send(.get, target, headers: tokens[caller].map(Self.bearer) ?? [])
                    #expect(answer.status == status, "\(caller) GET \(target): \(answer.status) \(answer.text)")
                }
            }
            // An agency reads its own entries' proofs (the upload), not the operator's entry 1.
            #expect(try await hub.signed(.get, "/v1/audit").status == 403)
            #expect(try await hub.signed(.get, "/v1/audit/proofs/inclusion?seq=1").problemCode == "audit.no-proof")
            // Every refusal is itself in the log.
            #expect(try await hub.store.auditEntries(limit: 100_000).filter { $0.entry.action == "request.refused" }.count >= 4)
        }
    }

    /// The running hub's checkpointer writes the refusals it counted, then signs over them; once
    /// stopped it signs what came since.
    @Test func theCheckpointerSignsWhatTheLogGainedOnItsTimer() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.send(.get, "/v1/audit/checkpoint").problemCode == "audit.no-checkpoint")
            for _ in 1...3 { _ = try await hub.send(.get, "/v1/whoami", headers: Self.bearer("cct_wrong")) }
            let checkpointer = AuditCheckpointer(store: hub.store, keys: try HubKeys(encryption: hub.hubEncryption, signing: hub.hubSigning, personIDSecret: PersonIDSecret.generate()),
                                                 refusals: hub.refusals, logger: testLogger, interval: .milliseconds(50))
            let services = ServiceGroup(configuration: .init(services: [checkpointer], logger: testLogger))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await services.run() }
                var signed: StoredCheckpoint?
                for _ in 1...100 where signed == nil {
                    try await Task.sleep(for: .milliseconds(50))
                    signed = try await hub.store.latestCheckpoint()
                }
                let entries = try await hub.store.auditEntries(limit: 1000)
                #expect(signed?.size == entries.last?.seq)
                // The count spans several HTTP requests, so it names none of them.
                #expect(entries.last?.entry.details == .object(["code": .string("auth.token"), "detail": .string("the bearer token is missing or unknown"),
                                                               "claimed": .string("bearer"), "repeated": .integer(2), "window_seconds": .integer(3600)]))
                try await hub.store.audit(AuditEntry(actor: .hub, action: "decision", subject: "after the last tick"))
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
            }
            #expect(try await hub.store.latestCheckpoint()?.size == (try await hub.store.auditEntries(limit: 1000).last?.seq))
        }
    }

    /// Failed logins are audited: the first of a kind at once, the rest of the window as one count.
    @Test func aFloodOfFailedLoginsIsCountedNotWrittenOneByOne() async throws {
        try await TestHub.with { hub in
            let before = try await hub.store.auditEntries(limit: 1000).count
            for _ in 1...25 {
                #expect(try await hub.send(.get, "/v1/whoami", headers: Self.bearer("cct_guess")).problemCode == "auth.token")
            }
            let stranger = PrivateKeyDocument.generate(.agencySigning, owner: "mallory")
            #expect(try await hub.signed(.get, "/v1/audit/proofs/inclusion?seq=1", key: stranger).problemCode == "auth.unknown-agency")
            var refused = try await hub.store.auditEntries(limit: 1000, filter: AuditFilter(actions: ["request.refused"]))
            #expect(refused.count == 2)
            #expect(try await hub.store.auditEntries(limit: 1000).count == before + 2)
            try await hub.refusals.flush()
            refused = try await hub.store.auditEntries(limit: 1000, filter: AuditFilter(actions: ["request.refused"]))
            #expect(refused.count == 3)
            guard case .object(let summary)? = refused.last?.entry.details else { Issue.record("no summary"); return }
            #expect(summary["code"] == .string("auth.token") && summary["repeated"] == .integer(24) && summary["claimed"] == .string("bearer"))
            #expect(!refused.map(\.content).joined().contains("cct_guess"))
        }
    }
}
