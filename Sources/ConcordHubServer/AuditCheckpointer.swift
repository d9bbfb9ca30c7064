import ConcordHubStore
import Foundation
import Logging
import ServiceLifecycle

/// Signs a checkpoint of the audit log whenever it has grown, every `interval` while the hub runs
/// and once more at shutdown, after writing the refusals `RefusalAudit` counted, so that they too
/// are covered. Uploads also sign one as soon as they are published (`HubService.ingest`).
public struct AuditCheckpointer: Service {
    let store: HubStore
    let keys: HubKeys
    let refusals: RefusalAudit
    let logger: Logger
    let interval: Duration

    /// - Parameter interval: at most this long between an entry and a checkpoint covering it.
    public init(store: HubStore, keys: HubKeys, refusals: RefusalAudit, logger: Logger, interval: Duration = .seconds(60)) {
        self.store = store
        self.keys = keys
        self.refusals = refusals
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        try await repeatUntilShutdown {
            try await Task.sleep(for: interval)
            await tick()
        }
        // Shutting down: what was counted and written since the last tick is signed now.
        await tick()
    }

    /// One round; a failure is logged and retried next round rather than stopping the hub.
    func tick() async {
        do {
            try await refusals.flush()
            try await store.signCheckpoint(with: keys, now: Int64(Date().timeIntervalSince1970))
        } catch {
            logger.error("audit checkpoint not signed: \(error)")
        }
    }
}

extension HubStore {
    /// Signs a checkpoint with the hub's receipt-signing key if the log grew since the last.
    @discardableResult
    public func signCheckpoint(with keys: HubKeys, now: Int64) async throws -> StoredCheckpoint {
        try await signCheckpoint(key: keys.signing, publicKey: keys.signingPublic, now: now)
    }
}
