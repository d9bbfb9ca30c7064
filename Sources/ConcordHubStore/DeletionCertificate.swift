import ConcordCore
import Crypto
import Foundation

/// Proof that a purge deleted what retention required (`concord-deletion-certificate/1`,
/// docs/retention.md section 5): per agreement, dataset and agency, the extracts (by the receipts
/// their agency holds) whose rows were deleted or released, with row counts and time, signed with
/// the hub's receipt-signing key and kept in the audit log as a `deletion.certificate` entry.
public struct DeletionCertificate: Sendable, Hashable {
    public static let format = "concord-deletion-certificate/1"
    public static let auditAction = "deletion.certificate"
    /// Signed before the canonical bytes so a signature can never be taken for another kind.
    static let signatureContext = Array("concord-deletion-certificate-v1".utf8) + [0]

    /// The certificate's canonical JSON object (what is signed).
    public var body: CanonicalJSON
    /// Ed25519 over `signatureContext ‖ body.bytes`.
    public var signature: [UInt8]
    /// `<agreement>/<dataset>/<agency>`, or `<agreement>/outputs`.
    public var subject: String

    /// The certificates of a purge: one per agreement, dataset and agency of its extracts, and one
    /// per agreement whose outputs it deleted. Unsigned.
    static func certificates(for job: PurgeJob, keyID: String, completedAt: String) -> [DeletionCertificate] {
        var result: [DeletionCertificate] = []
        func base(_ agreement: String) -> [String: CanonicalJSON] {
            ["format": .string(format), "purge": .integer(Int(job.id)), "purge_date": .string(job.date.description),
             "agreement": .string(agreement), "completed_at": .string(completedAt), "key_id": .string(keyID)]
        }
        let extractItems = job.items.filter { $0.kind != .output }
        let groups = Dictionary(grouping: extractItems) { [$0.agreementID, $0.dataset ?? "", $0.agencyID ?? ""] }
        for key in groups.keys.sorted(by: { $0.joined(separator: "/") < $1.joined(separator: "/") }) {
            let items = groups[key]!.sorted { ($0.extractID ?? 0) < ($1.extractID ?? 0) }
            var body = base(key[0])
            body["dataset"] = .string(key[1])
            body["agency"] = .string(key[2])
            body["extracts"] = .array(items.map { item in
                .object(["extract": .integer(Int(item.extractID ?? 0)), "upload": .string(item.uploadID?.uuidString.lowercased() ?? ""),
                         "receipt_sha256": .string(item.sha256 ?? ""), "rows": .integer(Int(item.rows)),
                         "disposition": .string(item.kind == .delete ? "deleted" : "released"),
                         "kept_under": .array(item.keptUnder.sorted().map { .string($0) })])
            })
            body["rows_deleted"] = .integer(Int(items.filter { $0.kind == .delete }.reduce(0) { $0 + $1.rows }))
            result.append(DeletionCertificate(body: .object(body), signature: [], subject: key.joined(separator: "/")))
        }
        let outputs = Dictionary(grouping: job.items.filter { $0.kind == .output }, by: \.agreementID)
        for agreement in outputs.keys.sorted() {
            var body = base(agreement)
            body["outputs"] = .array(outputs[agreement]!.map { item in
                .object(["request": .string(item.requestID?.uuidString.lowercased() ?? ""), "output_sha256": .string(item.sha256 ?? ""),
                         "rows": .integer(Int(item.rows))])
            })
            result.append(DeletionCertificate(body: .object(body), signature: [], subject: "\(agreement)/outputs"))
        }
        return result
    }

    mutating func sign(with key: Curve25519.Signing.PrivateKey) throws {
        signature = Array(try key.signature(for: Self.signatureContext + body.bytes))
    }

    /// What the audit entry's details hold: the certificate and its signature (base64).
    var auditDetails: CanonicalJSON {
        .object(["certificate": body, "signature": .string(Data(signature).base64EncodedString())])
    }

    /// Reads a certificate back from a `deletion.certificate` audit entry; `nil` when the entry
    /// is not one.
    public init?(auditRecord record: AuditRecord) {
        guard record.entry.action == Self.auditAction, case .object(let details) = record.entry.details,
              let body = details["certificate"], case .string(let signature)? = details["signature"],
              let bytes = Data(base64Encoded: signature) else { return nil }
        self.init(body: body, signature: Array(bytes), subject: record.entry.subject)
    }

    init(body: CanonicalJSON, signature: [UInt8], subject: String) {
        self.body = body
        self.signature = signature
        self.subject = subject
    }

    /// Whether the signature is the hub's over the certificate, by the key it names.
    public func isSigned(by publicKey: PublicKeyLine) -> Bool {
        guard self["key_id"] == publicKey.id, let key = try? publicKey.signingKey() else { return false }
        return key.isValidSignature(signature, for: Self.signatureContext + body.bytes)
    }

    /// A text member of the certificate (`agreement`, `dataset`, `agency`, `purge_date`, `key_id`, …).
    public subscript(member: String) -> String? {
        guard case .object(let members) = body, case .string(let value)? = members[member] else { return nil }
        return value
    }

    /// An integer member (`purge`, `rows_deleted`).
    public func integer(_ member: String) -> Int? {
        guard case .object(let members) = body, case .integer(let value)? = members[member] else { return nil }
        return value
    }

    /// How many extracts (or outputs) it covers.
    public var entries: Int {
        guard case .object(let members) = body else { return 0 }
        if case .array(let items)? = members["extracts"] { return items.count }
        if case .array(let items)? = members["outputs"] { return items.count }
        return 0
    }
}
