import PostgresNIO
import Synchronization

extension HubStore {
    /// Runs `body` on a pooled connection, waiting at most `connectionWait` for one; past that it
    /// throws `HubStoreError.databaseUnavailable`.
    ///
    /// PostgresNIO's pool has no lease timeout: while PostgreSQL is down it queues a lease for as
    /// long as it keeps trying to connect (a minute before its circuit breaker opens, and without
    /// end while any other connection stays leased). A request arriving then would hang, and the
    /// hub's graceful shutdown with it (found by HubFaultTests, stopping PostgreSQL mid-upload).
    /// So the lease is taken in a child task, which lends the connection to `body` here and gives
    /// it back to the pool when `body` ends; the deadline cancels only that wait, never a
    /// statement that is running.
    func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await HubStoreError.translating {
            try await withThrowingTaskGroup(of: Void.self) { group in
                let handoff = ConnectionHandoff()
                let (client, wait, failures) = (client, connectionWait, connectionFailures)
                group.addTask {
                    do {
                        try await client.withConnection { connection in
                            failures?.leased()
                            await handoff.lend(connection)
                        }
                    } catch {
                        handoff.fail(.databaseUnavailable("no connection: \(HubStoreError.connectionFailure(error))"))
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: wait)
                    guard !Task.isCancelled else { return }
                    let why = failures?.reason.map { "connecting failed: \($0)" } ?? "it is down, restarting or overloaded"
                    handoff.fail(.databaseUnavailable("no connection within \(wait.components.seconds) s: \(why)"))
                }
                // Ends the lender's wait for a lease (when `body` never got one) and the timer.
                defer { group.cancelAll() }
                let connection = try await handoff.borrow()
                defer { handoff.giveBack() }
                return try await body(connection)
            }
        }
    }

    /// Runs one statement on a pooled connection and returns its rows: for reads that fit in memory.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await withConnection { try await $0.queryUnlessClosed(query, logger: logger).collect() }
    }
}

/// Passes one leased connection from the task holding the lease to the task using it, and back.
///
/// The lender waits for the connection's return without heeding cancellation: its lease must
/// outlive the borrower's use of the connection, however the surrounding task group ends.
final class ConnectionHandoff: Sendable {
    private enum State {
        /// No connection yet; the borrower's continuation once it waits.
        case waiting(borrower: CheckedContinuation<PostgresConnection, any Error>?)
        /// Lent; the lender waits on its continuation for the connection to come back.
        case lent(PostgresConnection, lender: CheckedContinuation<Void, Never>)
        case returned
        /// The borrower gave up (deadline or lease failure): a connection lent now goes straight back.
        case failed(HubStoreError)
    }

    private let state = Mutex<State>(.waiting(borrower: nil))

    /// The connection, once lent; throws the failure that came first instead. Call it once.
    func borrow() async throws -> PostgresConnection {
        try await withCheckedThrowingContinuation { borrower in
            let ready: Result<PostgresConnection, HubStoreError>? = state.withLock { state in
                switch state {
                case .waiting:
                    state = .waiting(borrower: borrower)
                    return nil
                case .lent(let connection, _): return .success(connection)
                case .failed(let error): return .failure(error)
                case .returned: preconditionFailure("a connection borrowed after it was given back")
                }
            }
            if let ready { borrower.resume(with: ready) }
        }
    }

    /// Lends `connection` and returns once it is given back (at once when the borrower gave up).
    func lend(_ connection: PostgresConnection) async {
        await withCheckedContinuation { lender in
            let (lent, borrower): (Bool, CheckedContinuation<PostgresConnection, any Error>?) = state.withLock { state in
                guard case .waiting(let borrower) = state else { return (false, nil) }
                state = .lent(connection, lender: lender)
                return (true, borrower)
            }
            if lent { borrower?.resume(returning: connection) } else { lender.resume() }
        }
    }

    /// Ends the borrower's wait with `error`, unless it already has its connection.
    func fail(_ error: HubStoreError) {
        let borrower: CheckedContinuation<PostgresConnection, any Error>? = state.withLock { state in
            guard case .waiting(let borrower) = state else { return nil }
            state = .failed(error)
            return borrower
        }
        borrower?.resume(throwing: error)
    }

    /// Gives the connection back to the lender, which releases its lease.
    func giveBack() {
        let lender: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard case .lent(_, let lender) = state else { return nil }
            state = .returned
            return lender
        }
        lender?.resume()
    }
}

extension PostgresConnection {
    /// `query(_:logger:)`, refused on a connection that has closed.
    ///
    /// PostgresNIO (1.33) loses a statement written to a closed channel: the call never returns,
    /// and cancelling it does not help (vapor/postgres-nio#487 fixed this and was reverted in
    /// #501). PostgreSQL ends every session when it stops, and a statement sent in that instant
    /// hung its request or linkage run, and the hub's shutdown with it (found by HubFaultTests).
    /// Checking `isClosed` first is not enough: the write reaches the channel a thread hop later,
    /// and the close can come in between (`ConnectionLeaseTests.sessionEndedMidStream` lost one
    /// statement in a few hundred rounds on a busy machine). So the check and the write both run
    /// on the connection's event loop, where the close also runs, with nothing between them.
    @discardableResult
    func queryUnlessClosed(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await onEventLoopUnlessClosed { try await self.query(query, logger: logger) }
    }

    /// `copyFrom(table:columns:logger:writeData:)`, refused on a connection that has closed,
    /// the check and the write of the `COPY` on the event loop (see `queryUnlessClosed`).
    /// `writeData` runs on the global executor, so that its work never holds up the event loop.
    func copyUnlessClosed(into table: String, columns: [String], logger: Logger,
                          _ writeData: (PostgresCopyFromWriter) async throws -> Void) async throws {
        try await onEventLoopUnlessClosed {
            try await copyFrom(table: table, columns: columns, logger: logger) { writer in
                try await withTaskExecutorPreference(globalConcurrentExecutor) { try await writeData(writer) }
            }
        }
    }

    /// Runs `startStatement` on the connection's event loop, right after checking there that the
    /// connection is open; throws `HubStoreError.databaseUnavailable` if it has closed. Whether
    /// the work really runs on the event loop is asserted in debug builds, so every test's
    /// statements check it.
    private func onEventLoopUnlessClosed<T>(_ startStatement: () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(EventLoopExecutor(eventLoop)) {
            eventLoop.assertInEventLoop()
            guard !isClosed else { throw HubStoreError.databaseUnavailable("the server closed the connection") }
            return try await startStatement()
        }
    }
}

/// Runs the jobs of the tasks that prefer it on a NIO event loop.
final class EventLoopExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
