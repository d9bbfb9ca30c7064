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
        var compact: [UInt8] = []
        compact.reserveCapacity(8)
        for byte in bytes where !ASCII.isBlank(byte) {
            guard byte < 0x80 else { return nil }
            compact.append(ASCII.uppercased(byte))
            guard compact.count <= 7 else { return nil }
        }
        guard compact.count >= 5 else { return nil }
        let outward = compact[..<(compact.count - 3)]
        let inward = compact[(compact.count - 3)...]
        guard Self.isInward(inward), Self.isOutward(outward) || compact == Array("GIR0AA".utf8) else { return nil }
        self.outward = ASCII.string(outward)
        self.inward = ASCII.string(inward)
    }

    private static let excludedInwardLetters = Set("CIKMOV".utf8)

    private static func isInward(_ code: ArraySlice<UInt8>) -> Bool {
        let bytes = Array(code)
        return ASCII.isDigit(bytes[0])
            && bytes[1...].allSatisfy { ASCII.isUpper($0) && !excludedInwardLetters.contains($0) }
    }

    /// `A9`, `A99`, `AA9`, `AA99`, `A9A`, `AA9A`.
    private static func isOutward(_ code: ArraySlice<UInt8>) -> Bool {
        let shape = String(code.map { ASCII.isDigit($0) ? "9" : ASCII.isUpper($0) ? "A" : "?" })
        return ["A9", "A99", "AA9", "AA99", "A9A", "AA9A"].contains(shape)
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
