import ConcordCore
import ConcordFiles
import ConcordHubStore
import Logging
import PostgresNIO

/// The hub's database, ready to use: an external PostgreSQL (`database_url`) or the embedded
/// cluster under the data directory, migrated, with a table for every dataset schema.
public enum HubRuntime {
    /// Opens the store, runs `body`, and closes everything it opened, the embedded cluster included
    /// when this call started it (a cluster a running hub already started is left running).
    /// - Parameter agreementsToApply: agreements `body` is about to apply, whose columns the
    ///   dataset tables are widened for now, while the owner is connected.
    public static func withStore<T: Sendable>(_ configuration: HubConfiguration, catalogue: SchemaCatalogue, logger: Logger,
                                              agreementsToApply: [Agreement] = [],
                                              _ body: (HubStore) async throws -> T) async throws -> T {
        let owner: HubDatabaseConfiguration
        let runtime: HubDatabaseConfiguration
        var embedded: EmbeddedPostgres?
        if let url = configuration.databaseURL {
            owner = try HubDatabaseConfiguration(url: url)
            runtime = owner
        } else {
            // Others may pass through (not list): the cluster below runs as its own user when the hub is root.
            try createDirectory(configuration.dataDirectory, mode: 0o711)
            let cluster = try EmbeddedPostgres(directory: "\(configuration.dataDirectory)/postgres", serverUser: configuration.embeddedPostgresUser)
            // A cluster a running hub started is that hub's to stop.
            let wasRunning = try await cluster.isRunning()
            let endpoint = try await cluster.start()
            if !wasRunning { embedded = cluster }
            owner = endpoint.ownerConfiguration
            runtime = endpoint.runtimeConfiguration
        }
        do {
            // Schema changes need the owner; requests are then served as the runtime role.
            let wait = Duration.seconds(configuration.limits.databaseWaitSeconds)
            try await withClient(owner, connectionWait: wait, logger: logger) { store in
                try await store.migrate()
                try await prepareDatasetTables(store, catalogue: catalogue, also: agreementsToApply)
            }
            let result = try await withClient(runtime, connectionWait: wait, logger: logger, body)
            try await embedded?.stop()
            return result
        } catch {
            try? await embedded?.stop()
            throw error
        }
    }

    /// A table for every dataset schema, with each column wide enough for what every applied
    /// agreement lets its providers send (a date an agreement generalises to year-month is text).
    /// - Parameter also: agreements not yet applied that the tables must already fit.
    public static func prepareDatasetTables(_ store: HubStore, catalogue: SchemaCatalogue, also pending: [Agreement] = []) async throws {
        let schemas = catalogue.schemas.values.sorted { $0.dataset < $1.dataset }
        for schema in schemas { try await store.ensureDatasetTable(schema: schema) }
        let applied = try await store.agreements().compactMap { try? Agreement(yaml: $0.document, file: $0.id, catalogue: catalogue) }
        for agreement in applied + pending {
            for provider in agreement.providers {
                for permission in provider.datasets {
                    guard let schema = catalogue.schemas[permission.dataset],
                          let plan = try? ReleasePlan(schema: schema, agreements: [agreement], agency: provider.agency) else { continue }
                    try await store.ensureDatasetTable(schema: schema, plan: plan)
                }
            }
        }
    }

    /// Runs `body` with a store on a client that runs for exactly as long.
    static func withClient<T: Sendable>(_ configuration: HubDatabaseConfiguration, connectionWait: Duration, logger: Logger,
                                        _ body: (HubStore) async throws -> T) async throws -> T {
        // The pool warns when a lease comes before run() has started, which is harmless here.
        var clientLogger = logger
        clientLogger.logLevel = max(logger.logLevel, .error)
        let failures = ConnectionFailures()
        let client = configuration.makeClient(logger: failures.backgroundLogger(passingTo: clientLogger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(HubStore(client: client, logger: logger, connectionWait: connectionWait, connectionFailures: failures))
        }
    }
}
