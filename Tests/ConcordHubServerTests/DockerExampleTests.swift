import ConcordAgent
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Foundation
import Testing
import Yams

/// docker/compose.yaml and the two configurations it mounts must fit together: each configuration
/// reads with the hub's or the agent's own reader, and every file it names under /run/secrets is a
/// secret the compose file mounts into that service (`make docker-check` validates the compose file
/// itself with docker-compose).
@Suite("Docker example")
struct DockerExampleTests {
    static func text(_ path: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
    }

    /// The `target` names of the secrets compose mounts into `service` (under /run/secrets).
    static func secretTargets(of service: String) throws -> Set<String> {
        let compose = try #require(try Yams.load(yaml: text("docker/compose.yaml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        let definition = try #require(services[service] as? [String: Any], "no service \(service)")
        let secrets = try #require(definition["secrets"] as? [Any])
        return Set(secrets.compactMap { entry in
            if let name = entry as? String { return name }
            let long = entry as? [String: Any]
            return (long?["target"] as? String) ?? (long?["source"] as? String)
        })
    }

    static func mounted(_ paths: [String], in service: String) throws {
        let targets = try secretTargets(of: service)
        for path in paths where path.hasPrefix("/run/secrets/") {
            #expect(targets.contains(String(path.dropFirst("/run/secrets/".count))), "\(service) reads \(path), which compose does not mount")
        }
    }

    @Test("the hub's configuration reads, and names only secrets the hub service mounts")
    func hub() throws {
        let configuration = try HubConfiguration(yaml: try Self.text("docker/hub.example.yaml"), file: "hub.yaml", directory: "/run/secrets")
        #expect(configuration.host == "0.0.0.0" && configuration.port == 8443)
        let tls = try #require(configuration.tls, "off loopback the hub needs TLS")
        let database = try HubDatabaseConfiguration(url: try #require(configuration.databaseURL))
        #expect(database.endpoint == .tcp(host: "db", port: 5432, tls: .disable), "the compose service db")
        try Self.mounted([tls.certificatePath, tls.keyPath, configuration.encryptionKeyPath, configuration.signingKeyPath,
                          try #require(configuration.personIDSecretPath)], in: "hub")
        #expect(try Self.secretTargets(of: "hub").contains("hub.yaml"))
        #expect(configuration.schemasDirectory == "/usr/share/concord/Schemas/datasets")
    }

    @Test("the agent's configuration reads, and names only secrets the agent service mounts")
    func agent() throws {
        let configuration = try AgentConfiguration(yaml: try Self.text("docker/agent.example.yaml"), file: "/run/secrets/agent.yaml")
        #expect(configuration.hub.url == "https://hub:8443")
        try Self.mounted([configuration.signingKey, configuration.linkageKey, try #require(configuration.hub.caFile)], in: "agent-essex-police")
        #expect(try Self.secretTargets(of: "agent-essex-police").contains("agent.yaml"))
        #expect(configuration.datasets.map(\.name) == ["police_da_incidents"])
        #expect(configuration.datasets.first?.extract.hasPrefix("/srv/extracts/") == true)
        #expect(try Self.text("docker/compose.yaml").contains("./extracts:/srv/extracts:ro"))
    }
}
