import Foundation

/// A personal name in its normalised form: upper-case letters, words separated by one space,
/// leading titles dropped (`docs/pseudonyms.md`, section 1).
public struct PersonalName: Sendable, Hashable, CustomStringConvertible {
    /// The normalised name, e.g. `JOHN PAUL`.
    public let normalised: String

    /// Normalises a name; `nil` when the bytes are not UTF-8 or no letter remains.
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        let normalised: String?
        if ASCII.isASCII(bytes) {
            normalised = Self.asciiNormalised(bytes)
        } else {
            guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
            normalised = Self.unicodeNormalised(text)
        }
        guard let normalised else { return nil }
        self.normalised = normalised
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
        return String(decoding: normalised.utf8.filter { $0 != UInt8(ascii: " ") }, as: UTF8.self)
    }

    static let titles: [[UInt8]] = ["MR", "MRS", "MS", "MISS", "MX", "DR", "PROF", "SIR", "DAME", "LADY", "LORD", "REV", "REVD", "MASTER"].map { Array($0.utf8) }

    /// Letters without a decomposition that would otherwise survive as non-ASCII or vanish.
    static let transliterations: [Unicode.Scalar: String] = [
        "Æ": "AE", "Œ": "OE", "Ø": "O", "Ł": "L", "Đ": "D", "Ð": "D", "Þ": "TH", "ẞ": "SS", "Ħ": "H", "Ŧ": "T",
    ]

    /// Dropped before letters are classified: U+02BC and U+02BB are modifier letters, but in names
    /// they stand where an apostrophe would (Ngʼangʼa, ʻOhana).
    static let apostrophes: Set<Unicode.Scalar> = ["'", "`", "\u{2018}", "\u{2019}", "\u{02BC}", "\u{02BB}"]

    /// The rules of `unicodeNormalised` for ASCII input, on bytes, without intermediate strings:
    /// most names in agency data are ASCII, and this is the hot path of pseudonymisation.
    static func asciiNormalised(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var inWord = false
        for byte in bytes {
            if ASCII.isLetter(byte) {
                if !inWord, !output.isEmpty { output.append(UInt8(ascii: " ")) }
                output.append(ASCII.uppercased(byte))
                inWord = true
            } else if byte != UInt8(ascii: "'") && byte != UInt8(ascii: "`") {
                inWord = false
            }
        }
        return withoutTitles(output)
    }

    /// Normalises any UTF-8 name (`docs/pseudonyms.md`, section 1).
    static func unicodeNormalised(_ text: String) -> String? {
        let folded = text.decomposedStringWithCompatibilityMapping.uppercased()
        var output = String.UnicodeScalarView()
        var inWord = false
        func appendLetters(_ scalars: some Sequence<Unicode.Scalar>) {
            if !inWord, !output.isEmpty { output.append(" ") }
            output.append(contentsOf: scalars)
            inWord = true
        }
        for scalar in folded.unicodeScalars {
            if let replacement = transliterations[scalar] {
                appendLetters(replacement.unicodeScalars)
                continue
            }
            if apostrophes.contains(scalar) { continue }
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                appendLetters(CollectionOfOne(scalar))
            case .nonspacingMark, .spacingMark, .enclosingMark:
                continue
            default:
                inWord = false
            }
        }
        return withoutTitles(Array(String(output).utf8))
    }

    /// Drops leading titles while more than one word remains; `nil` for no words at all.
    private static func withoutTitles(_ words: [UInt8]) -> String? {
        guard !words.isEmpty else { return nil }
        var start = 0
        while let space = words[start...].firstIndex(of: UInt8(ascii: " ")),
              titles.contains(where: { $0.elementsEqual(words[start..<space]) }) {
            start = space + 1
        }
        return String(decoding: words[start...], as: UTF8.self)
    }
}
