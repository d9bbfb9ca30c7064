import ConcordCore
@testable import ConcordHubStore
import Foundation
import PostgresNIO
import ConcordTestSupport
import Testing

@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct MigrationTests {
    @Test func twoHubsStartingTogetherApplyEachMigrationOnce() async throws {
        try await withFreshDatabase { configuration in
            try await withClient(configuration) { client in
                let store = HubStore(client: client, logger: testLogger)
                await #expect(throws: HubStoreError.migrationsPending(databaseVersion: 0, knownVersion: Migration.latest)) {
                    try await store.readiness()
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<2 {
                        group.addTask {
                            // Each "hub" has a client (and so connections) of its own.
                            try await withClient(configuration) { try await HubStore(client: $0, logger: testLogger).migrate() }
                        }
                    }
                    try await group.waitForAll()
                }
                try await store.readiness()
                let versions = try await column("SELECT version FROM schema_migrations ORDER BY version", as: Int.self, on: store)
                #expect(versions == Migration.all.map(\.version))
                let digest = try await column("SELECT sha256 FROM schema_migrations WHERE version = 1", as: ByteBuffer.self, on: store)
                #expect(digest.map { Array(buffer: $0) } == [Migration.all[0].sha256])
                try await store.migrate()   // again: nothing to do
                #expect(try await column("SELECT count(*) FROM schema_migrations", as: Int.self, on: store) == [Migration.all.count])
            }
        }
    }

    @Test func refusesADatabaseNewerThanTheHub() async throws {
        try await withStore { store, _ in
            try await store.client.query("INSERT INTO schema_migrations (version, name, sha256) VALUES (9999, 'future', '\\x00')", logger: testLogger)
            await #expect(throws: HubStoreError.databaseNewerThanHub(databaseVersion: 9999, knownVersion: Migration.latest)) {
                try await store.migrate()
            }
            await #expect(throws: HubStoreError.databaseNewerThanHub(databaseVersion: 9999, knownVersion: Migration.latest)) {
                try await store.readiness()
            }
        }
    }

    @Test func refusesAChangedMigration() async throws {
        try await withStore { store, _ in
            try await store.client.query("UPDATE schema_migrations SET sha256 = sha256(sha256) WHERE version = 1", logger: testLogger)
            await #expect(throws: HubStoreError.migrationChanged(version: 1, name: "foundation")) { try await store.migrate() }
        }
    }
}

private struct Abort: Error {}

@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct AuditLogTests {
    @Test func concurrentAppendsMakeOneLinearChain() async throws {
        try await withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        try await store.audit(AuditEntry(actor: .user("u\(index)"), action: "decision", subject: "request-\(index)",
                                                         outcome: index.isMultiple(of: 2) ? "ok" : "refused", details: .object(["n": .integer(index)])))
                    }
                }
                try await group.waitForAll()
            }
            let verification = try await store.verifyAuditLog()
            #expect(verification.isIntact)
            #expect(verification.entriesChecked == 24)
            let entries = try await store.auditEntries()
            #expect(entries.map(\.seq) == Array(1...24))
            #expect(entries.first?.prevHash == AuditChain.genesis)
            #expect(entries.last?.hash == verification.lastGoodHash)
            #expect(Set(entries.map(\.entry.subject)).count == 24)
            let page = try await store.auditEntries(after: 10, limit: 5)
            #expect(page.map(\.seq) == [11, 12, 13, 14, 15])
            #expect(page[0].entry.details == entries[10].entry.details)
        }
    }

    @Test func anEditedEntryBreaksTheChainThere() async throws {
        try await withStore { store, _ in
            for index in 1...5 { try await store.audit(AuditEntry(actor: .hub, action: "decision", subject: "s\(index)")) }
            // Only someone who can disable the trigger (the owner) can edit; the chain still shows it.
            try await store.withTransaction { transaction in
                try await transaction.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete")
                try await transaction.query("UPDATE audit_log SET content = replace(content, 's3', 's9'), subject = 's9' WHERE seq = 3")
                try await transaction.query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete")
            }
            let verification = try await store.verifyAuditLog()
            #expect(verification.firstBroken?.seq == 3)
            #expect(verification.firstBroken?.reason == "hash does not match the entry's content")
            #expect(verification.entriesChecked == 3)
            #expect(verification.lastGoodHash == (try await store.auditEntries(limit: 2)).last?.hash)
        }
    }

    @Test func theOwnerIsStoppedByTheTriggerAndTheRuntimeRoleByPrivileges() async throws {
        try await withStore { store, _ in
            try await store.audit(AuditEntry(actor: .hub, action: "decision", subject: "s"))
            for statement: PostgresQuery in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
                let error = await hubStoreError { try await store.withTransaction { _ = try await $0.query(statement) } }
                guard case .database(let message, let sqlState)? = error else {
                    Issue.record("\(statement.sql) was not refused: \(String(describing: error))")
                    continue
                }
                #expect(message.hasPrefix("audit_log is append-only"))
                #expect(sqlState == "42501")
            }
            for statement: PostgresQuery in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
                let error = await hubStoreError {
                    try await store.withTransaction { transaction in
                        try await transaction.query("SET LOCAL ROLE concord_hub")
                        try await transaction.query(statement)
                    }
                }
                guard case .database(let message, let sqlState)? = error else {
                    Issue.record("\(statement.sql) as concord_hub was not refused: \(String(describing: error))")
                    continue
                }
                #expect(message.hasPrefix("permission denied"), "\(message)")
                #expect(sqlState == "42501")
            }
            // The runtime role can append.
            try await store.withTransaction { transaction in
                try await transaction.query("SET LOCAL ROLE concord_hub")
                try await transaction.audit(AuditEntry(actor: .hub, action: "decision", subject: "as runtime role"))
            }
            #expect(try await store.verifyAuditLog().entriesChecked == 2)
        }
    }

    @Test func anEntryRollsBackWithItsChange() async throws {
        try await withStore { store, _ in
            await #expect(throws: Abort.self) {
                try await store.withTransaction { transaction in
                    try await transaction.audit(AuditEntry(actor: .hub, action: "decision", subject: "never"))
                    throw Abort()
                }
            }
            let entries = try await store.auditEntries()
            #expect(entries.isEmpty)
        }
    }
}

@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct RegistryTests {
    @Test func agenciesAreAddedDisabledAndAudited() async throws {
        try await withStore { store, _ in
            let key = agencyKey("essex-police")
            let added = try await store.addAgency(id: "essex-police", name: "Essex Police", publicKey: key, by: .operator("ana"))
            #expect(added.keys.map(\.keyID) == [key.id])
            #expect(try await store.agency(id: "essex-police") == added)
            await #expect(throws: HubStoreError.agencyExists("essex-police")) {
                try await store.addAgency(id: "essex-police", name: "Again", publicKey: key, by: .operator("ana"))
            }
            await #expect(throws: HubStoreError.self) {
                try await store.addAgency(id: "other", name: "Other", publicKey: key, by: .operator("ana"))
            }
            let disabled = try await store.setAgency(id: "essex-police", enabled: false, by: .operator("ana"))
            #expect(!disabled.enabled)
            #expect(try await store.agency(id: "essex-police")?.enabled == false)
            await #expect(throws: HubStoreError.unknownAgency("nobody")) { try await store.setAgency(id: "nobody", enabled: false, by: .hub) }
            #expect(try await store.agency(id: "nobody") == nil)
            let actions = try await store.auditEntries().map { "\($0.entry.action) \($0.entry.subject) \($0.entry.actor)" }
            #expect(actions == ["agency.add essex-police operator:ana", "agency.disable essex-police operator:ana"])
        }
    }

    @Test func agencyKeysAreAddedAndRevokedWithOverlapAndAudited() async throws {
        try await withStore { store, _ in
            let old = agencyKey("essex-police")
            let new = agencyKey("essex-police")
            try await store.addAgency(id: "essex-police", name: "Essex Police", publicKey: old, by: .operator("ana"))
            let both = try await store.addAgencyKey(agency: "essex-police", publicKey: new, reason: "yearly rotation", by: .operator("ana"))
            #expect(both.activeKeys.map(\.keyID) == [old.id, new.id])
            await #expect(throws: HubStoreError.invalidAgencyKey(agency: "essex-police", reason: "key \(new.id) is already registered for it")) {
                try await store.addAgencyKey(agency: "essex-police", publicKey: new, reason: nil, by: .operator("ana"))
            }
            await #expect(throws: HubStoreError.self) {
                try await store.addAgencyKey(agency: "essex-police", publicKey: agencyKey("essex-cc"), reason: nil, by: .operator("ana"))
            }
            await #expect(throws: HubStoreError.unknownAgency("nobody")) {
                try await store.addAgencyKey(agency: "nobody", publicKey: agencyKey("nobody"), reason: nil, by: .operator("ana"))
            }
            await #expect(throws: HubStoreError.self) { try await store.revokeAgencyKey(agency: "essex-police", keyID: old.id, reason: " ", by: .operator("ana")) }
            let revoked = try await store.revokeAgencyKey(agency: "essex-police", keyID: old.id, reason: "replaced", by: .operator("bo"))
            #expect(revoked.activeKeys.map(\.keyID) == [new.id])
            #expect(revoked.key(id: old.id)?.revocation?.reason == "replaced")
            #expect(revoked.key(id: old.id)?.revocation?.by == "operator:bo")
            #expect(try await store.agency(id: "essex-police") == revoked)
            await #expect(throws: HubStoreError.self) { try await store.revokeAgencyKey(agency: "essex-police", keyID: old.id, reason: "again", by: .hub) }
            await #expect(throws: HubStoreError.self) { try await store.revokeAgencyKey(agency: "essex-police", keyID: "as-0000000000000000", reason: "x", by: .hub) }
            let entries = try await store.auditEntries().map(\.entry)
            #expect(entries.map(\.action) == ["agency.add", "agency.key-add", "agency.key-revoke"])
            #expect(entries[1].details == .object(["public_key": .string(new.description), "key_id": .string(new.id), "reason": .string("yearly rotation")]))
            #expect(entries[2].details == .object(["key_id": .string(old.id), "reason": .string("replaced"), "active_keys": .array([.string(new.id)])]))
        }
    }

    @Test func usersGetATokenOnceAndOnlyItsHashIsStored() async throws {
        try await withStore { store, _ in
            let (record, token) = try await store.addUser(id: "ig-1", role: .igOfficer, by: .operator("ana"))
            #expect(record == UserRecord(id: "ig-1", role: .igOfficer, enabled: true))
            #expect(try await store.user(bearerToken: token) == record)
            #expect(try await store.user(bearerToken: APIToken.generate()) == nil)
            let stored = try await column("SELECT token_sha256 FROM users", as: ByteBuffer.self, on: store).map { Array(buffer: $0) }
            #expect(stored == [APIToken.digest(token)])
            let everything = try await column("SELECT content FROM audit_log", as: String.self, on: store).joined()
            #expect(!everything.contains(token))
            await #expect(throws: HubStoreError.userExists("ig-1")) { try await store.addUser(id: "ig-1", role: .admin, by: .hub) }
            try await store.setUser(id: "ig-1", enabled: false, by: .user("admin-1"))
            #expect(try await store.user(bearerToken: token)?.enabled == false)
            #expect(try await store.auditEntries().map(\.entry.action) == ["user.add", "user.disable"])
        }
    }

    @Test func agreementsKeepHistoryAndRefuseAChangedVersion() async throws {
        try await withStore { store, _ in
            let catalogue = SchemaCatalogue(try ["csc_referrals", "school_attendance", "housing_cases", "police_da_incidents"].map(shippedSchema))
            let path = "Agreements/school-readiness.v1.yaml"
            let yaml = try repositoryFile(path)
            let agreement = try Agreement(yaml: yaml, file: path, catalogue: catalogue)
            #expect(try await store.applyAgreement(yaml: yaml, agreement: agreement, by: .operator("ana")) == .applied(version: agreement.version))
            #expect(try await store.applyAgreement(yaml: yaml, agreement: agreement, by: .operator("ana")) == .unchanged)
            await #expect(throws: HubStoreError.agreementVersionChanged(id: agreement.id, version: agreement.version)) {
                try await store.applyAgreement(yaml: yaml + "\n# edited\n", agreement: agreement, by: .operator("ana"))
            }
            var next = agreement
            next.version += 1
            #expect(try await store.applyAgreement(yaml: yaml + "\n# v2\n", agreement: next, by: .operator("bo")) == .applied(version: next.version))
            let latest = try await store.agreements()
            #expect(latest.map(\.version) == [next.version])
            #expect(latest.first?.appliedBy == "operator:bo")
            let history = try await store.agreementHistory(id: agreement.id)
            #expect(history.map(\.version) == [agreement.version, next.version])
            #expect(history.first?.document == yaml)
            #expect(try Agreement(yaml: history[0].document, file: path, catalogue: catalogue) == agreement)
            #expect(try await store.auditEntries().map(\.entry.subject) == ["\(agreement.id).v1", "\(agreement.id).v2"])
        }
    }

    @Test func nonceReplaysAreRefusedAndOldNoncesPruned() async throws {
        try await withStore { store, _ in
            try await store.addAgency(id: "essex-cc", name: "Essex CC", publicKey: agencyKey("essex-cc"), by: .hub)
            let now = Date()
            #expect(try await store.recordNonce(agency: "essex-cc", nonce: "n1", at: now))
            #expect(try await !store.recordNonce(agency: "essex-cc", nonce: "n1", at: now))
            #expect(try await store.recordNonce(agency: "essex-cc", nonce: "n2", at: now.addingTimeInterval(-3600)))
            #expect(try await store.pruneNonces(seenBefore: now.addingTimeInterval(-600)) == 1)
            #expect(try await store.recordNonce(agency: "essex-cc", nonce: "n2", at: now))
        }
    }
}
