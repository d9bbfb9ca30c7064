import Crypto

/// What the hub signs when it has loaded an upload (`concord-receipt/1`, `docs/api-auth.md`
/// section 3): the agent's proof that the extract arrived whole, and its licence to clear the outbox.
public struct UploadReceipt: Sendable, Hashable {
    public static let format = "concord-receipt/1"
    /// Signed before the canonical receipt bytes so a signature can never be taken for another kind.
    static let signatureContext = Array("concord-receipt-v1".utf8) + [0]

    public var receiptID: String
    public var hubKeyID: String
    public var uploadID: String
    public var agency: String
    public var dataset: String
    public var agreements: [String]
    public var headerDigest: String
    public var manifestSHA256: String
    public var payloadSHA256: String
    public var rowsLoaded: Int
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    public var receivedAt: String

    public init(receiptID: String, hubKeyID: String, uploadID: String, agency: String, dataset: String, agreements: [String],
                headerDigest: String, manifestSHA256: String, payloadSHA256: String, rowsLoaded: Int, receivedAt: String) {
        self.receiptID = receiptID
        self.hubKeyID = hubKeyID
        self.uploadID = uploadID
        self.agency = agency
        self.dataset = dataset
        self.agreements = agreements
        self.headerDigest = headerDigest
        self.manifestSHA256 = manifestSHA256
        self.payloadSHA256 = payloadSHA256
        self.rowsLoaded = rowsLoaded
        self.receivedAt = receivedAt
    }

    /// A new receipt id: `rc-` and 32 lower-case hex digits of random bytes.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "rc-" + (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.lowercaseHex
    }

    public var json: CanonicalJSON {
        .object([
            "format": .string(Self.format), "receipt_id": .string(receiptID), "hub_key_id": .string(hubKeyID),
            "upload_id": .string(uploadID), "agency": .string(agency), "dataset": .string(dataset),
            "agreements": .array(agreements.map(CanonicalJSON.string)), "header_digest": .string(headerDigest),
            "manifest_sha256": .string(manifestSHA256), "payload_sha256": .string(payloadSHA256),
            "rows_loaded": .integer(rowsLoaded), "received_at": .string(receivedAt),
        ])
    }

    init(json value: CanonicalJSON) throws(ReceiptError) {
        guard case .object(let members) = value else { throw .malformed("the receipt is not a JSON object") }
        let expected: Set<String> = ["format", "receipt_id", "hub_key_id", "upload_id", "agency", "dataset", "agreements",
                                     "header_digest", "manifest_sha256", "payload_sha256", "rows_loaded", "received_at"]
        guard Set(members.keys) == expected else {
            throw .malformed("the receipt's keys are not those of \(Self.format): " + Set(members.keys).symmetricDifference(expected).sorted().joined(separator: ", "))
        }
        func string(_ key: String) throws(ReceiptError) -> String {
            guard case .string(let text)? = members[key] else { throw .malformed("'\(key)' must be a string") }
            return text
        }
        guard try string("format") == Self.format else { throw .malformed("format is not \(Self.format)") }
        guard case .integer(let rows)? = members["rows_loaded"], rows >= 0 else { throw .malformed("'rows_loaded' must be a whole number") }
        guard case .array(let items)? = members["agreements"] else { throw .malformed("'agreements' must be a list") }
        var agreements: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw .malformed("'agreements' must be a list of strings") }
            agreements.append(text)
        }
        self.init(receiptID: try string("receipt_id"), hubKeyID: try string("hub_key_id"), uploadID: try string("upload_id"),
                  agency: try string("agency"), dataset: try string("dataset"), agreements: agreements,
                  headerDigest: try string("header_digest"), manifestSHA256: try string("manifest_sha256"),
                  payloadSHA256: try string("payload_sha256"), rowsLoaded: rows, receivedAt: try string("received_at"))
    }

    /// Signs the receipt with the hub's receipt-signing key.
    public func signed(with key: Curve25519.Signing.PrivateKey) throws -> SignedUploadReceipt {
        SignedUploadReceipt(receipt: self, signature: Array(try key.signature(for: Self.signatureContext + json.bytes)))
    }
}

/// A receipt with the hub's signature, as it travels and as the agent files it beside a sent envelope:
/// the canonical JSON of `{"receipt": {…}, "signature": "<base64>"}`.
public struct SignedUploadReceipt: Sendable, Hashable {
    public var receipt: UploadReceipt
    public var signature: [UInt8]

    public init(receipt: UploadReceipt, signature: [UInt8]) {
        self.receipt = receipt
        self.signature = signature
    }

    public var json: CanonicalJSON {
        .object(["receipt": receipt.json, "signature": .string(Base64.encode(signature))])
    }

    /// Reads a signed receipt from its canonical JSON bytes (the signature is not checked here: see ``verify(hubKey:)``).
    public init(canonical bytes: [UInt8]) throws(ReceiptError) {
        let value: CanonicalJSON
        do { value = try CanonicalJSON(canonical: bytes) } catch { throw .malformed("\(error)") }
        try self.init(json: value)
    }

    /// Reads a signed receipt from an already-parsed JSON value (for example inside a larger answer).
    public init(json value: CanonicalJSON) throws(ReceiptError) {
        guard case .object(let members) = value, members.count == 2, let receiptValue = members["receipt"],
              case .string(let signatureText)? = members["signature"] else {
            throw .malformed("a signed receipt is an object with exactly 'receipt' and 'signature'")
        }
        guard let signature = Base64.decode(signatureText), signature.count == 64 else {
            throw .malformed("'signature' is not the base64 of a 64-byte Ed25519 signature")
        }
        self.init(receipt: try UploadReceipt(json: receiptValue), signature: signature)
    }

    /// Checks the signature with the hub's pinned receipt-signing key, and that the receipt names that key.
    public func verify(hubKey: PublicKeyLine) throws(ReceiptError) {
        guard hubKey.kind == .hubSigning, receipt.hubKeyID == hubKey.id else {
            throw .wrongKey("the receipt names hub key \(receipt.hubKeyID), but the pinned receipt-signing key is \(hubKey.id)")
        }
        guard let key = try? hubKey.signingKey(),
              key.isValidSignature(signature, for: UploadReceipt.signatureContext + receipt.json.bytes) else {
            throw .badSignature
        }
    }

    /// Every way the receipt differs from what was sent; empty when it acknowledges exactly that envelope.
    public func mismatches(headerDigest: String, manifestSHA256: String, payloadSHA256: String, rows: Int) -> [String] {
        var problems: [String] = []
        if receipt.headerDigest != headerDigest { problems.append("header digest \(receipt.headerDigest), sent \(headerDigest)") }
        if receipt.manifestSHA256 != manifestSHA256 { problems.append("manifest SHA-256 \(receipt.manifestSHA256), sent \(manifestSHA256)") }
        if receipt.payloadSHA256 != payloadSHA256 { problems.append("payload SHA-256 \(receipt.payloadSHA256), sent \(payloadSHA256)") }
        if receipt.rowsLoaded != rows { problems.append("\(receipt.rowsLoaded) rows loaded, \(rows) sent") }
        return problems
    }
}

/// A receipt that cannot be read or trusted.
public enum ReceiptError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case wrongKey(String)
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let reason): "the receipt is malformed: \(reason)"
        case .wrongKey(let reason): reason
        case .badSignature: "the receipt's signature does not verify with the pinned hub receipt-signing key"
        }
    }
}
