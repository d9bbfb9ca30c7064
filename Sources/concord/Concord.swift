import ArgumentParser

/// The single `concord` binary. Subcommands follow the roles of a data-sharing partnership:
/// agencies (keys, pseudonymise), schema authors and IG officers (schema), and everyone testing
/// the exchange (synth).
@main
struct Concord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concord",
        abstract: "Pseudonymised cross-agency data sharing: agency agents, the hub, and the tools around them.",
        discussion: """
        Agencies pseudonymise their nightly extracts with a linkage key that never leaves them; only
        keyed match keys and non-identifying fields reach the hub.

        Start here:
          concord keys new-linkage-key --out linkage.key
          concord schema check Schemas/datasets/*.yaml
          concord synth --out extracts
          concord pseudonymise --schema Schemas/datasets/csc_referrals.yaml --key linkage.key \\
              --in extracts/csc_referrals.csv --out csc_referrals.pseudonymised.csv

        Specifications: docs/dataset-schema.md (schemas), docs/pseudonyms.md (normalisation and match keys).
        """,
        version: "0.1.0",
        subcommands: [KeysCommand.self, SchemaCommand.self, PseudonymiseCommand.self, AgentCommand.self, AgreementCommand.self, SynthCommand.self, HubCommand.self, RequestCommand.self, AuditCommand.self, BenchCommand.self]
    )
}
