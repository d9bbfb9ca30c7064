import ConcordAgent
import ConcordCore
import ConcordHub
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Crypto
import Foundation
import Testing

/// Key rotation (issue 8): agency keys with overlap and revocation, hub keys with an overlap
/// window, and linkage key versions, against a real hub and database.
@Suite(.serialized) struct KeyRotationTests {
    /// The overlap window's boundaries, with the day given rather than waited for: an envelope
    /// sealed to the previous hub key opens on every day through `not_after` and is refused, naming
    /// the key, the day after; one sealed to the current key opens whatever the day.
    @Test func envelopesSealedToAPreviousHubKeyAreAcceptedThroughItsNotAfterDay() throws {
        let notAfter = try #require(CivilDate(iso: "2026-12-31"))
        let old = PrivateKeyDocument.generate(.hubEncryption, owner: "hub")
        let current = PrivateKeyDocument.generate(.hubEncryption, owner: "hub")
        let keys = try HubKeys(encryption: current, signing: PrivateKeyDocument.generate(.hubSigning, owner: "hub"), personIDSecret: PersonIDSecret.generate(),
                               previous: [(encryption: old, signing: PrivateKeyDocument.generate(.hubSigning, owner: "hub"), notAfter: notAfter)])
        let agency = Curve25519.Signing.PrivateKey()
        let payload = Array("a,b\n1,2\n".utf8)
        func seal(to key: PrivateKeyDocument) throws -> [UInt8] {
            let manifest = EnvelopeManifest(agency: "essex-police", dataset: "police_da_incidents", schemaVersion: 1, agreements: ["early-help-domestic-abuse.v1"],
                                            extractDate: notAfter, rows: 1, columns: ["a", "b"], linkageKeyID: "lk1-0123456789abcdef", payloadBytes: payload.count,
                                            payloadSHA256: SHA256.hash(data: payload).lowercaseHex, created: "2026-11-22T01:02:03Z")
            var sealer = try EnvelopeSealer(manifest: manifest, hubKey: try key.publicKey.encryptionKey(), signingKey: agency)
            var envelope = sealer.header
            envelope += try sealer.append(payload[...])
            envelope += try sealer.finish()
            return envelope
        }
        /// The refusal for `envelope` on `today`, or `nil` when it opens and is accepted.
        func refusal(_ envelope: [UInt8], on today: CivilDate) throws -> String? {
            let envelopeKeys = EnvelopeKeys(hub: keys.opening(today: today), agency: "essex-police", agencyKeys: [AcceptedKey(agency.publicKey)])
            var opener = envelopeKeys.opener()
            var plaintext = try opener.consume(envelope)
            plaintext += try opener.finish()
            #expect(plaintext == payload)
            return envelopeKeys.refusal(opener)
        }
        let sealedToOld = try seal(to: old)
        #expect(try refusal(sealedToOld, on: notAfter.adding(days: -1)) == nil)
        #expect(try refusal(sealedToOld, on: notAfter) == nil)
        let after = try #require(try refusal(sealedToOld, on: notAfter.adding(days: 1)))
        #expect(after.contains(old.publicKey.id) && after.contains("retired after 2026-12-31") && after.contains(keys.encryptionPublic.id))
        #expect(try refusal(try seal(to: current), on: notAfter.adding(days: 400)) == nil)
        // Sealed to a key the hub does not hold: no key opens it.
        #expect(throws: EnvelopeError.chunkRejected(0)) { try refusal(try seal(to: .generate(.hubEncryption, owner: "hub")), on: notAfter) }
    }

    /// `keys.previous` in the hub's configuration: paths resolved, the day read, every problem named.
    @Test func previousHubKeysAreReadFromTheConfiguration() throws {
        let text = """
            format: concord-hub/1
            data_dir: hub
            keys:
              encryption: keys-2025/hub-encryption.key
              signing: keys-2025/hub-signing.key
              previous:
                - {encryption: keys-2024/hub-encryption.key, signing: /keys/hub-signing.key, not_after: 2026-03-31}
            schemas_dir: schemas

            """
        let configuration = try HubConfiguration(yaml: text, file: "hub.yaml", directory: "/etc/concord")
        let previous = try #require(configuration.previousKeys.first)
        #expect(configuration.previousKeys.count == 1 && previous.encryptionKeyPath == "/etc/concord/keys-2024/hub-encryption.key")
        #expect(previous.signingKeyPath == "/keys/hub-signing.key" && previous.notAfter == CivilDate(year: 2026, month: 3, day: 31))
        let broken = try #require(throws: InvalidDocumentError.self) {
            try HubConfiguration(yaml: text.replacingOccurrences(of: ", not_after: 2026-03-31", with: ", not_after: 2026-02-30"), file: "hub.yaml", directory: "/")
        }
        #expect(broken.problems.contains { $0.path == "keys.previous[0].not_after" && $0.line == 7 }, "\(broken)")
        let missing = try #require(throws: InvalidDocumentError.self) {
            try HubConfiguration(yaml: text.replacingOccurrences(of: ", not_after: 2026-03-31", with: ""), file: "hub.yaml", directory: "/")
        }
        #expect(missing.problems.contains { $0.path.hasPrefix("keys.previous[0]") && $0.description.contains("not_after") }, "\(missing)")
    }

    /// An agency holds two keys at once, uploads with either, then the old one is revoked: requests
    /// signed with it and envelopes whose header it signed are refused, naming it, and audited.
    @Test(.enabled(if: databaseAvailable)) func agencyKeysOverlapAndRevokedKeysAreRefusedAndAudited() async throws {
        try await TestHub.with { hub in
            let old = hub.agency
            let new = PrivateKeyDocument.generate(.agencySigning, owner: TestHub.agencyID)
            try await hub.store.addAgencyKey(agency: TestHub.agencyID, publicKey: new.publicKey, reason: "rotation", by: .operator("tests"))
            // Overlap: an envelope signed with the old key, sent with requests signed by the new one, and the reverse.
            #expect(try await hub.upload(try await hub.envelope(rows: 30, seed: 1), as: new).status == 200)
            #expect(try await hub.upload(try await hub.envelope(rows: 30, seed: 2, sender: new), as: old).status == 200)

            let pending = try await hub.envelope(rows: 30, seed: 3)
            try await hub.store.revokeAgencyKey(agency: TestHub.agencyID, keyID: old.publicKey.id, reason: "replaced", by: .operator("tests"))
            let request = try await hub.signed(.get, "/v1/uploads/\(UUID().uuidString.lowercased())", key: old)
            #expect(request.status == 401 && request.problemCode == "auth.revoked-key", "\(request.text)")
            #expect(request.text.contains(old.publicKey.id))
            let envelope = try await hub.upload(pending, as: new)
            #expect(envelope.status == 403 && envelope.problemCode == "upload.revoked-key", "\(envelope.text)")
            #expect(envelope.text.contains(old.publicKey.id) && envelope.text.contains("replaced"))
            #expect(try await hub.upload(try await hub.envelope(rows: 30, seed: 4, sender: new), as: new).status == 200)

            try await hub.refusals.flush()
            let entries = try await hub.store.auditEntries().map(\.entry)
            #expect(entries.contains { $0.action == "agency.key-add" && $0.subject == TestHub.agencyID })
            #expect(entries.contains { $0.action == "agency.key-revoke" && $0.subject == TestHub.agencyID })
            #expect(entries.contains { $0.action == "request.refused" && String(decoding: $0.details.bytes, as: UTF8.self).contains("auth.revoked-key") })
            #expect(entries.contains { $0.action == "upload.refused" && String(decoding: $0.details.bytes, as: UTF8.self).contains(old.publicKey.id) })
        }
    }

    /// Through the real hub: an envelope sealed to a previous hub key whose `not_after` is today is
    /// loaded (its receipt signed by the current key); one whose `not_after` was yesterday is refused
    /// at ingest, naming the key, and audited.
    @Test(.enabled(if: databaseAvailable)) func aRealHubHonoursThePreviousKeysOverlapWindow() async throws {
        let today = try #require(CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970))
        let inOverlap = PrivateKeyDocument.generate(.hubEncryption, owner: "hub")
        let retired = PrivateKeyDocument.generate(.hubEncryption, owner: "hub")
        try await TestHub.with(previousKeys: [
            (encryption: inOverlap, signing: PrivateKeyDocument.generate(.hubSigning, owner: "hub"), notAfter: today),
            (encryption: retired, signing: PrivateKeyDocument.generate(.hubSigning, owner: "hub"), notAfter: today.adding(days: -1)),
        ]) { hub in
            let accepted = try await hub.upload(try await hub.envelope(rows: 25, seed: 1, sealedTo: inOverlap))
            #expect(accepted.status == 200, "\(accepted.text)")
            #expect(accepted.text.contains(hub.hubSigning.publicKey.id), "the receipt is signed by the current key")
            let refused = try await hub.upload(try await hub.envelope(rows: 25, seed: 2, sealedTo: retired))
            #expect(refused.status == 422 && refused.problemCode == "upload.refused", "\(refused.text)")
            #expect(refused.text.contains(retired.publicKey.id) && refused.text.contains(hub.hubEncryption.publicKey.id))
            #expect(try await hub.visibleRows("police_da_incidents") == 25)
            let audited = try await hub.store.auditEntries().filter { $0.entry.action == "upload.refused" }
            #expect(audited.count == 1 && String(decoding: audited[0].entry.details.bytes, as: UTF8.self).contains(retired.publicKey.id))
        }
    }

    /// Linkage key rotation end to end: two agencies push under key A, then one and then the other
    /// under key B. Linkage runs under the newest key only, never joins records of two keys, and the
    /// report names the dataset still on the old key until its agency has pushed.
    @Test(.enabled(if: databaseAvailable)) func linkageNeverMixesLinkageKeyVersionsAndReportsDatasetsOnAnotherKey() async throws {
        try await TestHub.with { hub in
            let childrens = PrivateKeyDocument.generate(.agencySigning, owner: "essex-childrens-services")
            _ = try await hub.store.addAgency(id: "essex-childrens-services", name: "Children's services", publicKey: childrens.publicKey, by: .operator("tests"))
            let keyA = hub.linkageKey
            let keyB = try LinkageKey.generate(version: 2)
            func push(_ key: LinkageKey, police: Bool, referrals: Bool) async throws {
                if police { #expect(try await hub.upload(try await hub.envelope(rows: 200, people: 250, linkageKey: key)).status == 200) }
                if referrals {
                    let envelope = try await hub.envelope(rows: 200, people: 250, dataset: .cscReferrals, sender: childrens, linkageKey: key)
                    #expect(try await hub.upload(envelope, as: childrens).status == 200)
                }
            }
            func link() async throws -> LinkageReport {
                try #require(try await hub.store.updateLinkages(catalogue: hub.catalogue, actor: .hub) { $0.id == TestHub.agreement }.first)
            }
            /// Persons with records in both datasets.
            func personsInBoth() async throws -> Int {
                try await hub.count("""
                    SELECT count(*)::bigint FROM (SELECT person FROM linkage_nodes WHERE agreement_id = \(TestHub.agreement)
                    GROUP BY person HAVING count(DISTINCT dataset) = 2) p
                    """)
            }
            func records(_ report: LinkageReport, _ dataset: String) -> Int { report.datasets.first { $0.dataset == dataset }?.records ?? 0 }

            try await push(keyA, police: true, referrals: true)
            let underA = try await link()
            #expect(underA.run.linkageKeyID == keyA.id && (underA.run.datasetsOnOtherLinkageKeys ?? [:]).isEmpty)
            #expect(records(underA, "police_da_incidents") > 0 && records(underA, "csc_referrals") > 0)
            #expect(try await personsInBoth() > 0, "the two agencies' records of the same people link under one key")

            try await push(keyB, police: true, referrals: false)
            let midway = try await link()
            #expect(midway.run.linkageKeyID == keyB.id)
            #expect(midway.run.datasetsOnOtherLinkageKeys == ["csc_referrals": keyA.id])
            #expect(records(midway, "police_da_incidents") > 0 && records(midway, "csc_referrals") == 0)
            #expect(try await personsInBoth() == 0, "records under key A are never linked with records under key B")
            let audited = try #require(try await hub.store.auditEntries().last { $0.entry.action == "linkage.update" })
            #expect(String(decoding: audited.entry.details.bytes, as: UTF8.self).contains(#""datasets_on_other_linkage_keys":{"csc_referrals":"\#(keyA.id)"}"#))

            try await push(keyB, police: false, referrals: true)
            let underB = try await link()
            #expect(underB.run.linkageKeyID == keyB.id && (underB.run.datasetsOnOtherLinkageKeys ?? [:]).isEmpty)
            #expect(records(underB, "police_da_incidents") > 0 && records(underB, "csc_referrals") > 0)
            #expect(try await personsInBoth() > 0)
        }
    }

    /// An agent that pinned the hub's next receipt key (`hub.additional_receipt_keys`) before the
    /// hub switched accepts receipts signed by it; one that did not refuses them.
    @Test(.enabled(if: databaseAvailable)) func agentsAcceptReceiptsOfAPinnedNextKey() async throws {
        try await TestHub.with { hub in
            let retiring = PrivateKeyDocument.generate(.hubSigning, owner: "hub").publicKey
            func attempt(_ body: () async throws -> VerifiedReceipt) async -> Result<VerifiedReceipt, any Error> {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            let (accepted, refused) = try await HTTPHubTransport.with(baseURL: hub.baseURL) { transport in
                var prepared = try HubClient(transport: transport, signingKey: hub.agency, receiptKey: retiring)
                prepared.additionalReceiptKeys = [hub.hubSigning.publicKey]
                let accepted = await attempt { try await prepared.upload(try EnvelopeFile(path: try await hub.envelope(rows: 20, seed: 1).path)) }
                let unprepared = try HubClient(transport: transport, signingKey: hub.agency, receiptKey: retiring)
                return (accepted, await attempt { try await unprepared.upload(try EnvelopeFile(path: try await hub.envelope(rows: 20, seed: 2).path)) })
            }
            #expect(try accepted.get().signed.receipt.hubKeyID == hub.hubSigning.publicKey.id)
            guard case .failure(HubClientError.badReceipt(let reason)) = refused.mapError({ $0 as? HubClientError ?? .local("\($0)") }) else {
                Issue.record("the receipt of an unpinned key was accepted: \(refused)")
                return
            }
            #expect(reason.contains(retiring.id) && reason.contains(hub.hubSigning.publicKey.id), "\(reason)")
        }
    }
}
