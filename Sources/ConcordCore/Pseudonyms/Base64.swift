/// Base64 (RFC 4648) without Foundation, for key files and the URL-safe alphabet of match keys.
enum Base64 {
    private static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Standard alphabet with padding.
    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        bytes.withUnsafeBufferPointer { encode($0, alphabet: standard, padded: true, into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the encoding of `bytes` to `output`.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, alphabet: [UInt8], padded: Bool, into output: inout [UInt8]) {
        alphabet.withUnsafeBufferPointer { alphabet in encode(bytes, alphabet: alphabet, padded: padded, into: &output) }
    }

    private static func encode(_ bytes: UnsafeBufferPointer<UInt8>, alphabet: UnsafeBufferPointer<UInt8>, padded: Bool, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + (bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let available = min(3, bytes.count - index)
            let first = UInt32(bytes[index])
            let second = available > 1 ? UInt32(bytes[index + 1]) : 0
            let third = available > 2 ? UInt32(bytes[index + 2]) : 0
            let value = first << 16 | second << 8 | third
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            if available > 1 { output.append(alphabet[Int(value >> 6 & 63)]) } else if padded { output.append(UInt8(ascii: "=")) }
            if available > 2 { output.append(alphabet[Int(value & 63)]) } else if padded { output.append(UInt8(ascii: "=")) }
            index += 3
        }
    }

    /// Decodes the standard alphabet with padding; `nil` for anything else.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < input.count {
            var value: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                value <<= 6
                if byte == UInt8(ascii: "=") {
                    guard index + 4 == input.count, offset >= 2 else { return nil }
                    padding += 1
                } else {
                    guard padding == 0, let digit = standard.firstIndex(of: byte) else { return nil }
                    value |= UInt32(digit)
                }
            }
            output.append(UInt8(value >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(value >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(value & 0xFF)) }
            index += 4
        }
        return output
    }

    /// Decodes the URL-safe alphabet without padding (how match keys and CLK filters are written);
    /// `nil` for anything else.
    static func decodeURLSafeUnpadded(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 4 != 1, !text.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") }) else { return nil }
        var standardText = text.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 }
        standardText += Array(repeating: UInt8(ascii: "="), count: (4 - text.count % 4) % 4)
        return decode(String(decoding: standardText, as: UTF8.self))
    }
}
