import Logging
import Synchronization

/// The latest reason PostgresNIO's pool gave for failing to connect since a connection was last
/// leased, so that a call that waited in vain for a connection can say why (a wrong password, a
/// missing database, a refused port) rather than only that it waited.
///
/// The pool reports a failed attempt only to its background logger, as "Connection creation
/// failed" at `info` with the error in `psql_error` metadata; `backgroundLogger(passingTo:)` makes
/// a logger that keeps it. Connection errors carry no statement or bound value.
public final class ConnectionFailures: Sendable {
    private let latest = Mutex<String?>(nil)

    public init() {}

    /// The latest failure, unless a connection was leased since.
    public var reason: String? { latest.withLock { $0 } }

    func record(_ reason: String) {
        latest.withLock { $0 = String(reason.prefix(Self.longestReason)) }
    }

    /// A connection was leased: earlier failures no longer explain anything.
    func leased() {
        latest.withLock { $0 = nil }
    }

    /// A logger for `PostgresClient(configuration:backgroundLogger:)` that records failed
    /// connection attempts here and passes every message on to `base`, whose level still decides
    /// what is written.
    public func backgroundLogger(passingTo base: Logger) -> Logger {
        Logger(label: base.label) { _ in RecordingHandler(base: base, failures: self) }
    }

    static let longestReason = 500
}

/// Sees every message from `info` up, records connection failures, and forwards to `base`.
private struct RecordingHandler: LogHandler {
    let base: Logger
    let failures: ConnectionFailures
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if event.message.description == "Connection creation failed", let error = event.metadata?["psql_error"] {
            failures.record("\(error)")
        }
        guard event.level >= base.logLevel else { return }
        var event = event
        event.metadata = metadata.merging(event.metadata ?? [:]) { $1 }
        base.handler.log(event: event)
    }
}
