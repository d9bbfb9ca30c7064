import Hummingbird

/// Who may call an endpoint: nobody in particular, a signed agency, or people by role
/// (`x-concord-callers` in `docs/openapi.yaml`).
public enum Caller: String, Sendable, Hashable, CaseIterable {
    case anyone = "public"
    case agency
    case analyst
    case igOfficer = "ig-officer"
    case admin
}

/// One operation of the hub's API: the table the router is built from and that a test holds
/// against `docs/openapi.yaml`, so that code and spec cannot drift apart.
public struct HubEndpoint: Sendable, Hashable {
    public var method: HTTPRequest.Method
    /// In OpenAPI form: `/v1/uploads/{upload_id}`.
    public var path: String
    public var operationID: String
    public var callers: Set<Caller>

    /// The path in the router's form: `/v1/uploads/:upload_id`.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : part
        }.joined(separator: "/")
    }

    static let people: Set<Caller> = [.analyst, .igOfficer, .admin]

    public static let health = HubEndpoint(method: .get, path: "/healthz", operationID: "health", callers: [.anyone])
    public static let ready = HubEndpoint(method: .get, path: "/readyz", operationID: "ready", callers: [.anyone])
    public static let metrics = HubEndpoint(method: .get, path: "/metrics", operationID: "metrics", callers: [.anyone])
    public static let openAPI = HubEndpoint(method: .get, path: "/openapi.yaml", operationID: "openapi", callers: [.anyone])
    /// The public register of agreements: organisations, datasets and counts, never people.
    public static let getRegister = HubEndpoint(method: .get, path: "/register.json", operationID: "getRegister", callers: [.anyone])
    public static let startUpload = HubEndpoint(method: .post, path: "/v1/uploads", operationID: "startUpload", callers: [.agency])
    public static let listUploads = HubEndpoint(method: .get, path: "/v1/uploads", operationID: "listUploads", callers: [.igOfficer, .admin])
    public static let getUpload = HubEndpoint(method: .get, path: "/v1/uploads/{upload_id}", operationID: "getUpload", callers: [.agency])
    public static let appendUpload = HubEndpoint(method: .patch, path: "/v1/uploads/{upload_id}", operationID: "appendUpload", callers: [.agency])
    public static let completeUpload = HubEndpoint(method: .post, path: "/v1/uploads/{upload_id}/complete", operationID: "completeUpload", callers: [.agency])
    public static let whoami = HubEndpoint(method: .get, path: "/v1/whoami", operationID: "whoami", callers: people)
    public static let listAgencies = HubEndpoint(method: .get, path: "/v1/agencies", operationID: "listAgencies", callers: [.igOfficer, .admin])
    public static let listAgreements = HubEndpoint(method: .get, path: "/v1/agreements", operationID: "listAgreements", callers: people)
    /// Stopping an agreement is an IG decision as much as an operator's.
    public static let suspendAgreement = HubEndpoint(method: .post, path: "/v1/agreements/{agreement_id}/suspend", operationID: "suspendAgreement",
                                                     callers: [.igOfficer, .admin])
    public static let terminateAgreement = HubEndpoint(method: .post, path: "/v1/agreements/{agreement_id}/terminate", operationID: "terminateAgreement",
                                                       callers: [.igOfficer, .admin])
    public static let readAudit = HubEndpoint(method: .get, path: "/v1/audit", operationID: "readAudit", callers: [.igOfficer])
    /// Checkpoints hold sizes and hashes only, nothing about anyone: anyone may keep them.
    public static let getCheckpoint = HubEndpoint(method: .get, path: "/v1/audit/checkpoint", operationID: "getCheckpoint", callers: [.anyone])
    /// Agencies and analysts fetch proofs of their own entries (an upload's acceptance, a
    /// download) to hold evidence of their own.
    public static let auditInclusionProof = HubEndpoint(method: .get, path: "/v1/audit/proofs/inclusion", operationID: "auditInclusionProof",
                                                        callers: [.igOfficer, .agency, .analyst])
    public static let auditConsistencyProof = HubEndpoint(method: .get, path: "/v1/audit/proofs/consistency", operationID: "auditConsistencyProof",
                                                          callers: [.igOfficer, .agency, .analyst])

    /// People who may ask for outputs: analysts, and IG officers named as recipients of an agreement.
    static let requesters: Set<Caller> = [.analyst, .igOfficer]
    public static let createRequest = HubEndpoint(method: .post, path: "/v1/requests", operationID: "createRequest", callers: requesters)
    public static let listRequests = HubEndpoint(method: .get, path: "/v1/requests", operationID: "listRequests", callers: requesters)
    public static let getRequest = HubEndpoint(method: .get, path: "/v1/requests/{request_id}", operationID: "getRequest", callers: requesters)
    public static let cancelRequest = HubEndpoint(method: .post, path: "/v1/requests/{request_id}/cancel", operationID: "cancelRequest", callers: requesters)
    public static let approveRequest = HubEndpoint(method: .post, path: "/v1/requests/{request_id}/approve", operationID: "approveRequest", callers: [.igOfficer])
    public static let denyRequest = HubEndpoint(method: .post, path: "/v1/requests/{request_id}/deny", operationID: "denyRequest", callers: [.igOfficer])
    public static let getLinkageReport = HubEndpoint(method: .get, path: "/v1/requests/{request_id}/linkage-report", operationID: "getLinkageReport",
                                                     callers: requesters)
    public static let createDownloadLink = HubEndpoint(method: .post, path: "/v1/requests/{request_id}/links", operationID: "createDownloadLink",
                                                       callers: requesters)
    public static let download = HubEndpoint(method: .get, path: "/v1/downloads/{token}", operationID: "download", callers: requesters)

    /// The methods served on a concrete request path (`/v1/requests/3f…/cancel`), in table order;
    /// empty when no endpoint's path matches it.
    static func methods(servingPath path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return all.filter { endpoint in
            let template = endpoint.path.split(separator: "/", omittingEmptySubsequences: false)
            return template.count == parts.count && zip(template, parts).allSatisfy { pattern, part in
                pattern.hasPrefix("{") ? !part.isEmpty : pattern == part
            }
        }.map(\.method)
    }

    /// Every endpoint the hub serves.
    public static let all: [HubEndpoint] = [
        health, ready, metrics, openAPI, getRegister, startUpload, listUploads, getUpload, appendUpload, completeUpload,
        whoami, listAgencies, listAgreements, suspendAgreement, terminateAgreement, readAudit, getCheckpoint, auditInclusionProof, auditConsistencyProof,
        createRequest, listRequests, getRequest, cancelRequest, approveRequest, denyRequest, getLinkageReport, createDownloadLink, download,
    ]
}
