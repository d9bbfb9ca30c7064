import ConcordHubStore
import ConcordTestSupport
import Foundation
import Testing

/// Hub keys and a `concord-hub/1` configuration in `directory` for a fresh test database, as an
/// operator writes them: the commands that read the database directly take it with `--config`.
/// Returns the configuration's path and the database's URL.
func hubConfiguration(_ database: HubDatabaseConfiguration, in directory: TemporaryDirectory) async throws -> (config: String, url: String) {
    let made = try await asyncConcord("keys", "new-hub", "--out", directory.file("keys"))
    try #require(made.status == 0, "\(made.error)")
    let url = try #require(testDatabaseURL).replacingOccurrences(of: "/concord_test", with: "/\(database.database)")
    try """
    format: concord-hub/1
    data_dir: hub
    database_url: \(url)
    keys: {encryption: keys/hub-encryption.key, signing: keys/hub-signing.key}
    schemas_dir: \(repositoryRoot.appendingPathComponent("Schemas/datasets").path)

    """.write(toFile: directory.file("hub.yaml"), atomically: true, encoding: .utf8)
    return (directory.file("hub.yaml"), url)
}
