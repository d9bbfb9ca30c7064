import PostgresNIO

/// What the hub's people endpoints list.
extension HubStore {
    /// Every registered agency, by id.
    public func agencies() async throws -> [AgencyRecord] {
        try await HubStoreError.translating {
            try await client.query("SELECT \(unescaped: AgencyRecord.columns) FROM agencies ORDER BY id", logger: logger)
                .collect().map(AgencyRecord.init(row:))
        }
    }

    /// The most recently started uploads, newest first.
    public func uploads(limit: Int) async throws -> [UploadRecord] {
        try await HubStoreError.translating {
            try await client.query("SELECT \(unescaped: UploadRecord.columns) FROM uploads ORDER BY started_at DESC, id LIMIT \(limit)", logger: logger)
                .collect().map(UploadRecord.init(row:))
        }
    }

    /// Every person's role by user id, disabled people included (audit entries name them all).
    public func userRoles() async throws -> [String: String] {
        try await HubStoreError.translating {
            var roles: [String: String] = [:]
            for try await (id, role) in try await client.query("SELECT id, role FROM users", logger: logger).decode((String, String).self) {
                roles[id] = role
            }
            return roles
        }
    }
}
