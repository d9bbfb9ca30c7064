import ConcordCore
import ConcordFiles
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The agent's state directory (`docs/agent.md` section 3) and the only moves an envelope makes:
///
///     sealed ──> outbox/ ──(verified receipt)──> sent/ (with <name>.receipt.json, and <name>.audit.json)
///        │          └──────(hub refused it)────> held/ (with <name>.problem.json)
///        └──(too many rejects)─────────────────> held/ ──(release)──> outbox/
///
/// Every move is a rename within one file system, so an envelope is always whole in exactly one
/// folder. Nothing is ever deleted: an envelope leaves the outbox for `sent/` only with a
/// ``VerifiedReceipt``, and otherwise only for `held/`, where a person decides.
public struct AgentState: Sendable {
    public static let envelopeSuffix = ".envelope"
    public let root: String
    /// Envelopes waiting to be sent, each perhaps with a `<name>.upload` file naming its upload.
    public var outbox: String { "\(root)/outbox" }
    /// Envelopes the hub acknowledged, each with its `<name>.receipt.json`.
    public var sent: String { "\(root)/sent" }
    /// Envelopes held back, each with its `<name>.problem.json` saying why.
    public var held: String { "\(root)/held" }
    /// Rejected rows of each extract (line, field, reason): they stay at the agency.
    public var rejects: String { "\(root)/rejects" }
    /// The append-mode extracts already sealed, one line each.
    var ledger: String { "\(root)/extracts.log" }

    public init(root: String) {
        self.root = root
    }

    /// Creates the folders (mode 0700: they hold the agency's extracts).
    public func prepare() throws {
        for folder in [root, outbox, sent, held, rejects] { try createDirectory(folder, mode: 0o700) }
    }

    /// Holds the state directory for this process until the lock is released, so that a cron run
    /// and a person's `retry` never send or move the same envelope at once.
    public func lock() throws -> StateLock {
        try StateLock(path: "\(root)/.lock")
    }

    /// The path beside an envelope with `suffix` in place of `.envelope`.
    static func companion(of envelopePath: String, _ suffix: String) -> String {
        (envelopePath.hasSuffix(envelopeSuffix) ? String(envelopePath.dropLast(envelopeSuffix.count)) : envelopePath) + suffix
    }

    /// Names of the envelopes in `folder`, sorted.
    func envelopeNames(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(Self.envelopeSuffix) && !$0.hasPrefix(".") }
            .sorted()
    }

    /// The outbox's envelopes, oldest first (by the time the manifest says they were made, then by
    /// name), and those that cannot be read, with why. Unreadable files are left where they are.
    public func waiting() -> (envelopes: [EnvelopeFile], unreadable: [(name: String, reason: String)]) {
        var envelopes: [EnvelopeFile] = []
        var unreadable: [(String, String)] = []
        for name in envelopeNames(in: outbox) {
            do { envelopes.append(try EnvelopeFile(path: "\(outbox)/\(name)")) } catch { unreadable.append((name, "\(error)")) }
        }
        envelopes.sort { ($0.manifest.created, $0.name) < ($1.manifest.created, $1.name) }
        return (envelopes, unreadable)
    }

    // MARK: Upload sidecars

    /// The upload id recorded for `envelope` by an earlier run, if it was for this very envelope.
    public func uploadID(for envelope: EnvelopeFile) -> String? {
        guard let data = FileManager.default.contents(atPath: Self.companion(of: envelope.path, ".upload")),
              case .object(let members)? = try? CanonicalJSON(canonical: Array(data)),
              case .string(let digest)? = members["header_digest"], digest == envelope.headerDigest,
              case .string(let id)? = members["upload_id"] else { return nil }
        return id
    }

    /// Records the upload the hub opened for `envelope`, so a later run resumes it.
    public func recordUpload(id: String, for envelope: EnvelopeFile) throws {
        let record = CanonicalJSON.object(["upload_id": .string(id), "header_digest": .string(envelope.headerDigest)])
        try writeAtomically(record.bytes, to: Self.companion(of: envelope.path, ".upload"))
    }

    // MARK: Moves

    /// Files the receipt (and the audit evidence, when the hub sent some that checked out) in
    /// `sent/`, then moves the envelope beside it. The receipt is written first: a crash in between
    /// leaves the envelope in the outbox, and sending it again only fetches the same receipt
    /// (uploads are idempotent).
    /// - Returns: the envelope's new path.
    @discardableResult
    public func markSent(_ envelope: EnvelopeFile, receipt: VerifiedReceipt) throws -> String {
        let destination = "\(sent)/\(envelope.name)"
        try writeAtomically(receipt.signed.json.bytes, to: Self.companion(of: destination, ".receipt.json"))
        if let evidence = receipt.auditEvidence {
            try writeAtomically(evidence.json.bytes, to: Self.companion(of: destination, ".audit.json"))
        }
        try move(envelope.path, to: destination)
        try? FileManager.default.removeItem(atPath: Self.companion(of: envelope.path, ".upload"))
        return destination
    }

    /// Moves an envelope to `held/` with the problem that stopped it beside it.
    /// - Returns: the envelope's new path.
    @discardableResult
    public func hold(_ envelopePath: String, problem: HubProblem) throws -> String {
        let destination = "\(held)/\((envelopePath as NSString).lastPathComponent)"
        try writeAtomically(problem.json.bytes, to: Self.companion(of: destination, ".problem.json"))
        try move(envelopePath, to: destination)
        try? FileManager.default.removeItem(atPath: Self.companion(of: envelopePath, ".upload"))
        return destination
    }

    /// Writes the problem file of an envelope sealed straight into `held/`.
    public func recordHold(_ heldPath: String, problem: HubProblem) throws {
        try writeAtomically(problem.json.bytes, to: Self.companion(of: heldPath, ".problem.json"))
    }

    /// Why the envelope `name` in `held/` was held back.
    public func problem(ofHeld name: String) -> HubProblem? {
        guard let data = FileManager.default.contents(atPath: Self.companion(of: "\(held)/\(name)", ".problem.json")) else { return nil }
        return HubProblem(json: try? CanonicalJSON(canonical: Array(data)))
    }

    /// Moves a held envelope (named by file name or path) back to the outbox, keeping its problem
    /// file in `held/` for the record as `<name>.released-<time>.problem.json`.
    /// - Returns: the envelope's new path.
    @discardableResult
    public func release(_ name: String) throws -> String {
        let file = (name as NSString).lastPathComponent
        let source = "\(held)/\(file)"
        guard file.hasSuffix(Self.envelopeSuffix), FileManager.default.fileExists(atPath: source) else {
            throw AgentStateError.notHeld(file, held)
        }
        let destination = "\(outbox)/\(file)"
        try move(source, to: destination)
        let problem = Self.companion(of: source, ".problem.json")
        if FileManager.default.fileExists(atPath: problem) {
            let stamp = UTCTimestamp.string(Date()).filter { $0 != ":" }
            try move(problem, to: Self.companion(of: source, ".released-\(stamp).problem.json"))
        }
        return destination
    }

    // MARK: Append-mode ledger

    /// A line naming one extract file as it is now: its size and modification time change when it does.
    static func ledgerLine(dataset: String, extract: String) throws -> String {
        var status = stat()
        guard stat(extract, &status) == 0 else { throw FileError(path: extract, action: "read", code: errno) }
        return "\(dataset)\t\(status.st_size)\t\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)\t\(extract)"
    }

    /// Whether this append-mode extract file, unchanged, was already sealed.
    public func wasSealed(dataset: String, extract: String) throws -> Bool {
        let line = try Self.ledgerLine(dataset: dataset, extract: extract)
        guard let data = FileManager.default.contents(atPath: ledger) else { return false }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").contains { $0 == line }
    }

    /// Records that an append-mode extract file was sealed, so the next run does not send it again.
    public func recordSealed(dataset: String, extract: String) throws {
        let line = Array((try Self.ledgerLine(dataset: dataset, extract: extract) + "\n").utf8)
        let descriptor = open(ledger, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileError(path: ledger, action: "open", code: errno) }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else { throw FileError(path: ledger, action: "write", code: errno) }
    }

    // MARK: Helpers

    private func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let file = try AtomicOutputFile(path: path, mode: 0o600)
        defer { file.abandon() }
        try file.write(bytes)
        try file.commit()
    }

    private func move(_ source: String, to destination: String) throws {
        // rename(2) would silently replace an envelope of the same name; refuse instead.
        guard !FileManager.default.fileExists(atPath: destination) else { throw AgentStateError.exists(destination) }
        guard rename(source, destination) == 0 else { throw FileError(path: source, action: "move to \(destination)", code: errno) }
    }
}

/// An exclusive lock on the state directory, released when this value is dropped.
public final class StateLock {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileError(path: path, action: "open", code: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw AgentStateError.busy(path)
        }
    }

    deinit { close(descriptor) }
}

/// A move the state directory refuses.
public enum AgentStateError: Error, Sendable, CustomStringConvertible {
    case notHeld(String, String)
    case exists(String)
    case busy(String)

    public var description: String {
        switch self {
        case .notHeld(let name, let folder): "\(name) is not an envelope in \(folder)/ (concord agent status lists the held ones)"
        case .exists(let path): "\(path) already exists; nothing was moved"
        case .busy(let path): "another concord agent is working in this state directory (\(path) is locked); try again when it has finished"
        }
    }
}
