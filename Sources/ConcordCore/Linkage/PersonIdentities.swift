/// Gives each cluster a person number that stays the same across runs while the evidence does
/// (`docs/linkage.md`, section 4), and says which persons merged, split, began or ended.
public struct PersonIdentities: Sendable, Hashable {
    /// Per node, its person.
    public var persons: [Int64]
    public var events: [Event]
    /// The next unused person number.
    public var nextPerson: Int64

    /// What happened to a person between two runs.
    public struct Event: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable, Codable {
            /// `person` was absorbed into `into`.
            case merge
            /// `person` was made from records that belonged to `from`.
            case split
        }

        public var kind: Kind
        public var person: Int64
        /// The surviving person of a merge, or the person split from.
        public var other: Int64
        /// The pass (index into the plan's passes) whose key caused it.
        public var pass: Int
    }

    /// - Parameters:
    ///   - roots: per node, its cluster's root (from `PersonClustering.roots()`).
    ///   - previousPersons: per node, its person before this run (0 for a new node).
    ///   - previousEvidence: per node, the pass that linked it before this run (-1 if none).
    ///   - joins: joins of clusters holding two previous persons (`PersonClustering`).
    ///   - nextPerson: the first number a new person may take.
    public init(roots: [Int32], previousPersons: [Int64], previousEvidence: [Int8],
                joins: [(first: Int64, second: Int64, pass: Int)], nextPerson: Int64) {
        let clusters = Self.clusters(roots: roots)
        var taken: [Int64: Int] = [:]
        var chosen: [Int64] = []
        for nodes in clusters {
            var counts: [Int64: Int] = [:]
            for node in nodes where previousPersons[node] != 0 { counts[previousPersons[node], default: 0] += 1 }
            let candidate = counts.filter { taken[$0.key] == nil }
                .max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
            chosen.append(candidate ?? 0)
            if let candidate { taken[candidate] = chosen.count - 1 }
        }
        var next = nextPerson
        var persons = Array(repeating: Int64(0), count: roots.count)
        var events: [Event] = []
        var merged: Set<Int64> = []
        // The pass that joined each previous person to another: what a merge is blamed on.
        var joinPass: [Int64: Int] = [:]
        for join in joins {
            joinPass[join.first] = max(joinPass[join.first] ?? -1, join.pass)
            joinPass[join.second] = max(joinPass[join.second] ?? -1, join.pass)
        }
        for (index, nodes) in clusters.enumerated() {
            var person = chosen[index]
            let previous = Set(nodes.map { previousPersons[$0] }.filter { $0 != 0 })
            if person == 0 {
                person = next
                next += 1
                // Records that belonged to a person whose number another cluster kept: a split,
                // caused by the key that had linked them.
                if let from = previous.min() {
                    let evidence = nodes.filter { previousPersons[$0] == from }.map { Int(previousEvidence[$0]) }.max() ?? -1
                    events.append(Event(kind: .split, person: person, other: from, pass: evidence))
                }
            }
            for absorbed in previous.sorted() where absorbed != person && taken[absorbed] == nil && merged.insert(absorbed).inserted {
                events.append(Event(kind: .merge, person: absorbed, other: person, pass: joinPass[absorbed] ?? -1))
            }
            for node in nodes { persons[node] = person }
        }
        self.persons = persons
        self.events = events
        self.nextPerson = next
    }

    /// The nodes of each cluster, in node order, larger clusters first (so that a split leaves
    /// the old number with the larger part), then by first node. Grouped by counting rather than
    /// hashing: there can be millions of nodes.
    private static func clusters(roots: [Int32]) -> [ArraySlice<Int>] {
        var start = Array(repeating: 0, count: roots.count + 1)
        for root in roots { start[Int(root) + 1] += 1 }
        for index in 1..<start.count { start[index] += start[index - 1] }
        var next = start
        var members = Array(repeating: 0, count: roots.count)
        for (node, root) in roots.enumerated() {
            members[next[Int(root)]] = node
            next[Int(root)] += 1
        }
        var clusters: [ArraySlice<Int>] = []
        for root in roots.indices where start[root + 1] > start[root] {
            clusters.append(members[start[root]..<start[root + 1]])
        }
        return clusters.sorted { $0.count != $1.count ? $0.count > $1.count : $0.first! < $1.first! }
    }
}
