import ConcordHubStore
import ConcordTestSupport
import Foundation
import Testing

/// `concord audit` against a real database, as an IG officer uses it: keep a checkpoint, list
/// entries, verify; then the table's owner deletes an entry with psql and verify names it.
@Suite("concord audit", .enabled(if: databaseAvailable))
struct AuditCommandTests {
    @Test func aKeptCheckpointCatchesADeletedEntry() async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            let (config, url) = try await hubConfiguration(database, in: directory)
            for id in ["ig", "ana", "bo"] {
                let added = try await asyncConcord("hub", "user", "add", "--config", config, "--as", "tests", "--id", id, "--role", "ig-officer")
                #expect(added.status == 0, "\(added.error)")
            }
            let checkpoint = try await asyncConcord("audit", "checkpoint", "--config", config, "--out", directory.file("kept.note"))
            #expect(checkpoint.status == 0 && checkpoint.error.contains("checkpoint of 3 entries"), "\(checkpoint.error)")

            let log = try await asyncConcord("audit", "log", "--config", config, "--as", "tests", "--action", "user.add", "--format", "csv")
            #expect(log.status == 0, "\(log.error)")
            let lines = log.output.split(separator: "\n")
            #expect(lines.first == "seq,at,actor,role,agency,action,subject,outcome,agreements,dataset,rows,reasons")
            #expect(lines.count == 4 && lines[2].contains(",operator:tests,operator,,user.add,ana,ok,"))
            let verified = try await asyncConcord("audit", "verify", "--config", config, "--checkpoint", directory.file("kept.note"))
            #expect(verified.status == 0 && verified.output.hasPrefix("audit log: ok: 4 entries"), "\(verified.output) \(verified.error)")
            let independent = try independentlyVerified(url, in: directory)
            #expect(independent.status == 0, "\(independent.error)")

            let deleted = try run(try psql(), [url, "-v", "ON_ERROR_STOP=1", "-c",
                                               "ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log WHERE seq = 2; ALTER TABLE audit_log ENABLE TRIGGER USER"])
            #expect(deleted.status == 0, "\(deleted.error)")
            let caught = try await asyncConcord("audit", "verify", "--config", config, "--checkpoint", directory.file("kept.note"))
            #expect(caught.status == 1)
            #expect(caught.output.hasPrefix("audit log: entry 2: entry 2 is missing: the next entry is 3"), "\(caught.output)")
            let independentAfter = try independentlyVerified(url, in: directory)
            #expect(independentAfter.status == 1 && independentAfter.error.contains("entry 2: the entry read has seq 3"), "\(independentAfter.error)")
        }
    }

    /// `concord audit report`: the period's options checked, an unknown agreement refused, both
    /// formats written, and making the report audited.
    @Test func reportCommand() async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            let (config, _) = try await hubConfiguration(database, in: directory)
            let applied = try await asyncConcord("agreement", "apply", "--config", config, "--as", "tests",
                                                 repositoryRoot.appendingPathComponent("Agreements/early-help-domestic-abuse.v1.yaml").path)
            #expect(applied.status == 0, "\(applied.error)")
            let agreement = "early-help-domestic-abuse"
            let badPeriod = try await asyncConcord("audit", "report", "--config", config, "--agreement", agreement, "--period", "2026-13", "--out", directory.file("x"))
            #expect(badPeriod.status != 0 && badPeriod.error.contains("--period must be YYYY-MM or YYYY"), "\(badPeriod.error)")
            let both = try await asyncConcord("audit", "report", "--config", config, "--agreement", agreement, "--period", "2026-11", "--since", "2026-11-01",
                                              "--out", directory.file("x"))
            #expect(both.status != 0 && both.error.contains("give --period"), "\(both.error)")
            let unknown = try await asyncConcord("audit", "report", "--config", config, "--agreement", "nope", "--period", "2026-11", "--out", directory.file("x"))
            #expect(unknown.status != 0 && unknown.error.contains("no agreement 'nope'"), "\(unknown.error)")

            let html = try await asyncConcord("audit", "report", "--config", config, "--as", "ig", "--agreement", agreement, "--period", "2026", "--out", directory.file("r.html"))
            #expect(html.status == 0 && html.error.contains("0 request events"), "\(html.error)")
            let page = try String(contentsOfFile: directory.file("r.html"), encoding: .utf8)
            #expect(page.hasPrefix("<!DOCTYPE html>") && page.contains("Access report: <code>early-help-domestic-abuse</code>") && page.contains("2026-01-01 to 2027-01-01"))
            let csv = try await asyncConcord("audit", "report", "--config", config, "--agreement", agreement, "--since", "2026-11-01", "--until", "2026-12-01",
                                             "--format", "csv", "--out", directory.file("r.csv"))
            #expect(csv.status == 0, "\(csv.error)")
            #expect(try String(contentsOfFile: directory.file("r.csv"), encoding: .utf8).hasPrefix("section,at,who,role,action,subject,"))
            let audited = try await asyncConcord("audit", "log", "--config", config, "--action", "audit.report", "--format", "csv")
            #expect(audited.output.split(separator: "\n").count == 3 && audited.output.contains("operator:ig"), "\(audited.output)")
        }
    }

    /// The spec's Python verifier (Tests/Vectors/transparency/verify_log.py) on the entries as
    /// `psql -At` prints them, against the kept checkpoint: the command docs/transparency-log.md gives.
    private func independentlyVerified(_ url: String, in directory: TemporaryDirectory) throws -> RunResult {
        let dump = try run(try psql(), [url, "-Atc", "SELECT content FROM audit_log ORDER BY seq"])
        try #require(dump.status == 0, "\(dump.error)")
        try dump.output.write(toFile: directory.file("entries.txt"), atomically: true, encoding: .utf8)
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "python3 is needed (make test installs it)")
        return try run(python, [repositoryRoot.appendingPathComponent("Tests/Vectors/transparency/verify_log.py").path,
                                "--hub-key", directory.file("keys/hub-signing.pub"), directory.file("kept.note")],
                       input: directory.file("entries.txt"))
    }

    private func psql() throws -> String {
        try #require(["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"].first { FileManager.default.isExecutableFile(atPath: $0) },
                     "psql is needed (make deps installs postgresql)")
    }
}
