import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// `concord audit` against a real database, as an IG officer uses it: keep a checkpoint, list
/// entries, verify; then the table's owner deletes an entry in psql's way and verify names it.
@Suite("concord audit", .enabled(if: databaseAvailable))
struct AuditCommandTests {
    @Test func aKeptCheckpointCatchesADeletedEntry() async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            #expect(try concord("keys", "new-hub", "--out", directory.file("keys")).status == 0)
            let url = try #require(testDatabaseURL).replacingOccurrences(of: "/concord_test", with: "/\(database.database)")
            try """
            format: concord-hub/1
            data_dir: hub
            database_url: \(url)
            keys: {encryption: keys/hub-encryption.key, signing: keys/hub-signing.key}
            schemas_dir: \(repositoryRoot.appendingPathComponent("Schemas/datasets").path)

            """.write(toFile: directory.file("hub.yaml"), atomically: true, encoding: .utf8)
            let config = directory.file("hub.yaml")
            for id in ["ig", "ana", "bo"] {
                let added = try concord("hub", "user", "add", "--config", config, "--as", "tests", "--id", id, "--role", "ig-officer")
                #expect(added.status == 0, "\(added.error)")
            }
            let checkpoint = try concord("audit", "checkpoint", "--config", config, "--out", directory.file("kept.note"))
            #expect(checkpoint.status == 0 && checkpoint.error.contains("checkpoint of 3 entries"), "\(checkpoint.error)")

            let log = try concord("audit", "log", "--config", config, "--as", "tests", "--action", "user.add", "--format", "csv")
            #expect(log.status == 0, "\(log.error)")
            let lines = log.output.split(separator: "\n")
            #expect(lines.first == "seq,at,actor,role,agency,action,subject,outcome,agreements,dataset,rows,reasons")
            #expect(lines.count == 4 && lines[2].contains(",operator:tests,operator,,user.add,ana,ok,"))
            let verified = try concord("audit", "verify", "--config", config, "--checkpoint", directory.file("kept.note"))
            #expect(verified.status == 0 && verified.output.hasPrefix("audit log: ok: 4 entries"), "\(verified.output) \(verified.error)")

            try await withClient(database) { client in
                for statement: PostgresQuery in ["ALTER TABLE audit_log DISABLE TRIGGER USER", "DELETE FROM audit_log WHERE seq = 2",
                                                 "ALTER TABLE audit_log ENABLE TRIGGER USER"] {
                    try await client.query(statement, logger: testLogger)
                }
            }
            let caught = try concord("audit", "verify", "--config", config, "--checkpoint", directory.file("kept.note"))
            #expect(caught.status == 1)
            #expect(caught.output.hasPrefix("audit log: entry 2: entry 2 is missing: the next entry is 3"), "\(caught.output)")
        }
    }
}
