/// American Soundex as the US National Archives define it, over the letters A–Z of a normalised
/// name; a coarse phonetic code so that SMITH and SMYTH share a key.
public enum Soundex {
    /// The four-character code, or `nil` when the text has no letter A–Z.
    public static func code(_ text: String) -> String? {
        var result: [UInt8] = []
        result.reserveCapacity(4)
        var previous: UInt8 = 0
        for byte in text.utf8 where ASCII.isUpper(byte) {
            let digit = digits[Int(byte - 0x41)]
            if result.isEmpty {
                result.append(byte)
                previous = digit
                continue
            }
            switch byte {
            case UInt8(ascii: "H"), UInt8(ascii: "W"):
                continue
            default:
                if digit != 0, digit != previous {
                    result.append(digit)
                    if result.count == 4 { return ASCII.string(result) }
                }
                previous = digit
            }
        }
        guard !result.isEmpty else { return nil }
        while result.count < 4 { result.append(UInt8(ascii: "0")) }
        return ASCII.string(result)
    }

    /// Code digit (as an ASCII byte) per letter A–Z; 0 for letters that write nothing.
    private static let digits: [UInt8] = {
        let groups: [(String, Character)] = [("BFPV", "1"), ("CGJKQSXZ", "2"), ("DT", "3"), ("L", "4"), ("MN", "5"), ("R", "6")]
        var table = [UInt8](repeating: 0, count: 26)
        for (letters, digit) in groups {
            for letter in letters.utf8 { table[Int(letter - 0x41)] = digit.asciiValue! }
        }
        return table
    }()
}
