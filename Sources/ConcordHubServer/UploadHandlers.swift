import ConcordCore
import ConcordFiles
import ConcordHub
import ConcordHubStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The resumable, idempotent upload protocol (`docs/openapi.yaml`): start, append, ask, complete.
extension HubService {
    func startUpload(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        guard case .agency(let agency, let signed) = caller else { throw Problem.forbidden("auth.role", "uploads are for agencies") }
        guard let lengthText = request.headers[Self.uploadLength], let length = Int(lengthText), length >= Envelope.prefixBytesAroundManifest else {
            throw Problem.badRequest("upload.invalid-envelope", "Upload-Length must give the whole envelope's length in bytes")
        }
        guard length <= limits.maxEnvelopeBytes else {
            throw Problem(.contentTooLarge, "upload.too-large", "the envelope is \(length) bytes; this hub takes at most \(limits.maxEnvelopeBytes)")
        }
        var request = request
        let prefix = Array(buffer: try await request.collectBody(upTo: min(limits.maxRequestBytes, Envelope.prefixBytesAroundManifest + Envelope.maximumManifestBytes)))
        try signed.checkBody(digest: SHA256.hash(data: prefix))

        // Reading the prefix with the opener checks the header's form and the agency's signature.
        let keyring = envelopeKeys(agency)
        var opener = keyring.opener()
        do {
            guard try opener.consume(prefix).isEmpty, let manifest = opener.manifest, let digest = opener.headerDigest,
                  prefix.count == Envelope.prefixLength(announcedIn: prefix) else {
                throw Problem.badRequest("upload.invalid-envelope", "the body must be exactly the envelope's prefix: header, signature and encapsulated key")
            }
            if let refusal = keyring.refusal(opener) {
                try await auditRefusedEnvelope(agency: agency.id, subject: digest.lowercaseHex, reason: refusal)
                throw Problem.forbidden("upload.revoked-key", refusal)
            }
            if let existing = try await store.upload(headerDigest: digest) {
                guard existing.agencyID == agency.id else { throw Problem.forbidden("upload.agency-mismatch", "this envelope was sent by another agency") }
                return try json(await uploadAnswer(existing), status: .ok)
            }
            let admission = try await admit(manifest, agency: agency.id)
            guard admission.isAdmitted else {
                _ = try await store.audit(AuditEntry(actor: .agency(agency.id), action: "upload.refused", subject: digest.lowercaseHex, outcome: "refused",
                                                     details: .object(Self.details(manifest, admission))))
                metrics.uploadFinished(outcome: "refused")
                throw Problem(.forbidden, "upload.refused", "the agreements in force at the hub do not admit this extract; nothing was loaded",
                              reasons: admission.reasons)
            }
            try spool.create(headerDigest: digest, prefix: prefix)
            let record = try await store.startUpload(agencyID: agency.id, headerDigest: digest, manifest: manifest,
                                                     envelopeLength: Int64(length), initialReceived: Int64(prefix.count))
            return try json(uploadJSON(record), status: .created)
        } catch let error as EnvelopeError {
            // A bad signature or a malformed envelope from an authenticated agency is refused like an
            // extract the agreements do not admit: audited, with the reason.
            try await auditRefusedEnvelope(agency: agency.id, subject: opener.headerDigest?.lowercaseHex ?? "an unreadable envelope", reason: "\(error)")
            switch error {
            case .badSignature: throw Problem.badRequest("upload.bad-signature", "\(error)")
            case .unknownAgency: throw Problem.forbidden("upload.agency-mismatch", "the envelope is signed for another agency than the one sending it")
            default: throw Problem.badRequest("upload.invalid-envelope", "\(error)")
            }
        }
    }

    /// An `upload.refused` entry for an envelope refused at its start (before any admission check).
    private func auditRefusedEnvelope(agency: String, subject: String, reason: String) async throws {
        try await store.audit(AuditEntry(actor: .agency(agency), action: "upload.refused", subject: subject, outcome: "refused",
                                         details: .object(["reasons": .array([.string(reason)])])))
    }

    func getUpload(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let (upload, _) = try await ownUpload(context, caller)
        return try json(await uploadAnswer(upload), status: .ok)
    }

    func appendUpload(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let (upload, signed) = try await ownUpload(context, caller)
        guard upload.state == .receiving else {
            throw Problem(.conflict, "upload.not-receiving", "upload \(upload.id) is \(upload.state.rawValue); it takes no more bytes")
        }
        guard let offsetText = request.headers[Self.uploadOffset], let offset = Int64(offsetText) else {
            throw Problem.badRequest("upload.offset-mismatch", "Upload-Offset must give the offset the bytes start at")
        }
        return try await locks.withLock(upload.id) {
            // Read again under the lock: another request may have moved the offset meanwhile.
            guard let current = try await store.upload(id: upload.id) else { throw Problem.notFound("no such upload") }
            guard offset == current.received else {
                throw Problem(.conflict, "upload.offset-mismatch", "the hub holds \(current.received) bytes of this upload; send from there",
                              offset: Int(current.received))
            }
            let appended = try await spool.append(request.body, headerDigest: current.headerDigest, at: offset, length: Int(current.envelopeLength),
                                                  maxPiece: limits.maxRequestBytes)
            do {
                try signed.checkBody(digest: appended.digest)
            } catch {
                spool.cutBack(headerDigest: current.headerDigest, to: offset)
                throw error
            }
            _ = try await store.setReceived(id: current.id, received: Int64(appended.offset))
            var headers = HTTPFields()
            headers[Self.uploadOffset] = String(appended.offset)
            return Response(status: .noContent, headers: headers)
        }
    }

    func completeUpload(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let (upload, _) = try await ownUpload(context, caller)
        guard case .agency(let agency, _) = caller else { throw Problem.forbidden("auth.role", "uploads are for agencies") }
        return try await locks.withLock(upload.id) {
            guard let current = try await store.upload(id: upload.id) else { throw Problem.notFound("no such upload") }
            switch current.state {
            case .complete: return try json(await uploadAnswer(current), status: .ok)
            case .refused: throw storedProblem(current)
            case .receiving: break
            }
            guard current.received == current.envelopeLength else {
                throw Problem(.conflict, "upload.incomplete", "the hub holds \(current.received) of \(current.envelopeLength) bytes; send the rest first",
                              offset: Int(current.received))
            }
            let finished = try await ingest(current, agency: agency)
            if finished.state == .refused { throw storedProblem(finished) }
            return try json(await uploadAnswer(finished), status: .ok)
        }
    }

    /// The upload named in the path, if it is the calling agency's; another agency's is as good as absent.
    private func ownUpload(_ context: HubRequestContext, _ caller: Authenticated) async throws -> (UploadRecord, SignedRequest) {
        guard case .agency(let agency, let signed) = caller else { throw Problem.forbidden("auth.role", "uploads are for agencies") }
        guard let text = context.parameters.get("upload_id"), let id = UUID(uuidString: text),
              let upload = try await store.upload(id: id), upload.agencyID == agency.id else {
            throw Problem(.notFound, "upload.not-found", "no upload \(context.parameters.get("upload_id") ?? "") of agency \(agency.id)")
        }
        return (upload, signed)
    }

    private func storedProblem(_ upload: UploadRecord) -> Problem {
        upload.problem.flatMap(Problem.init(stored:)) ?? Problem(.unprocessableContent, "upload.refused", "the extract was refused; nothing was loaded")
    }

    func uploadJSON(_ upload: UploadRecord) -> CanonicalJSON {
        var members: [String: CanonicalJSON] = [
            "upload_id": .string(upload.id.uuidString.lowercased()), "agency": .string(upload.agencyID), "dataset": .string(upload.dataset),
            "header_digest": .string(upload.headerDigest.lowercaseHex), "length": .integer(Int(upload.envelopeLength)),
            "offset": .integer(Int(upload.received)), "state": .string(upload.state.rawValue),
        ]
        if let receipt = upload.receipt, let value = try? CanonicalJSON(canonical: Array(receipt.utf8)) { members["receipt"] = value }
        return .object(members)
    }

    /// An upload as its agency sees it: once complete, with the evidence of its `upload.accepted`
    /// audit entry, outside the signed receipt so `concord-receipt/1` is unchanged.
    func uploadAnswer(_ upload: UploadRecord) async -> CanonicalJSON {
        guard upload.state == .complete else { return uploadJSON(upload) }
        return await withEvidence(uploadJSON(upload), of: "upload.accepted", subject: upload.id.uuidString.lowercased())
    }

    /// What the audit log records of an upload's manifest and the agreements' decisions on it,
    /// and the HTTP request that brought it.
    static func details(_ manifest: EnvelopeManifest, _ admission: UploadAdmission) -> [String: CanonicalJSON] {
        [
            "dataset": .string(manifest.dataset), "rows": .integer(manifest.rows),
            "agreements": .array(manifest.agreements.map(CanonicalJSON.string)),
            "decisions": .array(admission.decisions.map { .object(["agreement": .string($0.agreement), "effect": .string($0.decision.effect.rawValue)]) }),
            "reasons": .array(admission.reasons.map(CanonicalJSON.string)),
        ]
    }

    static let uploadLength = HTTPField.Name("Upload-Length")!
    static let uploadOffset = HTTPField.Name("Upload-Offset")!
}
