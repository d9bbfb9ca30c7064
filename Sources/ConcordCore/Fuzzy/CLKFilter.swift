/// One 1024-bit Bloom-filter encoding (`docs/pprl.md`, section 2): 16 words, bit `i` of the
/// filter is bit `63 - i % 64` of word `i / 64` (so the bytes, written big-endian word by word,
/// read bit 0 first as the most significant bit of byte 0, as clkhash and anonlink write them).
public struct CLKFilter: Sendable, Hashable {
    public private(set) var words: [UInt64]

    /// An empty filter.
    public init() {
        words = Array(repeating: 0, count: CLKParameters.filterWords)
    }

    init(words: [UInt64]) {
        precondition(words.count == CLKParameters.filterWords)
        self.words = words
    }

    /// The filter of 128 bytes; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == CLKParameters.filterBytes else { return nil }
        self.init()
        for (index, byte) in bytes.enumerated() {
            words[index / 8] |= UInt64(byte) << (56 - 8 * UInt64(index % 8))
        }
    }

    /// Sets bit `index` (0 to 1023).
    public mutating func set(bit index: Int) {
        words[index / 64] |= 1 << (63 - UInt64(index % 64))
    }

    public func isSet(bit index: Int) -> Bool {
        words[index / 64] & 1 << (63 - UInt64(index % 64)) != 0
    }

    /// The 128 bytes.
    public var bytes: [UInt8] { Self.bytes(of: words) }

    /// Bits set.
    public var bitCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The Dice coefficient `2|A ∧ B| / (|A| + |B|)`, 0 when both are empty.
    public func dice(_ other: CLKFilter) -> Double {
        let total = bitCount + other.bitCount
        guard total > 0 else { return 0 }
        let common = zip(words, other.words).reduce(0) { $0 + ($1.0 & $1.1).nonzeroBitCount }
        return Double(2 * common) / Double(total)
    }

    /// `c<key version>:` and the unpadded base64url of the 128 bytes: the extract's cell.
    public func text(keyVersion: Int) -> String {
        var output = Array("c\(keyVersion):".utf8)
        bytes.withUnsafeBufferPointer { Base64.encode($0, alphabet: Base64.urlSafe, padded: false, into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    /// Reads a cell written by ``text(keyVersion:)``: the key version and the filter, or `nil`
    /// for any other shape.
    public static func parse(_ text: some StringProtocol) -> (keyVersion: Int, filter: CLKFilter)? {
        let utf8 = Array(text.utf8)
        guard utf8.first == UInt8(ascii: "c"), let colon = utf8.firstIndex(of: UInt8(ascii: ":")), colon <= 6,
              let version = ASCII.decimal(utf8[1..<colon]), LinkageKey.versions.contains(version),
              let bytes = Base64.decodeURLSafeUnpadded(utf8[(colon + 1)...]),
              let filter = CLKFilter(bytes: bytes)
        else { return nil }
        return (version, filter)
    }
}
