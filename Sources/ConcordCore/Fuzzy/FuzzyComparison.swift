/// The hub's comparison of encodings (`docs/pprl.md`, section 5): Dice similarity of candidate
/// pairs within blocks, spread over the cores, keeping the pairs that score at least a minimum.
public enum FuzzyComparison {
    /// A pair of records (indices into a `CLKFilterSet`) and their Dice similarity.
    public struct ScoredPair: Sendable, Hashable {
        public var left: Int32
        public var right: Int32
        public var score: Double

        public init(left: Int32, right: Int32, score: Double) {
            self.left = left
            self.right = right
            self.score = score
        }
    }

    /// A block: every record of `left` is compared with every record of `right`, or, for a block
    /// ``init(within:)`` of one filter set, each unordered pair of its records once.
    public struct Block: Sendable, Hashable {
        public var left: [Int32]
        public var right: [Int32]
        /// Whether `left` and `right` are the same records of one filter set.
        public let isSelfBlock: Bool

        public init(left: [Int32], right: [Int32]) {
            self.left = left
            self.right = right
            isSelfBlock = false
        }

        public init(within records: [Int32]) {
            left = records
            right = records
            isSelfBlock = true
        }

        var comparisons: Int { isSelfBlock ? left.count * (left.count - 1) / 2 : left.count * right.count }
    }

    /// Scores every candidate pair of `blocks` (records of `left` against records of `right`),
    /// keeping those with a Dice coefficient of at least `minimum`. Pairs met in several blocks
    /// are returned once. Blocks are cut into about `4 × parallelism` chunks of similar work,
    /// compared by a task group.
    public static func compare(blocks: [Block], left: CLKFilterSet, right: CLKFilterSet, minimum: Double,
                               parallelism: Int) async -> [ScoredPair] {
        let chunks = chunked(blocks, into: max(1, parallelism) * 4)
        let found = await withTaskGroup(of: [ScoredPair].self) { group in
            for chunk in chunks {
                group.addTask { scores(of: chunk, left: left, right: right, minimum: minimum) }
            }
            var all: [ScoredPair] = []
            for await part in group { all += part }
            return all
        }
        var seen = Set<UInt64>()
        return found.filter { seen.insert(UInt64(UInt32(bitPattern: $0.left)) << 32 | UInt64(UInt32(bitPattern: $0.right))).inserted }
            .sorted { ($0.left, $0.right) < ($1.left, $1.right) }
    }

    /// Scores blocks on the calling thread, one core: the hot loop, and what `compare` runs per chunk.
    public static func scores(of blocks: [Block], left: CLKFilterSet, right: CLKFilterSet, minimum: Double) -> [ScoredPair] {
        var result: [ScoredPair] = []
        left.words.withUnsafeBufferPointer { leftWords in
            right.words.withUnsafeBufferPointer { rightWords in
                left.bitCounts.withUnsafeBufferPointer { leftCounts in
                    right.bitCounts.withUnsafeBufferPointer { rightCounts in
                        for block in blocks {
                            let selfBlock = block.isSelfBlock
                            for (position, a) in block.left.enumerated() {
                                let aWords = leftWords.baseAddress! + Int(a) * CLKParameters.filterWords
                                let aCount = leftCounts[Int(a)]
                                for b in selfBlock ? block.right[(position + 1)...] : block.right[...] {
                                    let total = aCount + rightCounts[Int(b)]
                                    guard total > 0 else { continue }
                                    let common = commonBits(aWords, rightWords.baseAddress! + Int(b) * CLKParameters.filterWords)
                                    let score = Double(2 * common) / Double(total)
                                    if score >= minimum {
                                        // Within one side, a pair is named lower index first.
                                        result.append(selfBlock ? ScoredPair(left: min(a, b), right: max(a, b), score: score) : ScoredPair(left: a, right: b, score: score))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Bits set in both 1024-bit filters: 16 ANDs and popcounts, unrolled.
    @inline(__always)
    static func commonBits(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>) -> Int32 {
        var sum = 0
        for word in 0..<CLKParameters.filterWords {
            sum &+= (a[word] & b[word]).nonzeroBitCount
        }
        return Int32(truncatingIfNeeded: sum)
    }

    /// Blocks grouped into about `count` chunks of similar comparison counts, largest first.
    static func chunked(_ blocks: [Block], into count: Int) -> [[Block]] {
        let total = blocks.reduce(0) { $0 + $1.comparisons }
        let target = max(1, total / count)
        var chunks: [[Block]] = [], current: [Block] = [], work = 0
        for block in blocks {
            // A block far larger than a chunk is split by its left records.
            if block.comparisons > 2 * target, !block.isSelfBlock, block.left.count > 1 {
                let rows = max(1, target / max(1, block.right.count))
                for start in stride(from: 0, to: block.left.count, by: rows) {
                    chunks.append([Block(left: Array(block.left[start..<min(start + rows, block.left.count)]), right: block.right)])
                }
                continue
            }
            current.append(block)
            work += block.comparisons
            if work >= target {
                chunks.append(current)
                current = []
                work = 0
            }
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
