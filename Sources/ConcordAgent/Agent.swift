import ConcordCore
import ConcordFiles
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How often, and how patiently, an envelope is sent while the hub cannot be reached.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts per envelope, the first included.
    public var attempts = 5
    /// Seconds: the longest wait after the first failure.
    public var initialDelay = 1.0
    /// Seconds: no wait is longer.
    public var maximumDelay = 60.0

    public init() {}

    public init(attempts: Int, initialDelay: Double, maximumDelay: Double) {
        self.attempts = attempts
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The longest wait after the `failure`-th failed attempt (1-based): doubling from the initial delay, capped.
    public func ceiling(afterFailure failure: Int) -> Double {
        min(maximumDelay, initialDelay * pow(2, Double(max(0, failure - 1))))
    }

    /// Exponential backoff with full jitter: uniformly between 0 and the ceiling, so that agencies
    /// whose cron jobs all failed at once do not all come back at once.
    public func delay(afterFailure failure: Int, using generator: inout some RandomNumberGenerator) -> Double {
        Double.random(in: 0...ceiling(afterFailure: failure), using: &generator)
    }
}

/// The agent's exit status (`docs/agent.md` section 4). When several apply, the largest is returned.
public enum AgentExitCode: Int32, Sendable, Comparable {
    /// Everything sealed was sent and acknowledged.
    case success = 0
    /// The configuration (or a file it names) is wrong, or the state directory cannot be used.
    case usage = 1
    /// An extract was refused at the agency (unreadable, or too many rejected rows: held back).
    case inputHeld = 2
    /// The hub could not be reached or answered with a server error: envelopes wait in the outbox.
    case hubUnreachable = 3
    /// The hub refused an envelope (held back) or the agent's requests, or sent a receipt that did not verify.
    case hubRefused = 4

    public static func < (lhs: AgentExitCode, rhs: AgentExitCode) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What became of one envelope that was in the outbox.
public enum SendOutcome: Sendable {
    /// Acknowledged: now in `sent/` with its receipt.
    case sent(name: String, receipt: SignedUploadReceipt)
    /// Refused by the hub: now in `held/` with the problem.
    case held(name: String, problem: HubProblem)
    /// Still in the outbox, and why.
    case waiting(name: String, reason: String, code: AgentExitCode)

    public var exitCode: AgentExitCode {
        switch self {
        case .sent: .success
        case .held: .hubRefused
        case .waiting(_, _, let code): code
        }
    }
}

/// Sends what waits in the outbox, oldest first, and moves each envelope on as its outcome says.
public struct OutboxSender: Sendable {
    public var client: HubClient
    public var state: AgentState
    public var retry: RetryPolicy
    /// Waits between attempts (seconds); replaced in tests.
    public var sleep: @Sendable (Double) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }

    public init(client: HubClient, state: AgentState, retry: RetryPolicy) {
        self.client = client
        self.state = state
        self.retry = retry
    }

    /// Sends every envelope waiting in the outbox. Stops at the first envelope that cannot be sent
    /// for a reason that would stop the others too (hub unreachable, requests refused); the rest
    /// stay in the outbox for the next run.
    public func sendWaiting(progress: (UploadProgress) -> Void = { _ in }) async -> [SendOutcome] {
        let (envelopes, unreadable) = state.waiting()
        var outcomes = unreadable.map { SendOutcome.waiting(name: $0.name, reason: $0.reason, code: .usage) }
        var stopped: String?
        for envelope in envelopes {
            if let stopped {
                outcomes.append(.waiting(name: envelope.name, reason: "not tried: \(stopped)", code: .hubUnreachable))
                continue
            }
            let outcome = await send(envelope, progress: progress)
            if case .waiting(_, let reason, let code) = outcome, code >= .hubUnreachable { stopped = reason }
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// Sends one envelope, retrying with backoff while the hub is unavailable.
    public func send(_ envelope: EnvelopeFile, progress: (UploadProgress) -> Void = { _ in }) async -> SendOutcome {
        var generator = SystemRandomNumberGenerator()
        var failure = 0
        while true {
            do throws(HubClientError) {
                let receipt = try await client.upload(envelope, resuming: state.uploadID(for: envelope),
                                                      started: { try state.recordUpload(id: $0, for: envelope) }, progress: progress)
                do {
                    try state.markSent(envelope, receipt: receipt)
                } catch {
                    return .waiting(name: envelope.name, reason: "the receipt verified but the envelope could not be filed: \(error)", code: .usage)
                }
                return .sent(name: envelope.name, receipt: receipt.signed)
            } catch {
                switch error {
                case .unavailable(let reason):
                    failure += 1
                    guard failure < retry.attempts else {
                        return .waiting(name: envelope.name, reason: "\(reason) (after \(failure) attempts)", code: .hubUnreachable)
                    }
                    do { try await sleep(retry.delay(afterFailure: failure, using: &generator)) } catch {
                        return .waiting(name: envelope.name, reason: "interrupted while waiting to retry", code: .hubUnreachable)
                    }
                case .refused(let problem):
                    do {
                        try state.hold(envelope.path, problem: problem)
                    } catch {
                        return .waiting(name: envelope.name, reason: "\(HubClientError.refused(problem)); it could not be moved to held/: \(error)", code: .hubRefused)
                    }
                    return .held(name: envelope.name, problem: problem)
                case .rejected, .badReceipt, .protocolViolation:
                    return .waiting(name: envelope.name, reason: "\(error)", code: .hubRefused)
                case .local(let reason):
                    return .waiting(name: envelope.name, reason: reason, code: .usage)
                }
            }
        }
    }
}

/// An extract sealed by ``AgentSetup/seal(dataset:extract:extractDate:)``: into the outbox, or held back.
public struct SealOutcome: Sendable {
    public var dataset: String
    public var extract: String
    public var sealed: SealedExtract
    /// Why the envelope was sealed into `held/` rather than the outbox; `nil` when it waits to be sent.
    public var heldBecause: HubProblem?
}

/// An agent ready to work: its configuration with every file it names loaded and checked.
public struct AgentSetup: Sendable {
    /// The problem code written beside an extract held back for its rejects.
    public static let rejectShareCode = "agent.reject-share"

    public let configuration: AgentConfiguration
    public let signingKey: PrivateKeyDocument
    /// Each dataset's sealer, by dataset name; empty when loaded only to send.
    public let sealers: [String: ExtractSealer]
    public var state: AgentState { AgentState(root: configuration.stateDirectory) }

    /// Loads the keys, schemas and agreements the configuration names, reporting every problem at
    /// the setting that caused it.
    /// - Parameter datasets: `false` to load only what sending needs (the signing key), so that
    ///   envelopes already sealed can be sent even while a schema or agreement is being fixed.
    public static func load(_ configuration: AgentConfiguration, datasets: Bool = true) throws(InvalidDocumentError) -> AgentSetup {
        var problems: [DocumentProblem] = []
        var signingKey: PrivateKeyDocument?
        do {
            let key = try KeyFiles.readPrivateKey(configuration.signingKey)
            if key.kind != .agencySigning {
                problems.append(configuration.problem("signing_key", "this is a \(key.kind.rawValue) key; expected the agency's signing key (concord keys new-agency)"))
            } else if key.owner != configuration.agency {
                problems.append(configuration.problem("signing_key", "this key belongs to \(key.owner), not to the agency \(configuration.agency)"))
            } else {
                signingKey = key
            }
        } catch {
            problems.append(configuration.problem("signing_key", "\(error)"))
        }
        if let caFile = configuration.hub.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            problems.append(configuration.problem("hub.ca_file", "cannot read \(caFile)"))
        }
        var sealers: [String: ExtractSealer] = [:]
        if datasets, let signingKey {
            sealers = loadSealers(configuration, signingKey: signingKey, problems: &problems)
        }
        guard problems.isEmpty, let signingKey else { throw InvalidDocumentError(problems: problems) }
        return AgentSetup(configuration: configuration, signingKey: signingKey, sealers: sealers)
    }

    private static func loadSealers(_ configuration: AgentConfiguration, signingKey: PrivateKeyDocument,
                                    problems: inout [DocumentProblem]) -> [String: ExtractSealer] {
        let linkageKey: LinkageKey
        do { linkageKey = try KeyFiles.readLinkageKey(configuration.linkageKey) } catch {
            problems.append(configuration.problem("linkage_key", "\(error)"))
            return [:]
        }
        guard let schemaFiles = try? DocumentFiles.yamlFiles(in: configuration.schemasDirectory) else {
            problems.append(configuration.problem("schemas_dir", "cannot read the folder \(configuration.schemasDirectory)"))
            return [:]
        }
        var schemas: [DatasetSchema] = []
        for file in schemaFiles {
            do { schemas.append(try DocumentFiles.loadSchema(file)) } catch {
                problems.append(configuration.problem("schemas_dir", "\(file) does not load: \(error)"))
            }
        }
        let catalogue = SchemaCatalogue(schemas)
        guard let agreementFiles = try? DocumentFiles.yamlFiles(in: configuration.agreementsDirectory) else {
            problems.append(configuration.problem("agreements_dir", "cannot read the folder \(configuration.agreementsDirectory)"))
            return [:]
        }
        var texts: [(path: String, text: String)] = []
        for file in agreementFiles {
            do { texts.append((file, try DocumentFiles.readText(file))) } catch {
                problems.append(configuration.problem("agreements_dir", "\(error)"))
            }
        }
        // Agreements that do not load are reported only if a dataset is sent under them (below).
        let agreements = Agreement.load(files: texts, catalogue: catalogue).agreements
        var sealers: [String: ExtractSealer] = [:]
        for dataset in configuration.datasets {
            let path = "datasets.\(dataset.name)"
            let schema: DatasetSchema
            do { schema = try DocumentFiles.loadSchema(dataset.schema) } catch {
                problems.append(configuration.problem("\(path).schema", "\(error)"))
                continue
            }
            guard schema.dataset == dataset.name else {
                problems.append(configuration.problem(path, "the schema \(dataset.schema) is of dataset '\(schema.dataset)'; name the dataset as its schema does"))
                continue
            }
            var chosen: [Agreement] = []
            for id in dataset.agreements {
                guard let latest = agreements.filter({ $0.id == id }).max(by: { $0.version < $1.version }) else {
                    problems.append(configuration.problem("\(path).agreements", "no valid agreement '\(id)' in \(configuration.agreementsDirectory) (concord agreement lint says why)"))
                    continue
                }
                chosen.append(latest)
            }
            guard chosen.count == dataset.agreements.count else { continue }
            do {
                var sealer = try ExtractSealer(schema: schema, linkageKey: linkageKey, signingKey: signingKey,
                                               hubKey: configuration.hub.encryptionKey, agreements: chosen)
                sealer.mode = dataset.mode
                sealers[dataset.name] = sealer
            } catch {
                problems.append(configuration.problem("\(path).agreements", "\(error)"))
            }
        }
        return sealers
    }

    /// A client for the hub that signs as this agency and checks receipts with the pinned key.
    public func client(transport: any HubTransport) throws -> HubClient {
        var client = try HubClient(transport: transport, signingKey: signingKey, receiptKey: configuration.hub.receiptKey)
        client.additionalReceiptKeys = configuration.hub.additionalReceiptKeys
        return client
    }

    /// The extract files to seal for a dataset now: for a snapshot, the newest file matching its
    /// `extract`; when appending, every matching file not sealed before, in name order.
    public func extracts(for dataset: AgentConfiguration.Dataset) throws -> [String] {
        let matches = try Self.files(matching: dataset.extract)
        switch dataset.mode {
        case .snapshot:
            return matches.max { ($0.modified, $0.path) < ($1.modified, $1.path) }.map { [$0.path] } ?? []
        case .append:
            return try matches.map(\.path).sorted().filter { try !state.wasSealed(dataset: dataset.name, extract: $0) }
        }
    }

    /// Files matching a path whose last component may be a glob pattern, with their modification times.
    static func files(matching pattern: String) throws -> [(path: String, modified: Double)] {
        let folder = (pattern as NSString).deletingLastPathComponent
        let name = (pattern as NSString).lastPathComponent
        let candidates: [String]
        if name.contains(where: { "*?[".contains($0) }) {
            let listing = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
            candidates = listing.filter { !$0.hasPrefix(".") && fnmatch(name, $0, 0) == 0 }.map { folder.isEmpty ? $0 : "\(folder)/\($0)" }
        } else {
            candidates = FileManager.default.fileExists(atPath: pattern) ? [pattern] : []
        }
        return candidates.compactMap { path in
            var status = stat()
            guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
            return (path, Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
        }
    }

    /// Seals one extract of a dataset: into the outbox, or into `held/` when more than
    /// `max_reject_share` of its rows were rejected. Rejected rows go to `rejects/`.
    public func seal(dataset name: String, extract: String, extractDate: CivilDate) async throws -> SealOutcome {
        guard let sealer = sealers[name] else { throw AgentSetupError.unknownDataset(name, configuration.datasets.map(\.name)) }
        let state = self.state
        let stamp = UTCTimestamp.string(Date()).filter { $0 != ":" && $0 != "-" }
        let rejects = "\(state.rejects)/\(name)-\(stamp)-\(UUID().uuidString.prefix(8)).rejects.csv"
        let limit = configuration.maximumRejectShare
        let sealed = try await sealer.seal(extract: extract, extractDate: extractDate, rejectsPath: rejects, workingDirectory: state.outbox) {
            $0.rejectShare > limit ? state.held : state.outbox
        }
        var outcome = SealOutcome(dataset: name, extract: extract, sealed: sealed)
        if sealed.summary.rejectShare > limit {
            let summary = sealed.summary
            let envelope = (sealed.path as NSString).lastPathComponent
            let problem = HubProblem(
                status: 0, code: Self.rejectShareCode,
                detail: String(format: "%d of %d rows (%.1f%%) were rejected, more than max_reject_share allows (%.1f%%); ",
                               summary.rowsRejected, summary.rowsRead, summary.rejectShare * 100, limit * 100)
                    + "the reasons are in \(summary.rejectsPath ?? rejects). Fix the extract and push it again, "
                    + "or, if it is right as it is, send it with: concord agent release \(envelope)")
            try state.recordHold(sealed.path, problem: problem)
            outcome.heldBecause = problem
        }
        if configuration.datasets.first(where: { $0.name == name })?.mode == .append {
            try state.recordSealed(dataset: name, extract: extract)
        }
        return outcome
    }
}

/// A request the agent setup cannot serve.
public enum AgentSetupError: Error, Sendable, CustomStringConvertible {
    case unknownDataset(String, [String])

    public var description: String {
        switch self {
        case .unknownDataset(let name, let known): "no dataset '\(name)' in the configuration (it has: \(known.joined(separator: ", ")))"
        }
    }
}
