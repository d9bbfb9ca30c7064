import ArgumentParser
import ConcordAgent
import ConcordCore
import ConcordFiles
import ConcordHub
import Crypto
import Foundation

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The hub: where pseudonymised extracts meet.",
        discussion: """
        The hub accepts signed, encrypted extracts from agencies under the agreements applied to
        it, loads them into PostgreSQL, and records every action in a hash-chained audit log.

        Getting started:
          concord keys new-hub --out hub-keys
          concord hub serve --config hub.yaml
          concord hub agency add --config hub.yaml --id essex-police --name "Essex Police" --public-key "$(cat essex-police.agency-signing.pub)"
          concord agreement apply --config hub.yaml Agreements/*.yaml
        """,
        subcommands: [Serve.self, Agency.self, User.self, Link.self, Purge.self, CheckExtract.self, OpenEnvelope.self]
    )

    struct OpenEnvelope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open-envelope",
            abstract: "Verify and open an envelope as the hub does on receipt.",
            discussion: """
            Checks the agency's signature against the registered public keys, decrypts and
            decompresses the payload chunk by chunk, and checks it against the manifest; the payload
            file appears only if every check passes. Prints the manifest (canonical JSON).

            Example:
              concord hub open-envelope --hub-key hub-keys/hub-encryption.key \
                  --agency-key essex-police.agency-signing.pub --in outbox/x.envelope --out payload.csv
            """
        )

        @Option(name: .customLong("hub-key"), help: ArgumentHelp("The hub's private encryption key.", valueName: "file"))
        var hubKey: String

        @Option(name: .customLong("agency-key"), help: ArgumentHelp("A registered agency's public signing key (.pub); repeat for several.", valueName: "file"))
        var agencyKeys: [String] = []

        @Option(name: .customLong("in"), help: ArgumentHelp("The envelope.", valueName: "file"))
        var input: String

        @Option(name: .customLong("out"), help: ArgumentHelp("Where to write the payload (CSV).", valueName: "file"))
        var output: String

        func run() async throws {
            let hub = try KeyFiles.readPrivateKey(hubKey).encryptionKey()
            var keys: [String: Curve25519.Signing.PublicKey] = [:]
            for path in agencyKeys {
                let line = try PublicKeyLine(line: String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
                guard line.kind == .agencySigning else { throw ValidationError("\(path) is not an agency signing key") }
                keys[line.owner] = try line.signingKey()
            }
            let (manifest, digest) = try EnvelopeFileOpener.open(envelopePath: input, hubKey: hub, agencyKeys: keys, payloadPath: output)
            print(String(decoding: manifest.json.bytes, as: UTF8.self))
            Console.note("\(input): ok: envelope \(digest.lowercaseHex) from \(manifest.agency), \(manifest.rows) rows of \(manifest.dataset) -> \(output)")
        }
    }

    struct CheckExtract: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-extract",
            abstract: "Check a pseudonymised extract as the hub will before accepting it.",
            discussion: """
            Refuses an extract whose columns are not exactly the schema's pseudonymised columns (so
            no identifier or free-text column), whose match keys are not well-formed pseudonyms of
            one linkage key version, or whose quasi-identifiers are finer than the schema allows
            (a full date of birth or postcode). Prints each problem with its line and column and
            exits 1 if there is any; an agency can run it on its own output before sending.
            With --agreement (and --agency), it is held to what those agreements permit instead.

            Example:
              concord hub check-extract --schema Schemas/datasets/csc_referrals.yaml --in csc_referrals.pseudonymised.csv \\
                  --agreement early-help-domestic-abuse --agency essex-childrens-services
            """
        )

        @Option(help: ArgumentHelp("The dataset schema (YAML).", valueName: "file"))
        var schema: String

        @Option(name: .customLong("in"), help: ArgumentHelp("The pseudonymised extract (CSV).", valueName: "file"))
        var input: String

        @Option(help: "Stop after this many problems.")
        var limit = 20

        @OptionGroup var release: ReleaseOptions

        func run() async throws {
            let schema = try DocumentFiles.loadSchema(schema)
            var reader = CSVFileReader(input: try InputFile(path: input), parser: CSVParser())
            guard let first = try reader.next(), let header = first.firstRecord else { throw CSVFileError.empty(input) }
            var check = ReceivedExtractCheck(schema: schema, release: try release.plan(for: schema))
            try check.checkHeader(header)
            var violations = check.check(first, skippingFirst: true)
            while violations.count < limit, let batch = try reader.next() {
                violations += check.check(batch)
            }
            for violation in violations.prefix(limit) { print("\(input): \(violation)") }
            guard violations.isEmpty else {
                let count = violations.count >= limit ? "at least \(limit) problems" : violations.count == 1 ? "1 problem" : "\(violations.count) problems"
                Console.note("\(input): refused: \(count)")
                throw ExitCode(1)
            }
            let version = check.keyVersion.map { "linkage key version \($0)" } ?? "no match keys"
            Console.note("\(input): ok: \(check.rowsChecked) rows of \(schema.dataset) version \(schema.version), \(version)")
        }
    }
}
