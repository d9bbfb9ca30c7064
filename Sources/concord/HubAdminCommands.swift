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
                let services = ServiceGroup(configuration: .init(
                    services: [application, NoncePruner(store: store), LinkageWorker(store: store, catalogue: catalogue, queue: linkage, logger: logger), checkpointer,
                               retention],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                try await services.run()
            }
        }
    }

    struct Agency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register, disable and enable agencies.",
            subcommands: [Add.self, SetEnabled.self, List.self]
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
                let key = try PublicKeyLine(line: publicKey.trimmingCharacters(in: .whitespacesAndNewlines))
                guard key.kind == .agencySigning, key.owner == id else {
                    throw ValidationError("the key is a \(key.kind.rawValue) key of \(key.owner); expected an agency-signing key of \(id)")
                }
                let record = try await hub.withStore { try await $0.addAgency(id: id, name: name, publicKey: key, by: hub.actor) }
                Console.note("registered agency \(record.id) with key \(record.keyID)")
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
                discussion: "One line each: id, enabled or disabled, signing key id, name.\n\nExample:\n  concord hub agency list --config /etc/concord/hub.yaml"
            )
            @OptionGroup var hub: HubConfigOptions

            func run() async throws {
                for agency in try await hub.withStore({ try await $0.agencies() }) {
                    print("\(agency.id)\t\(agency.enabled ? "enabled" : "disabled")\t\(agency.keyID)\t\(agency.name)")
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
