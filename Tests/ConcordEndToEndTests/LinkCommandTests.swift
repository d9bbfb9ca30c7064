import ConcordHubStore
import ConcordTestSupport
import Foundation
import Testing

/// `concord hub link` as an operator runs it, against a real database.
@Suite("concord hub link", .enabled(if: databaseAvailable))
struct LinkCommandTests {
    @Test func linksAgreementsInForcePrintsTheReportAndRefusesAnUnknownOne() async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            let (config, _) = try await hubConfiguration(database, in: directory)
            let applied = try await asyncConcord("agreement", "apply", "--config", config, "--as", "tests",
                                      repositoryRoot.appendingPathComponent("Agreements/youth-violence-vulnerability.v1.yaml").path)
            #expect(applied.status == 0, "\(applied.error)")

            let linked = try await asyncConcord("hub", "link", "--config", config, "--as", "tests", "--format", "json")
            #expect(linked.status == 0, "\(linked.error)")
            let reports = try JSONSerialization.jsonObject(with: Data(linked.output.utf8)) as? [[String: Any]]
            #expect(reports?.map { $0["agreement"] as? String } == ["youth-violence-vulnerability"])
            #expect(reports?.first?["keys"] as? [String] == ["mk_upn", "mk2", "mk3", "mk3_swapped", "mk4", "mk5"])

            let rebuilt = try await asyncConcord("hub", "link", "--config", config, "--as", "tests", "--agreement", "youth-violence-vulnerability", "--rebuild")
            #expect(rebuilt.status == 0, "\(rebuilt.error)")
            #expect(rebuilt.output.hasPrefix("youth-violence-vulnerability v1: 0 persons (run 2:"), "\(rebuilt.output)")

            let unknown = try await asyncConcord("hub", "link", "--config", config, "--agreement", "no-such-agreement")
            #expect(unknown.status != 0 && unknown.error.contains("no agreement no-such-agreement in force that permits linkage"), "\(unknown.error)")

            let log = try await asyncConcord("audit", "log", "--config", config, "--as", "tests", "--format", "csv")
            #expect(log.output.components(separatedBy: ",linkage.update,").count - 1 == 2)
            #expect(log.output.contains(",linkage.reset,youth-violence-vulnerability,"))
        }
    }
}
