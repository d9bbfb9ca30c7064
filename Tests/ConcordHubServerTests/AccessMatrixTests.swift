import ConcordCore
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Foundation
import Hummingbird
import Testing

/// Every endpoint of `HubEndpoint.all` called by every kind of caller, against a real hub, with
/// the agreement in force and then suspended; each cell's expected answer is written in the tables
/// below and asserted (docs/api-auth.md). A cell is `2xx` (any success) or a status and problem
/// code. Resources the calls name are real where the cell is about ownership (essex-police's
/// upload, n-carrow's request) and absent ids otherwise, so that the answers do not depend on the
/// order the cells run in.
@Suite("Access-control matrix against PostgreSQL", .enabled(if: databaseAvailable))
struct AccessMatrixTests {
    /// The callers, in the tables' column order.
    enum Role: String, CaseIterable, Sendable {
        case none
        /// essex-police, the agency that owns the upload the calls name.
        case agency
        /// kent-police, registered and enabled, owns nothing.
        case otherAgency = "other-agency"
        /// n-carrow, named on early-help-domestic-abuse, who made the request the calls name.
        case analyst
        /// x-stranger, an analyst no agreement names.
        case unnamedAnalyst = "unnamed-analyst"
        /// i-thackeray, an approver of early-help-domestic-abuse.
        case igOfficer = "ig-officer"
        case admin
        /// An analyst named on the agreement whose account is disabled.
        case disabled
        /// essex-police, signing with a timestamp 301 seconds old.
        case expired
    }

    /// Answers with the agreement in force. Columns: none, agency, other-agency, analyst,
    /// unnamed-analyst, ig-officer, admin, disabled, expired.
    static let active = """
    health                | 2xx          | 2xx              | 2xx              | 2xx              | 2xx                   | 2xx              | 2xx              | 2xx                    | 2xx
    ready                 | 2xx          | 2xx              | 2xx              | 2xx              | 2xx                   | 2xx              | 2xx              | 2xx                    | 2xx
    metrics               | 2xx          | 2xx              | 2xx              | 2xx              | 2xx                   | 2xx              | 2xx              | 2xx                    | 2xx
    openapi               | 2xx          | 2xx              | 2xx              | 2xx              | 2xx                   | 2xx              | 2xx              | 2xx                    | 2xx
    getRegister           | 2xx          | 2xx              | 2xx              | 2xx              | 2xx                   | 2xx              | 2xx              | 2xx                    | 2xx
    startUpload           | 401 auth.missing | 2xx          | 403 upload.agency-mismatch | 403 auth.role | 403 auth.role | 403 auth.role    | 403 auth.role    | 403 auth.role          | 401 auth.stale
    listUploads           | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 auth.role    | 403 auth.role         | 2xx              | 2xx              | 403 auth.user-disabled | 403 auth.role
    getUpload             | 401 auth.missing | 2xx          | 404 upload.not-found | 403 auth.role | 403 auth.role       | 403 auth.role    | 403 auth.role    | 403 auth.role          | 401 auth.stale
    appendUpload          | 401 auth.missing | 404 upload.not-found | 404 upload.not-found | 403 auth.role | 403 auth.role | 403 auth.role | 403 auth.role  | 403 auth.role          | 401 auth.stale
    completeUpload        | 401 auth.missing | 404 upload.not-found | 404 upload.not-found | 403 auth.role | 403 auth.role | 403 auth.role | 403 auth.role  | 403 auth.role          | 401 auth.stale
    whoami                | 401 auth.missing | 403 auth.role | 403 auth.role   | 2xx              | 2xx                   | 2xx              | 2xx              | 403 auth.user-disabled | 403 auth.role
    listAgencies          | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 auth.role    | 403 auth.role         | 2xx              | 2xx              | 403 auth.user-disabled | 403 auth.role
    listAgreements        | 401 auth.missing | 403 auth.role | 403 auth.role   | 2xx              | 2xx                   | 2xx              | 2xx              | 403 auth.user-disabled | 403 auth.role
    suspendAgreement      | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 auth.role    | 403 auth.role         | 409 agreement.state | 409 agreement.state | 403 auth.user-disabled | 403 auth.role
    terminateAgreement    | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 auth.role    | 403 auth.role         | 409 agreement.state | 409 agreement.state | 403 auth.user-disabled | 403 auth.role
    readAudit             | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 auth.role    | 403 auth.role         | 2xx              | 403 auth.role    | 403 auth.user-disabled | 403 auth.role
    getCheckpoint         | 2xx          | 2xx              | 2xx              | 2xx              | 2xx                   | 2xx              | 2xx              | 2xx                    | 2xx
    auditInclusionProof   | 401 auth.missing | 2xx          | 404 audit.no-proof | 404 audit.no-proof | 404 audit.no-proof  | 2xx              | 403 auth.role    | 403 auth.user-disabled | 401 auth.stale
    auditConsistencyProof | 401 auth.missing | 2xx          | 2xx              | 2xx              | 2xx                   | 2xx              | 403 auth.role    | 403 auth.user-disabled | 401 auth.stale
    createRequest         | 401 auth.missing | 403 auth.role | 403 auth.role   | 2xx              | 403 request.refused   | 403 request.refused | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    listRequests          | 401 auth.missing | 403 auth.role | 403 auth.role   | 2xx              | 2xx                   | 2xx              | 403 auth.role    | 403 auth.user-disabled | 403 auth.role
    getRequest            | 401 auth.missing | 403 auth.role | 403 auth.role   | 2xx              | 404 request.not-found | 2xx              | 403 auth.role    | 403 auth.user-disabled | 403 auth.role
    cancelRequest         | 401 auth.missing | 403 auth.role | 403 auth.role   | 404 request.not-found | 404 request.not-found | 404 request.not-found | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    approveRequest        | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 auth.role    | 403 auth.role         | 404 request.not-found | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    denyRequest           | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 auth.role    | 403 auth.role         | 404 request.not-found | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    getLinkageReport      | 401 auth.missing | 403 auth.role | 403 auth.role   | 404 request.no-linkage-report | 404 request.not-found | 404 request.no-linkage-report | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    createDownloadLink    | 401 auth.missing | 403 auth.role | 403 auth.role   | 409 request.state | 404 request.not-found | 404 request.not-found | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    download              | 401 auth.missing | 403 auth.role | 403 auth.role   | 404 download.not-found | 404 download.not-found | 404 download.not-found | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    """

    /// The rows that change once the agreement is suspended; every other row is as above.
    static let suspended = """
    startUpload           | 401 auth.missing | 403 upload.refused | 403 upload.agency-mismatch | 403 auth.role | 403 auth.role | 403 auth.role | 403 auth.role    | 403 auth.role          | 401 auth.stale
    createRequest         | 401 auth.missing | 403 auth.role | 403 auth.role   | 403 request.refused | 403 request.refused | 403 request.refused | 403 auth.role | 403 auth.user-disabled | 403 auth.role
    """

    static func table(_ text: String) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: text.split(separator: "\n").map { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return (cells[0], Array(cells.dropFirst()))
        })
    }

    @Test("the tables have a row for every endpoint and a column for every role")
    func tablesComplete() {
        let active = Self.table(Self.active)
        #expect(Set(active.keys) == Set(HubEndpoint.all.map(\.operationID)))
        #expect(active.values.allSatisfy { $0.count == Role.allCases.count })
        #expect(Self.table(Self.suspended).values.allSatisfy { $0.count == Role.allCases.count })
    }

    @Test("every endpoint × every role × agreement in force and suspended answers as its cell says")
    func matrix() async throws {
        try await TestHub.with { hub in
            let callers = try await Callers(hub)
            let envelope = try await hub.envelope(rows: 20)
            let later = try await hub.envelope(rows: 20, seed: 2)
            // essex-police's upload, accepted: its id and the seq of its audit entry (which a checkpoint then covers).
            let accepted = try await hub.upload(envelope)
            #expect(accepted.status == 200, "\(accepted.text)")
            let uploadID = try accepted.json().string("upload_id")
            guard case .object(let evidence)? = try accepted.json()["audit"] else { throw TestFailure("no audit evidence: \(accepted.text)") }
            let seq = try evidence.integer("seq")
            let requestID = try await hub.ask(callers.tokens[.analyst]!, fields: ["GENDER"]).requestID

            var failures: [String] = []
            for (state, table) in [("active", Self.table(Self.active)), ("suspended", Self.table(Self.active).merging(Self.table(Self.suspended)) { $1 })] {
                if state == "suspended" {
                    _ = try await hub.store.changeAgreementState(id: TestHub.agreement, to: .suspended, reason: "the matrix test", on: CivilDate(iso: "2026-11-22")!,
                                                                 by: .operator("tests"))
                }
                for endpoint in HubEndpoint.all {
                    let row = try #require(table[endpoint.operationID])
                    for (column, role) in Role.allCases.enumerated() {
                        let call = Self.call(endpoint, uploadID: uploadID, requestID: requestID, seq: seq, envelope: state == "active" ? envelope : later)
                        let response = try await callers.send(hub, role, call)
                        let found = response.status / 100 == 2 ? "2xx" : "\(response.status) \(response.problemCode ?? "-")"
                        if found != row[column] {
                            failures.append("\(state) \(endpoint.operationID) as \(role.rawValue): expected \(row[column]), got \(found) \(response.text.prefix(300))")
                        }
                        #expect(response.status < 500, "\(state) \(endpoint.operationID) as \(role.rawValue): \(response.text)")
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.count) cells differ:\n\(failures.joined(separator: "\n"))")
        }
    }

    /// What the matrix sends to an endpoint: target, body and extra headers.
    struct Call: Sendable {
        var method: HTTPRequest.Method
        var target: String
        var body: [UInt8] = []
        var headers: [(String, String)] = []
    }

    static func call(_ endpoint: HubEndpoint, uploadID: String, requestID: String, seq: Int, envelope: SealedTestEnvelope) -> Call {
        let absent = "6f1c1f7e-0000-4000-8000-000000000000"
        func json(_ object: [String: Any]) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }
        let reason = json(["reason": "the access-control matrix"])
        let jsonType = [("Content-Type", "application/json")]
        switch endpoint.operationID {
        case "startUpload":
            let bytes = try! envelope.bytes()
            return Call(method: .post, target: endpoint.path, body: try! envelope.prefix(of: bytes), headers: [("Upload-Length", String(bytes.count))])
        case "getUpload": return Call(method: .get, target: "/v1/uploads/\(uploadID)")
        case "appendUpload": return Call(method: .patch, target: "/v1/uploads/\(absent)", body: [1, 2, 3], headers: [("Upload-Offset", "0")])
        case "completeUpload": return Call(method: .post, target: "/v1/uploads/\(absent)/complete")
        case "suspendAgreement", "terminateAgreement":
            return Call(method: .post, target: endpoint.path.replacingOccurrences(of: "{agreement_id}", with: "no-such-agreement"), body: reason, headers: jsonType)
        case "auditInclusionProof": return Call(method: .get, target: "/v1/audit/proofs/inclusion?seq=\(seq)")
        case "auditConsistencyProof": return Call(method: .get, target: "/v1/audit/proofs/consistency?first=1")
        case "createRequest":
            return Call(method: .post, target: endpoint.path, body: json([
                "agreement": TestHub.agreement, "purpose": "EH-DA", "datasets": ["police_da_incidents"], "fields": ["GENDER"], "level": "aggregate",
                "justification": "the access-control matrix",
            ]), headers: jsonType)
        case "getRequest", "getLinkageReport": return Call(method: .get, target: endpoint.path.replacingOccurrences(of: "{request_id}", with: requestID))
        case "createDownloadLink": return Call(method: .post, target: endpoint.path.replacingOccurrences(of: "{request_id}", with: requestID))
        case "cancelRequest", "approveRequest", "denyRequest":
            return Call(method: .post, target: endpoint.path.replacingOccurrences(of: "{request_id}", with: absent), body: reason, headers: jsonType)
        case "download": return Call(method: .get, target: "/v1/downloads/cdl_" + String(repeating: "A", count: 43))
        default: return Call(method: endpoint.method, target: endpoint.path)
        }
    }

    /// The matrix's callers: people with tokens, and the agencies' keys.
    struct Callers: Sendable {
        let tokens: [Role: String]
        let otherAgency: PrivateKeyDocument

        init(_ hub: TestHub) async throws {
            var tokens: [Role: String] = [:]
            tokens[.analyst] = try await hub.person("n-carrow", .analyst)
            tokens[.unnamedAnalyst] = try await hub.person("x-stranger", .analyst)
            tokens[.igOfficer] = try await hub.person("i-thackeray", .igOfficer)
            tokens[.admin] = try await hub.person("a-admin", .admin)
            tokens[.disabled] = try await hub.person("k-osei-bonsu", .analyst)
            _ = try await hub.store.setUser(id: "k-osei-bonsu", enabled: false, by: .operator("tests"))
            self.tokens = tokens
            otherAgency = PrivateKeyDocument.generate(.agencySigning, owner: "kent-police")
            _ = try await hub.store.addAgency(id: "kent-police", name: "Kent Police", publicKey: otherAgency.publicKey, by: .operator("tests"))
        }

        func send(_ hub: TestHub, _ role: Role, _ call: Call) async throws -> TestResponse {
            switch role {
            case .none:
                return try await hub.send(call.method, call.target, body: call.body, headers: call.headers)
            case .agency:
                return try await hub.signed(call.method, call.target, body: call.body, headers: call.headers)
            case .otherAgency:
                return try await hub.signed(call.method, call.target, body: call.body, headers: call.headers, key: otherAgency)
            case .expired:
                return try await hub.signed(call.method, call.target, body: call.body, headers: call.headers, timestamp: Int64(Date().timeIntervalSince1970) - 301)
            case .analyst, .unnamedAnalyst, .igOfficer, .admin, .disabled:
                return try await hub.send(call.method, call.target, body: call.body, headers: call.headers + [("Authorization", "Bearer \(tokens[role]!)")])
            }
        }
    }
}
