import ArgumentParser
import ConcordAgent
import ConcordCore
import ConcordFiles
import Foundation

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "What runs at an agency: turn nightly extracts into envelopes and push them to the hub.",
        discussion: """
        push seals each configured dataset's extract and sends everything waiting in the outbox;
        retry only sends; status shows what waits, what was sent and what is held back; release
        sends a held-back envelope on its way. The configuration (concord-agent/1) and the state
        directory are described in docs/agent.md.

        \(exitCodes)

        From cron, every night at 02:30:
          30 2 * * *  concord agent push --config /etc/concord/agent.yaml
        """,
        subcommands: [Push.self, Retry.self, Status.self, Release.self, Seal.self]
    )

    static let exitCodes = """
    Exit status (push and retry; the largest that applies):
      0  everything sealed was sent and the hub's receipts verified
      1  the configuration, a file it names, or the state directory is wrong
      2  an extract was refused here: missing, unreadable, or held back (rejects)
      3  the hub could not be reached: envelopes are safe in the outbox;
         run concord agent retry later
      4  the hub refused an envelope (held back) or the agent's requests
     64  the command line is wrong
    """

    /// The configuration file, for the subcommands that read one.
    struct ConfigOptions: ParsableArguments {
        @Option(help: ArgumentHelp("The agent's configuration (concord-agent/1, docs/agent.md).", valueName: "file"))
        var config = "/etc/concord/agent.yaml"

        func load() throws -> AgentConfiguration {
            try AgentConfiguration.load(path: config)
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal tonight's extracts and send everything waiting in the outbox to the hub.",
            discussion: """
            For each dataset in the configuration (or only --dataset), takes its extract (for a
            snapshot the newest file matching `extract`, when appending every matching file not
            sent before; EXTRACT overrides), validates every row against the schema, keeps only
            what the dataset's agreements permit, pseudonymises with the linkage key, and seals the
            result into an envelope in the outbox. Rejected rows are described (line, field,
            reason; never a value) in the state directory's rejects/ folder and stay there.

            When more than max_reject_share of the rows were rejected, the envelope is held back
            in held/ instead, with the reason beside it: fix the extract and push again, or, if it
            is right as it is, send it with concord agent release ENVELOPE.

            Then sends every envelope in the outbox, oldest first, and moves each to sent/ only
            once the hub's signed receipt has verified; interrupted uploads resume where the hub
            stopped. While the hub cannot be reached, retries back off exponentially with jitter
            (retry: in the configuration), then give up leaving the envelopes in the outbox.

            Progress is drawn on standard error when it is a terminal; otherwise only problems and
            a one-line summary are written, for cron.

            \(AgentCommand.exitCodes)

            Examples:
              concord agent push --config /etc/concord/agent.yaml
              concord agent push --config agent.yaml --dataset police_da_incidents exports/incidents-2026-11-21.csv
            """
        )

        @OptionGroup var options: ConfigOptions

        @Option(help: ArgumentHelp("Only this dataset (a name under datasets: in the configuration).", valueName: "name"))
        var dataset: String?

        @Option(name: .customLong("extract-date"), help: ArgumentHelp("The date the extract was taken, YYYY-MM-DD (default: today, UTC).", valueName: "date"))
        var extractDate: String?

        @Argument(help: ArgumentHelp("An extract to send instead of the configured one (needs --dataset when several are configured).", valueName: "extract"))
        var extract: String?

        func validate() throws {
            if let extractDate, CivilDate(iso: extractDate) == nil { throw ValidationError("--extract-date must be a real date YYYY-MM-DD") }
        }

        func run() async throws {
            let setup = try AgentSetup.load(try options.load())
            let datasets = try chosenDatasets(setup.configuration)
            let state = setup.state
            try state.prepare()
            let lock = try state.lock()
            defer { withExtendedLifetime(lock) {} }
            let date = try extractDate.flatMap { CivilDate(iso: $0) } ?? UTCTimestamp.today()

            var tally = AgentTally()
            for dataset in datasets {
                let files: [String]
                do { files = try extract.map { [$0] } ?? setup.extracts(for: dataset) } catch {
                    tally.refuse("\(dataset.name): \(error)")
                    continue
                }
                if files.isEmpty {
                    if dataset.mode == .snapshot {
                        tally.refuse("\(dataset.name): no extract matches \(dataset.extract)")
                    } else if Console.showsProgress {
                        Console.note("\(dataset.name): no new extract matches \(dataset.extract)")
                    }
                }
                for file in files {
                    do {
                        tally.record(try await setup.seal(dataset: dataset.name, extract: file, extractDate: date))
                    } catch {
                        tally.refuse("\(dataset.name): \(file) was not sealed: \(error)")
                    }
                }
            }
            try await sendWaiting(setup, tally: &tally)
            try tally.finish()
        }

        private func chosenDatasets(_ configuration: AgentConfiguration) throws -> [AgentConfiguration.Dataset] {
            if let dataset {
                guard let chosen = configuration.datasets.first(where: { $0.name == dataset }) else {
                    throw AgentSetupError.unknownDataset(dataset, configuration.datasets.map(\.name))
                }
                return [chosen]
            }
            guard extract == nil || configuration.datasets.count == 1 else {
                throw ValidationError("name the dataset EXTRACT is of with --dataset (the configuration has several)")
            }
            return configuration.datasets
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send what waits in the outbox, oldest first.",
            discussion: """
            Seals nothing: sends the envelopes a push left in the outbox (the hub was unreachable,
            or an envelope was released from held/), resuming interrupted uploads. Needs only the
            signing key and the hub's pinned keys, so it works while a schema or agreement is
            being fixed.

            \(AgentCommand.exitCodes)

            Example:
              concord agent retry --config /etc/concord/agent.yaml
            """
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let setup = try AgentSetup.load(try options.load(), datasets: false)
            try setup.state.prepare()
            let lock = try setup.state.lock()
            defer { withExtendedLifetime(lock) {} }
            var tally = AgentTally()
            try await sendWaiting(setup, tally: &tally)
            try tally.finish()
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What waits in the outbox, what was sent (with receipt ids) and what is held back.",
            discussion: """
            Reads the state directory only; changes nothing and talks to nobody. "last sent" is,
            per dataset, when the hub published its newest acknowledged extract.

            Examples:
              concord agent status --config /etc/concord/agent.yaml
              concord agent status --config agent.yaml --format json
            """
        )

        @OptionGroup var options: ConfigOptions

        @Option(help: "text (for people) or json (for monitoring).")
        var format = "text"

        func validate() throws {
            if !["text", "json"].contains(format) { throw ValidationError("--format is text or json") }
        }

        func run() throws {
            let configuration = try options.load()
            let status = AgentStatus(state: AgentState(root: configuration.stateDirectory))
            if format == "json" {
                print(String(decoding: status.json.bytes, as: UTF8.self))
                return
            }
            print(status.text)
            let never = configuration.datasets.map(\.name).filter { status.lastSent[$0] == nil }
            if !never.isEmpty { print("  never sent: \(never.joined(separator: ", "))") }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a held-back envelope to the outbox, to be sent by the next push or retry.",
            discussion: """
            An envelope is held back when too many of its rows were rejected, or when the hub
            refused it; concord agent status says why. Release it only once you have checked that
            it should go as it is (its problem file is kept in held/ for the record).

            Example:
              concord agent release --config /etc/concord/agent.yaml police_da_incidents-2026-11-21-3f9a1c2b7d4e.envelope
              concord agent retry --config /etc/concord/agent.yaml
            """
        )

        @OptionGroup var options: ConfigOptions

        @Argument(help: ArgumentHelp("The held envelope's file name (as concord agent status lists it).", valueName: "envelope"))
        var envelope: String

        func run() throws {
            let state = AgentState(root: try options.load().stateDirectory)
            let lock = try state.lock()
            defer { withExtendedLifetime(lock) {} }
            let path = try state.release(envelope)
            Console.note("\(envelope) is back in the outbox (\(path)); concord agent retry sends it")
        }
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pseudonymise an extract under its agreements and seal it into an envelope in the outbox.",
            discussion: """
            Validates every row, keeps only what every agreement named permits (match keys, fields,
            generalisations), pseudonymises with the linkage key, compresses, encrypts to the hub's
            public key and signs with the agency's key (docs/envelope.md). The envelope appears in
            the outbox complete or not at all, named <dataset>-<extract date>-<digest>.envelope.
            Rejected rows go to the rejects file, which stays at the agency (default: the extract's
            path with .rejects.csv), written only if a row is rejected. The agency is the owner of
            the signing key. concord agent push does the same from a configuration, and sends.

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
            let signing = try KeyFiles.readPrivateKey(agencyKey)
            let hub = try PublicKeyLine(line: String(contentsOfFile: hubKey, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
            let catalogue = try schemaOptions.catalogue()
            let loaded = try agreements.map { try loadAgreement($0, folder: agreementsDirectory, catalogue: catalogue) }
            var sealer = try ExtractSealer(schema: schema, linkageKey: try KeyFiles.readLinkageKey(extract.key), signingKey: signing,
                                           hubKey: hub, agreements: loaded)
            sealer.compression = compression
            try createDirectory(outbox, mode: 0o700)
            let date = try extractDate.flatMap { CivilDate(iso: $0) } ?? UTCTimestamp.today()
            let sealed = try await sealer.seal(extract: extract.input, extractDate: date, rejectsPath: rejects ?? "\(extract.input).rejects.csv",
                                               workingDirectory: outbox) { _ in outbox }

            let summary = sealed.summary
            let pseudonymiseSeconds = sealed.pseudonymiseDuration.inSeconds
            let sealSeconds = sealed.sealDuration.inSeconds
            let size = (try? FileManager.default.attributesOfItem(atPath: sealed.path)[.size] as? Int) ?? 0
            Console.note("\(schema.dataset): read \(summary.rowsRead) rows, sealed \(summary.rowsWritten), rejected \(summary.rowsRejected)"
                + (summary.rejectsPath.map { " (rejects in \($0))" } ?? ""))
            Console.note(String(format: "pseudonymise %.2f s, seal %.2f s (+%.0f%%); %d bytes of CSV in a %d-byte envelope (%@)",
                                pseudonymiseSeconds, sealSeconds, pseudonymiseSeconds > 0 ? sealSeconds / pseudonymiseSeconds * 100 : 0,
                                summary.outputBytes, size, compression))
            print(sealed.path)
            Console.note("envelope \(sealed.headerDigest) signed by \(signing.owner) (\(signing.publicKey.id)) for hub key \(hub.id)")
        }
    }
}

/// Sends the outbox over HTTPS (or HTTP to loopback), drawing progress on a terminal.
private func sendWaiting(_ setup: AgentSetup, tally: inout AgentTally) async throws {
    let outcomes = try await HTTPHubTransport.with(baseURL: setup.configuration.hub.url, caFile: setup.configuration.hub.caFile) { transport in
        let sender = OutboxSender(client: try setup.client(transport: transport), state: setup.state, retry: setup.configuration.retry)
        return await sender.sendWaiting { progress in
            guard Console.showsProgress else { return }
            let percent = progress.total > 0 ? progress.sent * 100 / progress.total : 100
            Console.progress("sending \(progress.envelope): \(progress.sent) / \(progress.total) bytes (\(percent)%)")
        }
    }
    if Console.showsProgress { Console.endProgress() }
    for outcome in outcomes { tally.record(outcome) }
}

/// What a push or retry did, for its messages, its one-line summary and its exit status.
private struct AgentTally {
    var code = AgentExitCode.success
    var sealed = 0
    var heldHere = 0
    var refusedHere = 0
    var sent = 0
    var heldByHub = 0
    var waiting = 0
    var lastWaitingReason: String?

    mutating func refuse(_ message: String) {
        Console.note(message)
        refusedHere += 1
        code = max(code, .inputHeld)
    }

    mutating func record(_ outcome: SealOutcome) {
        let summary = outcome.sealed.summary
        let name = (outcome.sealed.path as NSString).lastPathComponent
        if let problem = outcome.heldBecause {
            heldHere += 1
            code = max(code, .inputHeld)
            Console.note("\(outcome.dataset): held back \(name): \(problem.detail)")
        } else {
            sealed += 1
            if Console.showsProgress {
                Console.note("\(outcome.dataset): sealed \(summary.rowsWritten) of \(summary.rowsRead) rows into \(name)"
                    + (summary.rowsRejected > 0 ? "; \(summary.rowsRejected) rejected (\(summary.rejectsPath ?? "rejects/"))" : ""))
            }
        }
    }

    mutating func record(_ outcome: SendOutcome) {
        code = max(code, outcome.exitCode)
        switch outcome {
        case .sent(let name, let receipt):
            sent += 1
            if Console.showsProgress {
                Console.note("sent \(name): receipt \(receipt.receipt.receiptID), \(receipt.receipt.rowsLoaded) rows loaded")
            }
        case .held(let name, let problem):
            heldByHub += 1
            Console.note("the hub refused \(name); it is held back in held/: \(problem)")
        case .waiting(let name, let reason, _):
            waiting += 1
            lastWaitingReason = reason
            Console.note("\(name) stays in the outbox: \(reason)")
        }
    }

    /// Prints the summary line and exits with the status that applies.
    func finish() throws {
        var parts = ["sealed \(sealed)", "sent \(sent)"]
        if heldHere + heldByHub > 0 { parts.append("held back \(heldHere + heldByHub)") }
        if refusedHere > 0 { parts.append("extracts refused \(refusedHere)") }
        if waiting > 0 { parts.append("waiting \(waiting)") }
        var line = "concord agent: " + parts.joined(separator: ", ")
        switch code {
        case .success: break
        case .usage: line += "; see the messages above"
        case .inputHeld: line += "; an extract was refused or held back here (concord agent status)"
        case .hubUnreachable: line += "; the hub could not be reached: the envelopes are safe in the outbox; run concord agent retry later"
        case .hubRefused: line += "; the hub refused an envelope or the agent's requests (concord agent status)"
        }
        print(line)
        if code != .success { throw ExitCode(code.rawValue) }
    }
}
