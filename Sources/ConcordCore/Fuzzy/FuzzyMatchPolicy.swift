/// What a Dice similarity means for linkage (`docs/pprl.md`, section 5): at or above `threshold`
/// the records link; from `reviewFloor` up to the threshold they are reported as uncertain and
/// kept apart; below, nothing.
public struct FuzzyMatchPolicy: Sendable, Hashable {
    public var threshold: Double
    public var reviewFloor: Double

    /// The recommended band, from `concord synth` data (`docs/pprl.md`, section 6).
    public static let standard = try! FuzzyMatchPolicy(threshold: 0.8, reviewFloor: 0.7)

    public enum Decision: Sendable, Hashable {
        case link, review, apart
    }

    /// - Throws: `FuzzyMatchPolicyError` unless `0 < reviewFloor ≤ threshold ≤ 1`.
    public init(threshold: Double, reviewFloor: Double) throws(FuzzyMatchPolicyError) {
        guard reviewFloor > 0, reviewFloor <= threshold, threshold <= 1 else { throw .invalidBand(threshold: threshold, reviewFloor: reviewFloor) }
        self.threshold = threshold
        self.reviewFloor = reviewFloor
    }

    public func decision(_ score: Double) -> Decision {
        score >= threshold ? .link : score >= reviewFloor ? .review : .apart
    }

    /// One-to-one assignment: the scored pairs at or above the threshold, greedily by descending
    /// score (ties by the lower indices), each record taking part in at most one link; and the
    /// review-band pairs whose records neither link.
    ///
    /// Greedy assignment is what anonlink's solver and most PPRL systems use: it is optimal when
    /// true matches score above every false candidate of theirs, and unlike an optimal
    /// (Hungarian) assignment it never trades a clear match for two mediocre ones.
    /// The caller applies it to the pairs of one dataset pair at a time.
    public func assign(_ pairs: [FuzzyComparison.ScoredPair]) -> (links: [FuzzyComparison.ScoredPair], review: [FuzzyComparison.ScoredPair]) {
        let ordered = pairs.sorted { ($1.score, $0.left, $0.right) < ($0.score, $1.left, $1.right) }
        var used = Set<Int32>()
        var links: [FuzzyComparison.ScoredPair] = []
        for pair in ordered where decision(pair.score) == .link && !used.contains(pair.left) && !used.contains(pair.right) {
            used.insert(pair.left)
            used.insert(pair.right)
            links.append(pair)
        }
        let review = ordered.filter { decision($0.score) == .review && !used.contains($0.left) && !used.contains($0.right) }
        return (links, review)
    }
}

/// A threshold and review band that cannot be used.
public enum FuzzyMatchPolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidBand(threshold: Double, reviewFloor: Double)

    public var description: String {
        switch self {
        case .invalidBand(let threshold, let floor):
            "the fuzzy threshold (\(threshold)) and review floor (\(floor)) must satisfy 0 < review floor ≤ threshold ≤ 1"
        }
    }
}
