import ArgumentParser
import ConcordAgent
import ConcordCore
import ConcordFiles
import Foundation

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "What runs at an agency: turn a nightly extract into an envelope for the hub.",
        discussion: "Today: seal an extract into the outbox. Pushing to the hub comes with the hub's upload protocol.",
        subcommands: [Seal.self]
    )

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pseudonymise an extract under its agreements and seal it into an envelope in the outbox.",
            discussion: """
            Validates every row, keeps only what every agreement named permits (match keys, fields,
            generalisations), pseudonymises with the linkage key, compresses, encrypts to the hub's
            public key and signs with the agency's key (docs/envelope.md). The envelope appears in
            the outbox complete or not at all, named <dataset>-<extract date>-<digest>.envelope.
            Rejected rows go to the rejects file, which stays at the agency (default: the extract's
            path with .rejects.csv). The agency is the owner of the signing key.

            Example:
              concord agent seal --schema Schemas/datasets/police_da_incidents.yaml \\
                  --key linkage.key --agency-key keys/essex-police.agency-signing.key \\
                  --hub-key keys/hub-encryption.pub --agreement early-help-domestic-abuse \\
                  --in police_da_incidents.csv --outbox outbox/
            """
        )

        @OptionGroup var extract: ExtractOptions

        @Option(name: .customLong("agency-key"), help: ArgumentHelp("The agency's private signing key (concord keys new-agency).", valueName: "file"))
        var agencyKey: String

        @Option(name: .customLong("hub-key"), help: ArgumentHelp("The hub's public encryption key (hub-encryption.pub).", valueName: "file"))
        var hubKey: String

        @Option(name: .customLong("agreement"), help: ArgumentHelp("An agreement (file or id) the extract is sent under; repeat for several.", valueName: "file-or-id"))
        var agreements: [String] = []

        @Option(name: .customLong("agreements-dir"), help: ArgumentHelp("Folder of agreements, for ids.", valueName: "dir"))
        var agreementsDirectory = "Agreements"

        @OptionGroup var schemaOptions: SchemaOptions

        @Option(help: ArgumentHelp("Where envelopes wait to be sent (created if missing).", valueName: "dir"))
        var outbox: String

        @Option(help: ArgumentHelp("Where to describe rejected rows.", valueName: "file"))
        var rejects: String?

        @Option(name: .customLong("extract-date"), help: ArgumentHelp("The date the extract was taken, YYYY-MM-DD (default: today, UTC).", valueName: "date"))
        var extractDate: String?

        @Option(help: "Payload compression: zstd (default) or none.")
        var compression = "zstd"

        func validate() throws {
            if agreements.isEmpty { throw ValidationError("name at least one --agreement: an extract leaves only under an agreement") }
            if !EnvelopeManifest.compressions.contains(compression) { throw ValidationError("--compression is zstd or none") }
            if let extractDate, CivilDate(iso: extractDate) == nil { throw ValidationError("--extract-date must be a real date YYYY-MM-DD") }
        }

        func run() async throws {
            let schema = try DocumentFiles.loadSchema(extract.schema)
            let linkageKey = try KeyFiles.readLinkageKey(extract.key)
            let signing = try KeyFiles.readPrivateKey(agencyKey)
            guard signing.kind == .agencySigning else { throw ValidationError("\(agencyKey) is a \(signing.kind.rawValue) key, not an agency signing key") }
            let hub = try PublicKeyLine(line: String(contentsOfFile: hubKey, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
            let catalogue = try schemaOptions.catalogue()
            let loaded = try agreements.map { try loadAgreement($0, folder: agreementsDirectory, catalogue: catalogue) }
            let release = try ReleasePlan(schema: schema, agreements: loaded, agency: signing.owner)
            try createDirectory(outbox, mode: 0o700)

            let clock = ContinuousClock()
            let start = clock.now
            let working = "\(outbox)/.\(schema.dataset).\(UUID().uuidString).csv"
            defer { try? FileManager.default.removeItem(atPath: working) }
            var job = PseudonymiseJob(schema: schema, key: linkageKey, inputPath: extract.input, outputPath: working,
                                      rejectsPath: rejects ?? "\(extract.input).rejects.csv", parallelism: ProcessInfo.processInfo.activeProcessorCount)
            job.release = release
            let summary = try await job.run()
            let pseudonymised = clock.now

            let now = Date()
            let manifest = EnvelopeManifest(
                agency: signing.owner, dataset: schema.dataset, schemaVersion: schema.version,
                agreements: loaded.map { "\($0.id).v\($0.version)" },
                extractDate: extractDate.flatMap { CivilDate(iso: $0) } ?? CivilDate(utcSecondsSinceEpoch: now.timeIntervalSince1970)!,
                rows: summary.rowsWritten, columns: summary.columns, linkageKeyID: linkageKey.id, compression: compression,
                payloadBytes: summary.outputBytes, payloadSHA256: summary.outputSHA256, created: Self.timestamp(now))
            let (path, digest) = try EnvelopeFileSealer.seal(payloadPath: working, manifest: manifest, hubKey: try hub.encryptionKey(),
                                                             signingKey: try signing.signingKey(), outbox: outbox)
            let sealed = clock.now

            let pseudonymiseSeconds = start.duration(to: pseudonymised).inSeconds
            let sealSeconds = pseudonymised.duration(to: sealed).inSeconds
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            Console.note("\(schema.dataset): read \(summary.rowsRead) rows, sealed \(summary.rowsWritten), rejected \(summary.rowsRejected)"
                + (summary.rejectsPath.map { " (rejects in \($0))" } ?? ""))
            Console.note(String(format: "pseudonymise %.2f s, seal %.2f s (+%.0f%%); %d bytes of CSV in a %d-byte envelope (%@)",
                                pseudonymiseSeconds, sealSeconds, pseudonymiseSeconds > 0 ? sealSeconds / pseudonymiseSeconds * 100 : 0,
                                summary.outputBytes, size, compression))
            print(path)
            Console.note("envelope \(digest.lowercaseHex) signed by \(signing.owner) (\(signing.publicKey.id)) for hub key \(hub.id)")
        }

        static func timestamp(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: date)
        }
    }
}
