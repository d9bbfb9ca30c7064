import CConcordCrypto

/// HMAC-SHA256 (RFC 2104) with the key absorbed once into inner and outer SHA-256 states, through
/// the system's libcrypto. Each message then costs one copy of those states and the hashing of the
/// message itself, which makes it several times faster than keying per message: match keys are
/// millions of short messages under one key.
public struct PrekeyedHMACSHA256: @unchecked Sendable {
    // @unchecked: the C struct is plain bytes with no pointers; copies are independent.
    private var key = concord_hmac_sha256_key()

    public static let byteCount = 32

    public init(key secret: some Collection<UInt8>) {
        let bytes = Array(secret)
        bytes.withUnsafeBufferPointer { concord_hmac_sha256_init(&key, $0.baseAddress, $0.count) }
    }

    /// Writes the 32-byte code of `message` into `mac`.
    public func authenticationCode(for message: UnsafeBufferPointer<UInt8>, into mac: UnsafeMutableBufferPointer<UInt8>) {
        precondition(mac.count >= Self.byteCount)
        withUnsafePointer(to: key) { concord_hmac_sha256($0, message.baseAddress, message.count, mac.baseAddress) }
    }

    /// The 32-byte code of `message`.
    public func authenticationCode(for message: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(message)
        var mac = [UInt8](repeating: 0, count: Self.byteCount)
        bytes.withUnsafeBufferPointer { message in
            mac.withUnsafeMutableBufferPointer { authenticationCode(for: message, into: $0) }
        }
        return mac
    }
}
