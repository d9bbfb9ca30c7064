import ConcordCore
import Crypto
import Foundation
import Logging

/// One request to the hub, as the upload protocol needs it.
public struct HubRequest: Sendable {
    public var method: String
    /// The path (and query) exactly as sent and signed, e.g. `/v1/uploads`.
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// The value of a header, looked up case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The hub's answer.
public struct HubResponse: Sendable {
    public var status: Int
    /// Header values by lower-cased name.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// How requests reach the hub: ``HTTPHubTransport`` in production. The seam is this small so the
/// upload protocol's decisions (offsets, resuming, restarting) can be tested without a network.
public protocol HubTransport: Sendable {
    /// Sends a request; throws only when no answer came (connection refused or reset, timeout, TLS).
    func send(_ request: HubRequest) async throws -> HubResponse
}

/// A problem the hub answered with, as the agent reads it and files it beside a held envelope.
public typealias HubProblem = ProblemDocument

/// Why an upload did not end with a verified receipt.
public enum HubClientError: Error, Sendable, CustomStringConvertible {
    /// No answer, or a server error: try again later; the envelope is safe where it is.
    case unavailable(String)
    /// The hub refuses this envelope (an `upload.*` problem): sending it again would not help.
    case refused(HubProblem)
    /// The hub refuses the agent's requests (authentication, limits): fix the configuration or clock.
    case rejected(HubProblem)
    /// The hub's receipt did not verify: the envelope stays in the outbox.
    case badReceipt(String)
    /// The hub answered outside the protocol.
    case protocolViolation(String)
    /// The envelope or the state directory could not be read or written here.
    case local(String)

    /// Whether trying again later may succeed without anyone changing anything.
    public var isRetryable: Bool {
        if case .unavailable = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .unavailable(let reason): "the hub is unavailable: \(reason)"
        case .refused(let problem): "the hub refused the envelope: \(problem)"
        case .rejected(let problem):
            "the hub refused the request: \(problem)" + (problem.code == "auth.stale" ? " (check this machine's clock)" : "")
        case .badReceipt(let reason): "the hub's receipt was not accepted: \(reason)"
        case .protocolViolation(let reason): "the hub answered outside the upload protocol: \(reason)"
        case .local(let reason): reason
        }
    }
}

/// How far an upload has got.
public struct UploadProgress: Sendable {
    public var envelope: String
    /// Bytes the hub holds durably.
    public var sent: Int
    public var total: Int
}

/// The agent's side of the hub's upload protocol (`docs/openapi.yaml`): every request signed
/// (`concord-request-v1`, fresh nonce and timestamp, body SHA-256), envelopes sent resumably in
/// pieces read from the file, and the receipt accepted only once verified.
public struct HubClient: Sendable {
    /// The largest piece sent in one `PATCH`: memory stays bounded by it whatever the envelope's size.
    public static let maximumPieceBytes = 4 << 20
    /// Answers in a row that move no byte forward before the client gives up on a confused hub.
    static let maximumStalls = 8

    public let transport: any HubTransport
    public let agency: String
    public let keyID: String
    /// The pinned hub receipt-signing key.
    public let receiptKey: PublicKeyLine
    /// Further pinned receipt-signing keys (`hub.additional_receipt_keys`): during a hub key
    /// rotation receipts may be signed by the hub's new key; each receipt is checked with the
    /// pinned key it names.
    public var additionalReceiptKeys: [PublicKeyLine] = []
    private let signingKey: Curve25519.Signing.PrivateKey
    public var pieceBytes = HubClient.maximumPieceBytes
    /// Seconds since the epoch, for the signature's timestamp.
    public var now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    public var logger = Logger(label: "concord.agent.hub-client")

    /// - Parameters:
    ///   - signingKey: the agency's private key; its owner is the agency the requests are signed as.
    ///   - receiptKey: the hub's receipt-signing key, as pinned in the configuration.
    public init(transport: any HubTransport, signingKey: PrivateKeyDocument, receiptKey: PublicKeyLine) throws {
        self.transport = transport
        agency = signingKey.owner
        keyID = signingKey.publicKey.id
        self.signingKey = try signingKey.signingKey()
        self.receiptKey = receiptKey
    }

    /// Sends an envelope and returns the hub's verified receipt.
    ///
    /// Starts the upload (or, with `uploadID`, asks the hub where that upload stands and continues
    /// it), appends the rest from the offset the hub reports, completes it and verifies the receipt.
    /// An envelope the hub already holds answers with its original receipt at once.
    /// - Parameters:
    ///   - uploadID: the upload an earlier, interrupted attempt opened for this envelope.
    ///   - started: called with the upload's id as soon as the hub has opened it, to record it.
    public func upload(_ envelope: EnvelopeFile, resuming uploadID: String? = nil, started: (String) throws -> Void = { _ in },
                       progress: (UploadProgress) -> Void = { _ in }) async throws(HubClientError) -> VerifiedReceipt {
        var upload: UploadStatus
        if let uploadID, let existing = try await status(of: uploadID) {
            upload = existing
        } else {
            upload = try await start(envelope)
            try record(upload.id, started)
        }
        var stalls = 0
        var restarted = false
        while true {
            guard stalls <= Self.maximumStalls else {
                throw .protocolViolation("upload \(upload.id) made no progress after \(stalls) answers")
            }
            switch upload.state {
            case "complete":
                var receipt = try verify(upload.receipt, for: envelope)
                receipt.auditEvidence = Self.evidence(upload.audit, for: receipt, hubKey: pinnedReceiptKey(named: receipt.signed.receipt.hubKeyID))
                return receipt
            case "refused":
                throw .refused(upload.problem ?? HubProblem(status: 422, code: "upload.refused", detail: "the hub refused the upload without saying why"))
            case "receiving":
                break
            default:
                throw .protocolViolation("upload \(upload.id) is in the unknown state '\(upload.state)'")
            }
            guard upload.headerDigest == envelope.headerDigest else {
                throw .protocolViolation("upload \(upload.id) is of another envelope (\(upload.headerDigest))")
            }
            guard upload.length == envelope.length else {
                throw .protocolViolation("upload \(upload.id) is \(upload.length) bytes long at the hub; the envelope is \(envelope.length)")
            }
            switch try await append(envelope, to: upload, progress: progress) {
            case .complete:
                let answer = try await send("POST", "/v1/uploads/\(upload.id)/complete")
                if answer.status == 200 {
                    upload = try UploadStatus(answer)
                } else if answer.status == 409, HubProblem(json: answer.json)?.code == "upload.incomplete" {
                    // The hub holds fewer bytes than it said: ask where it stands and send the rest.
                    upload = try await statusOrRestart(upload.id, envelope, started, &restarted)
                    stalls += 1
                } else {
                    throw Self.failure(answer)
                }
            case .stateChanged:
                upload = try await statusOrRestart(upload.id, envelope, started, &restarted)
                stalls += 1
            case .lost:
                upload = try await restart(envelope, started, &restarted)
            }
        }
    }

    /// What appending stopped for.
    private enum AppendOutcome {
        /// Every byte is at the hub.
        case complete
        /// The hub says the upload is no longer receiving, or its offset moved beyond what was sent.
        case stateChanged
        /// The hub no longer knows the upload.
        case lost
    }

    /// Sends the envelope from the hub's offset to its end, a piece at a time.
    private func append(_ envelope: EnvelopeFile, to upload: UploadStatus, progress: (UploadProgress) -> Void) async throws(HubClientError) -> AppendOutcome {
        var offset = upload.offset
        var stalls = 0
        while offset < envelope.length {
            guard stalls <= Self.maximumStalls else { return .stateChanged }
            progress(UploadProgress(envelope: envelope.name, sent: offset, total: envelope.length))
            let piece: [UInt8]
            do { piece = try envelope.read(offset: offset, count: min(pieceBytes, envelope.length - offset)) } catch {
                throw .local("\(error)")
            }
            guard !piece.isEmpty else { throw .local("\(envelope.path) became shorter while it was being sent") }
            let answer = try await send("PATCH", "/v1/uploads/\(upload.id)", headers: [
                ("Upload-Offset", String(offset)), ("Content-Type", "application/offset+octet-stream"),
            ], body: piece)
            switch answer.status {
            case 204:
                guard let text = answer.header("Upload-Offset"), let next = Int(text), next > offset, next <= envelope.length else {
                    throw .protocolViolation("after bytes \(offset)..<\(offset + piece.count) the hub reported offset \(answer.header("Upload-Offset") ?? "none")")
                }
                offset = next
                stalls = 0
            case 404:
                return .lost
            case 409:
                let problem = HubProblem(json: answer.json)
                // The hub holds a different number of bytes than this client thought: continue from
                // its offset, the only one that counts.
                if problem?.code == "upload.offset-mismatch", let hubOffset = problem?.offset, (0...envelope.length).contains(hubOffset) {
                    offset = hubOffset
                    stalls += 1
                } else if problem?.code == "upload.not-receiving" {
                    return .stateChanged
                } else {
                    throw Self.failure(answer)
                }
            default:
                throw Self.failure(answer)
            }
        }
        progress(UploadProgress(envelope: envelope.name, sent: envelope.length, total: envelope.length))
        return .complete
    }

    /// `POST /v1/uploads` with the envelope's prefix.
    private func start(_ envelope: EnvelopeFile) async throws(HubClientError) -> UploadStatus {
        let prefix: [UInt8]
        do { prefix = try envelope.read(offset: 0, count: envelope.prefixLength) } catch { throw .local("\(error)") }
        let answer = try await send("POST", "/v1/uploads", headers: [
            ("Upload-Length", String(envelope.length)), ("Content-Type", "application/vnd.concord.envelope-prefix"),
        ], body: prefix)
        // 201: a new upload; 200: this envelope was started before (perhaps completed, with its receipt).
        guard answer.status == 201 || answer.status == 200 else { throw Self.failure(answer) }
        return try UploadStatus(answer)
    }

    /// `GET /v1/uploads/{id}`; `nil` when the hub does not know the upload.
    private func status(of id: String) async throws(HubClientError) -> UploadStatus? {
        let answer = try await send("GET", "/v1/uploads/\(id)")
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw Self.failure(answer) }
        return try UploadStatus(answer)
    }

    private func statusOrRestart(_ id: String, _ envelope: EnvelopeFile, _ started: (String) throws -> Void,
                                 _ restarted: inout Bool) async throws(HubClientError) -> UploadStatus {
        if let upload = try await status(of: id) { return upload }
        return try await restart(envelope, started, &restarted)
    }

    /// Starts the envelope again once when the hub has lost its upload (expired, or the hub's state
    /// was restored); a second loss is the hub's problem to explain.
    private func restart(_ envelope: EnvelopeFile, _ started: (String) throws -> Void, _ restarted: inout Bool) async throws(HubClientError) -> UploadStatus {
        guard !restarted else { throw .protocolViolation("the hub lost the upload of \(envelope.name) twice") }
        restarted = true
        let upload = try await start(envelope)
        try record(upload.id, started)
        return upload
    }

    private func record(_ id: String, _ started: (String) throws -> Void) throws(HubClientError) {
        do { try started(id) } catch { throw .local("cannot record upload \(id): \(error)") }
    }

    private func verify(_ receipt: CanonicalJSON?, for envelope: EnvelopeFile) throws(HubClientError) -> VerifiedReceipt {
        guard let receipt else { throw .protocolViolation("the upload is complete but the hub sent no receipt") }
        do {
            let signed = try SignedUploadReceipt(json: receipt)
            return try VerifiedReceipt(signed, for: envelope, hubKey: pinnedReceiptKey(named: signed.receipt.hubKeyID))
        } catch {
            throw .badReceipt("\(error)")
        }
    }

    /// The upload's audit evidence when it checks out with the pinned key and its entry records
    /// this receipt; else `nil`: the receipt alone licenses clearing the outbox, and the proof can
    /// be fetched later (`GET /v1/audit/proofs/inclusion`).
    /// The pinned receipt key with this id; the main one when none has it (its id check then
    /// refuses the receipt, naming the key pinned).
    private func pinnedReceiptKey(named keyID: String) -> PublicKeyLine {
        additionalReceiptKeys.first { $0.id == keyID } ?? receiptKey
    }

    static func evidence(_ value: CanonicalJSON?, for receipt: VerifiedReceipt, hubKey: PublicKeyLine) -> AuditEvidence? {
        let receipt = receipt.signed.receipt
        guard let value, let evidence = try? AuditEvidence(json: value, hubKey: hubKey),
              evidence.records(action: "upload.accepted", subject: receipt.uploadID, details: ["receipt_id": .string(receipt.receiptID)]) else { return nil }
        return evidence
    }

    /// Signs and sends one request.
    func send(_ method: String, _ target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) async throws(HubClientError) -> HubResponse {
        let signed = SignedRequest(method: method, target: target, agency: agency, keyID: keyID, timestamp: now(),
                                   nonce: SignedRequest.newNonce(), contentSHA256: SHA256.hash(data: body).lowercaseHex)
        let request: HubRequest
        do {
            request = HubRequest(method: method, target: target, headers: headers + (try signed.headers(signedWith: signingKey)), body: body)
        } catch {
            throw .local("cannot sign the request: \(error)")
        }
        do {
            let response = try await transport.send(request)
            logger.debug("hub answered", metadata: ["method": "\(method)", "target": "\(target)", "status": "\(response.status)"])
            return response
        } catch {
            throw .unavailable("\(method) \(target): \(error)")
        }
    }

    /// What an answer outside the protocol's happy path means for the envelope.
    static func failure(_ answer: HubResponse) -> HubClientError {
        let problem = HubProblem(json: answer.json)
        let described = problem.map { "\($0)" } ?? "HTTP \(answer.status)"
        switch answer.status {
        case 500...599, 408, 429:
            return .unavailable("the hub answered \(described)")
        case 400...499:
            guard let problem else {
                return .rejected(HubProblem(status: answer.status, code: "http.\(answer.status)",
                                            detail: "the hub (or a proxy before it) answered \(answer.status) without a problem document"))
            }
            // auth.replay means this very nonce was seen: a fresh request (new nonce) is safe.
            if problem.code == "auth.replay" { return .unavailable("the hub answered \(problem)") }
            return problem.code.hasPrefix("upload.") ? .refused(problem) : .rejected(problem)
        default:
            return .protocolViolation("unexpected answer \(described)")
        }
    }
}

/// An upload as the hub describes it (`Upload` in `docs/openapi.yaml`).
struct UploadStatus {
    var id: String
    var headerDigest: String
    var length: Int
    var offset: Int
    var state: String
    var receipt: CanonicalJSON?
    /// Once complete: the audit entry's evidence (docs/transparency-log.md), not yet checked.
    var audit: CanonicalJSON?
    var problem: HubProblem?

    init(_ answer: HubResponse) throws(HubClientError) {
        guard case .object(let members)? = answer.json,
              case .string(let id)? = members["upload_id"], case .string(let digest)? = members["header_digest"],
              case .integer(let length)? = members["length"], case .integer(let offset)? = members["offset"],
              case .string(let state)? = members["state"] else {
            throw .protocolViolation("answer \(answer.status) is not an upload")
        }
        // The id goes into request paths: refuse anything that could change the path.
        guard !id.isEmpty, id.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }) else {
            throw .protocolViolation("the upload id is not a UUID")
        }
        guard (0...length).contains(offset) else { throw .protocolViolation("upload \(id) has offset \(offset) outside 0...\(length)") }
        self.id = id
        headerDigest = digest
        self.length = length
        self.offset = offset
        self.state = state
        receipt = members["receipt"]
        audit = members["audit"]
        problem = HubProblem(json: members["problem"])
    }
}

extension HubResponse {
    /// The body as JSON, or `nil` when it is not JSON this client reads (strings, integers,
    /// booleans, lists, objects; `null` members are dropped).
    var json: CanonicalJSON? {
        guard !body.isEmpty, let value = try? JSONDecoder().decode(LenientJSON.self, from: Data(body)) else { return nil }
        return value.value
    }
}

/// Any JSON document, decoded into ``CanonicalJSON`` so a receipt found inside a larger answer can
/// be re-encoded canonically and its signature checked.
private struct LenientJSON: Decodable {
    let value: CanonicalJSON?

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [CanonicalJSON] = []
            while !array.isAtEnd {
                if let item = try array.decode(LenientJSON.self).value { items.append(item) }
            }
            value = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: Key.self) {
            var members: [String: CanonicalJSON] = [:]
            for key in object.allKeys {
                if let member = try object.decode(LenientJSON.self, forKey: key).value { members[key.stringValue] = member }
            }
            value = .object(members)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            value = nil
        } else if let boolean = try? single.decode(Bool.self) {
            value = .boolean(boolean)
        } else if let integer = try? single.decode(Int.self) {
            value = .integer(integer)
        } else {
            value = .string(try single.decode(String.self))
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
