/// The sex codes agency systems export, reduced to one vocabulary.
public enum SexCode: String, Sendable, Hashable, CaseIterable {
    case male = "M"
    case female = "F"
    case indeterminate = "X"
    case unknown = "U"

    private static let spellings: [String: SexCode] = [
        "M": .male, "MALE": .male, "1": .male,
        "F": .female, "FEMALE": .female, "2": .female,
        "X": .indeterminate, "I": .indeterminate, "9": .indeterminate, "INDETERMINATE": .indeterminate,
        "U": .unknown, "0": .unknown, "UNKNOWN": .unknown, "NOT KNOWN": .unknown, "NOT STATED": .unknown,
    ]

    /// Parses a code ignoring ASCII case and runs of spaces; `nil` when it is not a known spelling.
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= 16, ASCII.isASCII(bytes) else { return nil }
        var text: [UInt8] = []
        for byte in bytes {
            if ASCII.isBlank(byte) {
                if text.last != UInt8(ascii: " ") { text.append(UInt8(ascii: " ")) }
            } else {
                text.append(ASCII.uppercased(byte))
            }
        }
        guard let code = Self.spellings[ASCII.string(text)] else { return nil }
        self = code
    }
}
