import ConcordCore
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Crypto
import Foundation
import Hummingbird
import Testing
import Yams

@Suite("Hub API contract")
struct HubContractTests {
    /// Code and spec cannot drift: every operation in docs/openapi.yaml is in the route table with
    /// the same method, path and callers, and nothing else is.
    @Test func openAPIDocumentMatchesTheRouteTable() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var documented: Set<String> = []
        for (path, value) in paths {
            let operations = try #require(value as? [String: Any])
            for method in ["get", "post", "put", "patch", "delete", "head"] {
                guard let operation = operations[method] as? [String: Any] else { continue }
                let callers = try #require(operation["x-concord-callers"] as? [String], "\(method) \(path) has no x-concord-callers")
                let id = try #require(operation["operationId"] as? String)
                documented.insert("\(method.uppercased()) \(path) \(id) \(callers.sorted())")
            }
        }
        let implemented = Set(HubEndpoint.all.map { "\($0.method.rawValue) \($0.path) \($0.operationID) \($0.callers.map(\.rawValue).sorted())" })
        #expect(documented == implemented)
    }
}

@Suite("Hub server against PostgreSQL", .enabled(if: databaseAvailable))
struct HubServerTests {
    @Test func publicEndpointsAnswerWithoutCredentials() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.send(.get, "/healthz").status == 200)
            let ready = try await hub.send(.get, "/readyz")
            #expect(ready.status == 200, "\(ready.text)")
            let spec = try await hub.send(.get, "/openapi.yaml")
            #expect(spec.status == 200 && spec.text.hasPrefix("openapi: 3.1.0"))
            let metrics = try await hub.send(.get, "/metrics")
            #expect(metrics.status == 200 && metrics.text.contains("concord_request_duration_seconds"))
        }
    }

    /// What schemathesis found (scripts/api-test.sh): a method not served on an API path is a
    /// 405 naming those served; U+0000 in a query, a request's field or a reason is a 400, never
    /// the 500 PostgreSQL's `text` made of it; reasons are bounded for agreements as for requests.
    @Test func methodsNotServedAndNULTextAreRefusedCleanly() async throws {
        try await TestHub.with { hub in
            let trace = try await hub.send(.trace, "/v1/whoami")
            #expect(trace.status == 405 && trace.problemCode == "request.method-not-allowed", "\(trace.text)")
            #expect(trace.headers.first { $0.0.lowercased() == "allow" }?.1 == "GET")
            let delete = try await hub.send(.delete, "/v1/uploads/\(UUID().uuidString.lowercased())")
            #expect(delete.status == 405 && delete.headers.first { $0.0.lowercased() == "allow" }?.1 == "GET, PATCH", "\(delete.text)")
            #expect(try await hub.send(.get, "/v1/no-such-path").status == 404)

            let officer = try await hub.store.addUser(id: "i-thackeray", role: .igOfficer, by: .operator("tests")).token
            let analyst = try await hub.store.addUser(id: "n-carrow", role: .analyst, by: .operator("tests")).token
            let query = try await hub.send(.get, "/v1/audit?actor=a%00b", headers: [("Authorization", "Bearer \(officer)")])
            #expect(query.status == 400 && query.problemCode == "request.invalid-parameter", "\(query.text)")
            let body = Array(#"{"agreement":"early-help-domestic-abuse","purpose":"EH\u0000DA","datasets":["police_da_incidents"],"fields":["GENDER"],"level":"aggregate"}"#.utf8)
            let request = try await hub.send(.post, "/v1/requests", body: body, headers: [("Authorization", "Bearer \(analyst)"), ("Content-Type", "application/json")])
            #expect(request.status == 400 && request.problemCode == "request.invalid" && request.text.contains("purpose"), "\(request.text)")
            for reason in [#""x\u0000""#, "\"" + String(repeating: "a", count: 4001) + "\""] {
                let suspend = try await hub.send(.post, "/v1/agreements/early-help-domestic-abuse/suspend", body: Array(#"{"reason":\#(reason)}"#.utf8),
                                                 headers: [("Authorization", "Bearer \(officer)"), ("Content-Type", "application/json")])
                #expect(suspend.status == 400 && suspend.problemCode == "request.invalid", "\(suspend.text)")
            }
        }
    }

    /// Each endpoint admits exactly the callers its table row names: 401 without credentials,
    /// 403 with the wrong kind or role, and neither for an admitted caller.
    @Test func everyEndpointChecksItsCallers() async throws {
        try await TestHub.with { hub in
            var tokens: [Caller: String] = [:]
            for role in UserRole.allCases {
                tokens[Caller(rawValue: role.rawValue)!] = try await hub.store.addUser(id: "person-\(role.rawValue)", role: role, by: .operator("tests")).token
            }
            for endpoint in HubEndpoint.all where !endpoint.callers.contains(.anyone) {
                let target = endpoint.path.replacingOccurrences(of: "{upload_id}", with: UUID().uuidString.lowercased())
                let method = endpoint.method
                let anonymous = try await hub.send(method, target)
                #expect(anonymous.status == 401, "\(endpoint.operationID) without credentials: \(anonymous.status)")
                let asAgency = try await hub.signed(method, target)
                if endpoint.callers.contains(.agency) {
                    #expect(![401, 403].contains(asAgency.status), "\(endpoint.operationID) as agency: \(asAgency.text)")
                } else {
                    #expect(asAgency.status == 403 && asAgency.problemCode == "auth.role", "\(endpoint.operationID) as agency: \(asAgency.text)")
                }
                for (caller, token) in tokens {
                    let answer = try await hub.send(method, target, headers: [("Authorization", "Bearer \(token)")])
                    if endpoint.callers.contains(caller) {
                        #expect(![401, 403].contains(answer.status), "\(endpoint.operationID) as \(caller): \(answer.text)")
                    } else {
                        #expect(answer.status == 403 && answer.problemCode == "auth.role", "\(endpoint.operationID) as \(caller): \(answer.text)")
                    }
                }
            }
            let unknownToken = try await hub.send(.get, "/v1/whoami", headers: [("Authorization", "Bearer cct_not-a-token")])
            #expect(unknownToken.status == 401 && unknownToken.problemCode == "auth.token")
            _ = try await hub.store.setUser(id: "person-analyst", enabled: false, by: .operator("tests"))
            let disabled = try await hub.send(.get, "/v1/whoami", headers: [("Authorization", "Bearer \(tokens[.analyst]!)")])
            #expect(disabled.status == 403 && disabled.problemCode == "auth.user-disabled")
        }
    }

    /// Every way a signed request can be wrong is refused with its own code, and audited.
    @Test func signedRequestFailuresAreRefusedAndAudited() async throws {
        try await TestHub.with { hub in
            let target = "/v1/uploads/\(UUID().uuidString.lowercased())"
            let impostor = PrivateKeyDocument.generate(.agencySigning, owner: TestHub.agencyID)
            #expect(try await hub.signed(.get, target, key: impostor).problemCode == "auth.unknown-key")

            // The registered key's id on a signature made with another key.
            let forged = SignedRequest(method: "GET", target: target, agency: TestHub.agencyID, keyID: hub.agency.publicKey.id,
                                       timestamp: Int64(Date().timeIntervalSince1970), nonce: SignedRequest.newNonce(),
                                       contentSHA256: SignedRequest.emptyContentSHA256)
            let forgedAnswer = try await hub.send(.get, target, headers: try forged.headers(signedWith: impostor.signingKey()))
            #expect(forgedAnswer.status == 401 && forgedAnswer.problemCode == "auth.bad-signature")

            #expect(try await hub.signed(.get, target, timestamp: Int64(Date().timeIntervalSince1970) - 301).problemCode == "auth.stale")
            let nonce = SignedRequest.newNonce()
            #expect(try await hub.signed(.get, target, nonce: nonce).status == 404)
            #expect(try await hub.signed(.get, target, nonce: nonce).problemCode == "auth.replay")
            let stranger = PrivateKeyDocument.generate(.agencySigning, owner: "unregistered-agency")
            #expect(try await hub.signed(.get, target, key: stranger).problemCode == "auth.unknown-agency")
            let mismatch = try await hub.signed(.post, "/v1/uploads", body: Array("not an envelope".utf8), headers: [("Upload-Length", "1000")],
                                                claimedDigest: String(repeating: "0", count: 64))
            #expect(mismatch.status == 400 && mismatch.problemCode == "auth.body-mismatch")
            let malformed = try await hub.send(.get, target, headers: [("Concord-Agency", TestHub.agencyID)])
            #expect(malformed.status == 401 && malformed.problemCode == "auth.malformed")
            _ = try await hub.store.setAgency(id: TestHub.agencyID, enabled: false, by: .operator("tests"))
            #expect(try await hub.signed(.get, target).problemCode == "auth.agency-disabled")

            let refusals = try await hub.store.auditEntries(after: 0, limit: 1000).filter { $0.entry.action == "request.refused" }
            let codes = Set(refusals.compactMap { record -> String? in
                guard case .object(let details) = record.entry.details, case .string(let code)? = details["code"] else { return nil }
                return code
            })
            #expect(codes == ["auth.unknown-key", "auth.bad-signature", "auth.stale", "auth.replay", "auth.unknown-agency", "auth.malformed",
                              "auth.agency-disabled"])
            #expect(try await hub.store.verifyAuditLog().isIntact)
        }
    }

    /// The whole protocol: start, pieces, an interruption (a piece at the wrong offset, then asking
    /// where to resume), completion with a receipt that verifies, and the rows readable.
    @Test func uploadResumesAndEndsWithAVerifiableReceipt() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 300)
            let bytes = try envelope.bytes()
            let start = try await hub.signed(.post, "/v1/uploads", body: try envelope.prefix(of: bytes), headers: [("Upload-Length", String(bytes.count))])
            #expect(start.status == 201, "\(start.text)")
            let id = try start.json().string("upload_id")
            var offset = try start.json().integer("offset")
            let first = try await hub.signed(.patch, "/v1/uploads/\(id)", body: Array(bytes[offset..<(offset + 1000)]), headers: [("Upload-Offset", String(offset))])
            #expect(first.status == 204)
            // The agent lost track: a piece from the wrong place is refused with the right offset.
            let wrong = try await hub.signed(.patch, "/v1/uploads/\(id)", body: Array(bytes[0..<10]), headers: [("Upload-Offset", "0")])
            #expect(wrong.status == 409 && wrong.problemCode == "upload.offset-mismatch")
            #expect(try wrong.json().integer("offset") == offset + 1000)
            let early = try await hub.signed(.post, "/v1/uploads/\(id)/complete")
            #expect(early.status == 409 && early.problemCode == "upload.incomplete")
            let resumeAt = try start.json().integer("offset") + 1000
            offset = try await hub.signed(.get, "/v1/uploads/\(id)").json().integer("offset")
            #expect(offset == resumeAt)
            let rest = try await hub.signed(.patch, "/v1/uploads/\(id)", body: Array(bytes[offset...]), headers: [("Upload-Offset", String(offset))])
            #expect(rest.status == 204)
            let complete = try await hub.signed(.post, "/v1/uploads/\(id)/complete")
            #expect(complete.status == 200, "\(complete.text)")

            guard case .object? = try complete.json()["receipt"] else { Issue.record("no receipt: \(complete.text)"); return }
            let receipt = try SignedUploadReceipt(json: try #require(try complete.json()["receipt"]))
            try receipt.verify(hubKey: hub.hubSigning.publicKey)
            #expect(receipt.mismatches(headerDigest: envelope.headerDigest.lowercaseHex,
                                       manifestSHA256: SHA256.hash(data: envelope.manifest.json.bytes).lowercaseHex,
                                       payloadSHA256: envelope.manifest.payloadSHA256, rows: envelope.manifest.rows).isEmpty)
            #expect(try await hub.visibleRows("police_da_incidents") == envelope.manifest.rows)
            let accepted = try await hub.store.auditEntries(after: 0, limit: 1000).filter { $0.entry.action == "upload.accepted" }
            #expect(accepted.count == 1)
            #expect(try await hub.store.verifyAuditLog().isIntact)
        }
    }

    /// The same envelope twice is one extract: the second start returns the first receipt.
    @Test func duplicateUploadReturnsTheOriginalReceipt() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 120)
            let first = try await hub.upload(envelope)
            #expect(first.status == 200, "\(first.text)")
            let again = try await hub.upload(envelope)
            #expect(again.status == 200, "\(again.text)")
            #expect(try first.json()["receipt"] == again.json()["receipt"])
            #expect(try await hub.visibleRows("police_da_incidents") == envelope.manifest.rows)
        }
    }

    /// A snapshot replaces the agency's previous extract; an append adds to it.
    @Test func snapshotReplacesAndAppendAdds() async throws {
        try await TestHub.with { hub in
            let first = try await hub.envelope(rows: 100, seed: 1)
            #expect(try await hub.upload(first).status == 200)
            let second = try await hub.envelope(rows: 60, seed: 2)
            #expect(try await hub.upload(second).status == 200)
            #expect(try await hub.visibleRows("police_da_incidents") == second.manifest.rows)
            let added = try await hub.envelope(rows: 40, seed: 3, mode: .append)
            #expect(try await hub.upload(added).status == 200)
            #expect(try await hub.visibleRows("police_da_incidents") == second.manifest.rows + added.manifest.rows)
        }
    }

    /// An envelope the agreements do not admit is refused at the start with every reason, and audited.
    @Test func uploadRefusedUnderTheAgreementsLoadsNothing() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 50, claimedAgreements: ["early-help-domestic-abuse.v2", "no-such-agreement.v1"])
            let answer = try await hub.upload(envelope)
            #expect(answer.status == 403 && answer.problemCode == "upload.refused", "\(answer.text)")
            guard case .array(let reasons)? = try answer.json()["reasons"] else { Issue.record("no reasons"); return }
            #expect(reasons.count == 2)
            #expect(try await hub.visibleRows("police_da_incidents") == 0)
            let refused = try await hub.store.auditEntries(after: 0, limit: 100).filter { $0.entry.action == "upload.refused" }
            #expect(refused.count == 1)
        }
    }

    /// A payload altered in transit is refused on completion and nothing of it becomes visible.
    @Test func tamperedEnvelopeIsRefusedOnCompletion() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 80)
            var bytes = try envelope.bytes()
            bytes[bytes.count - 40] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: envelope.path))
            let answer = try await hub.upload(envelope)
            #expect(answer.status == 422 && answer.problemCode == "upload.refused", "\(answer.text)")
            #expect(try await hub.visibleRows("police_da_incidents") == 0)
            #expect(try await hub.store.verifyAuditLog().isIntact)
        }
    }
}
