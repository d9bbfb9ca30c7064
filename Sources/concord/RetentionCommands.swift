import ArgumentParser
import ConcordCore
import ConcordFiles
import ConcordHubServer
import ConcordHubStore
import Foundation

/// Today's UTC date, as the hub counts retention and validity.
private var today: CivilDate { CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970)! }

extension HubCommand {
    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete what retention says is due today, with signed deletion certificates.",
            discussion: """
            The running hub does this every hour; this runs it by hand (docs/retention.md). A purge
            a crash interrupted is finished first. Rows whose every agreement's hold has ended are
            deleted in batches, agreements whose own hold ended stop reading rows others still
            hold, request outputs past their retention are deleted, each purge's deletion
            certificates are signed into the audit log, and affected linkages are updated.

            --dry-run prints the schedule instead and changes nothing: every published extract
            with the day its rows go and why, and every output with its day.

            Examples:
              concord hub purge --config /etc/concord/hub.yaml --dry-run
              concord hub purge --config /etc/concord/hub.yaml
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Flag(help: "Print what would be purged, and when, without changing anything.") var dryRun = false

        func run() async throws {
            let (configuration, catalogue) = try hub.loadWithCatalogue()
            let date = today
            if dryRun {
                let schedule = try await hub.withStore(configuration, catalogue: catalogue) { try await $0.retentionSchedule(on: date, catalogue: catalogue) }
                print(["extract", "agency", "dataset", "rows", "purge_on", "due", "holds"].joined(separator: "\t"))
                for extract in schedule.extracts {
                    let holds = extract.holds.map { "\($0.agreementID) until \($0.ends?.description ?? "open")\($0.released ? " (released)" : "")" }
                    print(["\(extract.extractID)", extract.agencyID, extract.dataset, "\(extract.rows)", extract.purgeOn?.description ?? "open",
                           extract.purgeOn.map { $0 <= date ? "yes" : "no" } ?? "no", holds.joined(separator: "; ")].joined(separator: "\t"))
                }
                for output in schedule.outputs {
                    print(["output \(output.requestID.uuidString.lowercased())", "", output.agreementID, "\(output.rows)", output.purgeOn.description,
                           output.purgeOn <= date ? "yes" : "no", ""].joined(separator: "\t"))
                }
                Console.note("\(schedule.dueExtracts.count) extract(s), \(schedule.dueReleases.count) hold(s) and \(schedule.dueOutputs.count) output(s) due on \(date); nothing changed")
                return
            }
            let keys = try HubKeys(configuration: configuration)
            let outcome = try await hub.withStore(configuration, catalogue: catalogue) { store in
                try await RetentionPurger(store: store, catalogue: catalogue, keys: keys, dataDirectory: configuration.dataDirectory, actor: hub.actor)
                    .purge(on: date, now: Int64(Date().timeIntervalSince1970))
            }
            for certificate in outcome.certificates {
                print("\(certificate.subject)\tpurge \(certificate.integer("purge") ?? 0)\t\(certificate.entries) item(s)\t\(certificate.integer("rows_deleted") ?? 0) rows deleted")
            }
            Console.note(outcome.jobs.isEmpty ? "nothing due on \(date)" : "\(outcome.jobs.count) purge(s) done, \(outcome.certificates.count) deletion certificate(s) in the audit log")
        }
    }
}

extension AuditCommand {
    struct Deletions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the deletion certificates and check their signatures.",
            discussion: """
            Each purge signs one certificate per agreement, dataset and agency it deleted from
            (docs/retention.md, section 5): the extracts by the receipts their agency holds, the
            rows deleted, the day and the time. Each line says whether the signature is the hub's
            (--hub-key, else the configured signing key or one of keys.previous, so certificates
            signed before a hub key rotation still verify); the command exits 1 if any is not. Run `concord audit verify` to check that none was removed.

            Example:
              concord audit deletions --config /etc/concord/hub.yaml --agreement early-help-domestic-abuse
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Option(help: ArgumentHelp("Only certificates of this agreement.", valueName: "id")) var agreement: String?
        @Option(name: .customLong("hub-key"), help: ArgumentHelp("The hub's receipt-signing public key line (concord-public-key/1 hub-signing …).", valueName: "file"))
        var hubKey: String?

        func run() async throws {
            let configuration = try hub.load()
            // A certificate signed before a hub key rotation verifies with the previous key, which
            // the configuration keeps listed under keys.previous.
            let keys = try hubSigningKeys(file: hubKey, configuration: configuration)
            let records = try await hub.withStore { try await $0.auditEntries(limit: Int.max, filter: AuditFilter(actions: [DeletionCertificate.auditAction])) }
            var unsigned = 0
            print(["seq", "at", "agreement", "dataset", "agency", "purge_date", "items", "rows_deleted", "signature"].joined(separator: "\t"))
            for record in records {
                guard let certificate = DeletionCertificate(auditRecord: record), agreement == nil || certificate["agreement"] == agreement else { continue }
                let signer = keys.first { certificate.isSigned(by: $0) }
                if signer == nil { unsigned += 1 }
                print(["\(record.seq)", record.at, certificate["agreement"] ?? "", certificate["dataset"] ?? "outputs", certificate["agency"] ?? "",
                       certificate["purge_date"] ?? "", "\(certificate.entries)", "\(certificate.integer("rows_deleted") ?? 0)",
                       signer.map { "ok (\($0.id))" } ?? "NOT the hub's"].joined(separator: "\t"))
            }
            guard unsigned == 0 else {
                Console.note("\(unsigned) certificate(s) not signed by \(keys.map(\.id).joined(separator: " or "))")
                throw ExitCode(1)
            }
        }
    }
}

/// The hub's receipt-signing public keys: the line in `file`, else those of the configured key
/// files, the current one first, then each of `keys.previous` (so what was signed before a hub key
/// rotation still verifies).
func hubSigningKeys(file: String?, configuration: HubConfiguration) throws -> [PublicKeyLine] {
    guard let file else {
        return try ([configuration.signingKeyPath] + configuration.previousKeys.map(\.signingKeyPath)).map { try KeyFiles.readPrivateKey($0).publicKey }
    }
    return [try hubSigningKey(file: file)]
}

/// The hub's receipt-signing public key line in `file`, refused when it is another kind of key.
func hubSigningKey(file: String) throws -> PublicKeyLine {
    let key = try PublicKeyLine(line: String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
    guard key.kind == .hubSigning else { throw ValidationError("\(file) is a \(key.kind.rawValue) key, not the hub's hub-signing key") }
    return key
}

extension AgreementCommand {
    struct ChangeState: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "suspend",
            abstract: "Suspend an agreement at the hub: every upload, request and download under it is refused at once.",
            discussion: """
            The decision is recorded and audited (agreement.suspend) with the reason; the applied
            document is not edited. Applying a new version reinstates the agreement. Data is kept
            while it is suspended. See also `concord agreement terminate`.

            Example:
              concord agreement suspend early-help-domestic-abuse --reason "DPIA under review" --config /etc/concord/hub.yaml
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Argument(help: "The agreement id.") var id: String
        @Option(help: "Why; kept in the audit log.") var reason: String

        func run() async throws { try await change(to: .suspended) }

        func change(to status: AgreementStateChange.Status) async throws {
            let change = try await hub.withStore { try await $0.changeAgreementState(id: id, to: status, reason: reason, on: today, by: hub.actor) }
            Console.note("agreement \(change.agreementID) v\(change.agreementVersion) is \(change.status.rawValue) from \(change.decidedOn)")
        }
    }

    struct Terminate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Terminate an agreement: everything under it is refused, and its data purged within its stated period.",
            discussion: """
            Final, for every version. Audited as agreement.terminate with the reason. Its data is
            deleted no later than retention.on_end.delete_within after today (docs/retention.md);
            `concord hub purge --dry-run` shows the day.

            Example:
              concord agreement terminate early-help-domestic-abuse --reason "partnership ended" --config /etc/concord/hub.yaml
            """
        )
        @OptionGroup var state: ChangeState

        func run() async throws { try await state.change(to: .terminated) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the agreements applied at the hub, with their status and review date.",
            discussion: """
            --due lists only those whose review (next_review) is within 30 days or overdue.

            Example:
              concord agreement list --due --config /etc/concord/hub.yaml
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Flag(help: "Only agreements whose review is due within 30 days or overdue.") var due = false

        func run() async throws {
            let catalogue = try hub.loadWithCatalogue().catalogue
            let held = try await hub.withStore { try await $0.heldAgreements(catalogue: catalogue) }
            print(["id", "version", "status", "valid_until", "next_review", "review"].joined(separator: "\t"))
            for agreement in held.values.map(\.agreement).sorted(by: { $0.id < $1.id }) {
                let review = ReviewState(agreement, on: today)
                guard !due || review != .notDue else { continue }
                print([agreement.id, "\(agreement.version)", agreement.status.rawValue, agreement.validUntil.description,
                       agreement.nextReview.description, review.rawValue].joined(separator: "\t"))
            }
        }
    }
}
