/// Groups records (nodes) into persons with deterministic passes (`docs/linkage.md`, section 3).
///
/// Passes run strongest key first. Within a pass, nodes sharing a value are joined, but two
/// clusters that were already linked when the pass began are never joined by it: weaker keys
/// only link records not yet linked, so a later, less reliable key cannot chain two people
/// together. A value shared with two or more such clusters is ambiguous and links nobody to
/// them. A join that would give one person two values of a unique key (two NHS numbers) is
/// refused and counted as a conflict: the person is split on the strong key.
///
/// Memory is a few arrays of `Int32` per node, so millions of nodes fit in tens of MiB.
public struct PersonClustering: Sendable {
    public private(set) var nodeCount: Int
    private var parent: [Int32]
    private var size: [Int32]
    /// Per unique key, the value id each root holds (0: none).
    private var uniqueValues: [[Int32]]
    /// Whether a root's cluster had more than one node when the current pass began.
    private var established: [Bool]
    /// Per node, the pass that first linked it to another node (-1: never linked).
    public private(set) var evidence: [Int8]
    /// Per node, the previous person (0: none), and per root the first previous person its
    /// cluster holds, so that joins of two previous persons can be told apart.
    private let previousPerson: [Int64]
    private var rootPreviousPerson: [Int64]
    private var currentPass = -1

    /// Joins of two clusters holding different previous persons: the persons and the pass.
    public private(set) var joinsOfPreviousPersons: [(first: Int64, second: Int64, pass: Int)] = []
    /// Per unique key and pass, joins refused because the two sides held different values.
    public private(set) var conflicts: [Conflict: Int] = [:]
    /// Roots of clusters that refused a join on a unique key.
    private var flagged: Set<Int32> = []
    /// Values shared by several already-linked clusters, per pass.
    public private(set) var ambiguousValues: [Int]

    public struct Conflict: Sendable, Hashable {
        /// Index of the unique key in the plan's keys.
        public var uniqueKey: Int
        public var pass: Int
    }

    /// - Parameters:
    ///   - uniqueValues: per unique key, a value id per node (equal ids for equal values; 0 when
    ///     the node has no value).
    ///   - previousPersons: per node, the person it belonged to before (0 for a new node).
    ///   - passCount: how many passes will run.
    public init(nodeCount: Int, uniqueValues: [[Int32]], previousPersons: [Int64], passCount: Int) {
        precondition(uniqueValues.allSatisfy { $0.count == nodeCount } && previousPersons.count == nodeCount)
        self.nodeCount = nodeCount
        parent = (0..<Int32(nodeCount)).map { $0 }
        size = Array(repeating: 1, count: nodeCount)
        self.uniqueValues = uniqueValues
        established = Array(repeating: false, count: nodeCount)
        evidence = Array(repeating: -1, count: nodeCount)
        previousPerson = previousPersons
        rootPreviousPerson = previousPersons
        ambiguousValues = Array(repeating: 0, count: passCount)
    }

    /// The cluster's representative node.
    public mutating func root(of node: Int32) -> Int32 {
        var node = node
        while parent[Int(node)] != node {
            let grandparent = parent[Int(parent[Int(node)])]
            parent[Int(node)] = grandparent
            node = grandparent
        }
        return node
    }

    /// Starts pass `pass`: clusters with more than one node are now established.
    public mutating func beginPass(_ pass: Int) {
        currentPass = pass
        for node in 0..<nodeCount where parent[node] == Int32(node) {
            established[node] = size[node] > 1
        }
    }

    /// Links the nodes of one group sharing a value of the current pass's key.
    public mutating func link(group: [Int32]) {
        guard group.count > 1 else { return }
        var roots: [Int32] = []
        var establishedRoots = 0
        for node in group {
            let root = root(of: node)
            if !roots.contains(root) {
                roots.append(root)
                if established[Int(root)] { establishedRoots += 1 }
            }
        }
        guard roots.count > 1 else { return }
        if establishedRoots > 1 {
            ambiguousValues[currentPass] += 1
            roots.removeAll { established[Int($0)] }
        }
        guard var joined = roots.first else { return }
        for other in roots.dropFirst() {
            joined = union(joined, other)
        }
        for node in group where evidence[Int(node)] < 0 && size[Int(root(of: node))] > 1 {
            evidence[Int(node)] = Int8(currentPass)
        }
    }

    /// Joins two roots unless a unique key disagrees; returns the surviving root.
    private mutating func union(_ first: Int32, _ second: Int32) -> Int32 {
        let (a, b) = (Int(first), Int(second))
        for (key, values) in uniqueValues.enumerated() where values[a] != 0 && values[b] != 0 && values[a] != values[b] {
            conflicts[Conflict(uniqueKey: key, pass: currentPass), default: 0] += 1
            flagged.insert(first)
            flagged.insert(second)
            return first
        }
        let (big, small) = size[a] >= size[b] ? (a, b) : (b, a)
        parent[small] = Int32(big)
        size[big] += size[small]
        established[big] = established[big] || established[small]
        for key in uniqueValues.indices where uniqueValues[key][big] == 0 {
            uniqueValues[key][big] = uniqueValues[key][small]
        }
        let (personBig, personSmall) = (rootPreviousPerson[big], rootPreviousPerson[small])
        if personBig != 0 && personSmall != 0 && personBig != personSmall {
            joinsOfPreviousPersons.append((min(personBig, personSmall), max(personBig, personSmall), currentPass))
        }
        if personBig == 0 { rootPreviousPerson[big] = personSmall }
        if flagged.remove(Int32(small)) != nil { flagged.insert(Int32(big)) }
        return Int32(big)
    }

    /// The clusters: for each node, its root.
    public mutating func roots() -> [Int32] {
        (0..<Int32(nodeCount)).map { root(of: $0) }
    }

    /// Roots of the clusters that refused a join on a unique key (flagged in the linkage report).
    public mutating func flaggedRoots() -> Set<Int32> {
        Set(flagged.map { root(of: $0) })
    }
}
