import ConcordAgent
import ConcordCore
import Crypto
import Foundation
import Synchronization
import Testing

/// The upload protocol's decisions, against scripted answers. What only the real hub can show
/// (its durability, its authentication and idempotence checks, TLS) is tested end to end in the
/// hub's test target.
@Suite("Hub client and outbox sender")
struct HubClientTests {
    /// A sealed envelope in a fresh state directory, and a sender over `transport`.
    struct Scene {
        let fixture: AgentFixture
        let state: AgentState
        let envelope: EnvelopeFile
        let sender: OutboxSender
        let waits: WaitLog

        /// - Parameter script: the hub's answer to each request about the envelope.
        init(pieceBytes: Int = 256, attempts: Int = 3, _ script: @escaping @Sendable (HubRequest, EnvelopeFile) throws -> HubResponse) async throws {
            fixture = try AgentFixture()
            let setup = try fixture.setup()
            let sealed = try await fixture.seal()
            state = setup.state
            let envelope = try EnvelopeFile(path: sealed.sealed.path)
            self.envelope = envelope
            var client = try setup.client(transport: ScriptedTransport { request, _ in try script(request, envelope) })
            client.pieceBytes = pieceBytes
            var sender = OutboxSender(client: client, state: state, retry: RetryPolicy(attempts: attempts, initialDelay: 0.5, maximumDelay: 2))
            let waits = WaitLog()
            sender.sleep = { seconds in waits.add(seconds) }
            self.waits = waits
            self.sender = sender
        }

        var transport: ScriptedTransport { sender.client.transport as! ScriptedTransport }
        var inOutbox: Bool { FileManager.default.fileExists(atPath: envelope.path) }
        var sentPath: String { "\(state.sent)/\(envelope.name)" }
        var receiptPath: String { "\(state.sent)/\(envelope.name.dropLast(".envelope".count)).receipt.json" }

        /// The Upload-Offset of each PATCH, in order.
        var patchOffsets: [Int] { transport.requests.filter { $0.method == "PATCH" }.compactMap { $0.header("Upload-Offset").flatMap { Int($0) } } }
    }

    final class WaitLog: Sendable {
        private let log = Mutex<[Double]>([])
        func add(_ seconds: Double) { log.withLock { $0.append(seconds) } }
        var waits: [Double] { log.withLock { $0 } }
    }

    @Test("sends the prefix, then pieces from the hub's offsets, completes, verifies the receipt and files the envelope in sent/")
    func happyPath() async throws {
        let scene = try await Scene { try HubAnswer.accepting($0, $1) }
        let outcome = await scene.sender.send(scene.envelope)
        guard case .sent(_, let signed) = outcome else { Issue.record("not sent: \(outcome)"); return }
        let requests = scene.transport.requests

        // The start request carries exactly the prefix (bytes 0 ..< 116+M) and the whole length.
        let start = try #require(requests.first)
        #expect(start.method == "POST" && start.target == "/v1/uploads")
        #expect(start.body == Array(try Data(contentsOf: URL(fileURLWithPath: scene.sentPath)).prefix(scene.envelope.prefixLength)))
        #expect(start.header("Upload-Length") == String(scene.envelope.length))
        // Pieces of at most 256 bytes, contiguous from the prefix's end (the hub's offset is 0 here, so from 0).
        #expect(scene.patchOffsets == Array(stride(from: 0, to: scene.envelope.length, by: 256)))
        #expect(requests.filter { $0.method == "PATCH" }.allSatisfy { $0.body.count <= 256 })
        #expect(requests.last?.target == "/v1/uploads/\(HubAnswer.uploadID)/complete")

        // Every request is signed afresh over its own body.
        let agencyKey = try TestKeys.agency.publicKey.signingKey()
        var nonces: Set<String> = []
        for request in requests {
            let (signedRequest, signature) = try SignedRequest.parse(method: request.method, target: request.target) { request.header($0) }
            #expect(signedRequest.isSigned(by: agencyKey, signature: signature))
            #expect(signedRequest.contentSHA256 == SHA256.hash(data: request.body).map { String(format: "%02x", $0) }.joined())
            #expect(signedRequest.keyID == TestKeys.agency.publicKey.id && signedRequest.agency == "essex-police")
            nonces.insert(signedRequest.nonce)
        }
        #expect(nonces.count == requests.count)

        #expect(!scene.inOutbox)
        #expect(FileManager.default.fileExists(atPath: scene.sentPath))
        let filed = try Data(contentsOf: URL(fileURLWithPath: scene.receiptPath))
        #expect(Array(filed) == signed.json.bytes)
        #expect(!FileManager.default.fileExists(atPath: AgentStateTests.sidecar(scene.envelope)))
    }

    @Test("after a dropped connection, asks the hub where the upload stands and resumes from its offset")
    func resumesAfterInterruption() async throws {
        let patchesAt768 = Counter()
        let scene = try await Scene { request, envelope in
            try HubAnswer.accepting(request, envelope, get: HubAnswer.upload(envelope, offset: 512, status: 200)) { offset in
                // The connection drops during the piece at 768, after the hub made 512 durable.
                if offset == 768, patchesAt768.next() == 0 { throw ConnectionReset() }
                return nil
            }
        }
        let outcome = await scene.sender.send(scene.envelope)
        guard case .sent = outcome else { Issue.record("not sent: \(outcome)"); return }
        let methods = scene.transport.requests.map(\.method)
        // One start only: the second attempt resumes the recorded upload rather than starting again.
        #expect(methods.filter { $0 == "POST" }.count == 2)
        #expect(methods.contains("GET"))
        let offsets = scene.patchOffsets
        let resumed = try #require(offsets.lastIndex(of: 512))
        #expect(Array(offsets[..<resumed]) == [0, 256, 512, 768])
        #expect(Array(offsets[resumed...]) == Array(stride(from: 512, to: scene.envelope.length, by: 256)))
        #expect(scene.waits.waits.count == 1)
    }

    @Test("on upload.offset-mismatch, continues from the offset the hub states")
    func offsetMismatch() async throws {
        let scene = try await Scene { request, envelope in
            // The hub already holds 1000 bytes (an earlier attempt's answer was lost).
            try HubAnswer.accepting(request, envelope) { $0 > 0 && $0 < 1000 ? HubAnswer.problem(409, "upload.offset-mismatch", offset: 1000) : nil }
        }
        guard case .sent = await scene.sender.send(scene.envelope) else { Issue.record("not sent"); return }
        #expect(Array(scene.patchOffsets.prefix(3)) == [0, 256, 1000])
        #expect(scene.patchOffsets.dropFirst(2).allSatisfy { $0 >= 1000 })
    }

    @Test("an envelope the hub already holds is acknowledged with its original receipt, without sending it again")
    func duplicate() async throws {
        let scene = try await Scene { request, envelope in
            HubAnswer.upload(envelope, offset: envelope.length, state: "complete", receipt: try receipt(for: envelope), status: 200)
        }
        guard case .sent = await scene.sender.send(scene.envelope) else { Issue.record("not sent"); return }
        #expect(scene.transport.requests.map(\.method) == ["POST"])
        #expect(FileManager.default.fileExists(atPath: scene.sentPath))
    }

    @Test("an upload.* refusal holds the envelope back with the problem beside it, without retrying")
    func refused() async throws {
        let scene = try await Scene { _, _ in HubAnswer.problem(403, "upload.refused", reasons: ["agreement early-help-domestic-abuse.v1 is suspended"]) }
        let outcome = await scene.sender.send(scene.envelope)
        guard case .held(_, let problem) = outcome else { Issue.record("not held: \(outcome)"); return }
        #expect(problem.code == "upload.refused" && problem.reasons == ["agreement early-help-domestic-abuse.v1 is suspended"])
        #expect(scene.transport.requests.count == 1)
        #expect(!scene.inOutbox)
        #expect(FileManager.default.fileExists(atPath: "\(scene.state.held)/\(scene.envelope.name)"))
        #expect(scene.state.problem(ofHeld: scene.envelope.name) == problem)
        #expect(outcome.exitCode == .hubRefused)
    }

    @Test("authentication refusals leave the envelope in the outbox: they are not the envelope's fault")
    func authRefusal() async throws {
        let scene = try await Scene { _, _ in HubAnswer.problem(401, "auth.stale") }
        let outcome = await scene.sender.send(scene.envelope)
        guard case .waiting(_, let reason, .hubRefused) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("auth.stale") && reason.contains("clock"))
        #expect(scene.inOutbox && scene.transport.requests.count == 1)
    }

    @Test("while the hub is down, retries with backoff up to the attempts, then leaves the envelope in the outbox")
    func hubDown() async throws {
        let requests = Counter()
        let scene = try await Scene(attempts: 4) { _, _ in
            if requests.next() % 2 == 0 { throw ConnectionReset() }
            return HubAnswer.problem(503, "unavailable")
        }
        let outcome = await scene.sender.send(scene.envelope)
        guard case .waiting(_, let reason, .hubUnreachable) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("after 4 attempts"))
        #expect(scene.transport.requests.count == 4)
        #expect(scene.waits.waits.count == 3)
        for (failure, wait) in scene.waits.waits.enumerated() {
            #expect(wait >= 0 && wait <= RetryPolicy(attempts: 4, initialDelay: 0.5, maximumDelay: 2).ceiling(afterFailure: failure + 1))
        }
        #expect(scene.inOutbox)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scene.envelope.path)).count == scene.envelope.length)
    }

    @Test("a later run resumes the upload recorded by an earlier one; a lost upload is started again once")
    func sidecarResume() async throws {
        // The hub no longer knows the recorded upload (GET answers 404).
        let scene = try await Scene { try HubAnswer.accepting($0, $1) }
        try scene.state.recordUpload(id: "11111111-2222-3333-4444-555555555555", for: scene.envelope)
        guard case .sent = await scene.sender.send(scene.envelope) else { Issue.record("not sent"); return }
        let first = try #require(scene.transport.requests.first)
        #expect(first.method == "GET" && first.target == "/v1/uploads/11111111-2222-3333-4444-555555555555")
        #expect(scene.transport.requests[1].target == "/v1/uploads")
    }

    @Test("a receipt that does not verify or does not match keeps the envelope in the outbox", arguments: ["other key", "rows", "digest"])
    func badReceipt(_ fault: String) async throws {
        let scene = try await Scene { _, envelope in
            let bad: SignedUploadReceipt
            if fault == "other key" {
                bad = try receipt(for: envelope, key: TestKeys.otherHubSigning)
            } else if fault == "rows" {
                bad = try receipt(for: envelope, rows: envelope.manifest.rows + 1)
            } else {
                bad = try receipt(for: envelope, headerDigest: String(repeating: "0", count: 64))
            }
            return HubAnswer.upload(envelope, offset: envelope.length, state: "complete", receipt: bad, status: 200)
        }
        let outcome = await scene.sender.send(scene.envelope)
        guard case .waiting(_, let reason, .hubRefused) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("receipt"))
        #expect(scene.inOutbox)
        #expect(!FileManager.default.fileExists(atPath: scene.sentPath) && !FileManager.default.fileExists(atPath: scene.receiptPath))
    }

    @Test("a hub that never moves the offset forward is given up on, not looped on")
    func stalls() async throws {
        let scene = try await Scene { request, envelope in
            switch request.method {
            case "POST": return HubAnswer.upload(envelope, offset: 0)
            case "GET": return HubAnswer.upload(envelope, offset: 0, status: 200)
            default: return HubAnswer.problem(409, "upload.offset-mismatch", offset: 0)
            }
        }
        let outcome = await scene.sender.send(scene.envelope)
        guard case .waiting(_, _, .hubRefused) = outcome else { Issue.record("\(outcome)"); return }
        #expect(scene.transport.requests.count < 100)
        #expect(scene.inOutbox)
    }
}
