import ConcordCore
import ConcordHubStore
import Foundation
import ServiceLifecycle

/// Forgets request nonces once no request carrying them could still be fresh (older than
/// ``SignedRequest/nonceRetentionSeconds``), every few minutes while the hub runs, so the replay
/// table stays the size of a few minutes' traffic.
public struct NoncePruner: Service {
    let store: HubStore
    let interval: Duration

    public init(store: HubStore, interval: Duration = .seconds(300)) {
        self.store = store
        self.interval = interval
    }

    /// Stopping between rounds leaves nothing half done.
    public func run() async throws {
        try await repeatUntilShutdown {
            _ = try await store.pruneNonces(seenBefore: Date(timeIntervalSinceNow: -Double(SignedRequest.nonceRetentionSeconds)))
            try await Task.sleep(for: interval)
        }
    }
}
