import ConcordCore
@testable import ConcordHubStore
import ConcordTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

func repositoryFile(_ path: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
}

func shippedSchema(_ dataset: String) throws -> DatasetSchema {
    let path = "Schemas/datasets/\(dataset).yaml"
    return try DatasetSchema(yaml: repositoryFile(path), file: path)
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
