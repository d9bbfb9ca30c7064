import ConcordCore
import ConcordFiles
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// Retention (docs/retention.md) against a real hub and database, with the purge's day given
/// rather than waited for: boundaries, overlapping agreements, crashes, certificates, lifecycle.
@Suite(.serialized) struct RetentionTests {
    static let youthViolence = "youth-violence-vulnerability"

    @Test func overlappingAgreementsKeepRowsUntilTheLatestRetentionEndsWithSignedCertificates() async throws {
        try await TestHub.with { hub in
            let today = try hub.today
            let envelope = try await hub.envelope(rows: 120, agreements: [TestHub.agreement, Self.youthViolence])
            #expect(try await hub.upload(envelope).status == 200)
            let earlyHelp = try hub.retention(TestHub.agreement).after(today)
            let youth = try hub.retention(Self.youthViolence).after(today)
            #expect(youth < earlyHelp, "the shipped agreements keep police incidents P18M and P2Y")

            let schedule = try await hub.store.retentionSchedule(on: today, catalogue: hub.catalogue)
            let extract = try #require(schedule.extracts.first)
            #expect(schedule.extracts.count == 1 && extract.rows == 120)
            #expect(Set(extract.holds.map(\.agreementID)) == [TestHub.agreement, Self.youthViolence])
            #expect(extract.holds.first { $0.agreementID == Self.youthViolence }?.ends == youth)
            #expect(extract.purgeOn == earlyHelp, "kept until the latest retention ends")

            let purger = try hub.purger()
            // A day before the first hold ends: nothing.
            #expect(try await purger.purge(on: youth.adding(days: -1), now: 0).jobs.isEmpty)
            // The youth violence hold ends: the rows stay (early help holds them) but are released.
            let release = try await purger.purge(on: youth, now: 1_900_000_000)
            #expect(release.jobs.count == 1)
            let released = try #require(release.certificates.first)
            #expect(release.certificates.count == 1)
            #expect(released["agreement"] == Self.youthViolence && released["dataset"] == "police_da_incidents" && released["agency"] == TestHub.agencyID)
            #expect(released.integer("rows_deleted") == 0)
            #expect(String(decoding: released.body.bytes, as: UTF8.self).contains(#""disposition":"released","extract":\#(extract.extractID),"kept_under":["\#(TestHub.agreement)"]"#))
            #expect(try await hub.count("SELECT count(*) FROM current_police_da_incidents") == 120)
            #expect(try await hub.count("SELECT count(*) FROM extract_retention WHERE released_at IS NOT NULL") == 1)

            // The day before the latest hold ends: nothing more; on the day: deleted; after: nothing to do.
            #expect(try await purger.purge(on: earlyHelp.adding(days: -1), now: 0).jobs.isEmpty)
            _ = try await hub.store.updateLinkages(catalogue: hub.catalogue, actor: .hub) { $0.id == TestHub.agreement }
            #expect(try await hub.count("SELECT count(*) FROM linkage_nodes WHERE agreement_id = \(TestHub.agreement)") > 0)
            let purge = try await purger.purge(on: earlyHelp, now: 1_950_000_000)
            let certificate = try #require(purge.certificates.first)
            #expect(purge.certificates.count == 1)
            #expect(certificate["agreement"] == TestHub.agreement && certificate["purge_date"] == earlyHelp.description)
            #expect(certificate.integer("rows_deleted") == 120 && certificate.entries == 1)
            #expect(certificate["completed_at"] == CivilDate.utcTimestamp(secondsSinceEpoch: 1_950_000_000))
            #expect(String(decoding: certificate.body.bytes, as: UTF8.self).contains(#""receipt_sha256":"\#(extract.receiptSHA256)""#))
            #expect(try await hub.count("SELECT count(*) FROM ds_police_da_incidents") == 0)
            #expect(try await hub.store.extract(id: extract.extractID)?.state == .purged)
            #expect(try await hub.count("SELECT count(*) FROM linkage_nodes WHERE agreement_id = \(TestHub.agreement)") == 0,
                    "the purge relinks: nodes of purged rows disappear")
            #expect(try await purger.purge(on: earlyHelp.adding(days: 1), now: 0).jobs.isEmpty)

            // Both certificates are in the audit log, signed by the hub's key and by no other.
            let stored = try await hub.store.auditEntries(filter: AuditFilter(actions: [DeletionCertificate.auditAction])).compactMap(DeletionCertificate.init(auditRecord:))
            #expect(stored == [released, certificate])
            #expect(stored.allSatisfy { $0.isSigned(by: hub.hubSigning.publicKey) })
            #expect(!stored.contains { $0.isSigned(by: PrivateKeyDocument.generate(.hubSigning, owner: "hub").publicKey) })
            var forged = certificate
            forged.body = try CanonicalJSON(canonical: Array(String(decoding: certificate.body.bytes, as: UTF8.self)
                .replacingOccurrences(of: "\"rows_deleted\":120", with: "\"rows_deleted\":12").utf8))
            #expect(!forged.isSigned(by: hub.hubSigning.publicKey))
            #expect(try await hub.store.verifyAuditLog().isIntact)
        }
    }

    @Test func aPurgeInterruptedMidwayIsFinishedByTheNextRun() async throws {
        try await TestHub.with { hub in
            let today = try hub.today
            #expect(try await hub.upload(try await hub.envelope(rows: 120)).status == 200)
            let due = try #require(try await hub.store.retentionSchedule(on: today, catalogue: hub.catalogue).extracts.first?.purgeOn)

            // One batch of 50 rows, then the "crash".
            let interrupted = try await hub.purger(batchSize: 50).purge(on: due, now: 0, maxBatches: 1)
            #expect(interrupted.interrupted && interrupted.certificates.isEmpty)
            #expect(try await hub.count("SELECT count(*) FROM ds_police_da_incidents") == 70)
            #expect(try await hub.count("SELECT count(*) FROM current_police_da_incidents") == 0, "what is due is unreadable from the first step")
            let running = try #require(try await hub.store.runningPurge())
            #expect(try await hub.count("SELECT count(*) FROM purge_jobs WHERE state = 'running'") == 1)
            #expect(try await hub.store.auditEntries(filter: AuditFilter(actions: [DeletionCertificate.auditAction])).isEmpty)

            // The next run, even on a later day, finishes that purge first.
            let finished = try await hub.purger(batchSize: 50).purge(on: due.adding(days: 3), now: 0)
            #expect(finished.jobs.map(\.id) == [running.id])
            #expect(finished.certificates.count == 1 && finished.certificates.first?.integer("rows_deleted") == 120)
            #expect(finished.certificates.first?["purge_date"] == due.description)
            #expect(try await hub.count("SELECT count(*) FROM ds_police_da_incidents") == 0)
            #expect(try await hub.count("SELECT count(*) FROM purge_jobs WHERE state = 'running'") == 0)
            #expect(try await hub.store.runningPurge() == nil)
            #expect(try await hub.store.verifyAuditLog().isIntact)
        }
    }

    @Test func suspensionAndTerminationRefuseAtOnceAndTerminationPurgesWithinItsPeriod() async throws {
        try await TestHub.with { hub in
            let today = try hub.today
            #expect(try await hub.upload(try await hub.envelope(rows: 60)).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            let approver = try await hub.person("i-thackeray", .igOfficer)
            let asked = try await hub.ask(analyst, fields: ["police_da_incidents.GENDER"])
            #expect(try await hub.decide(try asked.requestID, "approve", token: approver).state == "ready")
            let link = try await hub.call(.post, "/v1/requests/\(try asked.requestID)/links", token: analyst)
            #expect(link.status == 201)

            // Suspended: the in-flight download, new requests and uploads are refused at once.
            try await hub.store.changeAgreementState(id: TestHub.agreement, to: .suspended, reason: "audit finding", on: today, by: .user("i-thackeray"))
            let refused = try await hub.call(.get, try link.json().string("path"), token: analyst)
            #expect(refused.status == 410 && refused.text.contains("not in force"), "\(refused.text)")
            let refusedRequest = try await hub.ask(analyst, fields: ["police_da_incidents.GENDER"])
            #expect(refusedRequest.status == 403 && refusedRequest.text.contains("request.refused"), "\(refusedRequest.text)")
            #expect(try await hub.upload(try await hub.envelope(rows: 10, seed: 2)).status != 200)

            // Terminated: still refused; its data is due for deletion delete_within (P30D) after today.
            try await hub.store.changeAgreementState(id: TestHub.agreement, to: .terminated, reason: "partnership ended", on: today, by: .user("i-thackeray"))
            await #expect(throws: HubStoreError.self) {
                try await hub.store.changeAgreementState(id: TestHub.agreement, to: .suspended, reason: "again", on: today, by: .user("i-thackeray"))
            }
            let deadline = try #require(ISODuration("P30D")).after(today)
            let schedule = try await hub.store.retentionSchedule(on: today, catalogue: hub.catalogue)
            #expect(schedule.extracts.first?.purgeOn == deadline)
            #expect(schedule.outputs.first?.purgeOn == deadline)
            let outputFile = "\(hub.directory)/hub/outputs/\(try asked.requestID.lowercased()).csv"
            #expect(FileManager.default.fileExists(atPath: outputFile))
            #expect(try await hub.purger().purge(on: deadline.adding(days: -1), now: 0).jobs.isEmpty)
            let purge = try await hub.purger().purge(on: deadline, now: 0)
            #expect(purge.certificates.map(\.subject).sorted() == ["\(TestHub.agreement)/outputs", "\(TestHub.agreement)/police_da_incidents/\(TestHub.agencyID)"])
            #expect(!FileManager.default.fileExists(atPath: outputFile))
            #expect(try await hub.count("SELECT count(*) FROM ds_police_da_incidents") == 0)
            #expect(try await hub.count("SELECT count(*) FROM linkage_nodes WHERE agreement_id = \(TestHub.agreement)") == 0)
            let actions = try await hub.store.auditEntries(limit: 100_000).map(\.entry.action)
            #expect(actions.contains("agreement.suspend") && actions.contains("agreement.terminate") && actions.contains("purge.start"))
        }
    }

    /// A new version whose document says `terminated` ends the agreement the day it is applied,
    /// as a termination at the hub does: its data is due `delete_within` (P30D) later.
    @Test func aVersionSayingTerminatedEndsTheAgreementTheDayItIsApplied() async throws {
        try await TestHub.with { hub in
            let today = try hub.today
            #expect(try await hub.upload(try await hub.envelope(rows: 20)).status == 200)
            let running = try #require(try await hub.store.retentionSchedule(on: today, catalogue: hub.catalogue).extracts.first?.purgeOn)
            let deadline = try #require(ISODuration("P30D")).after(today)
            #expect(running > deadline, "while it runs, the extract's own retention counts")
            try await hub.applyVariant(of: TestHub.agreement, [("\nversion: 1\n", "\nversion: 2\n"), ("status: active", "status: terminated")])
            let schedule = try await hub.store.retentionSchedule(on: today, catalogue: hub.catalogue)
            #expect(schedule.extracts.first?.purgeOn == deadline)
            #expect(try await hub.store.heldAgreements(catalogue: hub.catalogue)[TestHub.agreement]?.ended(on: today) == today)
        }
    }

    @Test func agreementsAreSuspendedThroughTheAPIByAdminsAndTheirOwnIGContacts() async throws {
        try await TestHub.with { hub in
            let stranger = try await hub.person("someone-else", .igOfficer)
            let admin = try await hub.person("ops", .admin)
            let refused = try await hub.call(.post, "/v1/agreements/\(TestHub.agreement)/suspend", token: stranger, json: ["reason": "no"])
            #expect(refused.status == 403 && refused.text.contains("agreement.not-a-contact"))
            let noReason = try await hub.call(.post, "/v1/agreements/\(TestHub.agreement)/terminate", token: admin, json: ["reason": " "])
            #expect(noReason.status == 400 && noReason.problemCode == "request.invalid", "a blank reason is bad input: \(noReason.text)")
            let suspended = try await hub.call(.post, "/v1/agreements/\(TestHub.agreement)/suspend", token: admin, json: ["reason": "DPIA review"])
            let status = try suspended.json().string("status")
            #expect(suspended.status == 200 && status == "suspended", "\(suspended.text)")
            #expect(try await hub.store.agreementsInForce(catalogue: hub.catalogue, on: try hub.today)[TestHub.agreement] == nil)
            #expect(try await hub.upload(try await hub.envelope(rows: 10)).status != 200)
            let metrics = try await hub.send(.get, "/metrics")
            #expect(metrics.text.contains("concord_agreement_reviews"))
        }
    }

    @Test func reviewStatesCountThirtyDaysAhead() throws {
        let text = try DocumentFiles.readText(repositoryRoot.appendingPathComponent("Agreements/\(TestHub.agreement).v1.yaml").path)
        let catalogue = try DocumentFiles.loadCatalogue(repositoryRoot.appendingPathComponent("Schemas/datasets").path)
        let agreement = try Agreement(yaml: text, file: TestHub.agreement, catalogue: catalogue)
        let review = agreement.nextReview
        #expect(ReviewState(agreement, on: review.adding(days: -31)) == .notDue)
        #expect(ReviewState(agreement, on: review.adding(days: -30)) == .due)
        #expect(ReviewState(agreement, on: review) == .due)
        #expect(ReviewState(agreement, on: review.adding(days: 1)) == .overdue)
    }
}

extension TestHub {
    /// The hub's UTC date, as its clock gives it to ingest.
    var today: CivilDate {
        get throws { try #require(CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970)) }
    }

    /// How long the shipped agreement keeps police incidents.
    func retention(_ agreement: String) throws -> ISODuration {
        let text = try DocumentFiles.readText(repositoryRoot.appendingPathComponent("Agreements/\(agreement).v1.yaml").path)
        return try #require(try Agreement(yaml: text, file: agreement, catalogue: catalogue).permission(for: "police_da_incidents")?.permission.retention)
    }

    func purger(batchSize: Int = 10_000) throws -> RetentionPurger {
        try RetentionPurger(store: store, catalogue: catalogue,
                            keys: HubKeys(encryption: hubEncryption, signing: hubSigning, personIDSecret: PersonIDSecret.generate()),
                            dataDirectory: directory + "/hub", batchSize: batchSize)
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await store.client.query(query, logger: store.logger).collect().first?.decode(Int.self) ?? -1
    }
}

extension CivilDate {
    func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + days)! }
}
