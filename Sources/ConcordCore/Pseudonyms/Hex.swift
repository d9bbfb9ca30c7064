extension Sequence<UInt8> {
    /// The bytes as lower-case hexadecimal: how digests and key ids are written.
    public var lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

enum Hex {
    /// Whether `text` is exactly `length` lower-case hexadecimal digits: how digests are written.
    static func isLowercase(_ text: some StringProtocol, length: Int) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { ASCII.isDigit($0) || (0x61...0x66).contains($0) }
    }
}
