import ConcordCore
@testable import ConcordHubStore
import Foundation
import Logging
import PostgresNIO
import Testing

/// The repository's root, for tests that read shipped files (schemas, agreements).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func repositoryFile(_ path: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
}

func shippedSchema(_ dataset: String) throws -> DatasetSchema {
    let path = "Schemas/datasets/\(dataset).yaml"
    return try DatasetSchema(yaml: repositoryFile(path), file: path)
}

let testLogger = Logger(label: "concord.hub-store.tests")

/// The server `scripts/with-test-postgres.sh` started, as a superuser URL.
let testDatabaseURL = ProcessInfo.processInfo.environment["CONCORD_TEST_DATABASE_URL"]

/// Tests needing PostgreSQL run when the URL is set, and also under CI without it, where
/// `requireDatabase()` then fails them: CI must never pass by skipping.
let databaseAvailable = testDatabaseURL != nil || ProcessInfo.processInfo.environment["CI"] != nil

func requireDatabase() throws -> HubDatabaseConfiguration {
    let url = try #require(testDatabaseURL, "CONCORD_TEST_DATABASE_URL is not set: run the tests through scripts/with-test-postgres.sh")
    return try HubDatabaseConfiguration(url: url)
}

/// Runs `body` with a running client for `configuration`, stopping the client afterwards.
@discardableResult
func withClient<T: Sendable>(_ configuration: HubDatabaseConfiguration, _ body: (PostgresClient) async throws -> T) async throws -> T {
    let client = configuration.makeClient(logger: testLogger, maximumConnections: 8)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// A fresh database `concord_t_<random>` on the test server, dropped afterwards, so tests run in
/// parallel without seeing each other. `body` gets its configuration (as the superuser).
func withFreshDatabase<T: Sendable>(_ body: (HubDatabaseConfiguration) async throws -> T) async throws -> T {
    let server = try requireDatabase()
    let name = "concord_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    try await withClient(server) { client in
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
    try await withClient(server) { client in
        try await client.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: testLogger)
    }
}

/// A migrated store on a fresh database, as the superuser.
func withStore<T: Sendable>(_ body: (HubStore, HubDatabaseConfiguration) async throws -> T) async throws -> T {
    try await withFreshDatabase { configuration in
        try await withClient(configuration) { client in
            let store = HubStore(client: client, logger: testLogger)
            try await store.migrate()
            return try await body(store, configuration)
        }
    }
}

/// The first column of every row, as `T`.
func column<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type, on store: HubStore) async throws -> [T] {
    try await store.client.query(query, logger: testLogger).decode(T.self).all()
}

extension AsyncSequence {
    /// Every element, in order.
    func all() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}

/// The error thrown by `body`, as a `HubStoreError`.
func hubStoreError(_ body: () async throws -> Void) async -> HubStoreError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? HubStoreError
    }
}

/// An agency's signing key line.
func agencyKey(_ id: String) -> PublicKeyLine {
    PrivateKeyDocument.generate(.agencySigning, owner: id).publicKey
}
