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
        """,
        subcommands: [Log.self, Checkpoint.self, Verify.self, Deletions.self]
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

        static let columns = ["seq", "at", "actor", "role", "agency", "action", "subject", "outcome", "agreements", "dataset", "rows", "reasons"]

        func run() async throws {
            func time(_ text: String?, _ option: String) throws -> String? {
                guard let text else { return nil }
                guard let time = AuditFilter.time(text) else { throw ValidationError("--\(option) must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ") }
                return time
            }
            let filter = AuditFilter(actor: actor, actions: action, subject: subject, agreement: agreement, dataset: dataset,
                                     since: try time(since, "since"), until: try time(until, "until"))
            let (entries, roles) = try await hub.withStore { store in
                var entries: [AuditRecord] = []
                while true {
                    let page = try await store.auditEntries(after: entries.last?.seq ?? 0, limit: 1000, filter: filter)
                    entries += page
                    if page.count < 1000 { break }
                }
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
                writer.appendRecord(Self.columns)
                for view in views { writer.appendRecord(Self.columns.map { Self.cell(view[$0]) }) }
                print(String(decoding: writer.takeBytes(), as: UTF8.self), terminator: "")
            case .table:
                let rows = [Self.columns] + views.map { view in Self.columns.map { Self.cell(view[$0]) } }
                let widths = Self.columns.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
                for row in rows {
                    print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                        .trimmingCharacters(in: .whitespaces))
                }
            }
            Console.note("\(entries.count) entr\(entries.count == 1 ? "y" : "ies")")
        }

        /// A value as one cell: lists joined with `; `, nothing for absent.
        static func cell(_ value: CanonicalJSON?) -> String {
            switch value {
            case nil: ""
            case .string(let text)?: text
            case .integer(let number)?: String(number)
            case .boolean(let flag)?: String(flag)
            case .array(let items)?: items.map { cell($0) }.joined(separator: "; ")
            case .object?: String(decoding: value!.bytes, as: UTF8.self)
            }
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
            else the one derived from the hub's signing key file.

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
            let key = try hubSigningKey(file: hubKey, configuration: configuration)
            var problems: [String] = []
            var kept: [ConcordCore.Checkpoint] = []
            for file in checkpoints {
                do {
                    kept.append(try ConcordCore.Checkpoint(note: String(contentsOfFile: file, encoding: .utf8), hubKey: key))
                } catch {
                    problems.append("\(file): \(error)")
                }
            }
            let (verification, storedCount) = try await hub.withStore { store in
                var all = kept
                let stored = try await store.checkpoints()
                for checkpoint in stored {
                    do {
                        all.append(try ConcordCore.Checkpoint(note: checkpoint.note, hubKey: key))
                    } catch {
                        problems.append("the hub's stored checkpoint of size \(checkpoint.size): \(error)")
                    }
                }
                return (try await store.verifyAuditLog(against: all), stored.count)
            }
            if let broken = verification.firstBroken { problems.insert("entry \(broken.seq): \(broken.reason)", at: 0) }
            guard problems.isEmpty else {
                problems.forEach { print("audit log: \($0)") }
                Console.note("audit log NOT intact: \(problems.count) problem\(problems.count == 1 ? "" : "s"); the first bad entry is listed first")
                throw ExitCode(1)
            }
            print("audit log: ok: \(verification.entriesChecked) entries, chain intact, Merkle root \(Data(verification.rootHash).base64EncodedString())")
            Console.note("matched \(verification.checkpointsMatched) checkpoint(s): \(kept.count) given, \(storedCount) stored by the hub")
        }
    }
}
