import PostgresNIO

/// What the hub's people endpoints list.
extension HubStore {
    /// Every registered agency, by id.
    public func agencies() async throws -> [AgencyRecord] {
        try await rows("SELECT \(unescaped: AgencyRecord.columns) FROM agencies ORDER BY id").map(AgencyRecord.init(row:))
    }

    /// The most recently started uploads, newest first.
    public func uploads(limit: Int) async throws -> [UploadRecord] {
        try await rows("SELECT \(unescaped: UploadRecord.columns) FROM uploads ORDER BY started_at DESC, id LIMIT \(limit)")
            .map(UploadRecord.init(row:))
    }

    /// Every person's role by user id, disabled people included (audit entries name them all).
    public func userRoles() async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try await rows("SELECT id, role FROM users").map { try $0.decode((String, String).self) })
    }
}
