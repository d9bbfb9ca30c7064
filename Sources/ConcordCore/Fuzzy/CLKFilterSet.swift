/// Encodings laid out for comparison: each filter's 16 words next to each other in one array,
/// with its bit count computed once, so a comparison is 16 ANDs and popcounts and one division.
public struct CLKFilterSet: Sendable {
    public private(set) var words: [UInt64] = []
    public private(set) var bitCounts: [Int32] = []
    public var count: Int { bitCounts.count }

    public init() {}

    public init(_ filters: some Sequence<CLKFilter>) {
        for filter in filters { append(filter) }
    }

    public mutating func append(_ filter: CLKFilter) {
        words += filter.words
        bitCounts.append(Int32(filter.bitCount))
    }

    public subscript(index: Int) -> CLKFilter {
        CLKFilter(words: Array(words[index * CLKParameters.filterWords..<(index + 1) * CLKParameters.filterWords]))
    }
}

extension CLKFilter {
    static func bytes(of words: some Collection<UInt64>) -> [UInt8] {
        words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64($0))) } }
    }
}
