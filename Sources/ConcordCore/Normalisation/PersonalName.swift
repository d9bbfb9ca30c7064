import Foundation

/// A personal name in its normalised form: upper-case letters, words separated by one space,
/// leading titles dropped (`docs/pseudonyms.md`, section 1).
public struct PersonalName: Sendable, Hashable, CustomStringConvertible {
    /// The normalised name, e.g. `JOHN PAUL`.
    public let normalised: String

    /// Normalises a name; `nil` when the bytes are not UTF-8 or no letter remains.
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        let words: [String]
        if ASCII.isASCII(bytes) {
            words = Self.asciiWords(bytes)
        } else {
            guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
            words = Self.unicodeWords(text)
        }
        var kept = words[...]
        while kept.count > 1, let first = kept.first, Self.titles.contains(first) {
            kept = kept.dropFirst()
        }
        guard !kept.isEmpty else { return nil }
        normalised = kept.joined(separator: " ")
    }

    public var description: String { normalised }

    /// The first word: forename fields carry middle names inconsistently.
    public var firstWord: String {
        guard let space = normalised.utf8.firstIndex(of: UInt8(ascii: " ")) else { return normalised }
        return String(normalised[..<space])
    }

    /// Every word run together: all words of a surname are part of it.
    public var joinedWords: String {
        guard normalised.utf8.contains(UInt8(ascii: " ")) else { return normalised }
        return normalised.replacingOccurrences(of: " ", with: "")
    }

    static let titles: Set<String> = ["MR", "MRS", "MS", "MISS", "MX", "DR", "PROF", "SIR", "DAME", "LADY", "LORD", "REV", "REVD", "MASTER"]

    /// Letters without a decomposition that would otherwise survive as non-ASCII or vanish.
    static let transliterations: [Unicode.Scalar: String] = [
        "Æ": "AE", "Œ": "OE", "Ø": "O", "Ł": "L", "Đ": "D", "Ð": "D", "Þ": "TH", "ẞ": "SS", "Ħ": "H", "Ŧ": "T",
    ]

    /// Dropped before letters are classified: U+02BC and U+02BB are modifier letters, but in names
    /// they stand where an apostrophe would (Ngʼangʼa, ʻOhana).
    static let apostrophes: Set<Unicode.Scalar> = ["'", "`", "\u{2018}", "\u{2019}", "\u{02BC}", "\u{02BB}"]

    /// The same rules as `unicodeWords`, on ASCII bytes without building intermediate strings.
    static func asciiWords(_ bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var words: [String] = []
        var word: [UInt8] = []
        word.reserveCapacity(bytes.count)
        for byte in bytes {
            if ASCII.isLetter(byte) {
                word.append(ASCII.uppercased(byte))
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "`") {
                continue
            } else if !word.isEmpty {
                words.append(ASCII.string(word))
                word.removeAll(keepingCapacity: true)
            }
        }
        if !word.isEmpty { words.append(ASCII.string(word)) }
        return words
    }

    static func unicodeWords(_ text: String) -> [String] {
        let folded = text.decomposedStringWithCompatibilityMapping.uppercased()
        var words: [String] = []
        var word = String.UnicodeScalarView()
        func endWord() {
            if !word.isEmpty { words.append(String(word)) }
            word = String.UnicodeScalarView()
        }
        for scalar in folded.unicodeScalars {
            if let replacement = transliterations[scalar] {
                word.append(contentsOf: replacement.unicodeScalars)
                continue
            }
            if apostrophes.contains(scalar) { continue }
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                word.append(scalar)
            case .nonspacingMark, .spacingMark, .enclosingMark:
                continue
            default:
                endWord()
            }
        }
        endWord()
        return words
    }
}
