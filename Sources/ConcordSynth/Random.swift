/// SplitMix64 (Steele, Lea and Flood 2014): expands a 64-bit seed into well-mixed words. Used only
/// to seed `SynthRandom` and to hash small tuples of integers into independent streams.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One well-mixed word from a few integers: the seed of an independent stream.
    static func hash(_ values: UInt64...) -> UInt64 {
        var mixer = SplitMix64(state: 0x5EED_C0DE_C0C0_4D11)
        var result: UInt64 = 0
        for value in values {
            mixer.state ^= value
            result = mixer.next()
        }
        return result
    }
}

/// The generator behind every synthetic value: xoshiro256** (Blackman and Vigna 2018), seeded by
/// SplitMix64. Defined here rather than taken from the standard library so that the same seed gives
/// the same bytes on every platform and Swift version; floating point is used only through `unit()`,
/// whose result is exact (53 random bits scaled by a power of two).
struct SynthRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A stream identified by a seed and a stream name (any integers).
    init(seed: UInt64, stream: UInt64...) {
        var mixer = SplitMix64(state: seed)
        for part in stream {
            mixer.state ^= part &* 0xD1B5_4A32_D192_ED03
            _ = mixer.next()
        }
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// A stream name from a short ASCII tag, so streams read as words in the code.
    static func tag(_ text: StaticString) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        text.withUTF8Buffer { bytes in
            for byte in bytes {
                value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
        }
        return value
    }

    mutating func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    /// Uniform in `0..<bound` (multiply-high; the bias is below 2⁻³² for the bounds used here).
    mutating func int(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in the closed range.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1), exactly reproducible.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// True with probability `p`. Always draws one value, so the stream stays aligned whatever `p` is.
    mutating func chance(_ p: Double) -> Bool {
        unit() < p
    }

    mutating func pick<T>(_ items: [T]) -> T {
        items[int(items.count)]
    }

    /// An index drawn with the given relative weights.
    mutating func weighted(_ weights: [Int]) -> Int {
        var total = 0
        for weight in weights { total += weight }
        var draw = int(total)
        for (index, weight) in weights.enumerated() {
            if draw < weight { return index }
            draw -= weight
        }
        return weights.count - 1
    }

    /// A value drawn with the given relative weights.
    mutating func weighted<T>(_ choices: [(T, Int)]) -> T {
        var total = 0
        for choice in choices { total += choice.1 }
        var draw = int(total)
        for choice in choices {
            if draw < choice.1 { return choice.0 }
            draw -= choice.1
        }
        return choices[choices.count - 1].0
    }
}

/// A precomputed weighted choice, for the hot paths of row generation.
struct WeightedTable<Value: Sendable>: Sendable {
    let values: [Value]
    private let cumulative: [Int]

    init(_ choices: [(Value, Int)]) {
        values = choices.map(\.0)
        var running = 0
        cumulative = choices.map { running += $0.1; return running }
    }

    func draw(_ random: inout SynthRandom) -> Value {
        let target = random.int(cumulative[cumulative.count - 1])
        var index = 0
        while cumulative[index] <= target { index += 1 }
        return values[index]
    }
}
