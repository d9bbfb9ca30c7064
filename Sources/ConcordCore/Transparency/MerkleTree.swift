import Crypto

/// The Merkle tree of RFC 6962 section 2.1 (RFC 9162 section 2.1): the arithmetic of
/// `concord-tlog/1` (docs/transparency-log.md). Pure: callers supply leaf and subtree hashes from
/// wherever they keep them. Leaf indices are 0-based; the audit entry with `seq` s is leaf s − 1.
public enum MerkleTree {
    /// `SHA-256(0x00 ‖ data)`.
    public static func leafHash(_ data: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0])
        hasher.update(data: Array(data))
        return Array(hasher.finalize())
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [1])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The root of the empty tree: SHA-256 of nothing.
    public static let emptyRoot = Array(SHA256.hash(data: [UInt8]()))

    /// A complete subtree: the `2^level` leaves from `index << level`. Its hash is what a cache of
    /// the tree keeps; every hash a root or proof needs is a fold of a few of them.
    public struct Subtree: Sendable, Hashable {
        public var level: Int
        public var index: Int64

        public init(level: Int, index: Int64) {
            self.level = level
            self.index = index
        }

        public var leaves: Range<Int64> { (index << level)..<((index + 1) << level) }
    }

    /// The largest power of two smaller than `n` (`n` > 1): where RFC 6962 splits a tree.
    static func split(_ n: Int64) -> Int64 {
        var k: Int64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The complete subtrees, left to right, that `MTH(D[range])` is made of. Every range a root or
    /// proof asks for starts at a multiple of its largest power-of-two part, so the parts are the
    /// binary digits of its size, largest first.
    public static func subtrees(_ range: Range<Int64>) -> [Subtree] {
        var parts: [Subtree] = []
        var start = range.lowerBound
        var remaining = Int64(range.count)
        var level = 63 - remaining.leadingZeroBitCount
        while remaining > 0 {
            if remaining >> level & 1 == 1 {
                precondition(start % (Int64(1) << level) == 0, "range \(range) is not aligned")
                parts.append(Subtree(level: level, index: start >> level))
                start += Int64(1) << level
                remaining -= Int64(1) << level
            }
            level -= 1
        }
        return parts
    }

    /// `MTH(D[range])` from the hashes of its complete subtrees: the right-most parts fold first,
    /// as RFC 6962's recursion splits off the largest power of two on the left.
    public static func hash<E: Error>(of range: Range<Int64>, subtree: (Subtree) throws(E) -> [UInt8]) throws(E) -> [UInt8] {
        guard !range.isEmpty else { return emptyRoot }
        var result: [UInt8]?
        for part in subtrees(range).reversed() {
            let value = try subtree(part)
            result = result.map { nodeHash(value, $0) } ?? value
        }
        return result!
    }

    /// The ranges whose hashes are the inclusion proof of leaf `index` in the tree of `size`
    /// leaves (`PATH(m, D[n])`, RFC 6962 section 2.1.1), nearest the leaf first.
    public static func inclusionProof(index: Int64, size: Int64) -> [Range<Int64>] {
        precondition(index >= 0 && index < size, "leaf \(index) is not in a tree of \(size)")
        var proof: [Range<Int64>] = []
        var (offset, m, n) = (Int64(0), index, size)
        // Walking down from the root gives the proof's hashes root side first.
        while n > 1 { proof.append(descend(&offset, &m, &n, leftWhenEqual: false).sibling) }
        return proof.reversed()
    }

    /// The ranges whose hashes prove that the tree of `first` leaves is a prefix of the tree of
    /// `second` (`PROOF(m, D[n])`, RFC 6962 section 2.1.2), in the RFC's order. Empty when
    /// `first` is 0 or equals `second`.
    public static func consistencyProof(first: Int64, second: Int64) -> [Range<Int64>] {
        precondition(first >= 0 && first <= second, "a tree of \(first) cannot be a prefix of one of \(second)")
        guard first > 0, first < second else { return [] }
        var proof: [Range<Int64>] = []
        var (offset, m, n, complete) = (Int64(0), first, second, true)
        while m != n {
            let step = descend(&offset, &m, &n, leftWhenEqual: true)
            proof.append(step.sibling)
            if step.wentRight { complete = false }
        }
        if !complete { proof.append(offset..<(offset + n)) }
        return proof.reversed()
    }

    /// One step down RFC 6962's recursion over the `n` leaves from `offset`: into the left part
    /// (the largest power of two `k` below `n`) when `m < k` (or `m == k`, for consistency
    /// proofs), else into the right part. Returns the part not taken, whose hash the proof holds.
    private static func descend(_ offset: inout Int64, _ m: inout Int64, _ n: inout Int64, leftWhenEqual: Bool) -> (sibling: Range<Int64>, wentRight: Bool) {
        let k = split(n)
        if m < k || (leftWhenEqual && m == k) {
            defer { n = k }
            return ((offset + k)..<(offset + n), false)
        }
        defer {
            offset += k
            m -= k
            n -= k
        }
        return (offset..<(offset + k), true)
    }

    /// Whether `proof` shows the leaf with `leafHash` at `index` in the tree of `size` leaves whose
    /// root is `root` (RFC 9162 section 2.1.3.2).
    public static func verifyInclusion(leafHash: [UInt8], index: Int64, size: Int64, proof: [[UInt8]], root: [UInt8]) -> Bool {
        guard index >= 0, index < size else { return false }
        var (fn, sn, r) = (index, size - 1, leafHash)
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                shiftUntilOdd(&fn, &sn)
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `proof` shows the tree of `first` leaves with root `firstRoot` to be a prefix of the
    /// tree of `second` leaves with root `secondRoot` (RFC 9162 section 2.1.4.2; any tree extends
    /// the empty one).
    public static func verifyConsistency(first: Int64, second: Int64, proof: [[UInt8]], firstRoot: [UInt8], secondRoot: [UInt8]) -> Bool {
        guard first >= 0, first <= second else { return false }
        if first == 0 { return proof.isEmpty && firstRoot == emptyRoot }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        guard !proof.isEmpty else { return false }
        let path = first & (first - 1) == 0 ? [firstRoot] + proof : proof
        var (fn, sn) = (first - 1, second - 1)
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var (fr, sr) = (path[0], path[0])
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                shiftUntilOdd(&fn, &sn)
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == firstRoot && sr == secondRoot && sn == 0
    }

    /// RFC 9162's "right-shift both `fn` and `sn` equally until either LSB(fn) is set or fn is 0".
    private static func shiftUntilOdd(_ fn: inout Int64, _ sn: inout Int64) {
        while fn & 1 == 0 && fn != 0 {
            fn >>= 1
            sn >>= 1
        }
    }
}

/// Grows a tree one leaf at a time in constant memory per level (the stack of RFC 9162's
/// incremental root): what recomputes the root of millions of audit entries streamed in order,
/// and what tells a cache each complete subtree as it forms.
public struct MerkleTreeBuilder: Sendable {
    /// The complete subtrees of the tree so far, left to right: `MerkleTree.subtrees(0..<size)`.
    public private(set) var frontier: [(subtree: MerkleTree.Subtree, hash: [UInt8])] = []
    public private(set) var size: Int64 = 0

    public init() {}

    /// Resumes a tree of `size` leaves from the hashes of `MerkleTree.subtrees(0..<size)`, in order.
    public init(size: Int64, frontierHashes: [[UInt8]]) {
        let parts = MerkleTree.subtrees(0..<size)
        precondition(parts.count == frontierHashes.count, "a tree of \(size) has \(parts.count) frontier subtrees")
        self.size = size
        frontier = Array(zip(parts, frontierHashes))
    }

    /// Adds the next leaf; returns every complete subtree this formed, the leaf itself first.
    @discardableResult
    public mutating func append(leafHash: [UInt8]) -> [(subtree: MerkleTree.Subtree, hash: [UInt8])] {
        var formed = [(subtree: MerkleTree.Subtree(level: 0, index: size), hash: leafHash)]
        frontier.append(formed[0])
        while frontier.count >= 2, frontier[frontier.count - 1].subtree.level == frontier[frontier.count - 2].subtree.level {
            let right = frontier.removeLast()
            let left = frontier.removeLast()
            let parent = (subtree: MerkleTree.Subtree(level: left.subtree.level + 1, index: left.subtree.index >> 1),
                          hash: MerkleTree.nodeHash(left.hash, right.hash))
            frontier.append(parent)
            formed.append(parent)
        }
        size += 1
        return formed
    }

    /// `MTH` of the leaves so far.
    public var root: [UInt8] {
        var result: [UInt8]?
        for part in frontier.reversed() { result = result.map { MerkleTree.nodeHash(part.hash, $0) } ?? part.hash }
        return result ?? MerkleTree.emptyRoot
    }
}
