import ConcordAgent
import ConcordCore
import ConcordFiles
import ConcordTestSupport
import Foundation
import Testing

@Suite("Agent configuration")
struct AgentConfigurationTests {
    @Test("reads every setting, resolves paths against the file's folder, and fills the defaults")
    func valid() throws {
        let text = AgentFixture.configuration()
        let configuration = try AgentConfiguration(yaml: text, file: "/etc/concord/agent.yaml")
        #expect(configuration.agency == "essex-police")
        #expect(configuration.hub.url == "https://hub.example.org")
        #expect(configuration.hub.encryptionKey == TestKeys.hubEncryption.publicKey)
        #expect(configuration.hub.receiptKey == TestKeys.hubSigning.publicKey)
        #expect(configuration.hub.caFile == nil)
        #expect(configuration.hub.additionalReceiptKeys.isEmpty)
        let next = PrivateKeyDocument.generate(.hubSigning, owner: "hub").publicKey
        let rotating = text.replacingOccurrences(of: "receipt_key: \"\(TestKeys.hubSigning.publicKey)\"\n",
                                                 with: "receipt_key: \"\(TestKeys.hubSigning.publicKey)\"\n  additional_receipt_keys: [\"\(next)\"]\n")
        #expect(rotating != text)
        #expect(try AgentConfiguration(yaml: rotating, file: "/etc/concord/agent.yaml").hub.additionalReceiptKeys == [next])
        #expect(configuration.signingKey == "/etc/concord/keys/agency.key")
        #expect(configuration.stateDirectory == "/etc/concord/state")
        #expect(configuration.agreementsDirectory == "\(repositoryRoot)/Agreements")
        #expect(configuration.maximumRejectShare == 0.5)
        #expect(configuration.retry == RetryPolicy(attempts: 3, initialDelay: 0.5, maximumDelay: 2))
        let dataset = try #require(configuration.datasets.first)
        #expect(dataset.name == "police_da_incidents" && dataset.mode == .snapshot && dataset.extract == "/etc/concord/extracts/police-*.csv")
        #expect(dataset.agreements == ["early-help-domestic-abuse"])

        let minimal = text.replacingOccurrences(of: "state_dir: state\n", with: "")
            .replacingOccurrences(of: "max_reject_share: 0.5\n", with: "")
            .replacingOccurrences(of: "retry: {attempts: 3, initial_delay_seconds: 0.5, max_delay_seconds: 2}\n", with: "")
            .replacingOccurrences(of: "    mode: snapshot\n", with: "")
        let defaults = try AgentConfiguration(yaml: minimal, file: "/etc/concord/agent.yaml")
        #expect(defaults.stateDirectory == "/etc/concord")
        #expect(defaults.maximumRejectShare == 0.05)
        #expect(defaults.retry == RetryPolicy())
        #expect(defaults.datasets.first?.mode == .snapshot)
        #expect(try AgentConfiguration(yaml: minimal, file: "agent.yaml").signingKey == "keys/agency.key")
    }

    /// Each broken configuration: the change, and the field and line the problem must name.
    static let broken: [(String, String, String, Int?)] = [
        ("format: concord-agent/1", "format: concord-agent/2", "format", 1),
        ("agency: essex-police", "agency: Essex Police", "agency", 2),
        ("agency: essex-police\n", "", "", 1),
        ("url: https://hub.example.org", "url: http://hub.example.org", "hub.url", 4),
        ("url: https://hub.example.org", "url: https://hub.example.org/concord", "hub.url", 4),
        ("url: https://hub.example.org", "url: ftp://hub.example.org", "hub.url", 4),
        ("url: https://hub.example.org", "url: not a url", "hub.url", 4),
        ("encryption_key: \"\(TestKeys.hubEncryption.publicKey)\"", "encryption_key: \"\(TestKeys.hubSigning.publicKey)\"", "hub.encryption_key", 5),
        ("receipt_key: \"\(TestKeys.hubSigning.publicKey)\"", "receipt_key: concord-public-key/1 hub-signing hub AAAA", "hub.receipt_key", 6),
        ("receipt_key: \"\(TestKeys.hubSigning.publicKey)\"", "receipt_key: \"\(TestKeys.hubSigning.publicKey)\"\n  additional_receipt_keys: [\"\(TestKeys.hubEncryption.publicKey)\"]",
         "hub.additional_receipt_keys[0]", 7),
        ("signing_key: keys/agency.key", "signing_kee: keys/agency.key", "signing_kee", 7),
        ("max_reject_share: 0.5", "max_reject_share: 5%", "max_reject_share", 12),
        ("max_reject_share: 0.5", "max_reject_share: 1.5", "max_reject_share", 12),
        ("{attempts: 3,", "{attempts: 0,", "retry.attempts", 13),
        ("max_delay_seconds: 2}", "max_delay_seconds: 0.1}", "retry.max_delay_seconds", 13),
        ("initial_delay_seconds: 0.5", "initial_delay_seconds: soon", "retry.initial_delay_seconds", 13),
        ("mode: snapshot", "mode: weekly", "datasets.police_da_incidents.mode", 18),
        ("agreements: [early-help-domestic-abuse]", "agreements: []", "datasets.police_da_incidents.agreements", 19),
        ("agreements: [early-help-domestic-abuse]", "agreements: [a-b, a-b]", "datasets.police_da_incidents.agreements", 19),
        ("  police_da_incidents:", "  Police Incidents:", "datasets.Police Incidents", 15),
        ("    extract: extracts/police-*.csv\n", "", "datasets.police_da_incidents", 16),
    ]

    @Test("every problem names the file, the line and the field", arguments: 0..<broken.count)
    func problems(_ index: Int) throws {
        let (from, to, path, line) = Self.broken[index]
        let text = AgentFixture.configuration()
        #expect(text.contains(from))
        let error = try #require(throws: InvalidDocumentError.self) {
            try AgentConfiguration(yaml: text.replacingOccurrences(of: from, with: to), file: "conf/agent.yaml")
        }
        let problem = try #require(error.problems.first { $0.path == path }, "\(error)")
        #expect(problem.file == "conf/agent.yaml")
        #expect(problem.line == line, "\(problem)")
    }

    @Test("the example configuration in docs/ is valid")
    func example() throws {
        let configuration = try AgentConfiguration.load(path: "\(repositoryRoot)/docs/agent.example.yaml")
        #expect(configuration.datasets.map(\.agreements) == [["early-help-domestic-abuse", "youth-violence-vulnerability"]])
        #expect(configuration.stateDirectory == "/var/lib/concord")
    }

    @Test("plain http is allowed to this machine only")
    func loopback() throws {
        for url in ["http://localhost:8080", "http://127.0.0.1:9000", "http://127.8.9.10", "http://[::1]:8443", "https://hub.example.org:8443/"] {
            if case .failure(let problem) = HubURL.check(url) { Issue.record("\(url): \(problem)") }
        }
        for url in ["http://hub.example.org", "http://128.0.0.1", "http://127.0.0.1.example.org", "http://10.0.0.1", "http://[::2]"] {
            if case .success = HubURL.check(url) { Issue.record("\(url) was allowed") }
        }
        #expect(try HubURL.check("https://hub.example.org/").get() == "https://hub.example.org")
    }

    @Test("what the settings point at is checked too, and problems name the setting's line")
    func setupProblems() throws {
        let fixture = try AgentFixture()
        func problems(_ from: String, _ to: String) throws -> [DocumentProblem] {
            let text = AgentFixture.configuration().replacingOccurrences(of: from, with: to)
            let configuration = try AgentConfiguration(yaml: text, file: fixture.configurationPath)
            let error = try #require(throws: InvalidDocumentError.self) { try AgentSetup.load(configuration) }
            return error.problems
        }
        // A key of another agency.
        try KeyFiles.create(PrivateKeyDocument.generate(.agencySigning, owner: "essex-fire"), at: fixture.directory.file("keys/fire.key"))
        let owner = try problems("signing_key: keys/agency.key", "signing_key: keys/fire.key")
        #expect(owner.map(\.path) == ["signing_key"] && owner.first?.line == 7 && owner.first?.message.contains("essex-fire") == true)
        // A missing linkage key, an unknown agreement, a schema of another dataset.
        #expect(try problems("linkage_key: keys/linkage.key", "linkage_key: keys/none.key").map(\.path) == ["linkage_key"])
        let agreement = try problems("agreements: [early-help-domestic-abuse]", "agreements: [no-such-agreement]")
        #expect(agreement.map(\.path) == ["datasets.police_da_incidents.agreements"] && agreement.first?.line == 19)
        let schema = try problems("Schemas/datasets/police_da_incidents.yaml", "Schemas/datasets/housing_cases.yaml")
        #expect(schema.map(\.path) == ["datasets.police_da_incidents"])
        // An agreement under which this agency does not provide the dataset.
        let notProvider = try problems("agreements: [early-help-domestic-abuse]", "agreements: [school-readiness]")
        #expect(notProvider.map(\.path) == ["datasets.police_da_incidents.agreements"])
        // Sending alone needs only the signing key: a broken dataset does not stop it.
        let text = AgentFixture.configuration().replacingOccurrences(of: "agreements: [early-help-domestic-abuse]", with: "agreements: [no-such-agreement]")
        let sendOnly = try AgentSetup.load(try AgentConfiguration(yaml: text, file: fixture.configurationPath), datasets: false)
        #expect(sendOnly.sealers.isEmpty)
    }
}
