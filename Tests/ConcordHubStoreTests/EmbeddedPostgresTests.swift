@testable import ConcordHubStore
import Foundation
import PostgresNIO
import ConcordTestSupport
import Testing

/// PostgreSQL 15's server binaries, which the embedded cluster needs (scripts/install-deps.sh).
let postgresInstalled = FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/initdb")

@Suite(.enabled(if: postgresInstalled || ProcessInfo.processInfo.environment["CI"] != nil, "needs PostgreSQL 15 (scripts/install-deps.sh)"))
struct EmbeddedPostgresTests {
    /// A new directory under /tmp (reachable by the server user when we are root), removed after.
    private func withTemporaryDirectory<T: Sendable>(name: String = "concord-embedded-", _ body: (String) async throws -> T) async throws -> T {
        let path = "/tmp/" + name + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    @Test func startsMigratesStopsAndRestartsAfterACrash() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try EmbeddedPostgres(directory: directory + "/pg")
            let endpoint = try await cluster.start()
            #expect(endpoint.socketPath == directory + "/pg/socket/.s.PGSQL.5432")
            #expect(endpoint.database == "concord")
            do {
                try await withClient(endpoint.ownerConfiguration) { client in
                    let store = HubStore(client: client, logger: testLogger)
                    try await store.migrate()
                    try await store.readiness()
                }
                // The runtime role logs in and may append to the audit log.
                try await withClient(endpoint.runtimeConfiguration) { client in
                    let store = HubStore(client: client, logger: testLogger)
                    try await store.readiness()
                    try await store.audit(AuditEntry(actor: .hub, action: "decision", subject: "embedded"))
                    let user = try await client.query("SELECT current_user", logger: testLogger).decode(String.self).all()
                    #expect(user == ["concord_hub"])
                }
                let settings = try String(contentsOfFile: directory + "/pg/cluster/postgresql.conf", encoding: .utf8)
                #expect(settings.contains("listen_addresses = ''"))
                #expect(settings.contains("unix_socket_permissions = 0700"))

                // A crash: the postmaster dies and leaves its postmaster.pid behind.
                let pidText = try String(contentsOfFile: directory + "/pg/cluster/postmaster.pid", encoding: .utf8)
                let pid = try #require(pidText.split(separator: "\n").first.flatMap { pid_t($0) })
                #expect(kill(pid, SIGKILL) == 0)
                for _ in 0..<100 where kill(pid, 0) == 0 { try await Task.sleep(for: .milliseconds(50)) }
                #expect(FileManager.default.fileExists(atPath: directory + "/pg/cluster/postmaster.pid"))

                let restarted = try await cluster.start()
                #expect(restarted == endpoint)
                try await withClient(restarted.ownerConfiguration) { client in
                    let store = HubStore(client: client, logger: testLogger)
                    try await store.readiness()
                    #expect(try await store.verifyAuditLog().entriesChecked == 1)
                }
                try await cluster.stop()
                #expect(!FileManager.default.fileExists(atPath: directory + "/pg/cluster/postmaster.pid"))
                try await cluster.stop()   // already stopped: nothing to do
            } catch {
                try? await cluster.stop()
                throw error
            }
        }
    }

    @Test func aLongDataDirectoryPutsTheSocketUnderTmp() throws {
        let long = "/tmp/" + String(repeating: "d", count: 120)
        let cluster = try EmbeddedPostgres(directory: long)
        #expect(cluster.socketDirectory.hasPrefix("/tmp/concord-pg-"))
        #expect(cluster.socketDirectory.utf8.count + 14 <= EmbeddedPostgres.maximumSocketPathLength)
        #expect(cluster.socketDirectory == (try EmbeddedPostgres(directory: long)).socketDirectory, "stable across restarts")
        #expect(cluster.socketDirectory != (try EmbeddedPostgres(directory: long + "x")).socketDirectory)
    }

    @Test func namesWhatIsMissing() {
        #expect(throws: HubStoreError.embeddedPostgres("/nonexistent/bin/initdb is missing; install PostgreSQL 15 (scripts/install-deps.sh)")) {
            try EmbeddedPostgres(directory: "/tmp/x", binDirectory: "/nonexistent/bin")
        }
        #expect(throws: HubStoreError.self) { try EmbeddedPostgres(directory: "relative/path") }
    }
}
