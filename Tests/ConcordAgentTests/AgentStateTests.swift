import ConcordAgent
import ConcordCore
import Crypto
import Foundation
import Testing

@Suite("Agent state directory, sealing and receipts")
struct AgentStateTests {
    static func sidecar(_ envelope: EnvelopeFile) -> String {
        String(envelope.path.dropLast(".envelope".count)) + ".upload"
    }

    @Test("fields outside the agreement, identifiers and free text never reach the payload")
    func minimised() async throws {
        let fixture = try AgentFixture()
        let outcome = try await fixture.seal(badRows: 1)
        #expect(outcome.heldBecause == nil)
        let (manifest, payload) = try openEnvelope(outcome.sealed.path)
        let setup = try fixture.setup()
        let release = try #require(setup.sealers["police_da_incidents"]).release
        let header = try #require(payload.split(separator: "\n").first).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(manifest.columns == release.columns)
        #expect(header == release.columns)
        for forbidden in ["INCIDENT_REF", "NOMINAL_ID", "FORENAME", "SURNAME", "DOB", "INCIDENT_HOUR", "OFFICER_NARRATIVE"] {
            #expect(!header.contains(forbidden))
        }
        for secret in PoliceExtract.secrets { #expect(!payload.contains(secret), "\(secret) is in the payload") }
        #expect(manifest.rows == 2 && manifest.agency == "essex-police" && manifest.agreements == ["early-help-domestic-abuse.v1"])
        #expect(manifest.linkageKeyID == TestKeys.linkage.id)
        // The rejected row is described at the agency, without its values.
        let rejects = try String(contentsOfFile: try #require(outcome.sealed.summary.rejectsPath), encoding: .utf8)
        #expect(rejects.contains("4,DOB,"))
        for secret in PoliceExtract.secrets { #expect(!rejects.contains(secret)) }
        #expect(outcome.sealed.summary.rejectsPath?.hasPrefix(setup.state.rejects) == true)
    }

    @Test("above max_reject_share the envelope is sealed into held/ with the reason, never into the outbox")
    func rejectShareHold() async throws {
        let fixture = try AgentFixture(maximumRejectShare: "0.2")
        let outcome = try await fixture.seal(badRows: 1)
        let problem = try #require(outcome.heldBecause)
        let state = try fixture.setup().state
        let name = (outcome.sealed.path as NSString).lastPathComponent
        #expect(outcome.sealed.path == "\(state.held)/\(name)")
        #expect(problem.code == AgentSetup.rejectShareCode)
        #expect(problem.detail.contains("1 of 3 rows") && problem.detail.contains("concord agent release \(name)"))
        #expect(state.waiting().envelopes.isEmpty)
        #expect(state.problem(ofHeld: name) == problem)
        #expect(AgentStatus(state: state).held.map(\.name) == [name])

        // Released, it waits in the outbox like any other.
        try state.release(name)
        #expect(state.waiting().envelopes.map(\.name) == [name])
        #expect(!FileManager.default.fileExists(atPath: outcome.sealed.path))
        #expect(throws: AgentStateError.self) { try state.release(name) }
    }

    @Test("at or below max_reject_share the envelope waits in the outbox")
    func rejectShareBelow() async throws {
        let fixture = try AgentFixture(maximumRejectShare: "0.34")
        let outcome = try await fixture.seal(badRows: 1)
        #expect(outcome.heldBecause == nil)
        #expect(try fixture.setup().state.waiting().envelopes.map(\.path) == [outcome.sealed.path])
    }

    @Test("the outbox is sent oldest first; upload records belong to one envelope")
    func ordering() async throws {
        let fixture = try AgentFixture()
        let setup = try fixture.setup()
        try setup.state.prepare()
        let extract = try fixture.writeExtract("police-2026-11-21.csv")
        let sealer = try #require(setup.sealers["police_da_incidents"])
        var paths: [String] = []
        for day in ["2026-11-23", "2026-11-21", "2026-11-22"] {
            paths.append(try await sealer.seal(extract: extract, extractDate: CivilDate(iso: day)!, rejectsPath: setup.state.rejects + "/r.csv",
                                               workingDirectory: setup.state.outbox) { _ in setup.state.outbox }.path)
            // `created` has whole seconds: space the envelopes so their order is their making.
            try await Task.sleep(for: .milliseconds(1100))
        }
        let waiting = setup.state.waiting()
        #expect(waiting.envelopes.map(\.path) == paths)
        #expect(waiting.unreadable.isEmpty)

        let first = waiting.envelopes[0], second = waiting.envelopes[1]
        try setup.state.recordUpload(id: "0d6f7a52-8c1e-4b7a-9f00-5a1c2e3d4f60", for: first)
        #expect(setup.state.uploadID(for: first) == "0d6f7a52-8c1e-4b7a-9f00-5a1c2e3d4f60")
        #expect(setup.state.uploadID(for: second) == nil)
        // A record copied beside another envelope is not taken for its own.
        try FileManager.default.copyItem(atPath: Self.sidecar(first), toPath: Self.sidecar(second))
        #expect(setup.state.uploadID(for: second) == nil)
    }

    @Test("an unreadable file in the outbox is reported and left alone")
    func unreadable() async throws {
        let fixture = try AgentFixture()
        let state = try fixture.setup().state
        try state.prepare()
        try Data("not an envelope".utf8).write(to: URL(fileURLWithPath: "\(state.outbox)/junk.envelope"))
        let waiting = state.waiting()
        #expect(waiting.envelopes.isEmpty && waiting.unreadable.map(\.name) == ["junk.envelope"])
        #expect(FileManager.default.fileExists(atPath: "\(state.outbox)/junk.envelope"))
    }

    @Test("the prefix is bytes 0 ..< 116+M: header, signature and encapsulated key")
    func prefix() async throws {
        let fixture = try AgentFixture()
        let outcome = try await fixture.seal()
        let envelope = try EnvelopeFile(path: outcome.sealed.path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: envelope.path)))
        let manifestLength = Int(bytes[16]) << 24 | Int(bytes[17]) << 16 | Int(bytes[18]) << 8 | Int(bytes[19])
        #expect(envelope.prefixLength == 116 + manifestLength)
        #expect(envelope.length == bytes.count)
        let manifestBytes = Array(bytes[20..<(20 + manifestLength)])
        #expect(manifestBytes == envelope.manifest.json.bytes)
        #expect(envelope.manifestSHA256 == SHA256.hash(data: manifestBytes).map { String(format: "%02x", $0) }.joined())
        #expect(envelope.headerDigest == outcome.sealed.headerDigest)
        #expect(try envelope.read(offset: 0, count: envelope.prefixLength) == Array(bytes[..<envelope.prefixLength]))
        #expect(try envelope.read(offset: bytes.count - 10, count: 100) == Array(bytes.suffix(10)))

        #expect(try EnvelopeFile.prefixLength(Array(bytes.prefix(20))) == envelope.prefixLength)
        #expect(throws: EnvelopeFileError.self) { try EnvelopeFile.prefixLength(Array(repeating: 0, count: 20)) }
        #expect(throws: EnvelopeFileError.self) { try EnvelopeFile.prefixLength(Array(bytes.prefix(19))) }
        // A file that ends inside its prefix is not an envelope to send.
        let cut = fixture.directory.file("cut.envelope")
        try Data(bytes.prefix(envelope.prefixLength)).write(to: URL(fileURLWithPath: cut))
        #expect(throws: EnvelopeFileError.self) { try EnvelopeFile(path: cut) }
    }

    @Test("a receipt is accepted only when the pinned key signed it for exactly this envelope")
    func receipts() async throws {
        let fixture = try AgentFixture()
        let envelope = try EnvelopeFile(path: try await fixture.seal().sealed.path)
        let pinned = TestKeys.hubSigning.publicKey
        let good = try receipt(for: envelope)
        #expect(throws: Never.self) { try VerifiedReceipt(good, for: envelope, hubKey: pinned) }

        var tampered = good
        tampered.receipt.rowsLoaded += 1
        #expect(throws: ReceiptError.badSignature) { try VerifiedReceipt(tampered, for: envelope, hubKey: pinned) }
        var flipped = good
        flipped.signature[0] ^= 1
        #expect(throws: ReceiptError.badSignature) { try VerifiedReceipt(flipped, for: envelope, hubKey: pinned) }
        // Signed by another key that claims the pinned key's id: the signature gives it away.
        var impostor = try receipt(for: envelope, key: TestKeys.otherHubSigning)
        impostor.receipt.hubKeyID = pinned.id
        impostor = try impostor.receipt.signed(with: TestKeys.otherHubSigning.signingKey())
        #expect(throws: ReceiptError.badSignature) { try VerifiedReceipt(impostor, for: envelope, hubKey: pinned) }
        #expect(throws: ReceiptError.self) { try VerifiedReceipt(try receipt(for: envelope, key: TestKeys.otherHubSigning), for: envelope, hubKey: pinned) }
        for mismatched in [try receipt(for: envelope, rows: 3), try receipt(for: envelope, headerDigest: String(repeating: "a", count: 64))] {
            #expect(throws: ReceiptError.self) { try VerifiedReceipt(mismatched, for: envelope, hubKey: pinned) }
        }
    }

    @Test("backoff waits between zero and a ceiling that doubles up to the maximum")
    func backoff() {
        let policy = RetryPolicy(attempts: 10, initialDelay: 0.5, maximumDelay: 5)
        #expect((1...7).map(policy.ceiling(afterFailure:)) == [0.5, 1, 2, 4, 5, 5, 5])
        #expect(policy.ceiling(afterFailure: 5000) == 5)
        var generator = SystemRandomNumberGenerator()
        for failure in 1...8 {
            let delays = (0..<500).map { _ in policy.delay(afterFailure: failure, using: &generator) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 <= policy.ceiling(afterFailure: failure) })
            // Full jitter spreads the waits over the whole range rather than bunching them at the ceiling.
            #expect(delays.contains { $0 < policy.ceiling(afterFailure: failure) / 2 })
            #expect(delays.contains { $0 > policy.ceiling(afterFailure: failure) / 2 })
        }
    }

    @Test("status lists waiting, sent (with receipt ids) and held envelopes, and when each dataset was last sent")
    func status() async throws {
        let fixture = try AgentFixture()
        let state = try fixture.setup().state
        let sent = try EnvelopeFile(path: try await fixture.seal().sealed.path)
        let signed = try receipt(for: sent)
        try state.markSent(sent, receipt: try VerifiedReceipt(signed, for: sent, hubKey: TestKeys.hubSigning.publicKey))
        try await Task.sleep(for: .milliseconds(1100))
        let waiting = try EnvelopeFile(path: try await fixture.seal().sealed.path)

        let status = AgentStatus(state: state)
        #expect(status.waiting.map(\.name) == [waiting.name])
        #expect(status.sent.map(\.receiptID) == [signed.receipt.receiptID])
        #expect(status.sent.first?.rowsLoaded == 2)
        #expect(status.lastSent == ["police_da_incidents": "2026-11-22T02:31:00Z"])
        #expect(status.text.contains(signed.receipt.receiptID))
        let json = String(decoding: status.json.bytes, as: UTF8.self)
        #expect(json.contains("\"receipt_id\":\"\(signed.receipt.receiptID)\""))
        // The filed receipt can be read back and verified again, byte for byte.
        let filed = try Data(contentsOf: URL(fileURLWithPath: "\(state.sent)/\(sent.name.dropLast(".envelope".count)).receipt.json"))
        #expect(try SignedUploadReceipt(canonical: Array(filed)) == signed)
    }

    @Test("snapshot takes the newest matching extract; append takes each new one once")
    func extractSelection() async throws {
        let snapshot = try AgentFixture()
        _ = try snapshot.writeExtract("police-a.csv")
        try await Task.sleep(for: .milliseconds(20))
        let newest = try snapshot.writeExtract("police-0.csv")
        _ = try snapshot.writeExtract("other.csv")
        let setup = try snapshot.setup()
        #expect(try setup.extracts(for: setup.configuration.datasets[0]) == [newest])

        let append = try AgentFixture(mode: "append")
        let first = try append.writeExtract("police-1.csv")
        let second = try append.writeExtract("police-2.csv")
        let appending = try append.setup()
        try appending.state.prepare()
        let dataset = appending.configuration.datasets[0]
        #expect(try appending.extracts(for: dataset) == [first, second])
        _ = try await appending.seal(dataset: dataset.name, extract: first, extractDate: CivilDate(iso: "2026-11-21")!)
        #expect(try appending.extracts(for: dataset) == [second])
    }
}
