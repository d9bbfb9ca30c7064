import ConcordHubStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// Faults with real processes: `concord hub serve` killed with SIGKILL at a moment the test
/// watches for in the hub's own database (an upload receiving, rows being copied in, a linkage
/// running, a purge deleting), then started again; the agent's next run must resume from its outbox and get a
/// receipt, nothing half-loaded may be visible, every accepted row must be there once, and the
/// audit chain must verify. No hook or delay is added to the hub: the moments are found by
/// watching `uploads`, `extracts` and `pg_stat_activity`.
@Suite("Hub faults", .enabled(if: databaseAvailable), .serialized)
struct HubFaultTests {
    /// The dataset pushed: the largest of the synthetic ones, so each phase lasts long enough to be seen.
    static let dataset = "school_attendance"
    static let agency = "colne-estuary-trust"
    static let agreement = "school-readiness"

    @Test("SIGKILL while an upload is receiving: the agent resumes it and gets a receipt")
    func killDuringUpload() async throws {
        try await withExchange { exchange, client in
            let push = try await exchange.push(killingWhen: "SELECT count(*) FROM uploads WHERE state = 'receiving'", on: client)
            #expect(push.status == 3, "the agent keeps the envelope for later: \(push.output) \(push.error)")
            try await exchange.resume(client, restartingHub: true)
        }
    }

    @Test("SIGKILL while the upload's rows are copied in: nothing of them is left, and the retry loads them once")
    func killDuringLoad() async throws {
        try await withExchange { exchange, client in
            let push = try await exchange.push(killingWhen: """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE 'COPY %'
                """, on: client)
            #expect(push.status == 3, "the agent keeps the envelope for later: \(push.output) \(push.error)")
            try await exchange.resume(client, restartingHub: true)
        }
    }

    @Test("SIGKILL during a linkage run: the run is rolled back, and the next one links every published row")
    func killDuringLinkage() async throws {
        try await withExchange { exchange, client in
            // A small extract links in milliseconds, quicker than a poll may see. Holding a SHARE
            // lock on linkage_nodes stops the run where it stores its nodes, mid-transaction,
            // until the hub is killed; the lock goes with this transaction.
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: testLogger)
                try await connection.query("LOCK TABLE linkage_nodes IN SHARE MODE", logger: testLogger)
                _ = try await exchange.push(killingWhen: """
                    SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
                      AND query LIKE '%linkage\\_%'
                    """, on: client)
                try await connection.query("ROLLBACK", logger: testLogger)
            }
            try await exchange.resume(client, restartingHub: true)
            let linked = try await asyncConcord("hub", "link", "--config", exchange.hub.config, "--as", "tests", "--agreement", Self.agreement, "--format", "json")
            #expect(linked.status == 0, "\(linked.error)")
            let reports = try JSONSerialization.jsonObject(with: Data(linked.output.utf8)) as? [[String: Any]]
            let datasets = try #require(reports?.first?["datasets"] as? [[String: Any]], "\(linked.output)")
            let records = try #require(datasets.first { $0["dataset"] as? String == Self.dataset }?["records"] as? Int, "\(linked.output)")
            #expect(records == (try await exchange.loadedRows(client)), "every published row is in the linkage once")
            try await exchange.verifyAudit()
        }
    }

    @Test("SIGKILL during a purge: the restarted hub finishes it, with its deletion certificate, and deletes every due row once")
    func killDuringPurge() async throws {
        try await withExchange { exchange, client in
            let pushed = try await asyncConcord("agent", "push", "--config", exchange.agentConfig)
            try #require(pushed.status == 0, "\(pushed.output) \(pushed.error)")
            let loaded = try await exchange.loadedRows(client)
            // Retention ended yesterday: the hub's retention worker purges the extract when it starts.
            exchange.hub.stop()
            try await client.query("UPDATE extract_retention SET retain_until = current_date - 1", logger: testLogger)
            // As for the linkage: a SHARE lock on the dataset's table holds the purge at its first
            // batch of deletions, after the purge is recorded, until the hub is killed.
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: testLogger)
                try await connection.query("LOCK TABLE \(unescaped: "ds_" + HubFaultTests.dataset) IN SHARE MODE", logger: testLogger)
                try await exchange.hub.start()
                let saw = try await exchange.strike(when: """
                    SELECT count(*) FROM purge_jobs j, pg_stat_activity a WHERE j.state = 'running'
                      AND a.datname = current_database() AND a.query LIKE '%DELETE FROM%' AND a.wait_event_type = 'Lock'
                    """, on: client)
                try await connection.query("ROLLBACK", logger: testLogger)
                try #require(saw, "the purge never started: \(exchange.hub.serveLog.suffix(2000))")
            }
            #expect(try await exchange.loadedRows(client) == loaded, "killed before its first batch was committed")
            func runningPurges() async throws -> Int? {
                try await client.query("SELECT count(*)::int FROM purge_jobs WHERE state = 'running'", logger: testLogger).collect().first?.decode(Int.self)
            }
            #expect(try await runningPurges() == 1, "the purge is left running, as a crash leaves it")

            try await exchange.hub.start()
            var finished = false
            for _ in 0..<300 where !finished {
                finished = try await runningPurges() == 0
                if !finished { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(finished, "the restarted hub finished the purge: \(exchange.hub.serveLog.suffix(2000))")
            #expect(try await exchange.loadedRows(client) == 0, "every due row is deleted")
            let certificates = try await asyncConcord("audit", "deletions", "--config", exchange.hub.config)
            let lines = certificates.output.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
            #expect(certificates.status == 0 && lines.count == 1 && lines.first?[7] == "\(loaded)" && lines.first?[8].hasPrefix("ok") == true,
                    "one signed deletion certificate, for every row once: \(certificates.output) \(certificates.error)")
            try await exchange.verifyAudit()
        }
    }

    @Test("PostgreSQL stopped while an upload is receiving: /readyz says not ready, the upload is refused cleanly, and completes once it is back",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/initdb")))
    func databaseStoppedMidUpload() async throws {
        // The hub's embedded cluster, so that stopping it touches no other test's database.
        let directory = try TemporaryDirectory()
        let made = try await asyncConcord("keys", "new-hub", "--out", directory.file("keys"))
        try #require(made.status == 0, "\(made.error)")
        try """
        format: concord-hub/1
        data_dir: hub
        keys: {encryption: keys/hub-encryption.key, signing: keys/hub-signing.key}
        schemas_dir: \(repositoryRoot.appendingPathComponent("Schemas/datasets").path)
        limits: {database_wait_seconds: 3, request_timeout_seconds: 120}

        """.write(toFile: directory.file("hub.yaml"), atomically: true, encoding: .utf8)
        let exchange = try await FaultExchange.prepare(config: directory.file("hub.yaml"), in: directory)
        let cluster = try EmbeddedPostgres(directory: directory.file("hub/postgres"))
        defer { exchange.hub.stop() }   // stops the cluster it started
        try await stopDatabaseMidUpload(exchange, cluster: cluster)
        // SIGTERM with PostgreSQL down again: the hub must still exit (it once hung in shutdown,
        // waiting on requests that waited for a connection without end).
        try await cluster.stop()
        let stopped = exchange.hub.stop(within: .seconds(20))
        #expect(stopped, "the hub stops on SIGTERM while its database is down; its log:\n\(exchange.hub.serveLog.suffix(4000))")
    }

    private func stopDatabaseMidUpload(_ exchange: FaultExchange, cluster: EmbeddedPostgres) async throws {
        let endpoint = try await cluster.start()   // already running: the hub's
        try await withClient(endpoint.ownerConfiguration) { client in
            let started = ContinuousClock.now
            let push = try await exchange.push(killingWhen: "SELECT count(*) FROM uploads WHERE state = 'receiving'", on: client) {
                try await cluster.stop()
            }
            #expect(push.status == 3, "the agent keeps the envelope for later: \(push.output) \(push.error)")
            #expect((push.output + push.error).contains("hub.unavailable"),
                    "the hub said its database is unavailable: \(push.output) \(push.error); its log:\n\(exchange.hub.serveLog.suffix(4000))")
            // Requests waiting for a database connection give up after database_wait_seconds (3 s),
            // not at the connection's 120 s request deadline.
            #expect(ContinuousClock.now - started < .seconds(60), "the push was answered, not left hanging")
        }
        #expect(try await exchange.hub.status("/readyz") == 503, "not ready without its database")
        #expect(try await exchange.hub.status("/healthz") == 200, "but alive")
        _ = try await cluster.start()
        var ready = false
        for _ in 0..<100 where !ready {
            ready = try await exchange.hub.status("/readyz") == 200
            if !ready { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(ready, "ready again once PostgreSQL is back")
        try await withClient(endpoint.ownerConfiguration) { client in
            try await exchange.resume(client, restartingHub: false)
        }
    }

    @Test("the agent's outbox disk full: a clear error, nothing half-written in the outbox, and the next push sends it",
          .enabled(if: SmallDisk.mountable, "needs root and tmpfs mounts"))
    func agentDiskFull() async throws {
        try await withExchange { exchange, client in
            let disk = try SmallDisk(at: exchange.directory.file("state"), kib: 256)
            defer { disk.unmount() }
            let full = try await asyncConcord("agent", "push", "--config", exchange.agentConfig)
            #expect(full.status != 0)
            #expect((full.output + full.error).localizedCaseInsensitiveContains("space"), "the error says the disk is full: \(full.output) \(full.error)")
            let outbox = (try? FileManager.default.contentsOfDirectory(atPath: exchange.directory.file("state/outbox"))) ?? []
            #expect(outbox.isEmpty, "nothing half-written is left to send: \(outbox)")
            try disk.grow(toKiB: 64 << 10)
            let pushed = try await asyncConcord("agent", "push", "--config", exchange.agentConfig)
            #expect(pushed.status == 0, "\(pushed.output) \(pushed.error)")
            try await exchange.resume(client, restartingHub: false)
        }
    }

    @Test("the hub's data disk full during an upload: a clear refusal, the envelope stays in the outbox, and it is sent once there is room",
          .enabled(if: SmallDisk.mountable, "needs root and tmpfs mounts"))
    func hubDiskFull() async throws {
        try await withExchange(beforeStart: { directory in try SmallDisk(at: directory.file("hub"), kib: 512) }) { exchange, client, disk in
            let full = try await asyncConcord("agent", "push", "--config", exchange.agentConfig)
            #expect(full.status == 3, "the hub could not take it; the envelope waits: \(full.output) \(full.error)")
            #expect((full.output + full.error).contains("disk is full"), "the agent is told the hub's disk is full: \(full.output) \(full.error)")
            #expect(try await exchange.hub.status("/healthz") == 200, "the hub keeps running")
            try disk?.grow(toKiB: 64 << 10)
            try await exchange.resume(client, restartingHub: false)
        }
    }

    /// A fresh database, the shipped agreements applied, the agency registered, a synthetic extract
    /// and its agent configuration, and the hub running; stopped afterwards.
    private func withExchange(_ body: (FaultExchange, PostgresClient) async throws -> Void) async throws {
        try await withExchange(beforeStart: { _ in nil }) { exchange, client, _ in try await body(exchange, client) }
    }

    /// - Parameter beforeStart: run before the hub first starts (to mount its data directory).
    private func withExchange(beforeStart: (TemporaryDirectory) throws -> SmallDisk?,
                              _ body: (FaultExchange, PostgresClient, SmallDisk?) async throws -> Void) async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            let (config, _) = try await hubConfiguration(database, in: directory)
            let disk = try beforeStart(directory)
            defer { disk?.unmount() }
            let exchange = try await FaultExchange.prepare(config: config, in: directory)
            defer { exchange.hub.stop() }
            try await withClient(database) { client in try await body(exchange, client, disk) }
        }
    }
}

/// One agency, its agent and a hub process, for the fault tests.
struct FaultExchange {
    let directory: TemporaryDirectory
    let hub: HubProcess
    let agentConfig: String

    static func prepare(config: String, in directory: TemporaryDirectory) async throws -> FaultExchange {
        let agreements = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Agreements").path)
            .filter { $0.hasSuffix(".yaml") }.map { repositoryRoot.appendingPathComponent("Agreements/\($0)").path }
        try await expectSuccess(asyncRun(concordBinary, ["agreement", "apply", "--config", config, "--as", "tests"] + agreements))
        let agency = HubFaultTests.agency
        try await expectSuccess(asyncConcord("keys", "new-agency", "--id", agency, "--out", directory.file("keys")))
        try await expectSuccess(asyncConcord("hub", "agency", "add", "--config", config, "--as", "tests", "--id", agency, "--name", "Colne Estuary Trust",
                                             "--public-key", try directory.read("keys/\(agency).agency-signing.pub").trimmingCharacters(in: .whitespacesAndNewlines)))
        try await expectSuccess(asyncConcord("keys", "new-linkage-key", "--out", directory.file("linkage.key")))
        try await expectSuccess(asyncConcord("synth", "--seed", "9", "--people", "20000", "--out", directory.file("extracts")))
        let hub = try HubProcess(config: config)
        let root = repositoryRoot.path
        let dataset = HubFaultTests.dataset
        try """
        format: concord-agent/1
        agency: \(agency)
        hub:
          url: \(hub.url)
          encryption_key: "\(try directory.read("keys/hub-encryption.pub").trimmingCharacters(in: .whitespacesAndNewlines))"
          receipt_key: "\(try directory.read("keys/hub-signing.pub").trimmingCharacters(in: .whitespacesAndNewlines))"
        signing_key: keys/\(agency).agency-signing.key
        linkage_key: linkage.key
        state_dir: state
        agreements_dir: \(root)/Agreements
        schemas_dir: \(root)/Schemas/datasets
        retry: {attempts: 1, initial_delay_seconds: 1, max_delay_seconds: 1}
        datasets:
          \(dataset):
            schema: \(root)/Schemas/datasets/\(dataset).yaml
            extract: extracts/\(dataset).csv
            agreements: [\(HubFaultTests.agreement)]

        """.write(toFile: directory.file("agent.yaml"), atomically: true, encoding: .utf8)
        try await hub.start()
        return FaultExchange(directory: directory, hub: hub, agentConfig: directory.file("agent.yaml"))
    }

    /// Runs `concord agent push` and kills the hub (or does `fault`) the moment `condition` (a
    /// count) is above zero (see `strike`). Fails when the moment never came.
    func push(killingWhen condition: String, on client: PostgresClient, fault: (() async throws -> Void)? = nil) async throws -> RunResult {
        let push = try startConcord("agent", "push", "--config", agentConfig)
        let saw = try await strike(when: condition, on: client, fault: fault, endingWhen: { push.hasEnded })
        let result = try await push.result()
        try #require(saw, "the moment to kill the hub never came (\(condition)); the push: \(result.output) \(result.error)")
        return result
    }

    /// Kills the hub (or does `fault`) the moment `condition` (a count) is above zero, watching
    /// every few milliseconds. Returns whether the moment came. It gives up a minute after `ended`
    /// first says so (a linkage comes after the push's receipt), and after 5 minutes at most: under
    /// the whole suite on two cores, a debug build's push has taken over a minute to start its upload.
    func strike(when condition: String, on client: PostgresClient, fault: (() async throws -> Void)? = nil,
                endingWhen ended: () -> Bool = { false }) async throws -> Bool {
        var deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let count = try await client.query(PostgresQuery(unsafeSQL: condition), logger: testLogger).collect().first?.decode(Int.self) ?? 0
            if count > 0 {
                if let fault { try await fault() } else { hub.killHard() }
                return true
            }
            if ended() { deadline = min(deadline, ContinuousClock.now + .seconds(60)) }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    /// Starts the hub again (unless it runs) and pushes again: the envelope left in the outbox is sent (resuming
    /// the recorded upload) and acknowledged; then the hub's tables must hold exactly what the
    /// receipt says, nothing staged half-way, and the audit chain must verify.
    func resume(_ client: PostgresClient, restartingHub: Bool) async throws {
        try #require(FileManager.default.fileExists(atPath: directory.file("state/outbox")))
        let waiting = try FileManager.default.contentsOfDirectory(atPath: directory.file("state/outbox")).filter { $0.hasSuffix(".envelope") }
        // Killed during linkage, the upload may already be acknowledged: then nothing waits.
        if restartingHub { try await hub.start() }
        let retried = try await asyncConcord("agent", "retry", "--config", agentConfig)
        #expect(retried.status == 0, "the retry after the restart: \(retried.output) \(retried.error)")
        let sent = try FileManager.default.contentsOfDirectory(atPath: directory.file("state/sent"))
        let receipts = sent.filter { $0.hasSuffix(".receipt.json") }
        try #require(receipts.count == 1, "one receipt: \(sent)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("state/outbox")).filter { $0.hasSuffix(".envelope") }.isEmpty,
                "the outbox is empty (it held \(waiting))")
        let receipt = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.file("state/sent/\(receipts[0])")))) as? [String: Any]
        let rowsLoaded = try #require((receipt?["receipt"] as? [String: Any])?["rows_loaded"] as? Int)
        #expect(rowsLoaded > 1000)

        let states = try await client.query("SELECT state, count(*)::int FROM uploads GROUP BY state ORDER BY state", logger: testLogger)
            .collect().map { try $0.decode((String, Int).self) }
        #expect(states.map(\.0) == ["complete"] && states.map(\.1) == [1], "one upload, complete: \(states)")
        let extracts = try await client.query("SELECT state, rows FROM extracts ORDER BY id", logger: testLogger).collect().map { try $0.decode((String, Int).self) }
        #expect(extracts.filter { $0.0 == "published" }.map(\.1) == [rowsLoaded], "one published extract with the receipt's rows: \(extracts)")
        #expect(!extracts.contains { $0.0 == "staged" }, "nothing left staged: \(extracts)")
        #expect(try await loadedRows(client) == rowsLoaded, "the dataset's table holds the receipt's rows, once")
        let accepted = try await client.query("SELECT count(*)::int FROM audit_log WHERE action = 'upload.accepted'", logger: testLogger)
            .collect().first?.decode(Int.self)
        #expect(accepted == 1, "one upload.accepted entry")
        try await verifyAudit()
    }

    /// Rows in the dataset's table, of any extract (a discarded one's rows are deleted with it).
    func loadedRows(_ client: PostgresClient) async throws -> Int {
        try await client.query("SELECT count(*)::int FROM \(unescaped: "ds_" + HubFaultTests.dataset)", logger: testLogger)
            .collect().first?.decode(Int.self) ?? -1
    }

    func verifyAudit() async throws {
        let verified = try await asyncConcord("audit", "verify", "--config", hub.config)
        #expect(verified.status == 0 && verified.output.hasPrefix("audit log: ok"), "\(verified.output) \(verified.error)")
    }
}

/// A small tmpfs mounted over a folder, to fill it: root only, where mounts are permitted.
struct SmallDisk {
    let path: String

    static let mountable: Bool = {
        guard getuid() == 0, let probe = try? TemporaryDirectory() else { return false }
        guard (try? run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.path]))?.status == 0 else { return false }
        _ = try? run("/bin/umount", [probe.path])
        return true
    }()

    init(at path: String, kib: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kib)k,mode=0700", "tmpfs", path])
        try #require(mounted.status == 0, "mount: \(mounted.error)")
        self.path = path
    }

    func grow(toKiB kib: Int) throws {
        let grown = try run("/bin/mount", ["-o", "remount,size=\(kib)k", path])
        try #require(grown.status == 0, "remount: \(grown.error)")
    }

    func unmount() { _ = try? run("/bin/umount", ["-l", path]) }
}

private func expectSuccess(_ result: RunResult) async throws {
    try #require(result.status == 0, "\(result.output) \(result.error)")
}
