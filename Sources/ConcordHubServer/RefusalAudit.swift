import ConcordCore
import ConcordHubStore

/// Writes refused requests (failed logins, bad signatures, replays, wrong roles) to the audit log
/// without letting someone flood it cheaply (docs/transparency-log.md, section 6). The first
/// refusal of a kind — same code, endpoint and claimed caller — in each window is written at once,
/// so a single failed attempt is always visible on its own; further ones in that window are
/// counted and written as one `request.refused` entry with `repeated` when the window closes. At
/// most `maxKinds` kinds are tracked per window (an attacker varying the claimed agency makes new
/// kinds); refusals beyond that are counted in one `request.refused` overflow entry. So a flood
/// costs the log at most `maxKinds` + 1 entries per window, and no refusal goes uncounted.
public actor RefusalAudit {
    struct Kind: Hashable {
        var code: String
        var subject: String
        /// `agency:<claimed id>` (as sent, possibly unregistered), `bearer` or `none`; never a token.
        var claimed: String
    }

    private let store: HubStore
    private let window: Duration
    private let maxKinds: Int
    private var windowStart = ContinuousClock.now
    /// Refusals of each kind this window after its first, which was written at once.
    private var repeats: [Kind: (count: Int, detail: String)] = [:]
    private var overflow = 0

    public init(store: HubStore, window: Duration = .seconds(60), maxKinds: Int = 200) {
        self.store = store
        self.window = window
        self.maxKinds = maxKinds
    }

    /// Records one refusal: at once when it is the first of its kind this window, else counted.
    func record(_ problem: Problem, subject: String, claimed: String) async throws {
        if ContinuousClock.now - windowStart >= window { try await flush() }
        let kind = Kind(code: problem.code, subject: subject, claimed: claimed)
        if let seen = repeats[kind] {
            repeats[kind] = (seen.count + 1, seen.detail)
            return
        }
        guard repeats.count < maxKinds else {
            overflow += 1
            return
        }
        // Marked before the write: another refusal of this kind arriving meanwhile is a repeat.
        repeats[kind] = (0, problem.detail)
        try await store.audit(AuditEntry(actor: .hub, action: "request.refused", subject: subject, outcome: "refused",
                                         details: .object(["code": .string(problem.code), "detail": .string(problem.detail),
                                                           "claimed": .string(claimed)])))
    }

    /// Writes what this window counted and starts a new window: on a timer (`AuditCheckpointer`)
    /// and at shutdown. The counts span many HTTP requests, so they name none, even when the
    /// request that closed the window flushes them.
    public func flush() async throws {
        try await AuditContext.$requestID.withValue(nil) { try await writeCounts() }
    }

    private func writeCounts() async throws {
        let counted = repeats.filter { $0.value.count > 0 }
        let overflowed = overflow
        let seconds = window.components.seconds
        repeats = [:]
        overflow = 0
        windowStart = .now
        for (kind, value) in counted.sorted(by: { ($0.key.code, $0.key.subject, $0.key.claimed) < ($1.key.code, $1.key.subject, $1.key.claimed) }) {
            try await store.audit(AuditEntry(actor: .hub, action: "request.refused", subject: kind.subject, outcome: "refused",
                                             details: .object(["code": .string(kind.code), "detail": .string(value.detail), "claimed": .string(kind.claimed),
                                                               "repeated": .integer(value.count), "window_seconds": .integer(Int(seconds))])))
        }
        if overflowed > 0 {
            try await store.audit(AuditEntry(actor: .hub, action: "request.refused", subject: "*", outcome: "refused",
                                             details: .object(["code": .string("auth.*"), "repeated": .integer(overflowed),
                                                               "detail": .string("refusals of more than \(maxKinds) kinds in one window, counted together"),
                                                               "window_seconds": .integer(Int(seconds))])))
        }
    }
}
