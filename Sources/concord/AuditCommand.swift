import ArgumentParser
import ConcordCore
import ConcordFiles
import ConcordHubServer
import ConcordHubStore
import Foundation

/// The audit log, read straight from the hub's database with the hub's configuration: what an IG
/// officer (or the operator, for them) runs on the hub's host. `verify` recomputes everything from
/// the table itself, so it trusts neither the running hub nor its caches.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read, checkpoint and verify the hub's audit log.",
        discussion: """
        The audit log is hash-chained and is also a Merkle tree whose signed checkpoints
        (concord-tlog/1, docs/transparency-log.md) an IG officer keeps outside the hub. These
        commands open the hub's database from its configuration, as the hub commands do.

        Keep evidence, then check it later:
          concord audit checkpoint --config /etc/concord/hub.yaml --out ~/checkpoints/2026-11-22.note
          concord audit verify --config /etc/concord/hub.yaml --checkpoint ~/checkpoints/*.note
          concord audit log --config /etc/concord/hub.yaml --agreement early-help-domestic-abuse --since 2026-11-01
          concord audit report --config /etc/concord/hub.yaml --agreement early-help-domestic-abuse --period 2026-11 --out nov.html
        """,
        subcommands: [Log.self, Report.self, Checkpoint.self, Verify.self, Deletions.self, CheckEvidence.self]
    )

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List audit entries, filtered.",
            discussion: """
            Every filter given must hold. Entries show who (actor, role, agency), under what
            (agreements, dataset), what (action, subject), how many rows, the outcome with its
            reasons, and when; never row data, so never a pseudonym or an identifier. Reading is
            itself audited (audit.read, by you as operator).

            Examples:
              concord audit log --action request.refused --since 2026-11-21
              concord audit log --actor agency:essex-police --dataset police_da_incidents --format csv > essex.csv
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Option(help: ArgumentHelp("Entries about any version of this agreement.", valueName: "id")) var agreement: String?
        @Option(help: ArgumentHelp("The actor exactly: agency:ID, user:ID, operator:NAME or hub.", valueName: "actor")) var actor: String?
        @Option(help: ArgumentHelp("An action (upload.accepted, request.refused, …); repeat for several.", valueName: "action")) var action: [String] = []
        @Option(help: ArgumentHelp("Entries whose details name this dataset.", valueName: "dataset")) var dataset: String?
        @Option(help: ArgumentHelp("What it was done to, exactly (an upload id, a user id, …).", valueName: "subject")) var subject: String?
        @Option(help: ArgumentHelp("From this time: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC).", valueName: "time")) var since: String?
        @Option(help: ArgumentHelp("Before this time: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC).", valueName: "time")) var until: String?
        @Option(help: "table, csv or json.") var format: Format = .table

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

        func run() async throws {
            func time(_ text: String?, _ option: String) throws -> String? {
                guard let text else { return nil }
                guard let time = AuditFilter.time(text) else { throw ValidationError("--\(option) must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ") }
                return time
            }
            let filter = AuditFilter(actor: actor, actions: action, subject: subject, agreement: agreement, dataset: dataset,
                                     since: try time(since, "since"), until: try time(until, "until"))
            let (entries, roles) = try await hub.withStore { store in
                let entries = try await store.allAuditEntries(filter: filter)
                try await store.audit(AuditEntry(actor: hub.actor, action: "audit.read", subject: "audit_log",
                                                 details: .object(["entries": .integer(entries.count)])))
                return (entries, try await store.userRoles())
            }
            let views = entries.map { $0.view(roles: roles) }
            switch format {
            case .json:
                print(String(decoding: CanonicalJSON.object(["entries": .array(views.map(CanonicalJSON.object))]).bytes, as: UTF8.self))
            case .csv:
                var writer = CSVWriter()
                writer.appendRecord(AuditRecord.viewColumns)
                for view in views { writer.appendRecord(AuditRecord.viewColumns.map { AuditRecord.cell(view[$0]) }) }
                print(String(decoding: writer.takeBytes(), as: UTF8.self), terminator: "")
            case .table:
                let rows = [AuditRecord.viewColumns] + views.map { view in AuditRecord.viewColumns.map { AuditRecord.cell(view[$0]) } }
                let widths = AuditRecord.viewColumns.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
                for row in rows {
                    print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                        .trimmingCharacters(in: .whitespaces))
                }
            }
            Console.note("\(entries.count) entr\(entries.count == 1 ? "y" : "ies")")
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an agreement's access report for a period (HTML or CSV).",
            discussion: """
            The report covers one agreement (all its versions) over a period: who accessed what
            and when, why (the requester's justification, the approver's reason), how many rows;
            uploads per agency and dataset; linkage runs with their match rates; and everything
            refused. It is read from the audit log, so it names user and agency ids and holds
            counts, never row data: no pseudonym, no identifier. HTML is one self-contained,
            printable file; CSV has one row per line of the report, its section first. Making it
            is audited (audit.report, by you as operator).

            The period is --period YYYY-MM (a calendar month, UTC) or YYYY (a year), or
            --since DATE --until DATE (until exclusive).

            Examples:
              concord audit report --agreement early-help-domestic-abuse --period 2026-11 --out nov.html
              concord audit report --agreement early-help-domestic-abuse --since 2026-10-01 --until 2027-01-01 --format csv --out q4.csv
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Option(help: ArgumentHelp("The agreement's id.", valueName: "id")) var agreement: String
        @Option(help: ArgumentHelp("A month (YYYY-MM) or a year (YYYY), UTC.", valueName: "period")) var period: String?
        @Option(help: ArgumentHelp("From this date (YYYY-MM-DD), instead of --period.", valueName: "date")) var since: String?
        @Option(help: ArgumentHelp("Before this date (YYYY-MM-DD), with --since.", valueName: "date")) var until: String?
        @Option(help: "html or csv.") var format: AccessReportDocument.Format = .html
        @Option(name: .customLong("out"), help: ArgumentHelp("Where to write the report.", valueName: "file")) var output: String

        func reportPeriod() throws -> ReportPeriod {
            switch (period, since, until) {
            case (let text?, nil, nil):
                guard let period = ReportPeriod(text) else { throw ValidationError("--period must be YYYY-MM or YYYY, not '\(text)'") }
                return period
            case (nil, let since?, let until?):
                guard let from = CivilDate(iso: since), let to = CivilDate(iso: until) else { throw ValidationError("--since and --until must be YYYY-MM-DD") }
                guard let period = ReportPeriod(since: from, until: to) else { throw ValidationError("--until (\(until)) must be after --since (\(since))") }
                return period
            default:
                throw ValidationError("give --period YYYY-MM (or YYYY), or both --since and --until")
            }
        }

        func validate() throws { _ = try reportPeriod() }

        func run() async throws {
            let period = try reportPeriod()
            let (document, report) = try await hub.withStore { store in
                guard try await store.agreementHistory(id: agreement).isEmpty == false else {
                    throw ValidationError("no agreement '\(agreement)' is applied at this hub (concord agreement list shows them)")
                }
                let report = try await store.accessReport(agreement: agreement, period: period)
                try await store.audit(AuditEntry(actor: hub.actor, action: "audit.report", subject: agreement, details: .object([
                    "agreement": .string(agreement), "since": .string(period.since.description), "until": .string(period.until.description),
                    "format": .string(format.rawValue),
                ])))
                let madeAt = CivilDate.utcTimestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970))
                return (try AccessReportDocument.render(report, format: format, checkpoint: try await store.latestCheckpoint(), madeAt: madeAt), report)
            }
            let file = try AtomicOutputFile(path: output, mode: 0o600)
            try file.write(document)
            try file.commit()
            Console.note("\(output): \(agreement), \(period): \(report.accesses.count) request events, \(report.uploads.count) agency datasets, \(report.linkageRuns.count) linkage runs, \(report.refusals.count) refusals")
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a checkpoint of the log as it is now and save it.",
            discussion: """
            Brings the hub's Merkle tree up to the last entry, signs a checkpoint with the hub's
            receipt-signing key when the log has grown since the last one (the running hub also
            signs one every minute), and writes the latest checkpoint to the file: a C2SP signed
            note of the tree size, root hash and time. Keep it somewhere the hub's operators
            cannot change; `concord audit verify --checkpoint FILE` holds the log to it later.

            Example:
              concord audit checkpoint --config /etc/concord/hub.yaml --out ig/checkpoint-2026-11-22.note
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Option(name: .customLong("out"), help: ArgumentHelp("Where to write the checkpoint note.", valueName: "file")) var output: String

        func run() async throws {
            let configuration = try hub.load()
            let keys = try HubKeys(configuration: configuration)
            let checkpoint = try await hub.withStore { try await $0.signCheckpoint(with: keys, now: Int64(Date().timeIntervalSince1970)) }
            let file = try AtomicOutputFile(path: output, mode: 0o644)
            try file.write(Array(checkpoint.note.utf8))
            try file.commit()
            Console.note("\(output): checkpoint of \(checkpoint.size) entries, root \(Data(checkpoint.rootHash).base64EncodedString()), signed by \(checkpoint.keyID)")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the log's hash chain and Merkle tree and hold them to checkpoints.",
            discussion: """
            Reads every entry in order from the database and checks each follows the last, its
            hash covers its content, its content matches its columns, and it is the entry the hub
            put in its Merkle tree; then that the tree's root at each checkpoint's size is that
            checkpoint's — the ones given (kept by you) and the ones the hub stored. An edited,
            deleted, inserted or reordered entry is reported by the first bad seq, and the command
            exits 1. Checkpoints are verified with the hub's receipt-signing public key: --hub-key,
            else the one derived from the hub's signing key file or one of keys.previous (so
            checkpoints signed before a hub key rotation still verify).

            Example:
              concord audit verify --config /etc/concord/hub.yaml --hub-key hub-signing.pub --checkpoint ig/*.note
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Option(name: .customLong("checkpoint"), help: ArgumentHelp("A checkpoint note kept earlier; repeat for several.", valueName: "file"))
        var checkpoints: [String] = []
        @Option(name: .customLong("hub-key"), help: ArgumentHelp("The hub's receipt-signing public key line (concord-public-key/1 hub-signing …).", valueName: "file"))
        var hubKey: String?

        func run() async throws {
            let configuration = try hub.load()
            let keys = try hubSigningKeys(file: hubKey, configuration: configuration)
            var problems: [String] = []
            var kept: [ConcordCore.Checkpoint] = []
            for file in checkpoints {
                do {
                    kept.append(try ConcordCore.Checkpoint(note: String(contentsOfFile: file, encoding: .utf8), hubKeys: keys))
                } catch {
                    problems.append("\(file): \(error)")
                }
            }
            let check = try await hub.withStore { try await $0.checkAuditLog(hubKeys: keys, kept: kept, problems: problems) }
            let verification = check.verification
            guard check.isIntact else {
                check.problems.forEach { print("audit log: \($0)") }
                Console.note("audit log NOT intact: \(check.problems.count) problem\(check.problems.count == 1 ? "" : "s"); the first bad entry is listed first")
                throw ExitCode(1)
            }
            print("audit log: ok: \(verification.entriesChecked) entries, chain intact, Merkle root \(Data(verification.rootHash).base64EncodedString())")
            Console.note("matched \(verification.checkpointsMatched) checkpoint(s): \(kept.count) given, \(check.storedCheckpoints) stored by the hub")
        }
    }
}

extension AuditCommand {
    struct CheckEvidence: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-evidence",
            abstract: "Check audit evidence kept by an agency or an analyst, without the hub.",
            discussion: """
            Evidence is what the hub hands out about an entry of its audit log: the entry, its
            inclusion proof and the signed checkpoint the proof leads to (docs/transparency-log.md).
            Agents keep it for each accepted upload (sent/…receipt.audit.json), and
            `concord request download` for each download (FILE.audit.json). This checks each file
            offline: the checkpoint is signed by the hub's key, and the proof leads from the entry
            to the checkpoint's root. An IG officer holding a later checkpoint can then ask the hub
            for a consistency proof, or run `concord audit verify` with it, to show the entry is
            still there. Exits 1 when any file does not check out.

            Example:
              concord audit check-evidence --hub-key hub-signing.pub counts.csv.audit.json
            """
        )
        @Option(name: .customLong("hub-key"), help: ArgumentHelp("The hub's receipt-signing public key line.", valueName: "file"))
        var hubKey: String
        @Argument(help: ArgumentHelp("Evidence files (JSON).", valueName: "file")) var files: [String]

        func run() throws {
            let key = try hubSigningKey(file: hubKey)
            var failed = 0
            for file in files {
                do {
                    let evidence = try AuditEvidence(json: CanonicalJSON(canonical: Array(Data(contentsOf: URL(fileURLWithPath: file)))), hubKey: key)
                    let field = { (name: String) in if case .string(let text)? = evidence.entryFields[name] { text } else { "?" } }
                    print("\(file): ok: entry \(evidence.seq) (\(field("action")) of \(field("subject")) by \(field("actor")) at \(field("at")), \(field("outcome")))"
                          + " is in the log of \(evidence.checkpoint.size) entries signed by \(key.id)")
                } catch {
                    failed += 1
                    print("\(file): NOT ok: \(error)")
                }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

extension AccessReportDocument.Format: ExpressibleByArgument {}
