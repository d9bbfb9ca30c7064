/// A validated UK postcode and its coarser forms, used both as a match-key component and to
/// generalise an address before it leaves an agency.
public struct Postcode: Sendable, Hashable, CustomStringConvertible {
    /// The outward code, e.g. `SW1A`.
    public let outward: String
    /// The inward code, e.g. `1AA`.
    public let inward: String

    /// Parses a postcode written in any case with any spacing; `nil` unless it has the shape of a
    /// real UK postcode (see `docs/pseudonyms.md`).
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        // Upper-cased non-blank bytes, at most 7; one byte more marks "too long".
        var compact: (UInt64, Int) = (0, 0)
        for byte in bytes where !ASCII.isBlank(byte) {
            guard byte < 0x80, compact.1 < 7 else { return nil }
            compact.0 |= UInt64(ASCII.uppercased(byte)) << (8 * compact.1)
            compact.1 += 1
        }
        let count = compact.1
        guard count >= 5 else { return nil }
        let code = withUnsafeBytes(of: compact.0) { Array($0.prefix(count)) }
        let outwardCount = count - 3
        guard Self.isInward(code[outwardCount], code[outwardCount + 1], code[outwardCount + 2]),
              Self.isOutward(code[..<outwardCount]) || code.elementsEqual("GIR0AA".utf8) else { return nil }
        outward = ASCII.string(code[..<outwardCount])
        inward = ASCII.string(code[outwardCount...])
    }

    private static func isInward(_ digit: UInt8, _ first: UInt8, _ second: UInt8) -> Bool {
        ASCII.isDigit(digit) && isInwardLetter(first) && isInwardLetter(second)
    }

    /// A letter other than C, I, K, M, O, V.
    private static func isInwardLetter(_ byte: UInt8) -> Bool {
        guard ASCII.isUpper(byte) else { return false }
        switch byte {
        case UInt8(ascii: "C"), UInt8(ascii: "I"), UInt8(ascii: "K"), UInt8(ascii: "M"), UInt8(ascii: "O"), UInt8(ascii: "V"): return false
        default: return true
        }
    }

    /// `A9`, `A99`, `AA9`, `AA99`, `A9A`, `AA9A`.
    private static func isOutward(_ code: ArraySlice<UInt8>) -> Bool {
        // The shape as bits, one per byte from the first: 1 for a letter, 0 for a digit.
        var shape = 0
        for byte in code {
            if ASCII.isUpper(byte) { shape = shape << 1 | 1 }
            else if ASCII.isDigit(byte) { shape <<= 1 }
            else { return false }
        }
        switch (code.count, shape) {
        case (2, 0b10), (3, 0b100), (3, 0b110), (4, 0b1100), (3, 0b101), (4, 0b1101): return true
        default: return false
        }
    }

    /// The full postcode, `SW1A 1AA`.
    public var description: String { "\(outward) \(inward)" }
    /// `SW1A 1`.
    public var sector: String { "\(outward) \(inward.prefix(1))" }
    /// `SW1A`.
    public var district: String { outward }
    /// `SW`.
    public var area: String { String(outward.prefix { $0.isLetter }) }
}
