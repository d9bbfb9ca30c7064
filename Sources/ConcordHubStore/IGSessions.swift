import PostgresNIO

/// How long an IG dashboard session lasts (docs/ig-dashboard.md, section 2).
public struct SessionTimeouts: Sendable, Hashable {
    /// A session unused for this long has ended.
    public var idleSeconds: Int
    /// A session this old has ended however busy it is.
    public var absoluteSeconds: Int

    public init(idleSeconds: Int = 30 * 60, absoluteSeconds: Int = 8 * 60 * 60) {
        self.idleSeconds = idleSeconds
        self.absoluteSeconds = absoluteSeconds
    }
}

/// Sign-in sessions of the IG dashboard (migration 0005). A session id is a bearer secret like an
/// API token (`cis_` and 43 base64url characters) that lives in an HttpOnly cookie; the table
/// keeps its SHA-256 only. Times are the database's, so hubs behind a load balancer agree.
extension HubStore {
    /// Tokens of sessions start with this.
    public static let sessionPrefix = "cis_"

    /// Starts a session for `user` (already checked: enabled, a permitted role); audited as
    /// `ig.signin`. Returns the session id, to be sent once, in the cookie.
    public func startSession(user: UserRecord) async throws -> String {
        let id = APIToken.generate(prefix: Self.sessionPrefix)
        try await withTransaction { transaction in
            try await transaction.query("INSERT INTO ig_sessions (id_sha256, user_id) VALUES (\(ByteBuffer(bytes: APIToken.digest(id))), \(user.id))")
            try await transaction.audit(AuditEntry(actor: .user(user.id), action: "ig.signin", subject: user.id,
                                                   details: .object(["role": .string(user.role.rawValue)])))
        }
        return id
    }

    /// The person of a live session, its last use moved to now; `nil` when the session is unknown,
    /// ended, idle too long or too old (an expired one is ended on the way), or its user disabled.
    public func sessionUser(id: String, timeouts: SessionTimeouts) async throws -> UserRecord? {
        guard id.hasPrefix(Self.sessionPrefix) else { return nil }
        let digest = ByteBuffer(bytes: APIToken.digest(id))
        return try await withTransaction { transaction in
            let live = try await transaction.query("""
                UPDATE ig_sessions s SET last_seen_at = now() FROM users u
                WHERE s.id_sha256 = \(digest) AND s.ended_at IS NULL AND u.id = s.user_id AND u.enabled
                  AND s.last_seen_at > now() - make_interval(secs => \(timeouts.idleSeconds))
                  AND s.created_at > now() - make_interval(secs => \(timeouts.absoluteSeconds))
                RETURNING u.id, u.role, u.enabled
                """).collect()
            if let row = live.first { return try UserRecord(row: row) }
            try await transaction.query("UPDATE ig_sessions SET ended_at = now() WHERE id_sha256 = \(digest) AND ended_at IS NULL")
            return nil
        }
    }

    /// Ends a session (signing out); audited as `ig.signout` when it was live.
    public func endSession(id: String) async throws {
        try await withTransaction { transaction in
            let ended = try await transaction.query("""
                UPDATE ig_sessions SET ended_at = now() WHERE id_sha256 = \(ByteBuffer(bytes: APIToken.digest(id))) AND ended_at IS NULL RETURNING user_id
                """).collect()
            guard let user = try ended.first?.decode(String.self) else { return }
            try await transaction.audit(AuditEntry(actor: .user(user), action: "ig.signout", subject: user,
                                                   details: .object([:])))
        }
    }
}
