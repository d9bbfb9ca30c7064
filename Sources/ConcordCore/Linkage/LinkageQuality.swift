/// Precision and recall of a person linkage against the truth, over record pairs: a pair of
/// records is a true link when both belong to one real person, and a found link when the linkage
/// put both in one person. Counted from the contingency of found and true persons, so it costs
/// one pass over the records, not one per pair.
public struct LinkageQuality: Sendable, Hashable, CustomStringConvertible {
    public var records: Int
    public var truePairs: Int
    public var foundPairs: Int
    public var correctPairs: Int

    /// - Parameter assignments: per record, the person the linkage found and the true person.
    public init<Found: Hashable, Truth: Hashable>(_ assignments: some Sequence<(found: Found, truth: Truth)>) {
        var found: [Found: Int] = [:], truth: [Truth: Int] = [:]
        var both: [Pair<Found, Truth>: Int] = [:]
        var records = 0
        for (foundPerson, truePerson) in assignments {
            found[foundPerson, default: 0] += 1
            truth[truePerson, default: 0] += 1
            both[Pair(found: foundPerson, truth: truePerson), default: 0] += 1
            records += 1
        }
        func pairs(_ counts: Dictionary<some Hashable, Int>.Values) -> Int { counts.reduce(0) { $0 + $1 * ($1 - 1) / 2 } }
        self.records = records
        truePairs = pairs(truth.values)
        foundPairs = pairs(found.values)
        correctPairs = pairs(both.values)
    }

    /// Of the links found, the share that are true (1 when none were found).
    public var precision: Double { foundPairs == 0 ? 1 : Double(correctPairs) / Double(foundPairs) }
    /// Of the true links, the share found (1 when there are none).
    public var recall: Double { truePairs == 0 ? 1 : Double(correctPairs) / Double(truePairs) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

    public var description: String {
        func percent(_ value: Double) -> String {
            let basisPoints = Int((value * 10_000).rounded())
            return "\(basisPoints / 100).\(basisPoints % 100 < 10 ? "0" : "")\(basisPoints % 100)%"
        }
        return "\(records) records: precision \(percent(precision)), recall \(percent(recall)), F1 \(percent(f1)) (\(correctPairs) of \(foundPairs) links found are true; \(truePairs) true links)"
    }

    private struct Pair<A: Hashable, B: Hashable>: Hashable {
        var found: A
        var truth: B
    }
}
