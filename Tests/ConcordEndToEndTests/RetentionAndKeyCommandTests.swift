import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// The retention, agreement lifecycle and key rotation commands run as an operator runs them: the
/// built `concord` binary against a fresh database, each checked by what it prints and what the
/// audit log then holds.
@Suite("concord retention, lifecycle and key commands", .enabled(if: databaseAvailable))
struct RetentionAndKeyCommandTests {
    @Test func agencyKeysAreAddedListedAndRevoked() async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            let (config, _) = try await hubConfiguration(database, in: directory)
            func newKey(_ folder: String, owner: String = "essex-police") async throws -> (line: String, id: String) {
                let made = try await asyncConcord("keys", "new-agency", "--id", owner, "--out", directory.file(folder))
                try #require(made.status == 0, "\(made.error)")
                let line = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
                return (line, try PublicKeyLine(line: line).id)
            }
            let old = try await newKey("old")
            let new = try await newKey("new")
            let added = try await asyncConcord("hub", "agency", "add", "--config", config, "--as", "tests", "--id", "essex-police", "--name", "Essex Police",
                                               "--public-key", old.line)
            #expect(added.status == 0, "\(added.error)")
            let second = try await asyncConcord("hub", "agency", "add-key", "essex-police", "--config", config, "--as", "tests", "--public-key", new.line,
                                                "--reason", "yearly rotation")
            #expect(second.status == 0 && second.error.contains("\(old.id), \(new.id)"), "\(second.error)")
            let foreign = try await newKey("foreign", owner: "essex-cc")
            let refused = try await asyncConcord("hub", "agency", "add-key", "essex-police", "--config", config, "--public-key", foreign.line)
            #expect(refused.status != 0 && refused.error.contains("expected an agency-signing key of essex-police"), "\(refused.error)")

            let both = try await asyncConcord("hub", "agency", "list", "--config", config)
            #expect(both.status == 0 && both.output == "essex-police\tenabled\t\(old.id),\(new.id)\tEssex Police\n", "\(both.output)")
            let revoked = try await asyncConcord("hub", "agency", "revoke-key", "essex-police", "--config", config, "--as", "ana", "--key-id", old.id,
                                                 "--reason", "replaced")
            #expect(revoked.status == 0 && revoked.error.contains("active: \(new.id)"), "\(revoked.error)")
            let again = try await asyncConcord("hub", "agency", "revoke-key", "essex-police", "--config", config, "--key-id", old.id, "--reason", "again")
            #expect(again.status != 0 && again.error.contains("already revoked"), "\(again.error)")
            let listed = try await asyncConcord("hub", "agency", "list", "--keys", "--config", config)
            let lines = listed.output.split(separator: "\n").map(String.init)
            try #require(lines.count == 3, "\(listed.output) \(listed.error)")
            #expect(lines[0] == "essex-police\tenabled\t\(new.id)\tEssex Police", "\(listed.output)")
            #expect(lines[1].hasPrefix("  \(old.id)\tadded ") && lines[1].hasSuffix("by operator:ana: replaced"), "\(lines)")
            #expect(lines[2].hasPrefix("  \(new.id)\tadded ") && lines[2].hasSuffix("\tactive"), "\(lines)")

            let log = try await asyncConcord("audit", "log", "--config", config, "--format", "csv")
            let actions = log.output.split(separator: "\n").dropFirst().map { String($0.split(separator: ",", omittingEmptySubsequences: false)[5]) }
            #expect(actions.filter { $0.hasPrefix("agency.") } == ["agency.add", "agency.key-add", "agency.key-revoke"], "\(log.output)")
        }
    }

    @Test func purgeDeletionsAndTheAgreementLifecycle() async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            let (config, _) = try await hubConfiguration(database, in: directory)
            let agreements = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Agreements").path)
                .filter { $0.hasSuffix(".yaml") }.sorted().map { repositoryRoot.appendingPathComponent("Agreements/\($0)").path }
            let applied = try await asyncRun(concordBinary, ["agreement", "apply", "--config", config, "--as", "tests"] + agreements)
            #expect(applied.status == 0, "\(applied.error)")

            let dryRun = try await asyncConcord("hub", "purge", "--dry-run", "--config", config)
            #expect(dryRun.status == 0 && dryRun.output == "extract\tagency\tdataset\trows\tpurge_on\tdue\tholds\n", "\(dryRun.output)")
            #expect(dryRun.error.contains("0 extract(s), 0 hold(s) and 0 output(s) due on") && dryRun.error.contains("nothing changed"), "\(dryRun.error)")
            let purge = try await asyncConcord("hub", "purge", "--config", config, "--as", "tests")
            #expect(purge.status == 0 && purge.error.contains("nothing due on"), "\(purge.error)")
            let deletions = try await asyncConcord("audit", "deletions", "--config", config)
            #expect(deletions.status == 0 && deletions.output == "seq\tat\tagreement\tdataset\tagency\tpurge_date\titems\trows_deleted\tsignature\n",
                    "\(deletions.output) \(deletions.error)")

            let all = try await asyncConcord("agreement", "list", "--config", config)
            #expect(all.status == 0, "\(all.error)")
            let rows = all.output.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
            #expect(rows.count == agreements.count && rows.allSatisfy { $0.count == 6 }, "\(all.output)")
            let due = try await asyncConcord("agreement", "list", "--due", "--config", config)
            let dueRows = due.output.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
            #expect(due.status == 0 && dueRows == rows.filter { $0[5] != "not-due" }, "\(due.output)")

            let agreement = "early-help-domestic-abuse"
            let suspended = try await asyncConcord("agreement", "suspend", agreement, "--reason", "DPIA under review", "--config", config, "--as", "ig")
            #expect(suspended.status == 0 && suspended.error.contains("agreement \(agreement) v1 is suspended from"), "\(suspended.error)")
            let noReason = try await asyncConcord("agreement", "terminate", agreement, "--config", config)
            #expect(noReason.status != 0 && noReason.error.contains("--reason"), "\(noReason.error)")
            let terminated = try await asyncConcord("agreement", "terminate", agreement, "--reason", "partnership ended", "--config", config, "--as", "ig")
            #expect(terminated.status == 0 && terminated.error.contains("is terminated from"), "\(terminated.error)")
            let log = try await asyncConcord("audit", "log", "--config", config, "--format", "csv")
            #expect(log.output.contains(",operator:ig,operator,,agreement.suspend,") && log.output.contains(",operator:ig,operator,,agreement.terminate,"),
                    "\(log.output)")
        }
    }
}
