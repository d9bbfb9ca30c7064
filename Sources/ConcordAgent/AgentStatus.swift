import ConcordCore
import Foundation

/// What the state directory holds (`concord agent status`): envelopes waiting, sent and held, and
/// when each dataset was last acknowledged by the hub.
public struct AgentStatus: Sendable {
    public struct Waiting: Sendable {
        public var name: String
        public var dataset: String
        public var rows: Int
        public var bytes: Int
        public var created: String
        /// The upload an earlier attempt opened, which the next one resumes.
        public var uploadID: String?
    }

    public struct Sent: Sendable {
        public var name: String
        public var dataset: String
        public var receiptID: String
        public var rowsLoaded: Int
        public var receivedAt: String
    }

    public struct Held: Sendable {
        public var name: String
        /// `code: detail` from its problem file.
        public var reason: String
    }

    public var waiting: [Waiting] = []
    /// Envelopes in the outbox that cannot be read as envelopes.
    public var unreadable: [(name: String, reason: String)] = []
    public var sent: [Sent] = []
    public var held: [Held] = []

    /// When the hub last acknowledged each dataset (`received_at` of its newest receipt).
    public var lastSent: [String: String] {
        sent.reduce(into: [:]) { latest, sent in
            if latest[sent.dataset].map({ $0 < sent.receivedAt }) ?? true { latest[sent.dataset] = sent.receivedAt }
        }
    }

    /// Reads the state directory. Receipts are shown as filed (they were verified before filing).
    public init(state: AgentState) {
        let (envelopes, unreadable) = state.waiting()
        waiting = envelopes.map {
            Waiting(name: $0.name, dataset: $0.manifest.dataset, rows: $0.manifest.rows, bytes: $0.length, created: $0.manifest.created,
                    uploadID: state.uploadID(for: $0))
        }
        self.unreadable = unreadable
        for name in state.envelopeNames(in: state.sent) {
            let file = AgentState.companion(of: "\(state.sent)/\(name)", ".receipt.json")
            guard let data = FileManager.default.contents(atPath: file), let signed = try? SignedUploadReceipt(canonical: Array(data)) else {
                sent.append(Sent(name: name, dataset: "?", receiptID: "(receipt missing or unreadable)", rowsLoaded: 0, receivedAt: ""))
                continue
            }
            let receipt = signed.receipt
            sent.append(Sent(name: name, dataset: receipt.dataset, receiptID: receipt.receiptID, rowsLoaded: receipt.rowsLoaded,
                             receivedAt: receipt.receivedAt))
        }
        for name in state.envelopeNames(in: state.held) {
            let reason = state.problem(ofHeld: name).map { "\($0.code): \($0.detail)" } ?? "(no problem file)"
            held.append(Held(name: name, reason: reason))
        }
    }

    /// For `--format json`.
    public var json: CanonicalJSON {
        .object([
            "waiting": .array(waiting.map {
                var members: [String: CanonicalJSON] = ["name": .string($0.name), "dataset": .string($0.dataset), "rows": .integer($0.rows),
                                                        "bytes": .integer($0.bytes), "created": .string($0.created)]
                if let id = $0.uploadID { members["upload_id"] = .string(id) }
                return .object(members)
            }),
            "unreadable": .array(unreadable.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) }),
            "sent": .array(sent.map {
                .object(["name": .string($0.name), "dataset": .string($0.dataset), "receipt_id": .string($0.receiptID),
                         "rows_loaded": .integer($0.rowsLoaded), "received_at": .string($0.receivedAt)])
            }),
            "held": .array(held.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) }),
            "last_sent": .object(lastSent.mapValues(CanonicalJSON.string)),
        ])
    }

    /// For people.
    public var text: String {
        var lines: [String] = []
        lines.append("waiting in the outbox: \(waiting.count + unreadable.count)")
        lines += waiting.map { "  \($0.name)  \($0.dataset), \($0.rows) rows, \($0.bytes) bytes, made \($0.created)" + ($0.uploadID.map { ", upload \($0) to resume" } ?? "") }
        lines += unreadable.map { "  \($0.name)  cannot be read: \($0.reason)" }
        lines.append("held back: \(held.count)")
        lines += held.map { "  \($0.name)  \($0.reason)" }
        lines.append("sent: \(sent.count)")
        lines += sent.map { "  \($0.name)  receipt \($0.receiptID), \($0.rowsLoaded) rows, received \($0.receivedAt)" }
        lines.append("last sent, by dataset:")
        lines += lastSent.sorted { $0.key < $1.key }.map { "  \($0.key)  \($0.value)" }
        return lines.joined(separator: "\n")
    }
}
