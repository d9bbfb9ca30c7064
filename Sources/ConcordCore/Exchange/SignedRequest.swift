import Crypto

/// The `concord-request-v1` scheme by which an agency signs each request to the hub
/// (`docs/api-auth.md`, section 1). Both sides build the same ``stringToSign``; the agent signs it,
/// the hub verifies it against the agency's registered key.
public struct SignedRequest: Sendable, Hashable {
    /// The first line of every string to sign: names the scheme and its version.
    public static let scheme = "concord-request-v1"
    /// How far a timestamp may be from the hub's clock, either side.
    public static let allowedClockSkewSeconds: Int64 = 300
    /// How long the hub remembers nonces: twice the window, so a replay can never slip between.
    public static let nonceRetentionSeconds: Int64 = 900

    /// Header names, as sent (HTTP header names are case-insensitive).
    public enum Header {
        public static let agency = "Concord-Agency"
        public static let keyID = "Concord-Key-Id"
        public static let timestamp = "Concord-Timestamp"
        public static let nonce = "Concord-Nonce"
        public static let contentSHA256 = "Concord-Content-SHA256"
        public static let signature = "Concord-Signature"
        public static let all = [agency, keyID, timestamp, nonce, contentSHA256, signature]
    }

    public var method: String
    /// The path and query exactly as on the request line.
    public var target: String
    public var agency: String
    public var keyID: String
    /// Seconds since the Unix epoch.
    public var timestamp: Int64
    public var nonce: String
    /// SHA-256 of the body, 64 lower-case hex digits.
    public var contentSHA256: String

    public init(method: String, target: String, agency: String, keyID: String, timestamp: Int64, nonce: String, contentSHA256: String) {
        self.method = method.uppercased()
        self.target = target
        self.agency = agency
        self.keyID = keyID
        self.timestamp = timestamp
        self.nonce = nonce
        self.contentSHA256 = contentSHA256
    }

    /// SHA-256 of no bytes: the content digest of a request without a body.
    public static let emptyContentSHA256 = SHA256.hash(data: [UInt8]()).lowercaseHex

    /// A fresh nonce: 32 lower-case hex digits of 16 random bytes.
    public static func newNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.lowercaseHex
    }

    /// The exact bytes that are signed.
    public var stringToSign: [UInt8] {
        Array([Self.scheme, method, target, agency, keyID, String(timestamp), nonce, contentSHA256].joined(separator: "\n").utf8)
    }

    /// The six headers of a request signed with `key`.
    public func headers(signedWith key: Curve25519.Signing.PrivateKey) throws -> [(name: String, value: String)] {
        let signature = try key.signature(for: stringToSign)
        return [
            (Header.agency, agency), (Header.keyID, keyID), (Header.timestamp, String(timestamp)), (Header.nonce, nonce),
            (Header.contentSHA256, contentSHA256), (Header.signature, Base64.encode(Array(signature))),
        ]
    }

    /// Reads the signed fields from request headers (looked up by `header`, case-insensitively by the
    /// caller), checking only their form; returns the request and its signature bytes.
    public static func parse(method: String, target: String, header: (String) -> String?) throws(SignedRequestError) -> (SignedRequest, [UInt8]) {
        func value(_ name: String) throws(SignedRequestError) -> String {
            guard let text = header(name), !text.isEmpty else { throw .malformed("the \(name) header is missing") }
            return text
        }
        let agency = try value(Header.agency)
        let keyID = try value(Header.keyID)
        let timestampText = try value(Header.timestamp)
        guard timestampText.utf8.count <= 12, timestampText.utf8.allSatisfy(ASCII.isDigit), let timestamp = Int64(timestampText) else {
            throw .malformed("\(Header.timestamp) must be whole seconds since 1970-01-01T00:00:00Z")
        }
        let nonce = try value(Header.nonce)
        guard (16...64).contains(nonce.utf8.count),
              nonce.utf8.allSatisfy({ ASCII.isDigit($0) || ASCII.isLetter($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw .malformed("\(Header.nonce) must be 16 to 64 characters from A-Z, a-z, 0-9, '-' and '_'")
        }
        let digest = try value(Header.contentSHA256)
        guard Hex.isLowercase(digest, length: 64) else {
            throw .malformed("\(Header.contentSHA256) must be 64 lower-case hex digits")
        }
        guard let signature = Base64.decode(try value(Header.signature)), signature.count == 64 else {
            throw .malformed("\(Header.signature) must be the standard base64 of a 64-byte Ed25519 signature")
        }
        return (SignedRequest(method: method, target: target, agency: agency, keyID: keyID, timestamp: timestamp, nonce: nonce,
                              contentSHA256: digest), signature)
    }

    /// Whether `signature` is this request's, by `key`.
    public func isSigned(by key: Curve25519.Signing.PublicKey, signature: [UInt8]) -> Bool {
        key.isValidSignature(signature, for: stringToSign)
    }

    /// Whether the timestamp is within the allowed skew of `now` (seconds since the epoch).
    public func isFresh(now: Int64) -> Bool {
        abs(now - timestamp) <= Self.allowedClockSkewSeconds
    }
}

/// A request whose signature headers are not well formed.
public enum SignedRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let reason): reason
        }
    }
}
