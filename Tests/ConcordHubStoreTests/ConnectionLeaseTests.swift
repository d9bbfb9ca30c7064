@testable import ConcordHubStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// The store's bounded wait for a connection (`HubStore.withConnection`) and its refusal of a
/// connection the server closed (`queryUnlessClosed`), against a real PostgreSQL.
@Suite(.enabled(if: databaseAvailable, "needs CONCORD_TEST_DATABASE_URL (scripts/with-test-postgres.sh)"))
struct ConnectionLeaseTests {
    @Test("with every connection busy, a call gives up after connectionWait, and the pool works again once one is free")
    func busyPoolGivesUpInTime() async throws {
        try await withSingleConnectionPool { client, configuration in
            let patient = HubStore(client: client, logger: testLogger, connectionWait: .seconds(60))
            let hurried = HubStore(client: client, logger: testLogger, connectionWait: .milliseconds(300))
            let holding = Task { try await patient.rows("SELECT pg_sleep(15)") }
            // Seen from another client: the sleep holds the pool's one connection.
            try await withClient(configuration) { observer in
                try await waitUntil {
                    try await observer.query("SELECT count(*)::int FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(15)'", logger: testLogger)
                        .collect().first?.decode(Int.self) == 1
                }
            }
            let started = ContinuousClock.now
            let error = await hubStoreError { _ = try await hurried.rows("SELECT 1") }
            let waited = ContinuousClock.now - started
            guard case .databaseUnavailable(let reason)? = error else {
                Issue.record("expected databaseUnavailable, got \(String(describing: error))")
                return
            }
            #expect(reason.contains("no connection within"), "\(reason)")
            // Far from the 300 ms deadline: the suite's other tests can keep every thread busy for seconds.
            #expect(waited < .seconds(12), "gave up at the deadline, not when the connection came back")
            _ = try await holding.value
            let afterwards = try await hurried.rows("SELECT 1")
            #expect(afterwards.count == 1, "the connection went back to the pool")
        }
    }

    @Test("the deadline bounds only the wait for a connection: a statement longer than it runs to its end")
    func deadlineDoesNotCutStatements() async throws {
        try await withSingleConnectionPool { client, _ in
            let patient = HubStore(client: client, logger: testLogger, connectionWait: .seconds(60))
            _ = try await patient.rows("SELECT 1")   // the pool's connection, made
            // Long enough that a lease of the idle connection never misses it, even while the
            // suite's other tests keep every thread busy for seconds.
            let store = HubStore(client: client, logger: testLogger, connectionWait: .seconds(10))
            let rows = try await store.rows("SELECT 7 FROM pg_sleep(11)")
            #expect(try rows.map { try $0.decode(Int.self) } == [7])
            // And again: each lease was given back.
            for _ in 0..<20 { #expect(try await store.rows("SELECT 1").count == 1) }
        }
    }

    @Test("no server at the address: databaseUnavailable within the wait, saying why connecting failed")
    func unreachableServer() async throws {
        // A socket path with no server: every attempt fails at once. (A closed TCP port on
        // 127.0.0.1 took up to 30 s to fail under the full parallel suite, likely waiting for
        // address resolution in NIO's shared blocking pool.)
        let directory = try TemporaryDirectory()
        let nowhere = HubDatabaseConfiguration(unixSocketPath: directory.file(".s.PGSQL.5432"), username: "concord", database: "concord")
        let failures = ConnectionFailures()
        try await withClient(nowhere, logger: failures.backgroundLogger(passingTo: testLogger)) { client in
            let store = HubStore(client: client, logger: testLogger, connectionWait: .seconds(2), connectionFailures: failures)
            // The first call may give up before the pool's first attempt has failed; a later
            // one knows why.
            var reasons: [String] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, !(reasons.last ?? "").contains("connecting failed") {
                guard case .databaseUnavailable(let reason)? = await hubStoreError({ try await store.readiness() }) else {
                    Issue.record("expected databaseUnavailable")
                    return
                }
                reasons.append(reason)
            }
            let reason = reasons.last ?? ""
            #expect(reason.contains("connecting failed") && reason.contains("No such file"), "\(reasons)")
        }
    }

    @Test("a statement on a connection the server closed mid-transaction fails at once as databaseUnavailable")
    func closedConnectionIsRefused() async throws {
        try await withFreshDatabase { configuration in
            try await withClient(configuration) { client in
                let store = HubStore(client: client, logger: testLogger, connectionWait: .seconds(5))
                let error = await hubStoreError {
                    try await store.withTransaction { transaction in
                        let pid = try await transaction.query("SELECT pg_backend_pid()").collect().first?.decode(Int32.self) ?? 0
                        // Ended from another session, as a fast shutdown ends every session.
                        try await withClient(configuration) { other in
                            _ = try await other.query("SELECT pg_terminate_backend(\(pid))", logger: testLogger).collect()
                        }
                        try await waitUntil { transaction.connection.isClosed }
                        try await transaction.query("SELECT 1")
                    }
                }
                guard case .databaseUnavailable(let reason)? = error else {
                    Issue.record("expected databaseUnavailable, got \(String(describing: error))")
                    return
                }
                #expect(reason.contains("closed"), "\(reason)")
                // The pool drops the closed connection once it sees it close (until then a lease
                // may get it, and is refused the same way) and makes another.
                try await waitUntil { (try? await store.rows("SELECT 1"))?.count == 1 }
            }
        }
    }

    @Test("a session ended during a COPY fails the copy as databaseUnavailable")
    func sessionEndedDuringCopy() async throws {
        try await withFreshDatabase { configuration in
            try await withClient(configuration) { client in
                let store = HubStore(client: client, logger: testLogger, connectionWait: .seconds(5))
                _ = try await store.withTransaction { try await $0.query("CREATE TABLE copied (n int)") }
                do {
                    try await store.withTransaction { transaction in
                        let pid = try await transaction.query("SELECT pg_backend_pid()").collect().first?.decode(Int32.self) ?? 0
                        try await transaction.copy(into: "copied", columns: ["n"]) { writer in
                            try await writer.write(ByteBuffer(string: "1\n"))
                            try await withClient(configuration) { other in
                                _ = try await other.query("SELECT pg_terminate_backend(\(pid))", logger: testLogger).collect()
                            }
                            try await waitUntil { transaction.connection.isClosed }
                            try await writer.write(ByteBuffer(string: "2\n"))
                        }
                    }
                    Issue.record("the copy went on after its session ended")
                } catch HubStoreError.databaseUnavailable {
                } catch {
                    Issue.record("expected databaseUnavailable, got \(error)")
                }
            }
        }
    }

    @Test("a session ended while statements stream on it: every statement ends, none is lost in the close")
    func sessionEndedMidStream() async throws {
        try await withFreshDatabase { configuration in
            try await withClient(configuration) { client in
                let store = HubStore(client: client, logger: testLogger, connectionWait: .seconds(30))
                try await withClient(configuration) { killer in
                    // Each round ends a session at a random moment of a stream of statements. A lost
                    // statement never returns, and nothing in this process could end the wait
                    // for it, so a watchdog stops the run with the round's number. A round takes
                    // milliseconds; the watchdog allows minutes, as the full suite can starve
                    // every thread for tens of seconds.
                    for round in 1...Self.closingRounds {
                        let watchdog = Task {
                            try await Task.sleep(for: .seconds(180))
                            fatalError("round \(round): a statement on a connection closing under it never returned")
                        }
                        defer { watchdog.cancel() }
                        let error = await hubStoreError {
                            try await store.withConnection { connection in
                                let pid = try await connection.queryUnlessClosed("SELECT pg_backend_pid()", logger: testLogger).collect().first?.decode(Int32.self) ?? 0
                                async let terminated = killer.query("SELECT pg_terminate_backend(\(pid)) FROM pg_sleep(\(Double.random(in: 0...0.005)))",
                                                                    logger: testLogger).collect()
                                while true { _ = try await connection.queryUnlessClosed("SELECT 1", logger: testLogger).collect() }
                                _ = try await terminated
                            }
                        }
                        guard case .databaseUnavailable? = error else {
                            Issue.record("round \(round): expected databaseUnavailable, got \(String(describing: error))")
                            return
                        }
                    }
                }
            }
        }
    }

    /// 200 in `make test` (a few seconds); `make soak` runs 5,000.
    static let closingRounds = ProcessInfo.processInfo.environment["CONCORD_CLOSING_ROUNDS"].flatMap { Int($0) } ?? 200

    /// A client on a fresh database whose pool has a single connection.
    private func withSingleConnectionPool(_ body: (PostgresClient, HubDatabaseConfiguration) async throws -> Void) async throws {
        try await withFreshDatabase { configuration in
            try await withClient(configuration, maximumConnections: 1) { try await body($0, configuration) }
        }
    }

    /// Polls `condition` every 20 ms for up to 60 s; fails the test if it never holds.
    private func waitUntil(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the condition never held")
    }
}
