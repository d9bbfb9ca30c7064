import ConcordAgent
import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// The agent's sending side against the real hub: the same code `concord agent push` runs.
@Suite("Agent against the hub", .enabled(if: databaseAvailable))
struct AgentAgainstHubTests {
    /// Sends what waits in the outbox in several pieces; the receipt verifies and the envelope moves
    /// to sent/ with the receipt beside it.
    @Test func agentSendsThroughTheHub() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 150)
            let state = try AgentState.fresh(beside: hub)
            try await HTTPHubTransport.with(baseURL: hub.baseURL) { transport in
                var client = try Self.client(transport, hub)
                client.pieceBytes = 16 << 10
                let sender = Self.sender(client, state)

                let name = try state.enqueue(envelope.path)
                let outcome = await sender.sendWaiting()
                guard case .sent(let sentName, let receipt)? = outcome.first else { Issue.record("not sent: \(outcome)"); return }
                #expect(sentName == name)
                let filed = try FileManager.default.contentsOfDirectory(atPath: state.sent)
                #expect(filed.contains(name) && filed.contains { $0.hasSuffix(".receipt.json") })
                // The agency's own evidence that the hub's log records this receipt, checked again from the file.
                let evidenceFile = try #require(filed.first { $0.hasSuffix(".audit.json") })
                let evidence = try AuditEvidence(json: try CanonicalJSON(canonical: Array(try Data(contentsOf: URL(fileURLWithPath: "\(state.sent)/\(evidenceFile)")))),
                                                 hubKey: hub.hubSigning.publicKey)
                #expect(evidence.entryFields["action"] == .string("upload.accepted") && evidence.entry.contains(receipt.receipt.receiptID))
                #expect(try FileManager.default.contentsOfDirectory(atPath: state.outbox).isEmpty)
                #expect(receipt.receipt.rowsLoaded == envelope.manifest.rows)
                #expect(try await hub.visibleRows("police_da_incidents") == envelope.manifest.rows)
                // The published extract is linked in the background under the agreement it was sent for.
                var linked = false
                for _ in 0..<100 where !linked {
                    linked = try await hub.store.auditEntries().contains { $0.entry.action == "linkage.update" && $0.entry.subject == "\(TestHub.agreement).v1" }
                    if !linked { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(linked, "the linkage worker updated the agreement's linkage after the upload")
            }
        }
    }

    /// An agent that crashed after the hub loaded its envelope, but before filing the receipt, sends
    /// it again: the hub answers with the original receipt and loads nothing twice.
    @Test func duplicatePushGetsTheOriginalReceipt() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 90)
            let direct = try await hub.upload(envelope)
            #expect(direct.status == 200, "\(direct.text)")
            let original = try SignedUploadReceipt(json: try #require(try direct.json()["receipt"]))

            let state = try AgentState.fresh(beside: hub)
            _ = try state.enqueue(envelope.path)
            try await HTTPHubTransport.with(baseURL: hub.baseURL) { transport in
                let sender = Self.sender(try Self.client(transport, hub), state)
                let outcome = await sender.sendWaiting()
                guard case .sent(_, let receipt)? = outcome.first else { Issue.record("not sent: \(outcome)"); return }
                #expect(receipt == original)
                #expect(try await hub.visibleRows("police_da_incidents") == envelope.manifest.rows)
            }
        }
    }

    /// With the hub unreachable the envelope stays in the outbox (exit code 3); once the hub is
    /// there, the next run sends it.
    @Test func hubDownThenUp() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 40)
            let state = try AgentState.fresh(beside: hub)
            let name = try state.enqueue(envelope.path)
            try await HTTPHubTransport.with(baseURL: "http://127.0.0.1:9") { nowhere in
                let down = Self.sender(try Self.client(nowhere, hub), state)
                let waiting = await down.sendWaiting()
                #expect(waiting.first?.exitCode == .hubUnreachable)
                #expect(FileManager.default.fileExists(atPath: "\(state.outbox)/\(name)"))
            }

            try await HTTPHubTransport.with(baseURL: hub.baseURL) { transport in
                let up = Self.sender(try Self.client(transport, hub), state)
                let sent = await up.sendWaiting()
                guard case .sent? = sent.first else { Issue.record("not sent: \(sent)"); return }
            }
        }
    }

    /// An upload cut off part-way (the hub holds a prefix and a first piece) is continued from the
    /// hub's offset by the next run, not started again.
    @Test func interruptedUploadResumesFromTheHubsOffset() async throws {
        try await TestHub.with { hub in
            let envelope = try await hub.envelope(rows: 200)
            let bytes = try envelope.bytes()
            let start = try await hub.signed(.post, "/v1/uploads", body: try envelope.prefix(of: bytes), headers: [("Upload-Length", String(bytes.count))])
            let id = try start.json().string("upload_id")
            let offset = try start.json().integer("offset")
            #expect(try await hub.signed(.patch, "/v1/uploads/\(id)", body: Array(bytes[offset..<(offset + 4096)]),
                                         headers: [("Upload-Offset", String(offset))]).status == 204)

            let state = try AgentState.fresh(beside: hub)
            let name = try state.enqueue(envelope.path)
            try state.recordUpload(id: id, for: try EnvelopeFile(path: "\(state.outbox)/\(name)"))
            try await HTTPHubTransport.with(baseURL: hub.baseURL) { transport in
                let sender = Self.sender(try Self.client(transport, hub), state)
                let outcome = await sender.sendWaiting()
                guard case .sent(_, let receipt)? = outcome.first else { Issue.record("not sent: \(outcome)"); return }
                #expect(receipt.receipt.uploadID == id)
                let uploads = try await hub.store.uploads(limit: 10)
                #expect(uploads.count == 1)
            }
        }
    }

    /// The agent's client for the test hub's agency.
    static func client(_ transport: HTTPHubTransport, _ hub: TestHub) throws -> HubClient {
        try HubClient(transport: transport, signingKey: hub.agency, receiptKey: hub.hubSigning.publicKey)
    }

    /// A sender with quick retries, so that a test of an unreachable hub stays short.
    static func sender(_ client: HubClient, _ state: AgentState) -> OutboxSender {
        OutboxSender(client: client, state: state, retry: RetryPolicy(attempts: 2, initialDelay: 0.01, maximumDelay: 0.02))
    }
}

extension AgentState {
    /// A prepared state directory of its own, in a scratch directory of `hub`.
    static func fresh(beside hub: TestHub) throws -> AgentState {
        let state = AgentState(root: try hub.scratchDirectory() + "/agent")
        try state.prepare()
        return state
    }

    /// Puts a copy of an envelope in the outbox, as sealing does; returns its name there.
    func enqueue(_ path: String) throws -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        try FileManager.default.copyItem(atPath: path, toPath: "\(outbox)/\(name)")
        return name
    }
}
