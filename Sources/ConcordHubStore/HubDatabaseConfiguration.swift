import Foundation
import Logging
import PostgresNIO

/// Where the hub's PostgreSQL is and how to log in: parsed from a `database_url`, or the embedded
/// cluster's Unix socket. Its `description` never shows the password.
public struct HubDatabaseConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is made.
    public enum Endpoint: Sendable, Equatable {
        /// TCP to `host:port` with a TLS mode.
        case tcp(host: String, port: Int, tls: TLSMode)
        /// A Unix-domain socket: the socket file's full path (`…/.s.PGSQL.5432`).
        case unixSocket(path: String)
    }

    /// libpq's `sslmode` values that Concord supports.
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (for loopback and tests only).
        case disable
        /// TLS if the server offers it, without verifying its certificate (libpq's default).
        case prefer
        /// TLS, without verifying the certificate (libpq's `require`).
        case require
        /// TLS with the certificate verified against the system's trust roots and the host name.
        case verifyFull = "verify-full"
    }

    public var endpoint: Endpoint
    public var username: String
    /// Never printed or logged.
    public var password: String?
    public var database: String

    public init(endpoint: Endpoint, username: String, password: String?, database: String) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]` (or `postgresql://`).
    /// The user, password and database may be percent-encoded; the port defaults to 5432 and
    /// `sslmode` to `prefer`. A Unix socket is given as `?host=/path/to/socket-directory`.
    public init(url text: String) throws(HubStoreError) {
        // URLComponents keeps percent-encoding apart from the decoded form and handles IPv6 hosts.
        guard let components = URLComponents(string: text) else { throw .invalidDatabaseURL("it is not a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw .invalidDatabaseURL("the scheme must be postgres:// or postgresql://")
        }
        guard let user = components.user, !user.isEmpty else { throw .invalidDatabaseURL("it names no user") }
        let path = components.path
        let database = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !database.isEmpty, !database.contains("/") else { throw .invalidDatabaseURL("it names no database (…/DATABASE)") }
        var sslmode = TLSMode.prefer
        var socketDirectory: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw .invalidDatabaseURL("sslmode must be disable, prefer, require or verify-full")
                }
                sslmode = mode
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw .invalidDatabaseURL("host= in the query must be a socket directory starting with /")
                }
                socketDirectory = value
            default:
                throw .invalidDatabaseURL("unknown parameter '\(item.name)'; only sslmode and host are read")
            }
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw .invalidDatabaseURL("the port must be 1 to 65535") }
        if let socketDirectory {
            endpoint = .unixSocket(path: socketDirectory + "/.s.PGSQL.\(port)")
        } else {
            guard let host = components.host, !host.isEmpty else { throw .invalidDatabaseURL("it names no host") }
            endpoint = .tcp(host: host, port: port, tls: sslmode)
        }
        username = user
        password = components.password
        self.database = database
    }

    /// The embedded cluster's socket, logging in without a password (trust on the socket only).
    public init(unixSocketPath: String, username: String, database: String) {
        self.init(endpoint: .unixSocket(path: unixSocketPath), username: username, password: nil, database: database)
    }

    /// The same server and credentials, another database (tests create one each).
    public func with(database: String) -> HubDatabaseConfiguration {
        var copy = self
        copy.database = database
        return copy
    }

    /// Where and as whom, without the password.
    public var description: String {
        let credentials = password == nil ? username : "\(username):***"
        switch endpoint {
        case .tcp(let host, let port, let tls): return "postgres://\(credentials)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
        case .unixSocket(let path): return "postgres://\(credentials)@/\(database) on socket \(path)"
        }
    }

    /// PostgresNIO's configuration for this database.
    public var clientConfiguration: PostgresClient.Configuration {
        switch endpoint {
        case .tcp(let host, let port, let mode):
            let tls: PostgresClient.Configuration.TLS
            switch mode {
            case .disable: tls = .disable
            case .prefer, .require:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                tls = mode == .prefer ? .prefer(configuration) : .require(configuration)
            case .verifyFull: tls = .require(.makeClientConfiguration())
            }
            return PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        case .unixSocket(let path):
            return PostgresClient.Configuration(unixSocketPath: path, username: username, password: password, database: database)
        }
    }

    /// A client for this database. It connects only while its `run()` is running, so run it in a
    /// task group (or a swift-service-lifecycle `ServiceGroup`, since it is a `Service`) for as long
    /// as the store is used:
    ///
    /// ```swift
    /// let client = configuration.makeClient(logger: logger)
    /// try await withThrowingTaskGroup(of: Void.self) { group in
    ///     group.addTask { await client.run() }
    ///     let store = HubStore(client: client, logger: logger)
    ///     try await store.migrate()
    ///     // … serve …
    ///     group.cancelAll()   // stops the client: run() returns
    /// }
    /// ```
    public func makeClient(logger: Logger, maximumConnections: Int = 20) -> PostgresClient {
        var configuration = clientConfiguration
        configuration.options.maximumConnections = maximumConnections
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}
