import ConcordCore
import Logging
import PostgresNIO

/// The hub's PostgreSQL store: migrations, registry, uploads, dataset tables and the audit log,
/// all through one `PostgresClient`. Every value goes to the database as a bound parameter.
///
/// The client must be running (`client.run()` in a task group, see
/// `HubDatabaseConfiguration.makeClient(logger:)`) while the store is used. Errors are
/// `HubStoreError`s.
public struct HubStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long a call waits for a pooled connection before it throws
    /// `HubStoreError.databaseUnavailable` (the hub's `limits.database_wait_seconds`).
    public let connectionWait: Duration
    /// Where the client's background logger records failed connection attempts, to say why a
    /// call got no connection (`ConnectionFailures.backgroundLogger(passingTo:)`).
    public let connectionFailures: ConnectionFailures?

    public init(client: PostgresClient, logger: Logger, connectionWait: Duration = .seconds(30), connectionFailures: ConnectionFailures? = nil) {
        self.client = client
        self.logger = logger
        self.connectionWait = connectionWait
        self.connectionFailures = connectionFailures
    }

    // MARK: Migrations

    /// Applies every migration the database lacks, in order, each in its own transaction, under a
    /// session advisory lock so that hubs starting together apply each exactly once. Refuses a
    /// database migrated by a newer hub, or one whose applied migrations differ from this hub's
    /// files. Run it as the database owner (the embedded cluster's superuser), before serving.
    public func migrate() async throws {
        try await withMigrationLock { connection in
            try await connection.queryUnlessClosed("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    sha256 bytea NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            let applied = try await appliedMigrations(connection)
            for migration in Migration.all where migration.version > applied {
                try await connection.queryUnlessClosed("BEGIN", logger: logger)
                do {
                    for statement in migration.statements {
                        try await connection.queryUnlessClosed(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.queryUnlessClosed("""
                        INSERT INTO schema_migrations (version, name, sha256)
                        VALUES (\(migration.version), \(migration.name), \(ByteBuffer(bytes: migration.sha256)))
                        """, logger: logger)
                    try await connection.queryUnlessClosed("COMMIT", logger: logger)
                } catch {
                    await rollback(connection)
                    throw error
                }
                logger.info("applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
    }

    /// Whether the hub can serve: the database answers and is at this hub's migration version
    /// (for `/readyz`). Throws the reason when not.
    public func readiness() async throws {
        try await withConnection { connection in
            let exists = try await connection.queryUnlessClosed("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
                .collect().first?.decode(Bool.self) ?? false
            var version = 0
            if exists { version = try await appliedMigrations(connection) }
            guard version == Migration.latest else {
                throw HubStoreError.migrationsPending(databaseVersion: version, knownVersion: Migration.latest)
            }
        }
    }

    /// The highest applied version, after checking every applied migration against this hub's.
    private func appliedMigrations(_ connection: PostgresConnection) async throws -> Int {
        let known = Dictionary(uniqueKeysWithValues: Migration.all.map { ($0.version, $0) })
        var highest = 0
        for try await (version, name, sha256) in try await connection.queryUnlessClosed(
            "SELECT version, name, sha256 FROM schema_migrations ORDER BY version", logger: logger
        ).decode((Int, String, ByteBuffer).self) {
            guard let migration = known[version] else {
                throw HubStoreError.databaseNewerThanHub(databaseVersion: version, knownVersion: Migration.latest)
            }
            guard Array(buffer: sha256) == migration.sha256 else { throw HubStoreError.migrationChanged(version: version, name: name) }
            highest = version
        }
        return highest
    }

    /// Runs `body` on one connection holding the migrations advisory lock (session-level: it
    /// spans the several transactions of a migration run), releasing it whatever happens.
    func withMigrationLock<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.queryUnlessClosed(
                "SELECT pg_advisory_lock(\(AdvisoryLock.keyClass), \(AdvisoryLock.migrations))", logger: logger)
            do {
                let value = try await body(connection)
                try await connection.queryUnlessClosed(
                    "SELECT pg_advisory_unlock(\(AdvisoryLock.keyClass), \(AdvisoryLock.migrations))", logger: logger)
                return value
            } catch {
                // Session locks outlive transactions: release it even when a statement failed
                // (after ending the failed transaction, if any, so the unlock can run).
                await rollback(connection)
                _ = try? await connection.queryUnlessClosed(
                    "SELECT pg_advisory_unlock(\(AdvisoryLock.keyClass), \(AdvisoryLock.migrations))", logger: logger)
                throw error
            }
        }
    }

    /// Ends a failed transaction. Its own failure (a broken connection, which the pool then
    /// drops) would only hide the error being thrown, so it is ignored.
    private func rollback(_ connection: PostgresConnection) async {
        _ = try? await connection.queryUnlessClosed("ROLLBACK", logger: logger)
    }

    // MARK: Transactions and the audit log

    /// Runs `body` in one database transaction: BEGIN, then COMMIT when it returns, ROLLBACK when
    /// it throws (and the error is rethrown). Write an audit entry for the change with
    /// `transaction.audit(_:)` inside `body`, so neither exists without the other.
    public func withTransaction<T: Sendable>(_ body: (HubTransaction) async throws -> T) async throws -> T {
        try await withConnection { connection in
            let transaction = HubTransaction(connection: connection, logger: logger)
            try await connection.queryUnlessClosed("BEGIN", logger: logger)
            do {
                let value = try await body(transaction)
                try await connection.queryUnlessClosed("COMMIT", logger: logger)
                return value
            } catch {
                await rollback(connection)
                throw error
            }
        }
    }

    /// Appends one entry in a transaction of its own: for events that change nothing else (a
    /// refused request, a decision, a read).
    @discardableResult
    public func audit(_ entry: AuditEntry) async throws -> AuditRecord {
        try await withTransaction { try await $0.audit(entry) }
    }

    /// Checks the whole log in order, streaming it (memory does not grow with the log): each `seq`
    /// follows the last, each `prev_hash` is the last entry's `hash`, each `hash` is
    /// `SHA-256(prev_hash ‖ content)`, each `content` is canonical JSON agreeing with the entry's
    /// columns, each leaf hash is the one the hub put in its Merkle tree when it checkpointed, and
    /// the tree's root at each checkpoint's size is that checkpoint's. Stops at the first entry
    /// that does not. The checkpoints' signatures are the caller's to check (`Checkpoint(note:hubKey:)`).
    public func verifyAuditLog(against checkpoints: [Checkpoint] = []) async throws -> AuditVerification {
        try await withConnection { connection in
            var verification = AuditVerification(entriesChecked: 0, lastGoodHash: AuditChain.genesis, rootHash: MerkleTree.emptyRoot,
                                                 checkpointsMatched: 0, firstBroken: nil)
            var pending = checkpoints.sorted { $0.size < $1.size }[...]
            var tree = MerkleTreeBuilder()
            var lastMatched: Int64 = 0
            let rows = try await connection.queryUnlessClosed("""
                SELECT \(unescaped: AuditRecord.columns),
                       (SELECT n.hash FROM audit_tree_nodes n WHERE n.level = 0 AND n.idx = audit_log.seq - 1)
                FROM audit_log ORDER BY seq
                """, logger: logger)
            func broken(_ seq: Int64, _ reason: String) { verification.firstBroken = (seq, reason) }
            /// Holds the tree so far against the checkpoints of its size; false at the first that differs.
            func matchCheckpoints() -> Bool {
                while let next = pending.first, next.size == tree.size {
                    pending.removeFirst()
                    guard next.rootHash == tree.root else {
                        broken(lastMatched + 1, "entries \(lastMatched + 1) to \(next.size) do not hash to the root of the checkpoint of size \(next.size) signed at \(next.time): one of them was changed, removed or inserted")
                        return false
                    }
                    lastMatched = next.size
                    verification.checkpointsMatched += 1
                }
                return true
            }
            guard matchCheckpoints() else { return verification }
            for try await row in rows {
                let (record, cachedLeaf) = try AuditRecord.withCachedLeaf(row: row)
                verification.entriesChecked += 1
                let expectedSeq = tree.size + 1
                if record.seq > expectedSeq {
                    broken(expectedSeq, "entry \(expectedSeq) is missing: the next entry is \(record.seq)")
                    break
                }
                if let reason = record.problem(expectedSeq: expectedSeq, previousHash: verification.lastGoodHash) {
                    broken(record.seq, reason)
                    break
                }
                let leaf = MerkleTree.leafHash(record.content.utf8)
                if let cachedLeaf, cachedLeaf != leaf {
                    broken(record.seq, "the entry is not the one the hub added to its Merkle tree when it checkpointed: it was changed or replaced since")
                    break
                }
                tree.append(leafHash: leaf)
                verification.lastGoodHash = record.hash
                guard matchCheckpoints() else { break }
            }
            if verification.firstBroken == nil, let next = pending.first {
                broken(tree.size + 1, "the log ends at entry \(tree.size), but the checkpoint of size \(next.size) signed at \(next.time) holds entries \(tree.size + 1) to \(next.size): they were deleted")
            }
            verification.rootHash = tree.root
            return verification
        }
    }

    /// Entries with `seq` greater than `after` that pass `filter`, in order, at most `limit` (for
    /// readers paging through the log: pass the last `seq` seen).
    public func auditEntries(after: Int64 = 0, limit: Int = 1000, filter: AuditFilter = AuditFilter()) async throws -> [AuditRecord] {
        try await rows(filter.query(after: after, limit: max(0, limit))).map(AuditRecord.init(row:))
    }

    /// Every entry that passes `filter`, in order, read a page at a time.
    public func allAuditEntries(filter: AuditFilter) async throws -> [AuditRecord] {
        var entries: [AuditRecord] = []
        while true {
            let page = try await auditEntries(after: entries.last?.seq ?? 0, limit: 1000, filter: filter)
            entries += page
            if page.count < 1000 { return entries }
        }
    }
}

/// One open database transaction of the store, handed to `HubStore.withTransaction`'s body.
/// Use it only inside that body.
public struct HubTransaction: Sendable {
    /// The connection, inside BEGIN … COMMIT. Run statements with bound values only.
    public let connection: PostgresConnection
    let logger: Logger

    /// Runs one statement in the transaction.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await connection.queryUnlessClosed(query, logger: logger)
    }

    /// `COPY table (columns) FROM STDIN` in the transaction, fed by `writeData`. The names must be
    /// validated identifiers: PostgresNIO quotes them but does not check them.
    public func copy(into table: String, columns: [String], _ writeData: (PostgresCopyFromWriter) async throws -> Void) async throws {
        try await connection.copyUnlessClosed(into: table, columns: columns, logger: logger, writeData)
    }

    /// Appends an audit entry in this transaction: the one way entries are written. Appends are
    /// serialised by a transaction-level advisory lock (held until this transaction ends), so
    /// every entry's `prev_hash` is the entry committed just before it. Within an HTTP request
    /// (`AuditContext.requestID`) the entry's details name it as `request_id`.
    @discardableResult
    public func audit(_ entry: AuditEntry) async throws -> AuditRecord {
        var entry = entry
        if let requestID = AuditContext.requestID, case .object(var details) = entry.details, details["request_id"] == nil {
            details["request_id"] = .string(requestID)
            entry.details = .object(details)
        }
        try await query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.keyClass), \(AdvisoryLock.audit))")
        var seq: Int64 = 1
        var previous = AuditChain.genesis
        for try await (lastSeq, lastHash) in try await query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .decode((Int64, ByteBuffer).self) {
            seq = lastSeq + 1
            previous = Array(buffer: lastHash)
        }
        let at = AuditTime.now()
        let content = AuditChain.content(seq: seq, at: at, entry: entry).bytes
        let hash = AuditChain.hash(previous: previous, content: content)
        let contentText = String(decoding: content, as: UTF8.self)
        try await query("""
            INSERT INTO audit_log (seq, at, actor, action, subject, outcome, content, prev_hash, hash)
            VALUES (\(seq), \(at)::timestamptz, \(entry.actor.description), \(entry.action), \(entry.subject), \(entry.outcome),
                    \(contentText), \(ByteBuffer(bytes: previous)), \(ByteBuffer(bytes: hash)))
            """)
        return AuditRecord(seq: seq, at: at, entry: entry, content: contentText, prevHash: previous, hash: hash)
    }
}

extension AuditRecord {
    /// The columns `init(row:)` reads. `at` is read back from `content`, which is what was hashed;
    /// the timestamptz column is checked against it as text in UTC.
    static let columns = "seq, \(SQLTime.rfc3339("at")), actor, action, subject, outcome, content, prev_hash, hash"
    static let selectSQL = "SELECT \(columns) FROM audit_log"

    typealias Columns = (Int64, String, String, String, String, String, String, ByteBuffer, ByteBuffer)

    init(row: PostgresRow) throws {
        self.init(columns: try row.decode(Columns.self))
    }

    /// An entry read with `columns` followed by its leaf hash in the tree cache (`NULL` when the
    /// tree has not reached it yet).
    static func withCachedLeaf(row: PostgresRow) throws -> (AuditRecord, [UInt8]?) {
        let (seq, at, actor, action, subject, outcome, content, prevHash, hash, leaf) =
            try row.decode((Int64, String, String, String, String, String, String, ByteBuffer, ByteBuffer, ByteBuffer?).self)
        return (AuditRecord(columns: (seq, at, actor, action, subject, outcome, content, prevHash, hash)), leaf.map { Array(buffer: $0) })
    }

    private init(columns: Columns) {
        let (seq, at, actor, action, subject, outcome, content, prevHash, hash) = columns
        // An actor column that does not parse is kept visible as an operator name rather than
        // failing a reader; verification reports it through the content check.
        let parsedActor = AuditActor(actor) ?? .operator(actor)
        let details: CanonicalJSON
        if case .object(let members)? = try? CanonicalJSON(canonical: Array(content.utf8)), let value = members["details"] {
            details = value
        } else {
            details = .object([:])
        }
        self.init(seq: seq, at: at, entry: AuditEntry(actor: parsedActor, action: action, subject: subject, outcome: outcome, details: details),
                  content: content, prevHash: Array(buffer: prevHash), hash: Array(buffer: hash))
    }

    /// Why this entry breaks the chain, or `nil`.
    func problem(expectedSeq: Int64, previousHash: [UInt8]) -> String? {
        guard seq == expectedSeq else { return "sequence number \(seq) where \(expectedSeq) was expected (an entry is missing)" }
        guard prevHash == previousHash else { return "prev_hash is not the previous entry's hash" }
        let bytes = Array(content.utf8)
        guard AuditChain.hash(previous: prevHash, content: bytes) == hash else { return "hash does not match the entry's content" }
        // The entry's details were read from this content: it is canonical JSON agreeing with the
        // columns exactly when writing the columns and details out again gives its bytes. (Cheaper
        // than parsing it a second time; only a failure needs the parse, to say which it is.)
        guard AuditChain.content(seq: seq, at: at, entry: entry).bytes != bytes else { return nil }
        guard case .object? = try? CanonicalJSON(canonical: bytes) else { return "content is not canonical JSON" }
        return "the entry's columns (seq, at, actor, action, subject or outcome) differ from its hashed content"
    }
}

/// Timestamps read back as text in the audit log's form.
enum SQLTime {
    /// The SQL expression giving `column` (a timestamptz) as RFC 3339 UTC with microseconds.
    static func rfc3339(_ column: String) -> String {
        #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
    }
}
