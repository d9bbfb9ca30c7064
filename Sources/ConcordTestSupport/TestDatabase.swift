import ConcordHubStore
import Foundation
import Logging
import PostgresNIO
import Testing

// Shared by the test targets that need PostgreSQL; never linked into the `concord` binary.

/// The repository's root, for tests that read shipped files (schemas, agreements, specs).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Quiet: tests judge by answers and state, and a cancelled server logs its cancellation as an error.
public let testLogger: Logger = {
    var logger = Logger(label: "concord.tests")
    logger.logLevel = .critical
    return logger
}()

/// The server `scripts/with-test-postgres.sh` started, as a superuser URL.
public let testDatabaseURL = ProcessInfo.processInfo.environment["CONCORD_TEST_DATABASE_URL"]

/// Tests needing PostgreSQL run when the URL is set, and also under CI without it, where
/// `requireDatabase()` then fails them: CI must never pass by skipping.
public let databaseAvailable = testDatabaseURL != nil || ProcessInfo.processInfo.environment["CI"] != nil

public func requireDatabase() throws -> HubDatabaseConfiguration {
    let url = try #require(testDatabaseURL, "CONCORD_TEST_DATABASE_URL is not set: run the tests through scripts/with-test-postgres.sh")
    return try HubDatabaseConfiguration(url: url)
}

/// Runs `body` with a running client for `configuration`, stopping the client afterwards.
/// - Parameter logger: the client's background logger (`testLogger` unless given).
public func withClient<T: Sendable>(_ configuration: HubDatabaseConfiguration, maximumConnections: Int = 8, logger: Logger = testLogger,
                                    _ body: (PostgresClient) async throws -> T) async throws -> T {
    let client = configuration.makeClient(logger: logger, maximumConnections: maximumConnections)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// A fresh database `concord_t_<random>` on the test server, dropped afterwards, so tests run in
/// parallel without seeing each other. `body` gets its configuration (as the superuser).
public func withFreshDatabase<T: Sendable>(_ body: (HubDatabaseConfiguration) async throws -> T) async throws -> T {
    let server = try requireDatabase()
    let name = "concord_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    _ = try await withClient(server) { client in
        try await client.query("CREATE DATABASE \(unescaped: name)", logger: testLogger)
    }
    do {
        let value = try await body(server.with(database: name))
        try await dropDatabase(name, on: server)
        return value
    } catch {
        try? await dropDatabase(name, on: server)
        throw error
    }
}

private func dropDatabase(_ name: String, on server: HubDatabaseConfiguration) async throws {
    _ = try await withClient(server) { client in
        try await client.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: testLogger)
    }
}
