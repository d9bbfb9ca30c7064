import ConcordCore
import ConcordFiles
import ConcordHubServer
import ConcordHubStore
import NIOCore
import ConcordTestSupport
import ConcordSynth
import Crypto
import Foundation
import Testing

@Suite("Analyst requests against PostgreSQL", .enabled(if: databaseAvailable))
struct RequestTests {
    /// Each refusal reason of the decision function, through the API: every reason listed, the
    /// request kept as `refused` with them, and audited.
    @Test func refusalsListEveryReason() async throws {
        try await TestHub.with { hub in
            let analyst = try await hub.person("n-carrow", .analyst)
            let stranger = try await hub.person("x-stranger", .analyst)

            let many = try await hub.ask(stranger, purpose: "YV-SVD", datasets: ["police_da_incidents", "school_attendance"],
                                         fields: ["police_da_incidents.GENDER", "police_da_incidents.OFFICER_NARRATIVE"], level: "row_level")
            #expect(many.status == 403 && many.problemCode == "request.refused", "\(many.text)")
            #expect(many.reasonCodes == ["not-a-recipient", "purpose-mismatch", "dataset-not-provided", "field-not-permitted",
                                         "dataset-not-linkable", "row-level-not-permitted"], "\(many.text)")

            let earlyHelp = try DocumentFiles.readText(repositoryRoot.appendingPathComponent("Agreements/early-help-domestic-abuse.v1.yaml").path)
            let linkageBlock = try #require(earlyHelp.range(of: "linkage:\n  permitted: true").map { start in
                String(earlyHelp[start.lowerBound..<earlyHelp.range(of: "\noutputs:")!.lowerBound])
            })
            try await hub.applyVariant(of: "early-help-domestic-abuse", [("id: early-help-domestic-abuse", "id: eh-suspended"), ("status: active", "status: suspended")])
            try await hub.applyVariant(of: "early-help-domestic-abuse", [
                ("id: early-help-domestic-abuse", "id: eh-future"), (#"validity: {start: "2026-04-01", end: "2029-03-31"}"#, #"validity: {start: "2027-06-01", end: "2029-03-31"}"#),
                (#"next_review: "2027-03-31""#, #"next_review: "2028-03-31""#),
            ])
            try await hub.applyVariant(of: "early-help-domestic-abuse", [("id: early-help-domestic-abuse", "id: eh-unlinked"), (linkageBlock, "linkage:\n  permitted: false\n")])
            let expected: [(String, String)] = [("eh-suspended", "not-in-force"), ("eh-future", "outside-validity"), ("eh-unlinked", "linkage-not-permitted")]
            for (agreement, code) in expected {
                let refused = try await hub.ask(analyst, agreement: agreement, datasets: ["police_da_incidents", "csc_referrals"], fields: ["police_da_incidents.GENDER"])
                #expect(refused.status == 403 && refused.reasonCodes == [code], "\(agreement): \(refused.text)")
            }

            // The refusal is kept with its reasons and audited.
            let listed = try await hub.call(.get, "/v1/requests", token: stranger)
            guard case .array(let requests)? = try listed.json()["requests"], case .object(let first)? = requests.first else { throw TestFailure(listed.text) }
            #expect(requests.count == 1 && first["state"] == .string("refused"))
            let id = try first.string("request_id")
            let status = try await hub.call(.get, "/v1/requests/\(id)", token: stranger)
            #expect(status.state == "refused" && status.reasonCodes.count == 6)
            let entries = try await hub.audit(subject: id)
            #expect(entries.map(\.entry.action) == ["request.create"] && entries.first?.entry.outcome == "refused")
            #expect(entries.first?.entry.actor == .user("x-stranger"))

            let invalid = try await hub.call(.post, "/v1/requests", token: analyst, json: ["agreement": "early-help-domestic-abuse", "level": "sideways"])
            #expect(invalid.status == 400 && invalid.problemCode == "request.invalid")
            let unknown = try await hub.ask(analyst, agreement: "no-such-agreement", fields: ["GENDER"])
            #expect(unknown.status == 404 && unknown.problemCode == "request.unknown-agreement")
        }
    }

    /// pending → approved → ready, pending → denied, pending → cancelled, ready → cancelled before
    /// download; who may decide; reasons required; download links single use and expiring; and
    /// the audit entries of all of it.
    @Test func approvalFlowStatesDownloadsAndAudit() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 120)).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            let colleague = try await hub.person("k-osei-bonsu", .analyst)
            let approver = try await hub.person("i-thackeray", .igOfficer)
            let secondApprover = try await hub.person("d-ashworth-hale", .igOfficer)
            let otherOfficer = try await hub.person("b-holloway", .igOfficer)
            let fields = ["police_da_incidents.GENDER"]

            let first = try await hub.ask(analyst, fields: fields)
            #expect(first.status == 201 && first.state == "pending" && first.reasonCodes == ["approval-required"], "\(first.text)")
            let id = try first.requestID

            // Who sees and who may decide.
            #expect(try await hub.call(.get, "/v1/requests/\(id)", token: approver).state == "pending")
            #expect(try await hub.call(.get, "/v1/requests/\(id)", token: otherOfficer).status == 404)
            #expect(try await hub.call(.get, "/v1/requests/\(id)", token: colleague).status == 404)
            let notApprover = try await hub.decide(id, "approve", token: otherOfficer)
            #expect(notApprover.status == 403 && notApprover.problemCode == "request.decision-refused" && notApprover.reasonCodes == ["not-an-approver"])
            let noReason = try await hub.call(.post, "/v1/requests/\(id)/approve", token: approver, json: ["reason": " "])
            #expect(noReason.status == 400 && noReason.problemCode == "request.invalid")
            #expect(try await hub.call(.post, "/v1/requests/\(id)/links", token: analyst).status == 409, "no output while pending")

            let approved = try await hub.decide(id, "approve", token: approver)
            #expect(approved.status == 200 && approved.state == "ready", "\(approved.text)")
            let record = try approved.json()
            #expect(record["decided_by"] == .string("i-thackeray") && record["linkage_report"] == .boolean(true))
            #expect(try await hub.decide(id, "approve", token: secondApprover).status == 409)
            let report = try await hub.call(.get, "/v1/requests/\(id)/linkage-report", token: analyst)
            #expect(report.status == 200 && report.text.contains("\"persons\""), "\(report.text)")

            // Downloads: the requester's own link, once, with the digest in the headers.
            let link = try await hub.call(.post, "/v1/requests/\(id)/links", token: analyst)
            let path = try link.json().string("path")
            #expect(try await hub.call(.get, path, token: approver).status == 404, "a link works only for whoever made it")
            let download = try await hub.call(.get, path, token: analyst)
            #expect(download.status == 200)
            guard case .object(let output)? = record["output"] else { throw TestFailure("no output: \(approved.text)") }
            let digest = SHA256.hash(data: download.body).lowercaseHex
            #expect(download.header("Concord-Output-SHA256") == digest && output["sha256"] == .string(digest))
            #expect(output["bytes"] == .integer(download.body.count))
            #expect(download.header("Concord-Output-Rows").flatMap(Int.init) == (try download.csv.count) - 1)
            // Evidence the analyst holds: the output's entry in the request's answer, the download's by its seq.
            let status = try await hub.call(.get, "/v1/requests/\(id)", token: analyst)
            let outputEvidence = try AuditEvidence(json: try #require(try status.json()["audit"]), hubKey: hub.hubSigning.publicKey)
            #expect(outputEvidence.records(action: "request.output", subject: id, details: ["sha256": .string(digest)]))
            let seq = try #require(download.header("Concord-Audit-Seq"))
            let proof = try await hub.call(.get, "/v1/audit/proofs/inclusion?seq=\(seq)", token: analyst)
            let downloadEvidence = try AuditEvidence(json: try CanonicalJSON(canonical: proof.body), hubKey: hub.hubSigning.publicKey)
            #expect(downloadEvidence.records(action: "request.download", subject: id, details: ["sha256": .string(digest)]))
            #expect(try await hub.call(.get, "/v1/audit/proofs/inclusion?seq=\(seq)", token: colleague).status == 404, "another analyst's entry")
            #expect(try await hub.call(.get, "/v1/audit/proofs/inclusion?seq=\(seq)", token: approver).status == 200, "IG officers see every entry")
            let again = try await hub.call(.get, path, token: analyst)
            #expect(again.status == 410 && again.problemCode == "download.gone")
            #expect(try await hub.call(.post, "/v1/requests/\(id)/cancel", token: analyst).status == 409, "downloaded: too late to cancel")

            // An expired link: made, then aged past its expiry.
            let stale = try await hub.call(.post, "/v1/requests/\(id)/links", token: analyst)
            let token = try stale.json().string("token")
            _ = try await hub.store.withTransaction { transaction in
                try await transaction.query("""
                    UPDATE request_links SET created_at = now() - interval '1 hour', expires_at = now() - interval '1 minute'
                    WHERE token_sha256 = \(ByteBuffer(bytes: SHA256.hash(data: Array(token.utf8))))
                    """)
            }
            let expired = try await hub.call(.get, try stale.json().string("path"), token: analyst)
            #expect(expired.status == 410 && expired.problemCode == "download.gone" && expired.text.contains("expired"))

            // Denied, cancelled while pending, cancelled once ready.
            let denied = try await hub.decide(try await hub.ask(analyst, fields: fields).requestID, "deny", token: secondApprover, reason: "not needed now")
            let deniedRecord = try denied.json()
            #expect(denied.state == "denied" && deniedRecord["decision_reason"] == .string("not needed now"))
            let pending = try await hub.ask(analyst, fields: fields).requestID
            #expect(try await hub.call(.post, "/v1/requests/\(pending)/cancel", token: colleague).status == 404)
            #expect(try await hub.call(.post, "/v1/requests/\(pending)/cancel", token: analyst).state == "cancelled")
            #expect(try await hub.decide(pending, "approve", token: approver).status == 409)
            let ready = try await hub.ask(analyst, fields: fields).requestID
            #expect(try await hub.decide(ready, "approve", token: approver).state == "ready")
            let outputFile = "\(hub.directory)/hub/outputs/\(ready).csv"
            #expect(FileManager.default.fileExists(atPath: outputFile))
            #expect(try await hub.call(.post, "/v1/requests/\(ready)/cancel", token: analyst).state == "cancelled")
            #expect(!FileManager.default.fileExists(atPath: outputFile), "a cancelled output is deleted")

            let listedByAnalyst = try await hub.call(.get, "/v1/requests", token: analyst)
            guard case .array(let mine)? = try listedByAnalyst.json()["requests"] else { throw TestFailure(listedByAnalyst.text) }
            #expect(mine.count == 4)
            let listedByOther = try await hub.call(.get, "/v1/requests", token: otherOfficer)
            #expect((try listedByOther.json())["requests"] == .array([]))

            // The audit log tells the whole story of the first request.
            let story = try await hub.audit(subject: id)
            #expect(story.map { "\($0.entry.action) \($0.entry.outcome)" } == [
                "request.create pending", "request.approve refused", "request.approve approved", "request.output ok", "request.link ok",
                "request.download refused", "request.download ok", "request.download refused", "request.link ok", "request.download refused",
            ])
            #expect(story[5].entry.actor == .user("i-thackeray"))
            let downloaded = try #require(story.first { $0.entry.action == "request.download" && $0.entry.outcome == "ok" })
            #expect(downloaded.entry.actor == .user("n-carrow"))
            guard case .object(var details) = downloaded.entry.details, case .string(let requestID)? = details.removeValue(forKey: "request_id") else {
                throw TestFailure("the download's entry names no HTTP request: \(downloaded.content)")
            }
            #expect(details == ["sha256": .string(digest), "bytes": .integer(download.body.count), "rows": .integer((try download.csv.count) - 1)])
            // Every entry an HTTP request caused names it; those of one request (an approval, its
            // linkage and its output) name the same one, and no two requests share an id.
            let byRequest = Dictionary(grouping: story) { record -> String in
                guard case .object(let details) = record.entry.details, case .string(let id)? = details["request_id"] else { return "" }
                return id
            }
            #expect(byRequest[""] == nil, "entries without a request id: \(byRequest[""]?.map(\.entry.action) ?? [])")
            #expect(byRequest[requestID]?.map(\.entry.action) == ["request.download"])
            let approvalRequest = try #require(byRequest.first { $0.value.contains { $0.entry.outcome == "approved" } })
            #expect(approvalRequest.value.map(\.entry.action) == ["request.approve", "request.output"])
            // Each approved request ran the linkage between its approval and its output.
            let log = try await hub.store.auditEntries(limit: 100_000)
            for request in [id, ready] {
                let approval = try #require(log.firstIndex { $0.entry.subject == request && $0.entry.outcome == "approved" })
                let output = try #require(log.firstIndex { $0.entry.subject == request && $0.entry.action == "request.output" })
                #expect(log[approval..<output].contains { $0.entry.action == "linkage.update" && $0.entry.subject == "early-help-domestic-abuse.v1" })
            }
            #expect(try await hub.audit(subject: denied.requestID).map(\.entry.action) == ["request.create", "request.deny"])
            #expect(try await hub.audit(subject: pending).map(\.entry.action) == ["request.create", "request.cancel"])
            #expect(try await hub.store.verifyAuditLog().isIntact)
        }
    }

    /// An officer named as a recipient in one version and as an approver in the next may never
    /// approve the request they made; another approver may.
    @Test func selfApprovalIsRefused() async throws {
        try await TestHub.with { hub in
            let officer = try await hub.person("i-thackeray", .igOfficer)
            let colleague = try await hub.person("b-holloway", .igOfficer)
            try await hub.applyVariant(of: "school-readiness", [
                ("\nversion: 1\n", "\nversion: 2\n"), ("approvers: [i-thackeray, b-holloway]", "approvers: [b-holloway]"),
                ("- {id: l-wojcik, name: Lena Wojcik}", "- {id: l-wojcik, name: Lena Wojcik}\n        - {id: i-thackeray, name: Isobel Thackeray}"),
            ])
            let asked = try await hub.ask(officer, agreement: "school-readiness", purpose: "SR-EARLY-YEARS", datasets: ["csc_referrals"],
                                          fields: ["ReferralDate"], level: "row_level")
            #expect(asked.status == 201 && asked.state == "pending", "\(asked.text)")
            let id = try asked.requestID
            try await hub.applyVariant(of: "school-readiness", [("\nversion: 1\n", "\nversion: 3\n")])
            let own = try await hub.decide(id, "approve", token: officer)
            #expect(own.status == 403 && own.reasonCodes == ["self-approval"], "\(own.text)")
            #expect(try await hub.call(.get, "/v1/requests/\(id)", token: officer).state == "pending")
            let approved = try await hub.decide(id, "approve", token: colleague)
            #expect(approved.state == "ready", "\(approved.text)")
            let story = try await hub.audit(subject: id)
            #expect(story.map { "\($0.entry.action) \($0.entry.outcome)" } == ["request.create pending", "request.approve refused", "request.approve approved", "request.output ok"])
        }
    }

    /// A hub that stopped between an approval and its output makes the output when it starts.
    @Test func approvedRequestsLeftWithoutOutputAreMadeAtStart() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 40)).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            _ = try await hub.person("i-thackeray", .igOfficer)
            let id = try await hub.ask(analyst, fields: ["GENDER"]).requestID
            // What the approval's own transaction leaves when the hub stops right after it.
            _ = try await hub.store.withTransaction { transaction in
                try await transaction.query("""
                    UPDATE requests SET state = 'approved', decided_by = 'i-thackeray', decision_reason = 'ok', decided_at = now()
                    WHERE id = \(try #require(UUID(uuidString: id)))
                    """)
            }
            let configuration = HubConfiguration(dataDirectory: hub.directory + "/hub", encryptionKeyPath: "", signingKeyPath: "", schemasDirectory: "")
            let keys = try HubKeys(encryption: hub.hubEncryption, signing: hub.hubSigning, personIDSecret: PersonIDSecret.generate())
            #expect(try await HubApplication.resumeApprovedRequests(configuration: configuration, store: hub.store, keys: keys, catalogue: hub.catalogue,
                                                                    logger: testLogger) == 1)
            #expect(try await hub.call(.get, "/v1/requests/\(id)", token: analyst).state == "ready")
            #expect(try await hub.download(id, token: analyst).status == 200)
            #expect(try await HubApplication.resumeApprovedRequests(configuration: configuration, store: hub.store, keys: keys, catalogue: hub.catalogue,
                                                                    logger: testLogger) == 0)
        }
    }

    /// Row-level outputs: only the requested, permitted fields; `person_id` is the same for a
    /// record in every output under one agreement, and unrelated under another; no match key
    /// ever appears.
    @Test func rowLevelOutputsHavePermittedFieldsAndPerAgreementPersonIDs() async throws {
        try await TestHub.with { hub in
            for id in ["eh-rows", "eh-rows-b"] {
                try await hub.applyVariant(of: "early-help-domestic-abuse", [
                    ("id: early-help-domestic-abuse", "id: \(id)"), ("level: aggregate\n  minimum_cell_count: 10\n  rounding_base: 5", "level: row_level"),
                ])
            }
            let envelope = try await hub.envelope(rows: 150, claimedAgreements: ["early-help-domestic-abuse.v1", "eh-rows.v1", "eh-rows-b.v1"])
            #expect(try await hub.upload(envelope).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            let approver = try await hub.person("i-thackeray", .igOfficer)
            let fields = ["police_da_incidents.GENDER", "police_da_incidents.DASH_RISK", "police_da_incidents.INCIDENT_DATE"]

            func output(_ agreement: String) async throws -> [[String]] {
                let asked = try await hub.ask(analyst, agreement: agreement, fields: fields, level: "row_level")
                let approved = try await hub.decide(try asked.requestID, "approve", token: approver)
                #expect(approved.state == "ready", "\(approved.text)")
                let download = try await hub.download(try asked.requestID, token: analyst)
                #expect(download.status == 200)
                let payload = try csvRecords(Array(try Data(contentsOf: URL(fileURLWithPath: envelope.payloadPath))))
                let header = try #require(payload.first)
                let keyColumns = header.indices.filter { header[$0].hasPrefix("mk") }
                #expect(!keyColumns.isEmpty)
                let keys = Set(payload.dropFirst().flatMap { row in keyColumns.map { row[$0] } }.filter { !$0.isEmpty })
                #expect(keys.allSatisfy { !download.text.contains($0) }, "a match key reached the output")
                return try download.csv
            }
            let first = try await output("eh-rows")
            #expect(first.first == ["person_id", "dataset"] + fields)
            try #require(first.count == 151 && first.allSatisfy { $0.count == 5 })
            let ids = first.dropFirst().map { $0[0] }
            #expect(ids.allSatisfy { $0.hasPrefix("p_") && $0.count == 34 && $0.dropFirst(2).allSatisfy { "0123456789abcdef".contains($0) } })
            #expect(first.dropFirst().allSatisfy { $0[1] == "police_da_incidents" })

            let again = try await output("eh-rows")
            #expect(again == first, "the same records, the same person ids, in the same order")

            let other = try await output("eh-rows-b")
            #expect(Set(other.dropFirst().map { $0[0] }).isDisjoint(with: Set(ids)), "person ids differ under another agreement")
            #expect(Set(other.dropFirst().map { $0[0] }).count == Set(ids).count, "the same linkage, only other names")
            #expect(other.dropFirst().map { Array($0.dropFirst()) }.sorted { $0.lexicographicallyPrecedes($1) }
                    == first.dropFirst().map { Array($0.dropFirst()) }.sorted { $0.lexicographicallyPrecedes($1) })

            // Outputs of an aggregate-only agreement are refused at row level.
            let refused = try await hub.ask(analyst, fields: fields, level: "row_level")
            #expect(refused.reasonCodes == ["row-level-not-permitted"])
        }
    }

    /// A linked request over two agencies' datasets: a person known to both has records of each
    /// under one `person_id`; and the aggregate of the same persons by both datasets' sex, worked
    /// out here from the row-level output, is what the hub publishes wherever it publishes a cell.
    @Test func linkedRequestsFollowPersonsAcrossDatasets() async throws {
        try await TestHub.with { hub in
            try await hub.applyVariant(of: "early-help-domestic-abuse", [
                ("id: early-help-domestic-abuse", "id: eh-rows"), ("level: aggregate\n  minimum_cell_count: 10\n  rounding_base: 5", "level: row_level"),
            ])
            let childrens = PrivateKeyDocument.generate(.agencySigning, owner: "essex-childrens-services")
            _ = try await hub.store.addAgency(id: "essex-childrens-services", name: "Children's services", publicKey: childrens.publicKey, by: .operator("tests"))
            let claimed = ["early-help-domestic-abuse.v1", "eh-rows.v1"]
            #expect(try await hub.upload(try await hub.envelope(rows: 300, people: 400, claimedAgreements: claimed)).status == 200)
            let referrals = try await hub.envelope(rows: 300, people: 400, dataset: .cscReferrals, sender: childrens, claimedAgreements: claimed)
            #expect(try await hub.upload(referrals, as: childrens).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            let approver = try await hub.person("i-thackeray", .igOfficer)
            let datasets = ["police_da_incidents", "csc_referrals"]
            let fields = ["police_da_incidents.GENDER", "csc_referrals.Gender"]

            func output(_ agreement: String, level: String) async throws -> [[String]] {
                let asked = try await hub.ask(analyst, agreement: agreement, datasets: datasets, fields: fields, level: level)
                #expect(try await hub.decide(try asked.requestID, "approve", token: approver).state == "ready")
                return try await hub.download(try asked.requestID, token: analyst).csv
            }
            let rows = try await output("eh-rows", level: "row_level")
            #expect(rows.first == ["person_id", "dataset"] + fields)
            var values: [[String: Set<String>]] = [[:], [:]]
            for row in rows.dropFirst() {
                let own = try #require(datasets.firstIndex(of: row[1]))
                #expect(row[3 - own].isEmpty, "a record has no value in the other dataset's column")
                values[own][row[0], default: []].formUnion(row[2 + own].isEmpty ? [] : [row[2 + own]])
            }
            let persons = Set(values[0].keys).union(values[1].keys)
            #expect(!Set(values[0].keys).isDisjoint(with: values[1].keys), "some persons are known to both agencies")

            var expected: [[String]: Int] = [:]
            for person in persons {
                for police in values[0][person].flatMap({ $0.isEmpty ? nil : $0 }) ?? [""] {
                    for social in values[1][person].flatMap({ $0.isEmpty ? nil : $0 }) ?? [""] { expected[[police, social], default: 0] += 1 }
                }
            }
            let table = try await output(TestHub.agreement, level: "aggregate")
            var compared = 0
            for row in table.dropFirst() where !row[0...1].contains("*") {
                guard let published = Int(row[2]) else { continue }
                #expect(published == DisclosureControl.round(expected[Array(row[0...1])] ?? 0, base: 5), "\(row)")
                compared += 1
            }
            #expect(compared > 0)
            let total = try #require(table.first { $0[0] == "*" && $0[1] == "*" })
            #expect(total[2] == String(DisclosureControl.round(expected.values.reduce(0, +), base: 5)))
        }
    }

    /// An aggregate output: persons by two dimensions with all margins; small cells suppressed,
    /// no suppressed cell alone in any row or column, published counts rounded.
    @Test func aggregateOutputsAreSuppressedAndRounded() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 200)).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            let approver = try await hub.person("i-thackeray", .igOfficer)
            let dimensions = ["police_da_incidents.GENDER", "police_da_incidents.OFFENCE_CATEGORY"]
            let asked = try await hub.ask(analyst, fields: dimensions)
            #expect(try await hub.decide(try asked.requestID, "approve", token: approver).state == "ready")
            let rows = try await hub.download(try asked.requestID, token: analyst).csv
            #expect(rows.first == dimensions + ["persons", "suppressed"])
            var suppressed: [[String]: Bool] = [:]
            for row in rows.dropFirst() {
                let isSuppressed = row[3] == "true"
                suppressed[Array(row[0...1])] = isSuppressed
                if isSuppressed {
                    #expect(row[2].isEmpty)
                } else {
                    let count = try #require(Int(row[2]))
                    #expect(count % 5 == 0 && (count == 0 || count >= 10), "published \(count)")
                }
            }
            #expect(suppressed.values.filter { $0 }.count >= 2, "200 incidents over sexes and offence categories leave small cells")
            // Along each dimension, with the other fixed (a category or "*"), never exactly one suppressed.
            for fixed in 0...1 {
                let varying = 1 - fixed
                for value in Set(suppressed.keys.map { $0[fixed] }) {
                    let line = suppressed.filter { $0.key[fixed] == value }
                    #expect(line.count { $0.value } != 1, "\(dimensions[varying]) with \(dimensions[fixed]) = \(value)")
                }
            }
        }
    }
}
