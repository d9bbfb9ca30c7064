import ArgumentParser
import ConcordCore
import ConcordFiles
import ConcordHubServer
import ConcordHubStore
import Foundation
import Logging
import ServiceLifecycle

/// The hub configuration a hub command works with, and who the operator is for the audit log.
struct HubConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The hub's configuration (concord-hub/1, docs/hub.md). Default: $CONCORD_HUB_CONFIG, else /etc/concord/hub.yaml.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("as"), help: ArgumentHelp("Your name in the audit log (default: $SUDO_USER or $USER).", valueName: "name"))
    var operatorName: String?

    func load() throws -> HubConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let path = config ?? environment["CONCORD_HUB_CONFIG"] ?? "/etc/concord/hub.yaml"
        // Absolute, so that paths in the file mean the same whatever the working directory.
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try HubConfiguration(yaml: DocumentFiles.readText(path), file: path, directory: directory)
    }

    var actor: AuditActor {
        let environment = ProcessInfo.processInfo.environment
        return .operator(operatorName ?? environment["SUDO_USER"] ?? environment["USER"] ?? "operator")
    }

    /// The configuration and the dataset schemas it names.
    func loadWithCatalogue() throws -> (configuration: HubConfiguration, catalogue: SchemaCatalogue) {
        let configuration = try load()
        return (configuration, try DocumentFiles.loadCatalogue(configuration.schemasDirectory))
    }

    /// Runs `body` with the hub's store (starting the embedded cluster if the hub is not running).
    /// - Parameter agreementsToApply: agreements `body` applies (see `HubRuntime.withStore`).
    func withStore<T: Sendable>(agreementsToApply: [Agreement] = [], _ body: (HubStore) async throws -> T) async throws -> T {
        let (configuration, catalogue) = try loadWithCatalogue()
        return try await withStore(configuration, catalogue: catalogue, agreementsToApply: agreementsToApply, body)
    }

    /// As `withStore(agreementsToApply:_:)`, for a command that has loaded the configuration and
    /// schemas already (`loadWithCatalogue()`).
    func withStore<T: Sendable>(_ configuration: HubConfiguration, catalogue: SchemaCatalogue, agreementsToApply: [Agreement] = [],
                                _ body: (HubStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "concord.hub")
        logger.logLevel = .warning
        return try await HubRuntime.withStore(configuration, catalogue: catalogue, logger: logger, agreementsToApply: agreementsToApply, body)
    }
}

extension HubCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the hub's HTTP API.",
            discussion: """
            Starts the embedded PostgreSQL cluster under data_dir (or connects to database_url),
            applies migrations, clears staging a crash left behind, and serves docs/openapi.yaml
            until SIGINT or SIGTERM; then finishes in-flight requests (uploads left mid-way stay
            resumable) and stops the cluster.

            Example:
              concord hub serve --config /etc/concord/hub.yaml
            """
        )

        @OptionGroup var hub: HubConfigOptions

        func run() async throws {
            let configuration = try hub.load()
            var logger = Logger(label: "concord.hub")
            logger.logLevel = .info
            let keys = try HubKeys(configuration: configuration)
            let catalogue = try DocumentFiles.loadCatalogue(configuration.schemasDirectory)
            try await HubRuntime.withStore(configuration, catalogue: catalogue, logger: logger) { store in
                // Only the hub clears staging a crash left: an admin command must not touch a load in progress.
                let discarded = try await store.recoverInterruptedStaging()
                if !discarded.isEmpty { logger.warning("discarded \(discarded.count) extract(s) staged before a crash; their agents will complete them again") }
                let resumed = try await HubApplication.resumeApprovedRequests(configuration: configuration, store: store, keys: keys, catalogue: catalogue, logger: logger)
                if resumed > 0 { logger.warning("made the outputs of \(resumed) request(s) approved before the hub stopped") }
                // Extracts published while no hub ran (or before a crash) are linked at start.
                let linkage = LinkageQueue()
                for dataset in catalogue.schemas.keys { await linkage.published(dataset) }
                let refusals = RefusalAudit(store: store)
                let application = try HubApplication.make(configuration: configuration, store: store, keys: keys, catalogue: catalogue, logger: logger,
                                                          linkage: linkage, refusals: refusals, onServerRunning: { port in
                    let base = "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(port)"
                    Console.note("concord hub listening on \(base) (receipts signed by \(keys.signingPublic.id))")
                    Console.note("IG dashboard: \(base)/ig/ (sign in with an ig-officer or admin token); public register: \(base)/register")
                })
                let checkpointer = AuditCheckpointer(store: store, keys: keys, refusals: refusals, logger: logger)
                let retention = RetentionWorker(purger: try RetentionPurger(store: store, catalogue: catalogue, keys: keys, dataDirectory: configuration.dataDirectory),
                                                logger: logger)
                var group = ServiceGroupConfiguration(
                    services: [application, NoncePruner(store: store), LinkageWorker(store: store, catalogue: catalogue, queue: linkage, logger: logger), checkpointer,
                               retention],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
                // Work that cannot finish (a hang in the database driver, say) must not keep
                // the hub from stopping: after a minute its work is cancelled, and a service still
                // running 30 s after that aborts the process, as a service manager's kill would.
                group.maximumGracefulShutdownDuration = .seconds(60)
                group.maximumCancellationDuration = .seconds(30)
                try await ServiceGroup(configuration: group).run()
            }
        }
    }

    struct Agency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register, disable and enable agencies, and rotate their signing keys.",
            subcommands: [Add.self, AddKey.self, RevokeKey.self, SetEnabled.self, List.self]
        )

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Register an agency with its public signing key.",
                discussion: """
                The key is the line `concord keys new-agency` printed at the agency
                (concord-public-key/1 agency-signing ID BASE64); its owner must be the agency id.

                Example:
                  concord hub agency add --id essex-police --name "Essex Police" \\
                      --public-key "$(cat essex-police.agency-signing.pub)"
                """
            )
            @OptionGroup var hub: HubConfigOptions
            @Option(help: "The agency's id, as agreements name it.") var id: String
            @Option(help: "The agency's name.") var name: String
            @Option(name: .customLong("public-key"), help: ArgumentHelp("The agency's public signing key line.", valueName: "line")) var publicKey: String

            func run() async throws {
                let key = try agencySigningKey(publicKey, agency: id)
                let record = try await hub.withStore { try await $0.addAgency(id: id, name: name, publicKey: key, by: hub.actor) }
                Console.note("registered agency \(record.id) with key \(key.id)")
            }
        }

        struct AddKey: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add-key",
                abstract: "Register another signing key for an agency (the first step of a key rotation).",
                discussion: """
                Both keys are accepted until the old one is revoked, so the agency can switch its
                agent's signing_key at its own pace: add the new key, switch the agent, let its
                outbox drain, then revoke the old key with `revoke-key`. Audited as agency.key-add.

                Example:
                  concord hub agency add-key essex-police \\
                      --public-key "$(cat essex-police.agency-signing.pub)" --reason "yearly rotation"
                """
            )
            @OptionGroup var hub: HubConfigOptions
            @Argument(help: "The agency id.") var id: String
            @Option(name: .customLong("public-key"), help: ArgumentHelp("The new public signing key line.", valueName: "line")) var publicKey: String
            @Option(help: "Why, for the audit log.") var reason: String?

            func run() async throws {
                let key = try agencySigningKey(publicKey, agency: id)
                let record = try await hub.withStore { try await $0.addAgencyKey(agency: id, publicKey: key, reason: reason, by: hub.actor) }
                Console.note("agency \(record.id) now signs with any of: \(record.activeKeys.map(\.keyID).joined(separator: ", "))")
            }
        }

        struct RevokeKey: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "revoke-key",
                abstract: "Revoke one of an agency's signing keys: nothing signed with it is accepted any more.",
                discussion: """
                Requests signed with the key are refused (auth.revoked-key), and so are envelopes
                whose header it signed, even uploads begun before; each refusal is audited. The key
                stays listed with when, by whom and why (audited as agency.key-revoke). Revoking
                the agency's last key is allowed (a stolen key is revoked at once): the agency
                then uploads nothing until a new key is added.

                Example:
                  concord hub agency revoke-key essex-police --key-id as-3f9c2a1b7d5e8f60 --reason "replaced by the 2025 key"
                """
            )
            @OptionGroup var hub: HubConfigOptions
            @Argument(help: "The agency id.") var id: String
            @Option(name: .customLong("key-id"), help: ArgumentHelp("The key's id (as `concord hub agency list` shows it).", valueName: "id")) var keyID: String
            @Option(help: "Why, for the audit log (required).") var reason: String

            func run() async throws {
                let record = try await hub.withStore { try await $0.revokeAgencyKey(agency: id, keyID: keyID, reason: reason, by: hub.actor) }
                let active = record.activeKeys.map(\.keyID)
                Console.note("revoked key \(keyID) of agency \(record.id); "
                    + (active.isEmpty ? "it has no active key now: add one with concord hub agency add-key" : "active: \(active.joined(separator: ", "))"))
            }
        }

        struct SetEnabled: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Disable (or enable again) an agency: a disabled agency's requests are refused.",
                discussion: "Example:\n  concord hub agency set essex-police --disabled"
            )
            @OptionGroup var hub: HubConfigOptions
            @Argument(help: "The agency id.") var id: String
            @Flag(exclusivity: .exclusive, help: "Disable or enable.") var state: EnabledState

            func run() async throws {
                let record = try await hub.withStore { try await $0.setAgency(id: id, enabled: state == .enabled, by: hub.actor) }
                Console.note("agency \(record.id) is \(record.enabled ? "enabled" : "disabled")")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List registered agencies.",
                discussion: """
                One line each: id, enabled or disabled, active signing key ids (comma-separated;
                `-` when none), name. With --keys, every key follows its agency on its own line:
                key id, added, and revoked (when, and why) if it was.

                Example:
                  concord hub agency list --keys --config /etc/concord/hub.yaml
                """
            )
            @OptionGroup var hub: HubConfigOptions
            @Flag(help: "Also list every key, revoked ones included.") var keys = false

            func run() async throws {
                for agency in try await hub.withStore({ try await $0.agencies() }) {
                    let active = agency.activeKeys.map(\.keyID).joined(separator: ",")
                    print("\(agency.id)\t\(agency.enabled ? "enabled" : "disabled")\t\(active.isEmpty ? "-" : active)\t\(agency.name)")
                    guard keys else { continue }
                    for key in agency.keys {
                        let revoked = key.revocation.map { "\trevoked \($0.at) by \($0.by): \($0.reason)" } ?? "\tactive"
                        print("  \(key.keyID)\tadded \(key.addedAt)\(revoked)")
                    }
                }
            }
        }
    }

    struct User: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add, disable and enable people (analysts, IG officers, admins).",
            subcommands: [Add.self, SetEnabled.self]
        )

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add a person and print their API token, once.",
                discussion: """
                The hub keeps only the token's SHA-256: give the token to the person over a safe
                channel; a lost token is replaced by disabling the user and adding a new one.

                Example:
                  concord hub user add --id a.analyst --role analyst
                """
            )
            @OptionGroup var hub: HubConfigOptions
            @Option(help: "The person's id (agreements name analysts by it).") var id: String
            @Option(help: "analyst, ig-officer or admin.") var role: String

            func run() async throws {
                guard let role = UserRole(rawValue: role) else {
                    throw ValidationError("role must be one of \(UserRole.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let (record, token) = try await hub.withStore { try await $0.addUser(id: id, role: role, by: hub.actor) }
                print(token)
                Console.note("added \(record.role.rawValue) \(record.id); the token above is shown only now")
            }
        }

        struct SetEnabled: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Disable (or enable again) a person: their token stops working.",
                discussion: "Example:\n  concord hub user set a.analyst --disabled"
            )
            @OptionGroup var hub: HubConfigOptions
            @Argument(help: "The user id.") var id: String
            @Flag(exclusivity: .exclusive, help: "Disable or enable.") var state: EnabledState

            func run() async throws {
                let record = try await hub.withStore { try await $0.setUser(id: id, enabled: state == .enabled, by: hub.actor) }
                Console.note("user \(record.id) is \(record.enabled ? "enabled" : "disabled")")
            }
        }
    }
}

/// A pasted public key line, checked to be an agency-signing key of `agency` (the store checks
/// again; this gives the command-line message).
private func agencySigningKey(_ line: String, agency: String) throws -> PublicKeyLine {
    let key = try PublicKeyLine(line: line.trimmingCharacters(in: .whitespacesAndNewlines))
    guard key.kind == .agencySigning, key.owner == agency else {
        throw ValidationError("the key is a \(key.kind.rawValue) key of \(key.owner); expected an agency-signing key of \(agency)")
    }
    return key
}

enum EnabledState: String, EnumerableFlag {
    case enabled, disabled
}

extension AgreementCommand {
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lint agreements, then store each at the hub as a new version (history kept).",
            discussion: """
            Each file is linted first (as `concord agreement lint`); nothing is applied unless all
            pass. Applying the same file again changes nothing; a changed file with the same
            version is refused: raise the version.

            Example:
              concord agreement apply --config /etc/concord/hub.yaml Agreements/*.yaml
            """
        )
        @OptionGroup var hub: HubConfigOptions
        @Argument(help: ArgumentHelp("Agreement files.", valueName: "file")) var files: [String]

        func run() async throws {
            let (configuration, catalogue) = try hub.loadWithCatalogue()
            var loaded: [(String, Agreement)] = []
            var problems: [DocumentProblem] = []
            for file in files {
                do {
                    let text = try DocumentFiles.readText(file)
                    loaded.append((text, try Agreement(yaml: text, file: file, catalogue: catalogue)))
                } catch {
                    // Both calls throw only InvalidDocumentError.
                    problems += error.problems
                }
            }
            guard problems.isEmpty else {
                problems.forEach { Console.note("\($0)") }
                Console.note("nothing applied: \(problems.count) problem\(problems.count == 1 ? "" : "s")")
                throw ExitCode(1)
            }
            let outcomes = try await hub.withStore(configuration, catalogue: catalogue, agreementsToApply: loaded.map(\.1)) { store in
                var outcomes: [String] = []
                for (text, agreement) in loaded {
                    let outcome = try await store.applyAgreement(yaml: text, agreement: agreement, by: hub.actor)
                    switch outcome {
                    case .applied: outcomes.append("\(agreement.id) version \(agreement.version): applied")
                    case .unchanged: outcomes.append("\(agreement.id) version \(agreement.version): unchanged (already applied with the same text)")
                    }
                }
                return outcomes
            }
            outcomes.forEach { Console.note($0) }
        }
    }
}
