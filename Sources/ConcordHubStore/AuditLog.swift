import ConcordCore
import Crypto
import Foundation

/// Who did something the audit log records.
public enum AuditActor: Sendable, Hashable, CustomStringConvertible {
    /// An agency, by its registered id (signed requests).
    case agency(String)
    /// A person, by user id (bearer tokens).
    case user(String)
    /// Someone at the hub's console (`concord hub …` commands), by the name they give.
    case `operator`(String)
    /// The hub itself (start-up recovery, purges).
    case hub

    /// The stored form: `agency:ID`, `user:ID`, `operator:NAME` or `hub`.
    public var description: String {
        switch self {
        case .agency(let id): "agency:\(id)"
        case .user(let id): "user:\(id)"
        case .operator(let name): "operator:\(name)"
        case .hub: "hub"
        }
    }

    /// Parses the stored form; the part after the first `:` is the id, colons and all.
    public init?(_ text: String) {
        if text == "hub" { self = .hub; return }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let id = String(text[text.index(after: colon)...])
        switch text[..<colon] {
        case "agency": self = .agency(id)
        case "user": self = .user(id)
        case "operator": self = .operator(id)
        default: return nil
        }
    }
}

/// The HTTP request an audit entry is written for, so an IG officer can tie every entry of one
/// call together (and to the hub's log line with the same id). A task-local, bound once around
/// each request by the hub's router, rather than a parameter threaded through every store call
/// that audits; work outside a request (workers, console commands) has none.
public enum AuditContext {
    @TaskLocal public static var requestID: String?
}

/// What an audit entry says, before the log gives it a sequence number, a time and a hash.
public struct AuditEntry: Sendable, Hashable {
    public var actor: AuditActor
    /// A dotted verb: `agency.add`, `agency.disable`, `user.add`, `agreement.apply`,
    /// `upload.start`, `upload.accepted`, `upload.refused`, `request.refused`, `decision`, …
    public var action: String
    /// What it was done to: an agency or user id, `agreement-id.vN`, an upload id, …
    public var subject: String
    /// `ok`, `refused`, or another word the action defines.
    public var outcome: String
    /// Whatever else a reader needs: reasons, row counts, digests. Never secrets or row data.
    public var details: CanonicalJSON

    public init(actor: AuditActor, action: String, subject: String, outcome: String = "ok", details: CanonicalJSON = .object([:])) {
        self.actor = actor
        self.action = action
        self.subject = subject
        self.outcome = outcome
        self.details = details
    }
}

/// One entry as stored: the entry, its place in the chain, and the exact bytes that were hashed.
public struct AuditRecord: Sendable, Hashable {
    public var seq: Int64
    /// RFC 3339 UTC with microseconds, e.g. `2025-03-01T02:14:07.123456Z`.
    public var at: String
    public var entry: AuditEntry
    /// The canonical JSON that was hashed, verbatim.
    public var content: String
    /// The previous entry's hash (32 zero bytes for the first entry).
    public var prevHash: [UInt8]
    /// `SHA-256(prevHash ‖ UTF-8 content)`.
    public var hash: [UInt8]
}

/// The result of checking the whole audit log: its hash chain, its Merkle tree and checkpoints.
public struct AuditVerification: Sendable, Equatable {
    /// Entries read, up to and including the first broken one.
    public var entriesChecked: Int
    /// The hash of the last entry that checked out (the genesis zeros when none did).
    public var lastGoodHash: [UInt8]
    /// The Merkle tree root of the entries that checked out.
    public var rootHash: [UInt8]
    /// Checkpoints whose root the recomputed tree matched.
    public var checkpointsMatched: Int
    /// The first entry that does not check out, and why; `nil` when the log is intact. For a
    /// deleted entry it is the missing `seq`.
    public var firstBroken: (seq: Int64, reason: String)?

    public var isIntact: Bool { firstBroken == nil }

    public static func == (lhs: AuditVerification, rhs: AuditVerification) -> Bool {
        lhs.entriesChecked == rhs.entriesChecked && lhs.lastGoodHash == rhs.lastGoodHash && lhs.rootHash == rhs.rootHash
            && lhs.checkpointsMatched == rhs.checkpointsMatched
            && lhs.firstBroken?.seq == rhs.firstBroken?.seq && lhs.firstBroken?.reason == rhs.firstBroken?.reason
    }
}

/// The chain's arithmetic, in one place for writing and verifying (docs/hub-database.md).
enum AuditChain {
    static let genesis = [UInt8](repeating: 0, count: 32)

    /// The canonical JSON object an entry's hash covers.
    static func content(seq: Int64, at: String, entry: AuditEntry) -> CanonicalJSON {
        .object([
            "seq": .integer(Int(seq)),
            "at": .string(at),
            "actor": .string(entry.actor.description),
            "action": .string(entry.action),
            "subject": .string(entry.subject),
            "outcome": .string(entry.outcome),
            "details": entry.details,
        ])
    }

    static func hash(previous: [UInt8], content: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: content)
        return Array(hasher.finalize())
    }
}

/// Wall-clock times as the audit log writes them.
enum AuditTime {
    /// Now, as RFC 3339 UTC with exactly six fractional digits. Made in Swift (not by the
    /// database) because the text is hashed and must be the one stored.
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(Int(spec.tv_nsec) / 1000, 6))Z"
    }
}
