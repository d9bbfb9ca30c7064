/// What a linkage holds and what its latest run did (`docs/linkage.md`, section 5): given with
/// every request output and summarised in the audit log. It holds counts and rates only, never a
/// match key or a person number.
public struct LinkageReport: Sendable, Hashable, Codable {
    public var agreement: String
    public var agreementVersion: Int
    /// Keys in pass order.
    public var keys: [String]
    public var datasets: [DatasetFigures]
    /// Records by the key that linked them, in pass order.
    public var linkedBy: [KeyFigures]
    /// For each ordered pair of datasets, how many records of the first belong to a person who
    /// also has a record in the second.
    public var pairs: [PairFigures]
    public var persons: Int
    /// Persons by how many records they have: `1`, `2`, `3`, `4`, `5-9`, `10-99`, `100+`.
    public var clusterSizes: [SizeFigures]
    /// Persons held apart because their records disagree on a unique key.
    public var flaggedPersons: Int
    public var run: RunFigures

    public init(agreement: String, agreementVersion: Int, keys: [String], datasets: [DatasetFigures], linkedBy: [KeyFigures],
                pairs: [PairFigures], persons: Int, clusterSizes: [SizeFigures], flaggedPersons: Int, run: RunFigures) {
        self.agreement = agreement
        self.agreementVersion = agreementVersion
        self.keys = keys
        self.datasets = datasets
        self.linkedBy = linkedBy
        self.pairs = pairs
        self.persons = persons
        self.clusterSizes = clusterSizes
        self.flaggedPersons = flaggedPersons
        self.run = run
    }

    public struct DatasetFigures: Sendable, Hashable, Codable {
        public var dataset: String
        public var records: Int
        /// Records that belong to a person with more than one record.
        public var linkedRecords: Int
        public var matchRate: Double

        public init(dataset: String, records: Int, linkedRecords: Int, matchRate: Double) {
            (self.dataset, self.records, self.linkedRecords, self.matchRate) = (dataset, records, linkedRecords, matchRate)
        }
    }

    public struct KeyFigures: Sendable, Hashable, Codable {
        public var key: String
        public var records: Int
        /// Of all records.
        public var rate: Double

        public init(key: String, records: Int, rate: Double) {
            (self.key, self.records, self.rate) = (key, records, rate)
        }
    }

    public struct PairFigures: Sendable, Hashable, Codable {
        public var dataset: String
        public var other: String
        public var records: Int
        /// Of the first dataset's records.
        public var rate: Double

        public init(dataset: String, other: String, records: Int, rate: Double) {
            (self.dataset, self.other, self.records, self.rate) = (dataset, other, records, rate)
        }
    }

    public struct SizeFigures: Sendable, Hashable, Codable {
        public var size: String
        public var persons: Int

        public init(size: String, persons: Int) {
            (self.size, self.persons) = (size, persons)
        }
    }

    /// The latest run.
    public struct RunFigures: Sendable, Hashable, Codable {
        public var run: Int
        /// Datasets whose published extracts changed since the previous run, and were read again.
        public var datasetsRead: [String] = []
        /// Distinct key tuples that appeared, disappeared, or were clustered again.
        public var newNodes: Int
        public var removedNodes: Int
        public var clusteredNodes: Int
        public var merges: Int
        public var splits: Int
        /// Merges and splits by the key that caused them (`none`: a person whose records all went).
        public var mergesByKey: [String: Int] = [:]
        public var splitsByKey: [String: Int] = [:]
        /// Joins refused because a unique key disagreed, by that key.
        public var conflicts: [String: Int]
        /// Values shared by two or more already-linked persons, which linked nobody to them, by pass key.
        public var ambiguousValues: [String: Int]
        public var milliseconds: Int
        /// Where the time went: `nodes` (finding what changed), `clustering` (the passes),
        /// `storing` (writing persons back), in milliseconds.
        public var phases: [String: Int] = [:]
        /// The linkage key id the run linked under: that of the newest published extract of the
        /// agreement's datasets (docs/linkage.md, "Linkage key versions"); `nil` with no extract.
        public var linkageKeyID: String?
        /// Datasets whose newest extract is under another linkage key (dataset → key id): their
        /// records are not linked until their agency sends an extract under `linkageKeyID`.
        public var datasetsOnOtherLinkageKeys: [String: String]?
        /// The fuzzy pass, when the agreement permits it (counts only: never a score or pseudonym).
        public var fuzzy: FuzzyFigures?

        public init(run: Int, newNodes: Int = 0, removedNodes: Int = 0, clusteredNodes: Int = 0, merges: Int = 0, splits: Int = 0,
                    conflicts: [String: Int] = [:], ambiguousValues: [String: Int] = [:], milliseconds: Int = 0) {
            (self.run, self.newNodes, self.removedNodes, self.clusteredNodes) = (run, newNodes, removedNodes, clusteredNodes)
            (self.merges, self.splits, self.conflicts, self.ambiguousValues, self.milliseconds) = (merges, splits, conflicts, ambiguousValues, milliseconds)
        }
    }

    /// What the fuzzy pass of a run did (`docs/pprl.md`, section 5).
    public struct FuzzyFigures: Sendable, Hashable, Codable {
        /// Nodes the deterministic passes left alone that have an encoding.
        public var candidates = 0
        /// Nodes sharing a blocking token with a candidate, candidates included: what was read.
        public var nodesRead = 0
        public var comparisons = 0
        /// Pairs joined (evidence `fuzzy`).
        public var links = 0
        /// Pairs scoring in the review band whose nodes linked to nothing: uncertain, not joined.
        public var reviewPairs = 0
        /// Linked datasets whose encodings were refused, with their parameters' fingerprint: their
        /// schema encodes under other parameters or another linkage key version.
        public var refusedDatasets: [String: String] = [:]

        public init() {}
    }

    /// The bucket a person with `records` records falls in.
    public static func sizeBucket(records: Int) -> String {
        switch records {
        case ...4: String(records)
        case 5...9: "5-9"
        case 10...99: "10-99"
        default: "100+"
        }
    }

    public static let sizeBuckets = ["1", "2", "3", "4", "5-9", "10-99", "100+"]
}
