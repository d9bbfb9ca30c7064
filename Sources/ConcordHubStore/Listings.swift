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
}
