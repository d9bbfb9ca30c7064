import ConcordCore
import ConcordHubStore
import Foundation
import HTTPTypes
import Hummingbird

/// Analysts' requests (docs/requests.md): create under an agreement's decision function, list,
/// status, cancel, approve or deny, download links and downloads.
extension HubService {
    /// How long a download link works.
    static let downloadLinkSeconds = 15 * 60
    /// The `request.download` entry a download is recorded by, whose inclusion proof the analyst
    /// fetches once the bytes are in (`GET /v1/audit/proofs/inclusion`).
    static let auditSeqHeader = HTTPField.Name("Concord-Audit-Seq")!

    func createRequest(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let user = try person(caller)
        let body = try await Self.jsonBody(CreateRequestBody.self, of: request)
        let asked = try body.validated()
        guard let agreement = try await store.agreementsInForce(catalogue: catalogue)[asked.agreement] else {
            try await store.audit(AuditEntry(actor: .user(user.id), action: "request.create", subject: asked.agreement, outcome: "refused",
                                             details: .object(["reasons": .array([.string("unknown-agreement")])])))
            throw Problem(.notFound, "request.unknown-agreement", "no agreement \(asked.agreement) is applied at this hub")
        }
        let fields = try asked.fields.map { try Self.field($0, datasets: asked.datasets) }
        let decision = Decision.evaluate(DecisionRequest(
            principal: .analyst(user.id), action: .request(datasets: asked.datasets, fields: fields, level: asked.level, linked: asked.datasets.count > 1),
            purpose: asked.purpose, date: today), under: agreement)
        var record = try await store.createRequest(NewRequest(
            agreementID: agreement.id, agreementVersion: agreement.version, requester: user.id, purpose: asked.purpose, datasets: asked.datasets,
            fields: fields, level: asked.level, asOf: asked.asOf, justification: asked.justification), decision: decision)
        if record.state == .refused {
            throw Problem(.forbidden, "request.refused", "request \(record.id.uuidString.lowercased()) was refused under \(agreement.id) version \(agreement.version)",
                          reasons: record.reasons.map(\.description))
        }
        if record.state == .approved { record = await produceOutput(record, agreement: agreement) }
        return try json(await requestAnswer(record), status: .created)
    }

    func listRequests(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let user = try person(caller)
        let records = try await store.requests(requester: user.id, approverOf: try await approvals(of: user))
        return try json(.object(["requests": .array(records.map(requestJSON))]), status: .ok)
    }

    func getRequest(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        try json(await requestAnswer(try await visibleRequest(context, caller)), status: .ok)
    }

    func getLinkageReport(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let record = try await visibleRequest(context, caller)
        guard let report = record.linkageReport else {
            throw Problem(.notFound, "request.no-linkage-report", "request \(record.id.uuidString.lowercased()) has no linkage report (it is \(record.state.rawValue), or its agreement permits no linkage)")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: report)))
    }

    func cancelRequest(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let user = try person(caller)
        let record = try await Self.translating { try await store.cancelRequest(id: try Self.requestID(context), by: user.id) }
        outputs.remove(record.id)
        return try json(requestJSON(record), status: .ok)
    }

    func decideRequest(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated, approve: Bool) async throws -> Response {
        let user = try person(caller)
        let body = try await Self.jsonBody(DecisionBody.self, of: request)
        let record = try await decide(try Self.requestID(context), by: user, approve: approve, reason: body.reason)
        return try json(await requestAnswer(record), status: .ok)
    }

    /// Approves or denies a pending request as `user`, with the reason that goes into the audit
    /// log, and makes an approved request's output: the one path of the API and the IG dashboard.
    func decide(_ id: UUID, by user: UserRecord, approve: Bool, reason: String?) async throws -> RequestRecord {
        let reason = try DecisionBody.validReason(reason)
        guard let existing = try await store.request(id: id) else { throw Self.notFound(id) }
        // A request references an applied agreement (a foreign key), and every applied id is in force here.
        let agreement = try await store.agreementsInForce(catalogue: catalogue)[existing.request.agreementID]!
        let today = today
        let outcome = try await Self.translating {
            try await store.decideRequest(id: id, officer: user.id, approve: approve, reason: reason) { record in
                // Denying is judged like approving: only an approver may decide, never on their own request.
                Decision.evaluate(DecisionRequest(principal: .igOfficer(user.id), action: .approve(requester: record.request.requester), date: today),
                                  under: agreement)
            }
        }
        switch outcome {
        case .refused(let reasons):
            throw Problem(.forbidden, "request.decision-refused", "\(user.id) may not \(approve ? "approve" : "deny") request \(id.uuidString.lowercased())",
                          reasons: reasons.map(\.description))
        case .decided(let record):
            return record.state == .approved ? await produceOutput(record, agreement: agreement) : record
        }
    }

    func createDownloadLink(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let user = try person(caller)
        let id = try Self.requestID(context)
        let link = try await Self.translating { try await store.createDownloadLink(requestID: id, by: user.id, lifetime: Self.downloadLinkSeconds) }
        return try json(.object([
            "request_id": .string(id.uuidString.lowercased()), "token": .string(link.token), "path": .string("/v1/downloads/\(link.token)"),
            "expires_at": .string(link.expiresAt),
        ]), status: .created)
    }

    func download(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let user = try person(caller)
        guard let token = context.parameters.get("token"), token.hasPrefix(DownloadLink.prefix) else {
            throw Problem(.notFound, "download.not-found", "no such download link of yours")
        }
        let record: RequestRecord
        let entry: AuditRecord
        do {
            // In-flight requests stop at once when their agreement stops being in force.
            let inForce = try await store.agreementsInForce(catalogue: catalogue, on: today)
            (record, entry) = try await store.redeemDownloadLink(token: token, by: user.id) { record in
                inForce[record.request.agreementID] == nil
                    ? "agreement \(record.request.agreementID) is not in force (suspended, terminated or past its end)" : nil
            }
        } catch let error as HubStoreError {
            // A refused download is audited too: who tried which request's link, and why not.
            let subject: String? = switch error {
            case .unknownDownloadLink(let request): request
            case .downloadLinkGone(let request, _): request
            default: nil
            }
            if let subject {
                try await store.audit(AuditEntry(actor: .user(user.id), action: "request.download", subject: subject, outcome: "refused",
                                                 details: .object(["reason": .string(error.description)])))
            }
            throw Self.problem(error)
        }
        guard let output = record.output else { throw Problem(.gone, "download.gone", "the request has no output") }
        await signCheckpointNow(after: "the download of request \(record.id.uuidString.lowercased())")
        var response = try outputs.response(record, output: output)
        response.headers[Self.auditSeqHeader] = String(entry.seq)
        return response
    }

    // MARK: Producing outputs

    /// Runs the agreement's linkage and writes an approved request's output; the request becomes
    /// `ready` with the output's digest, or `failed` with the reason. A request cancelled
    /// meanwhile keeps no output.
    func produceOutput(_ record: RequestRecord, agreement: Agreement) async -> RequestRecord {
        do {
            var report: String?
            var linked: [String: LinkedDataset] = [:]
            if agreement.linkage.permitted {
                let plan = try LinkagePlan(agreement: agreement, catalogue: catalogue)
                let linkage = try await store.updateLinkage(agreement: agreement, plan: plan, actor: .hub)
                report = String(decoding: try Self.reportEncoder.encode(linkage), as: UTF8.self)
                for dataset in try await store.linkedDatasets(plan: plan) { linked[dataset.dataset] = dataset }
            }
            let output = switch record.request.level {
            case .rowLevel:
                try await outputs.writeRowLevel(record, store: store, linked: linked,
                                                personIDs: keys.personIDSecret.key(agreement: record.request.agreementID, version: record.request.agreementVersion))
            case .aggregate:
                try await outputs.writeAggregate(record, agreement: agreement, store: store, linked: linked)
            }
            if let ready = try await store.completeRequest(id: record.id, output: output, linkageReport: report) {
                await signCheckpointNow(after: "the output of request \(record.id.uuidString.lowercased())")
                return ready
            }
            // No longer approved: cancelled meanwhile (its output goes), or made by another hub (the same bytes stay).
            let current = try await store.request(id: record.id) ?? record
            if current.state == .cancelled { outputs.remove(record.id) }
            return current
        } catch {
            logger.error("request \(record.id.uuidString.lowercased()): the output could not be made: \(error)")
            outputs.remove(record.id)
            return (try? await store.failRequest(id: record.id, error: "the output could not be made: \(error)")) ?? record
        }
    }

    private static let reportEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    // MARK: Helpers

    func person(_ caller: Authenticated) throws -> UserRecord {
        guard case .person(let user) = caller else { throw Problem.forbidden("auth.role", "for people only") }
        return user
    }

    /// The agreements whose requests `user` may decide (as an approver), by id.
    func approvals(of user: UserRecord) async throws -> [String] {
        guard user.role == .igOfficer else { return [] }
        return try await store.agreementsInForce(catalogue: catalogue).values.filter { $0.outputs.approvers.contains(user.id) }.map(\.id).sorted()
    }

    /// The request named in the path, if the caller made it or may decide on it; otherwise as good as absent.
    private func visibleRequest(_ context: HubRequestContext, _ caller: Authenticated) async throws -> RequestRecord {
        let user = try person(caller)
        let id = try Self.requestID(context)
        guard let record = try await store.request(id: id) else { throw Self.notFound(id) }
        let mayDecide = try await approvals(of: user).contains(record.request.agreementID)
        guard record.request.requester == user.id || mayDecide else { throw Self.notFound(id) }
        return record
    }

    private static func requestID(_ context: HubRequestContext) throws -> UUID {
        guard let text = context.parameters.get("request_id"), let id = UUID(uuidString: text) else {
            throw Problem(.notFound, "request.not-found", "no request \(context.parameters.get("request_id") ?? "") of yours")
        }
        return id
    }

    private static func notFound(_ id: UUID) -> Problem {
        Problem(.notFound, "request.not-found", "no request \(id.uuidString.lowercased()) of yours")
    }

    /// The store's refusals as the problems the API documents.
    private static func translating<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HubStoreError {
            throw problem(error)
        }
    }

    private static func problem(_ error: HubStoreError) -> any Error {
        switch error {
        case .unknownRequest: Problem(.notFound, "request.not-found", error.description)
        case .requestState: Problem(.conflict, "request.state", error.description)
        case .unknownDownloadLink: Problem(.notFound, "download.not-found", error.description)
        case .downloadLinkGone: Problem(.gone, "download.gone", error.description)
        default: error
        }
    }

    /// `dataset.Field`, or `Field` alone when the request names one dataset.
    private static func field(_ text: String, datasets: [String]) throws -> DatasetField {
        if let dot = text.firstIndex(of: "."), text.startIndex != dot {
            return DatasetField(String(text[..<dot]), String(text[text.index(after: dot)...]))
        }
        guard datasets.count == 1 else {
            throw Problem.badRequest("request.invalid", "field '\(text)' must be written dataset.Field when a request names several datasets")
        }
        return DatasetField(datasets[0], text)
    }

    /// A request's JSON body (at most 64 KiB), refused when it says it is something else.
    static func jsonBody<T: Decodable>(_ type: T.Type, of request: Request) async throws -> T {
        if let contentType = request.headers[.contentType],
           contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() != "application/json" {
            throw Problem(.unsupportedMediaType, "request.content-type", "the body must be application/json, not \(contentType.prefix(64))")
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        do {
            return try JSONDecoder().decode(type, from: Data(Array(buffer: body)))
        } catch {
            throw Problem.badRequest("request.invalid", "the body is not the JSON object docs/openapi.yaml describes: \(error)")
        }
    }

    /// A request as its analyst (or an approver) sees it: once it has an output, with the
    /// evidence of its `request.output` audit entry, which records the output's digest and rows.
    func requestAnswer(_ record: RequestRecord) async -> CanonicalJSON {
        guard record.output != nil else { return requestJSON(record) }
        return await withEvidence(requestJSON(record), of: "request.output", subject: record.id.uuidString.lowercased())
    }

    func requestJSON(_ record: RequestRecord) -> CanonicalJSON {
        let request = record.request
        var members: [String: CanonicalJSON] = [
            "request_id": .string(record.id.uuidString.lowercased()), "agreement": .string("\(request.agreementID).v\(request.agreementVersion)"),
            "requester": .string(request.requester), "purpose": .string(request.purpose), "datasets": .array(request.datasets.map(CanonicalJSON.string)),
            "fields": .array(request.fields.map { .string($0.description) }), "level": .string(request.level.rawValue),
            "state": .string(record.state.rawValue), "created_at": .string(record.createdAt), "downloaded": .boolean(record.downloaded),
            "reasons": .array(record.reasons.map { .object(["code": .string($0.code), "message": .string($0.message)]) }),
            "linkage_report": .boolean(record.linkageReport != nil),
        ]
        let optional: [(String, String?)] = [
            ("as_of", request.asOf?.description), ("justification", request.justification), ("decided_by", record.decidedBy),
            ("decision_reason", record.decisionReason), ("decided_at", record.decidedAt), ("cancelled_at", record.cancelledAt),
            ("completed_at", record.completedAt), ("error", record.error),
        ]
        for case let (key, value?) in optional { members[key] = .string(value) }
        if let output = record.output {
            members["output"] = .object(["sha256": .string(output.sha256.lowercaseHex), "rows": .integer(Int(output.rows)), "bytes": .integer(Int(output.bytes))])
        }
        return .object(members)
    }
}

/// `POST /v1/requests`.
private struct CreateRequestBody: Decodable {
    var agreement: String?
    var purpose: String?
    var datasets: [String]?
    var fields: [String]?
    var level: String?
    var as_of: String?
    var justification: String?

    struct Valid {
        var agreement: String
        var purpose: String
        var datasets: [String]
        var fields: [String]
        var level: Agreement.OutputLevel
        var asOf: CivilDate?
        var justification: String?
    }

    func validated() throws -> Valid {
        var problems: [String] = []
        // Bounded here because they reach the database and the audit log before the agreement judges them.
        func plain(_ text: String, limit: Int) -> Bool {
            !text.isEmpty && text.unicodeScalars.count <= limit && !text.contains(where: \.isNewline) && !TextInput.hasNUL(text)
        }
        if !(agreement.map { plain($0, limit: 64) } ?? false) { problems.append("agreement: the agreement's id is required (at most 64 characters)") }
        if !(purpose.map { plain($0, limit: 32) } ?? false) { problems.append("purpose: the purpose code is required (at most 32 characters)") }
        let datasets = datasets ?? []
        if datasets.isEmpty || datasets.count > 16 || Set(datasets).count != datasets.count || !datasets.allSatisfy({ plain($0, limit: 63) }) {
            problems.append("datasets: one to 16 dataset names, each once")
        }
        let fields = fields ?? []
        if fields.isEmpty || fields.count > 200 || Set(fields).count != fields.count || !fields.allSatisfy({ plain($0, limit: 128) }) {
            problems.append("fields: one to 200 fields (the dimensions of an aggregate), each once")
        }
        let level = level.flatMap(Agreement.OutputLevel.init(rawValue:))
        if level == nil { problems.append("level: row_level or aggregate") }
        let asOf = as_of.flatMap { CivilDate(iso: $0) }
        if as_of != nil && asOf == nil { problems.append("as_of: a date, YYYY-MM-DD") }
        if let justification, justification.unicodeScalars.count > 4000 || TextInput.hasNUL(justification) {
            problems.append("justification: at most 4000 characters, without U+0000")
        }
        guard problems.isEmpty, let agreement, let purpose, let level else {
            throw Problem(.badRequest, "request.invalid", "the request is not valid", reasons: problems)
        }
        return Valid(agreement: agreement, purpose: purpose, datasets: datasets, fields: fields, level: level, asOf: asOf, justification: justification)
    }
}

/// `POST /v1/requests/{id}/approve` and `/deny`, `POST /v1/agreements/{id}/suspend` and `/terminate`.
struct DecisionBody: Decodable {
    var reason: String?

    /// The reason trimmed, which goes into the audit log: required, at most 4000 characters
    /// (Unicode scalars, as `maxLength` in docs/openapi.yaml counts them), without U+0000.
    static func validReason(_ reason: String?) throws(Problem) -> String {
        guard let reason, reason.unicodeScalars.count <= 4000, !TextInput.hasNUL(reason),
              case let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else {
            throw Problem.badRequest("request.invalid", "a reason of at most 4000 characters is required: {\"reason\": \"…\"} (it goes into the audit log)")
        }
        return trimmed
    }
}
