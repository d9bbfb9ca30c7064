/// Adds up the figures of a linkage report from the agreement's nodes, each read once and in any
/// order (the hub streams them from `linkage_nodes`): records per person and dataset, records by
/// the key that linked them, and flagged persons. One pass over the nodes replaces a grouping
/// statement per figure; memory grows with persons × datasets, not with records.
public struct LinkageTally: Sendable {
    public let datasets: [String]
    public let keys: [String]
    /// Each person's row in `records`.
    private var slots: [Int64: Int] = [:]
    /// Records per person (row) and dataset (column).
    private var records: [Int] = []
    private var linkedByKey: [Int]
    private var flagged: Set<Int64> = []

    /// - Parameters:
    ///   - datasets: the plan's datasets, in its order.
    ///   - keys: the plan's keys, in pass order.
    public init(datasets: [String], keys: [String]) {
        self.datasets = datasets
        self.keys = keys
        linkedByKey = Array(repeating: 0, count: keys.count)
    }

    /// One node: its person, the index of its dataset in `datasets`, its records, the index in
    /// `keys` of the key that linked it (nil: linked by none), and whether its person is flagged.
    public mutating func add(person: Int64, dataset: Int, records count: Int, key: Int?, flagged isFlagged: Bool) {
        let slot: Int
        if let known = slots[person] {
            slot = known
        } else {
            slot = slots.count
            slots[person] = slot
            records.append(contentsOf: repeatElement(0, count: datasets.count))
        }
        records[slot * datasets.count + dataset] += count
        if let key { linkedByKey[key] += count }
        if isFlagged { flagged.insert(person) }
    }

    /// The report of what was added. Datasets without records are left out, as are pairs of
    /// datasets sharing no person; pairs are in the order of their names.
    public func report(agreement: String, agreementVersion: Int, run: LinkageReport.RunFigures) -> LinkageReport {
        let width = datasets.count
        var totals = Array(repeating: 0, count: width), linked = totals
        var pairs = Array(repeating: 0, count: width * width)
        var sizes: [String: Int] = [:]
        for slot in 0..<slots.count {
            let row = records[slot * width..<(slot + 1) * width]
            let personRecords = row.reduce(0, +)
            sizes[LinkageReport.sizeBucket(records: personRecords), default: 0] += 1
            for (dataset, count) in zip(0..., row) where count > 0 {
                totals[dataset] += count
                if personRecords > 1 { linked[dataset] += count }
                for (other, otherCount) in zip(0..., row) where other != dataset && otherCount > 0 { pairs[dataset * width + other] += count }
            }
        }
        func rate(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }
        let allRecords = totals.reduce(0, +)
        let present = (0..<width).filter { totals[$0] > 0 }
        let pairFigures = present.flatMap { dataset in
            present.compactMap { other -> LinkageReport.PairFigures? in
                let count = pairs[dataset * width + other]
                return other == dataset || count == 0 ? nil
                    : .init(dataset: datasets[dataset], other: datasets[other], records: count, rate: rate(count, totals[dataset]))
            }
        }.sorted { ($0.dataset, $0.other) < ($1.dataset, $1.other) }
        return LinkageReport(
            agreement: agreement, agreementVersion: agreementVersion, keys: keys,
            datasets: present.map { .init(dataset: datasets[$0], records: totals[$0], linkedRecords: linked[$0], matchRate: rate(linked[$0], totals[$0])) },
            linkedBy: zip(keys, linkedByKey).map { .init(key: $0, records: $1, rate: rate($1, allRecords)) },
            pairs: pairFigures, persons: slots.count,
            clusterSizes: LinkageReport.sizeBuckets.map { .init(size: $0, persons: sizes[$0] ?? 0) },
            flaggedPersons: flagged.count, run: run)
    }
}
