import PostgresNIO

/// Why the hub's store refused or failed. Every message says what to do next and never contains
/// a password, a token or row data.
public enum HubStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A database URL that cannot be used; the reason names the part that is wrong.
    case invalidDatabaseURL(String)
    /// A PostgreSQL program or directory the embedded cluster needs is missing or unusable.
    case embeddedPostgres(String)
    /// The database has a migration this hub does not know: a newer hub migrated it.
    case databaseNewerThanHub(databaseVersion: Int, knownVersion: Int)
    /// An applied migration's bytes differ from the file this hub carries.
    case migrationChanged(version: Int, name: String)
    /// The database is not migrated to this hub's version (readiness).
    case migrationsPending(databaseVersion: Int, knownVersion: Int)
    /// A schema or dataset name that cannot become a PostgreSQL identifier.
    case invalidIdentifier(String, reason: String)
    /// Two names of a dataset schema map to the same column.
    case columnNameClash(dataset: String, column: String, names: [String])
    case agencyExists(String)
    case unknownAgency(String)
    /// A public key line of the wrong kind or for another owner.
    case invalidAgencyKey(agency: String, reason: String)
    case userExists(String)
    case unknownUser(String)
    /// The same agreement id and version was applied before with other bytes.
    case agreementVersionChanged(id: String, version: Int)
    /// An agreement cannot be suspended or terminated, and why.
    case agreementState(id: String, problem: String)
    case unknownUpload(String)
    /// The header digest is already an upload of another agency.
    case uploadOfAnotherAgency(String)
    /// The upload is not in the state the operation needs.
    case uploadState(upload: String, state: String, expected: String)
    /// `received` outside `0 ... envelope length`.
    case receivedOutOfRange(upload: String, received: Int64, envelopeLength: Int64)
    case unknownExtract(Int64)
    case extractState(extract: Int64, state: String, expected: String)
    /// A column of an extract the dataset table does not have.
    case unknownColumn(dataset: String, column: String)
    /// A row with another number of cells than the extract has columns.
    case rowShape(row: Int, cells: Int, columns: Int)
    case unknownRequest(String)
    /// The request is not in a state the operation needs.
    case requestState(request: String, state: String, expected: String)
    /// No download link with this token for this user (`request`: the link's request, when the
    /// link exists but is someone else's).
    case unknownDownloadLink(request: String?)
    /// The download link exists but can no longer be used.
    case downloadLinkGone(request: String, reason: String)
    /// An audit entry breaks the hash chain: the hub will not sign a checkpoint over it.
    case auditChainBroken(seq: Int64, reason: String)
    /// A proof asked for entries or tree sizes the signed tree does not hold.
    case proofOutOfRange(String)
    /// A subtree hash the tree cache should hold is missing (someone removed cache rows).
    case auditTreeIncomplete(String)
    /// The database refused a statement: PostgreSQL's message (never the bound values) and its
    /// SQLSTATE code (e.g. `42501` permission denied), when the server sent one.
    case database(message: String, sqlState: String?)
    /// The database cannot be reached, or gave no connection in time: down, restarting or
    /// overloaded. The same call may succeed later.
    case databaseUnavailable(String)

    public var description: String {
        switch self {
        case .invalidDatabaseURL(let reason):
            "the database URL is not usable: \(reason). Use postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable|prefer|require|verify-full"
        case .embeddedPostgres(let reason): "embedded PostgreSQL: \(reason)"
        case .databaseNewerThanHub(let databaseVersion, let knownVersion):
            "the database is at migration \(databaseVersion) but this hub knows only up to \(knownVersion): a newer hub migrated it. Run the newer hub (or restore a backup taken before the upgrade)"
        case .migrationChanged(let version, let name):
            "migration \(version) (\(name)) applied to this database differs from the one this hub carries; a released migration must never change. Run the hub version that applied it"
        case .migrationsPending(let databaseVersion, let knownVersion):
            "the database is at migration \(databaseVersion), this hub needs \(knownVersion); start the hub so that it migrates"
        case .invalidIdentifier(let name, let reason): "'\(name)' cannot name a database table or column: \(reason)"
        case .columnNameClash(let dataset, let column, let names):
            "in dataset \(dataset), \(names.joined(separator: " and ")) would both be stored as column \(column); rename one in the schema"
        case .agencyExists(let id): "agency \(id) is already registered; to give it a new key use concord hub agency add-key"
        case .unknownAgency(let id): "no agency \(id) is registered; add it with concord hub agency add"
        case .invalidAgencyKey(let agency, let reason): "the public key for agency \(agency) cannot be used: \(reason)"
        case .userExists(let id): "user \(id) already exists; choose another id"
        case .unknownUser(let id): "no user \(id) exists"
        case .agreementVersionChanged(let id, let version):
            "agreement \(id) version \(version) was applied before with different text; give the changed agreement a new version"
        case .agreementState(let id, let problem): "agreement \(id) cannot change state: \(problem)"
        case .unknownUpload(let id): "no upload \(id)"
        case .uploadOfAnotherAgency(let digest):
            "an envelope with header digest \(digest) was uploaded by another agency; it cannot be uploaded again under this one"
        case .uploadState(let upload, let state, let expected): "upload \(upload) is \(state), not \(expected)"
        case .receivedOutOfRange(let upload, let received, let envelopeLength):
            "upload \(upload): \(received) bytes received is outside 0 to the envelope's \(envelopeLength) bytes"
        case .unknownExtract(let id): "no extract \(id)"
        case .extractState(let extract, let state, let expected): "extract \(extract) is \(state), not \(expected)"
        case .unknownColumn(let dataset, let column):
            "dataset \(dataset) has no column \(column); update its schema (and the hub's copy) first"
        case .rowShape(let row, let cells, let columns): "row \(row) has \(cells) cells but the extract has \(columns) columns"
        case .unknownRequest(let id): "no request \(id) of yours"
        case .requestState(let request, let state, let expected): "request \(request) is \(state), not \(expected)"
        case .unknownDownloadLink: "no such download link of yours"
        case .downloadLinkGone(_, let reason): "the download link cannot be used: \(reason)"
        case .auditChainBroken(let seq, let reason):
            "audit entry \(seq) breaks the hash chain (\(reason)); no checkpoint is signed over it. Run concord audit verify and investigate"
        case .proofOutOfRange(let reason): "no such proof: \(reason)"
        case .auditTreeIncomplete(let node): "the audit log's tree cache lacks the subtree at \(node); run concord audit verify"
        case .database(let message, let sqlState): "the database refused: \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
        case .databaseUnavailable(let reason): "the database is unavailable (\(reason)); retry later"
        }
    }
}

extension HubStoreError {
    /// Runs `body`, turning PostgreSQL's errors into `.database` with the server's message only:
    /// `PSQLError`'s own description may include the query and its bound values.
    static func translating<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw HubStoreError(error)
        } catch PostgresError.connectionClosed {
            // What a `COPY` whose connection closed under it throws (PostgresNIO's older error type).
            throw HubStoreError.databaseUnavailable("the connection closed")
        }
    }

    init(_ error: PSQLError) {
        if let message = error.serverInfo?[.message] {
            let sqlState = error.serverInfo?[.sqlState]
            if let sqlState, Self.unavailableStates.contains(where: sqlState.hasPrefix) {
                self = .databaseUnavailable("\(message) (SQLSTATE \(sqlState))")
            } else {
                self = .database(message: message, sqlState: sqlState)
            }
        } else {
            // No server message: the connection itself failed.
            let message = Self.connectionFailure(error)
            self = Self.lostConnection.contains(error.code) ? .databaseUnavailable(message) : .database(message: message, sqlState: nil)
        }
    }

    /// What broke a connection: PostgresNIO's error code and the underlying cause (refused,
    /// unreachable, TLS), never a statement or its values (`PSQLError`'s own description may hold them).
    static func connectionFailure(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        return "\(error.code)" + (error.underlying.map { ": " + connectionFailure($0) } ?? "")
    }

    /// SQLSTATEs (or their classes) of a server that is going away or cannot take the work now:
    /// connection exceptions, shutdowns, not accepting connections, too many connections.
    private static let unavailableStates = ["08", "57P01", "57P02", "57P03", "53300"]
    /// The connection broke under a statement, or the pool is closing.
    private static let lostConnection: [PSQLError.Code] = [.connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed]
}
