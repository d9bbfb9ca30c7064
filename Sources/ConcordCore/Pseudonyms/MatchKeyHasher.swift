/// Turns match-key components into keyed pseudonyms: HMAC-SHA256 under the linkage key over a
/// domain-separated, length-prefixed encoding (`docs/pseudonyms.md`, section 3).
public struct MatchKeyHasher: Sendable {
    /// Domain tag: the first field of every message, naming the scheme and its version.
    public static let domain = "concord-match-key-v1"

    private let hmac: PrekeyedHMACSHA256
    public let version: Int
    private let textPrefix: [UInt8]

    public init(key: LinkageKey) {
        hmac = PrekeyedHMACSHA256(key: key.secret)
        version = key.version
        textPrefix = Array("k\(key.version):".utf8)
    }

    /// The bytes the key name and version contribute, before any component.
    public func messagePrefix(keyName: String) -> [UInt8] {
        var message: [UInt8] = []
        Self.appendLengthPrefixed(Self.domain, to: &message)
        Self.appendLengthPrefixed(keyName, to: &message)
        Self.appendLengthPrefixed(String(version), to: &message)
        return message
    }

    /// The full message for a key and its components' labels and values.
    public func message(keyName: String, components: [(label: String, value: String)]) -> [UInt8] {
        var message = messagePrefix(keyName: keyName)
        for (label, value) in components {
            Self.appendLengthPrefixed(label, to: &message)
            Self.appendLengthPrefixed(value, to: &message)
        }
        return message
    }

    /// The match key text for a key and its components' labels and values.
    public func text(keyName: String, components: [(label: String, value: String)]) -> String {
        var output: [UInt8] = []
        message(keyName: keyName, components: components).withUnsafeBufferPointer { appendText(of: $0, to: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    /// The linkage key version of a cell shaped as ``appendText(of:to:)`` writes a match key
    /// (`k<version>:` and 43 base64url characters, the unpadded 32-byte HMAC); `nil` for any other
    /// shape. What the hub checks received match keys with.
    public static func version(ofMatchKey cell: UnsafeBufferPointer<UInt8>) -> Int? {
        guard cell.first == UInt8(ascii: "k"), let colon = cell.firstIndex(of: UInt8(ascii: ":")), colon <= 10,
              let version = ASCII.decimal(cell[1..<colon]), (1...65535).contains(version),
              cell.count - colon - 1 == 43,
              cell[(colon + 1)...].allSatisfy({ ASCII.isLetter($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else { return nil }
        return version
    }

    /// Appends `k<version>:` and the unpadded base64url HMAC of `message` to `output`.
    public func appendText(of message: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        var mac = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &mac) { raw in
            let macBytes = raw.bindMemory(to: UInt8.self)
            hmac.authenticationCode(for: message, into: macBytes)
            output.append(contentsOf: textPrefix)
            Base64.encode(UnsafeBufferPointer(macBytes), alphabet: Base64.urlSafe, padded: false, into: &output)
        }
    }

    /// `LP(s)`: the 4-byte big-endian length of the UTF-8 bytes, then the bytes.
    public static func appendLengthPrefixed(_ text: String, to message: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            let count = UInt32(bytes.count)
            message.append(UInt8(count >> 24))
            message.append(UInt8(count >> 16 & 0xFF))
            message.append(UInt8(count >> 8 & 0xFF))
            message.append(UInt8(count & 0xFF))
            message.append(contentsOf: bytes)
        }
    }
}
