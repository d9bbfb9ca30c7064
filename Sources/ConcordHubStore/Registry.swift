import ConcordCore
import Crypto
import Foundation
import PostgresNIO

/// A registered agency.
public struct AgencyRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var enabled: Bool
    /// Every Ed25519 request- and envelope-signing key ever registered for it, oldest first,
    /// revoked ones included (so what they signed can still be attributed).
    public var keys: [AgencyKey]

    /// The keys requests and envelopes may be signed with: the ones not revoked. Several at once
    /// while the agency moves to a new key (docs/api-auth.md, section "Agency key rotation").
    public var activeKeys: [AgencyKey] { keys.filter { $0.revocation == nil } }

    /// The key with this id, revoked or not.
    public func key(id keyID: String) -> AgencyKey? { keys.first { $0.keyID == keyID } }
}

/// One of an agency's signing keys.
public struct AgencyKey: Sendable, Hashable, Decodable {
    /// When, by whom and why a key was revoked.
    public struct Revocation: Sendable, Hashable {
        /// RFC 3339 UTC.
        public var at: String
        public var by: String
        public var reason: String
    }

    public var publicKey: PublicKeyLine
    /// RFC 3339 UTC.
    public var addedAt: String
    public var revocation: Revocation?

    public var keyID: String { publicKey.id }

    enum CodingKeys: String, CodingKey {
        case publicKey = "public_key", addedAt = "added_at", revokedAt = "revoked_at", revokedBy = "revoked_by", reason
    }

    /// From the JSON `AgencyRecord.columns` aggregates.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        publicKey = try PublicKeyLine(line: container.decode(String.self, forKey: .publicKey))
        addedAt = try container.decode(String.self, forKey: .addedAt)
        if let at = try container.decodeIfPresent(String.self, forKey: .revokedAt) {
            revocation = Revocation(at: at, by: try container.decode(String.self, forKey: .revokedBy), reason: try container.decode(String.self, forKey: .reason))
        }
    }
}

/// What a user may do.
public enum UserRole: String, Sendable, Hashable, CaseIterable {
    case analyst
    case igOfficer = "ig-officer"
    case admin
}

/// A person with an API token.
public struct UserRecord: Sendable, Hashable {
    public var id: String
    public var role: UserRole
    public var enabled: Bool
}

/// One applied version of an agreement, with the YAML exactly as applied (load it with
/// `AgreementLoader` to use it).
public struct StoredAgreement: Sendable, Hashable {
    public var id: String
    public var version: Int
    /// SHA-256 of the YAML's UTF-8 bytes.
    public var sha256: [UInt8]
    public var document: String
    /// RFC 3339 UTC.
    public var appliedAt: String
    public var appliedBy: String
}

/// What `applyAgreement` did.
public enum AgreementApplyOutcome: Sendable, Hashable {
    /// Stored as a new version (and audited).
    case applied(version: Int)
    /// This id and version was already stored with the same bytes: nothing changed.
    case unchanged
}

/// API tokens for people: `cct_` and 43 base64url characters (32 random bytes). Only their
/// SHA-256 is stored, so a database copy does not give anyone a working token.
public enum APIToken {
    public static let prefix = "cct_"

    /// A new token, from the system's cryptographic random generator; other kinds of bearer
    /// secret (download links) take their own prefix.
    public static func generate(prefix: String = prefix) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// What the database keeps of a token.
    public static func digest(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }
}

extension HubStore {
    // MARK: Agencies

    /// Registers an agency with its first signing key (kind `agency-signing`, owner = `id`).
    /// Audited as `agency.add`. Throws `agencyExists` if the id is taken.
    @discardableResult
    public func addAgency(id: String, name: String, publicKey: PublicKeyLine, by actor: AuditActor) async throws -> AgencyRecord {
        try Self.checkAgencyKey(publicKey, agency: id)
        return try await withTransaction { transaction in
            let inserted = try await transaction.query("INSERT INTO agencies (id, name) VALUES (\(id), \(name)) ON CONFLICT (id) DO NOTHING RETURNING id").collect()
            guard !inserted.isEmpty else { throw HubStoreError.agencyExists(id) }
            try await transaction.query("""
                INSERT INTO agency_keys (agency_id, key_id, public_key, added_by) VALUES (\(id), \(publicKey.id), \(publicKey.description), \(actor.description))
                """)
            try await transaction.audit(AuditEntry(actor: actor, action: "agency.add", subject: id, details: .object([
                "name": .string(name), "public_key": .string(publicKey.description), "key_id": .string(publicKey.id),
            ])))
            return try await transaction.agency(id: id)
        }
    }

    /// Registers another signing key for an agency, which may then sign with either key until the
    /// old one is revoked. Audited as `agency.key-add`.
    @discardableResult
    public func addAgencyKey(agency id: String, publicKey: PublicKeyLine, reason: String?, by actor: AuditActor) async throws -> AgencyRecord {
        try Self.checkAgencyKey(publicKey, agency: id)
        return try await withTransaction { transaction in
            _ = try await transaction.agency(id: id, locking: true)
            let inserted = try await transaction.query("""
                INSERT INTO agency_keys (agency_id, key_id, public_key, added_by) VALUES (\(id), \(publicKey.id), \(publicKey.description), \(actor.description))
                ON CONFLICT (agency_id, key_id) DO NOTHING RETURNING key_id
                """).collect()
            guard !inserted.isEmpty else { throw HubStoreError.invalidAgencyKey(agency: id, reason: "key \(publicKey.id) is already registered for it") }
            var details: [String: CanonicalJSON] = ["public_key": .string(publicKey.description), "key_id": .string(publicKey.id)]
            if let reason { details["reason"] = .string(reason) }
            try await transaction.audit(AuditEntry(actor: actor, action: "agency.key-add", subject: id, details: .object(details)))
            return try await transaction.agency(id: id)
        }
    }

    /// Revokes one of an agency's keys: from now on nothing signed with it is accepted (requests
    /// and envelopes alike). It may be the agency's last key (a stolen key is revoked at once; the
    /// agency uploads nothing until a new key is added). Audited as `agency.key-revoke`.
    @discardableResult
    public func revokeAgencyKey(agency id: String, keyID: String, reason: String, by actor: AuditActor) async throws -> AgencyRecord {
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw HubStoreError.invalidAgencyKey(agency: id, reason: "a revocation needs a reason")
        }
        return try await withTransaction { transaction in
            let before = try await transaction.agency(id: id, locking: true)
            guard let key = before.key(id: keyID) else {
                throw HubStoreError.invalidAgencyKey(agency: id, reason: "it has no key \(keyID); its keys are \(before.keys.map(\.keyID).joined(separator: ", "))")
            }
            if let revocation = key.revocation {
                throw HubStoreError.invalidAgencyKey(agency: id, reason: "key \(keyID) was already revoked at \(revocation.at)")
            }
            try await transaction.query("""
                UPDATE agency_keys SET revoked_at = now(), revoked_by = \(actor.description), revoke_reason = \(reason)
                WHERE agency_id = \(id) AND key_id = \(keyID)
                """)
            let after = try await transaction.agency(id: id)
            try await transaction.audit(AuditEntry(actor: actor, action: "agency.key-revoke", subject: id, details: .object([
                "key_id": .string(keyID), "reason": .string(reason), "active_keys": .array(after.activeKeys.map { .string($0.keyID) }),
            ])))
            return after
        }
    }

    static func checkAgencyKey(_ publicKey: PublicKeyLine, agency id: String) throws {
        guard publicKey.kind == .agencySigning else {
            throw HubStoreError.invalidAgencyKey(agency: id, reason: "it is a \(publicKey.kind.rawValue) key, not agency-signing")
        }
        guard publicKey.owner == id else {
            throw HubStoreError.invalidAgencyKey(agency: id, reason: "it belongs to \(publicKey.owner)")
        }
    }

    /// Enables or disables an agency (a disabled agency's requests are refused). Audited as
    /// `agency.enable` or `agency.disable`.
    @discardableResult
    public func setAgency(id: String, enabled: Bool, by actor: AuditActor) async throws -> AgencyRecord {
        try await withTransaction { transaction in
            let rows = try await transaction.query("""
                UPDATE agencies SET enabled = \(enabled), disabled_at = CASE WHEN \(enabled) THEN NULL ELSE coalesce(disabled_at, now()) END
                WHERE id = \(id) RETURNING \(unescaped: AgencyRecord.columns)
                """).collect()
            guard let row = rows.first else { throw HubStoreError.unknownAgency(id) }
            try await transaction.audit(AuditEntry(actor: actor, action: enabled ? "agency.enable" : "agency.disable", subject: id))
            return try AgencyRecord(row: row)
        }
    }

    /// The agency with this id, enabled or not.
    public func agency(id: String) async throws -> AgencyRecord? {
        try await rows("SELECT \(unescaped: AgencyRecord.columns) FROM agencies WHERE id = \(id)").first.map(AgencyRecord.init(row:))
    }

    // MARK: Users

    /// Creates a user and its API token. The token is returned this once; only its SHA-256 is
    /// stored. Audited as `user.add` (without the token).
    public func addUser(id: String, role: UserRole, by actor: AuditActor) async throws -> (record: UserRecord, token: String) {
        let token = APIToken.generate()
        let record = UserRecord(id: id, role: role, enabled: true)
        try await withTransaction { transaction in
            let inserted = try await transaction.query("""
                INSERT INTO users (id, role, token_sha256) VALUES (\(id), \(role.rawValue), \(ByteBuffer(bytes: APIToken.digest(token))))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """).collect()
            guard !inserted.isEmpty else { throw HubStoreError.userExists(id) }
            try await transaction.audit(AuditEntry(actor: actor, action: "user.add", subject: id, details: .object(["role": .string(role.rawValue)])))
        }
        return (record, token)
    }

    /// Enables or disables a user. Audited as `user.enable` or `user.disable`.
    @discardableResult
    public func setUser(id: String, enabled: Bool, by actor: AuditActor) async throws -> UserRecord {
        try await withTransaction { transaction in
            let rows = try await transaction.query("""
                UPDATE users SET enabled = \(enabled), disabled_at = CASE WHEN \(enabled) THEN NULL ELSE coalesce(disabled_at, now()) END
                WHERE id = \(id) RETURNING id, role, enabled
                """).collect()
            guard let row = rows.first else { throw HubStoreError.unknownUser(id) }
            try await transaction.audit(AuditEntry(actor: actor, action: enabled ? "user.enable" : "user.disable", subject: id))
            return try UserRecord(row: row)
        }
    }

    /// The user holding this bearer token, enabled or not (check `enabled`), or `nil`. The token
    /// is hashed and looked up by its hash, so no comparison of secrets happens here.
    public func user(bearerToken: String) async throws -> UserRecord? {
        try await rows("SELECT id, role, enabled FROM users WHERE token_sha256 = \(ByteBuffer(bytes: APIToken.digest(bearerToken)))")
            .first.map(UserRecord.init(row:))
    }

    // MARK: Agreements

    /// Stores an agreement (already linted by the caller) as the YAML text applied. The same id
    /// and version with the same bytes is a no-op (`.unchanged`, not audited); with other bytes it
    /// is refused (`agreementVersionChanged`). Audited as `agreement.apply`.
    public func applyAgreement(yaml: String, agreement: Agreement, by actor: AuditActor) async throws -> AgreementApplyOutcome {
        let digest = Array(SHA256.hash(data: Array(yaml.utf8)))
        return try await withTransaction { transaction in
            let inserted = try await transaction.query("""
                INSERT INTO agreements (id, version, sha256, document, applied_by)
                VALUES (\(agreement.id), \(agreement.version), \(ByteBuffer(bytes: digest)), \(yaml), \(actor.description))
                ON CONFLICT (id, version) DO NOTHING RETURNING id
                """).collect()
            guard !inserted.isEmpty else {
                let stored = try await transaction.query(
                    "SELECT sha256 FROM agreements WHERE id = \(agreement.id) AND version = \(agreement.version)"
                ).collect().first?.decode(ByteBuffer.self)
                guard let stored, Array(buffer: stored) == digest else {
                    throw HubStoreError.agreementVersionChanged(id: agreement.id, version: agreement.version)
                }
                return .unchanged
            }
            try await transaction.audit(AuditEntry(actor: actor, action: "agreement.apply", subject: "\(agreement.id).v\(agreement.version)", details: .object([
                "id": .string(agreement.id), "version": .integer(agreement.version), "sha256": .string(digest.lowercaseHex),
                "status": .string(agreement.status.rawValue),
            ])))
            return .applied(version: agreement.version)
        }
    }

    /// The latest version of every agreement, by id.
    public func agreements() async throws -> [StoredAgreement] {
        try await storedAgreements("SELECT DISTINCT ON (id) \(unescaped: StoredAgreement.columns) FROM agreements ORDER BY id, version DESC")
    }

    /// Every version of one agreement, oldest first.
    public func agreementHistory(id: String) async throws -> [StoredAgreement] {
        try await storedAgreements("SELECT \(unescaped: StoredAgreement.columns) FROM agreements WHERE id = \(id) ORDER BY version")
    }

    private func storedAgreements(_ query: PostgresQuery) async throws -> [StoredAgreement] {
        try await rows(query).map { row in
            let (id, version, sha256, document, appliedAt, appliedBy) = try row.decode((String, Int, ByteBuffer, String, String, String).self)
            return StoredAgreement(id: id, version: version, sha256: Array(buffer: sha256), document: document, appliedAt: appliedAt, appliedBy: appliedBy)
        }
    }

    // MARK: Request nonces

    /// Records a signed request's nonce; `false` if this agency used it before (a replay).
    public func recordNonce(agency: String, nonce: String, at time: Date) async throws -> Bool {
        try await !rows("""
            INSERT INTO request_nonces (agency_id, nonce, seen_at) VALUES (\(agency), \(nonce), \(time))
            ON CONFLICT (agency_id, nonce) DO NOTHING RETURNING 1
            """).isEmpty
    }

    /// Forgets nonces seen before `cutoff` (older than the replay window, whose timestamps are
    /// refused anyway). Returns how many were removed.
    @discardableResult
    public func pruneNonces(seenBefore cutoff: Date) async throws -> Int {
        try await rows("DELETE FROM request_nonces WHERE seen_at < \(cutoff) RETURNING 1").count
    }
}

extension AgencyRecord {
    /// The agency's columns and its keys as one JSON array (decoded by `AgencyKey`).
    static let columns = """
        id, name, enabled, (SELECT coalesce(json_agg(json_build_object('public_key', k.public_key, 'added_at', \(SQLTime.rfc3339("k.added_at")),
            'revoked_at', \(SQLTime.rfc3339("k.revoked_at")), 'revoked_by', k.revoked_by, 'reason', k.revoke_reason) ORDER BY k.added_at, k.key_id), '[]')::text
            FROM agency_keys k WHERE k.agency_id = agencies.id)
        """

    init(row: PostgresRow) throws {
        let (id, name, enabled, keys) = try row.decode((String, String, Bool, String).self)
        self.init(id: id, name: name, enabled: enabled, keys: try JSONDecoder().decode([AgencyKey].self, from: Data(keys.utf8)))
    }
}

extension HubTransaction {
    /// The agency with this id, or `unknownAgency`; `locking` holds its row until the transaction
    /// ends, so two key changes of one agency happen one after the other.
    func agency(id: String, locking: Bool = false) async throws -> AgencyRecord {
        if locking { try await query("SELECT 1 FROM agencies WHERE id = \(id) FOR UPDATE") }
        let rows = try await query("SELECT \(unescaped: AgencyRecord.columns) FROM agencies WHERE id = \(id)").collect()
        guard let row = rows.first else { throw HubStoreError.unknownAgency(id) }
        return try AgencyRecord(row: row)
    }
}

extension UserRecord {
    init(row: PostgresRow) throws {
        let (id, role, enabled) = try row.decode((String, String, Bool).self)
        // The table's CHECK allows only the three roles.
        guard let parsed = UserRole(rawValue: role) else { throw HubStoreError.database(message: "user \(id) has unknown role \(role)", sqlState: nil) }
        self.init(id: id, role: parsed, enabled: enabled)
    }
}

extension StoredAgreement {
    static let columns = "id, version, sha256, document, \(SQLTime.rfc3339("applied_at")), applied_by"
}
