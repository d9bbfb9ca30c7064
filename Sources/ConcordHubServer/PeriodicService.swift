import ServiceLifecycle

/// Runs `round` again and again until the hub shuts down gracefully, then returns normally: the
/// loop shared by the hub's periodic services (`NoncePruner`, `AuditCheckpointer`,
/// `RetentionWorker`). Each round decides for itself when to sleep and what a failure means.
func repeatUntilShutdown(_ round: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled { try await round() }
        }
    } catch is CancellationError {
        // Shutting down.
    }
}
