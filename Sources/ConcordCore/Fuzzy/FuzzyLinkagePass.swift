/// The fuzzy pass after the deterministic ones (`docs/pprl.md`, section 5): nodes the passes left
/// alone are compared on their encodings with the nodes sharing one of their blocking tokens,
/// and the pairs one-to-one assigned per dataset pair. The caller joins the links in the order
/// given through `PersonClustering`, which refuses to join two clusters already made.
public enum FuzzyLinkagePass {
    /// One node as the pass sees it.
    public struct Node: Sendable, Hashable {
        /// The node's dataset (any number, equal for one dataset).
        public var dataset: Int32
        /// Whether the deterministic passes linked the node to another one.
        public var linked: Bool
        /// The node's blocking tokens (`CLKEncoder.blockingTokens`), `nil` where it has none.
        public var blocks: [String?]

        public init(dataset: Int32, linked: Bool, blocks: [String?]) {
            self.dataset = dataset
            self.linked = linked
            self.blocks = blocks
        }
    }

    /// What the pass found: counts leave the hub, the pairs never do.
    public struct Outcome: Sendable {
        /// Pairs to join, highest score first.
        public var links: [FuzzyComparison.ScoredPair]
        /// Pairs in the review band whose nodes link to nothing: reported as uncertain, not joined.
        public var review: [FuzzyComparison.ScoredPair]
        /// Nodes not yet linked that had an encoding: the candidates.
        public var candidates: Int
        /// Pairs compared.
        public var comparisons: Int
    }

    /// - Parameters:
    ///   - nodes: every node of the run, in the order of `filters` (node `i` is filter `i`);
    ///     a node without an encoding has no blocking token either (`blocks` all `nil`).
    public static func run(nodes: [Node], filters: CLKFilterSet, policy: FuzzyMatchPolicy, parallelism: Int) async -> Outcome {
        precondition(nodes.count == filters.count)
        var groups: [BlockKey: [Int32]] = [:]
        for (index, node) in nodes.enumerated() {
            for (block, token) in node.blocks.enumerated() {
                if let token { groups[BlockKey(block: block, token: token), default: []].append(Int32(index)) }
            }
        }
        var blocks: [FuzzyComparison.Block] = []
        var comparisons = 0
        for group in groups.values where group.count > 1 {
            let alone = group.filter { !nodes[Int($0)].linked }
            guard !alone.isEmpty else { continue }
            let linked = group.filter { nodes[Int($0)].linked }
            // Nodes not yet linked with each other, and with nodes already linked; never two linked ones.
            if alone.count > 1 { blocks.append(.init(within: alone)) }
            if !linked.isEmpty { blocks.append(.init(left: alone, right: linked)) }
            comparisons += alone.count * (alone.count - 1) / 2 + alone.count * linked.count
        }
        let scored = await FuzzyComparison.compare(blocks: blocks, left: filters, right: filters, minimum: policy.reviewFloor, parallelism: parallelism)
        var byDatasetPair: [DatasetPair: [FuzzyComparison.ScoredPair]] = [:]
        for pair in scored {
            let (a, b) = (nodes[Int(pair.left)].dataset, nodes[Int(pair.right)].dataset)
            byDatasetPair[DatasetPair(first: min(a, b), second: max(a, b)), default: []].append(pair)
        }
        var links: [FuzzyComparison.ScoredPair] = [], review: [FuzzyComparison.ScoredPair] = []
        for pairs in byDatasetPair.values {
            let assigned = policy.assign(pairs)
            links += assigned.links
            review += assigned.review
        }
        links.sort { ($1.score, $0.left, $0.right) < ($0.score, $1.left, $1.right) }
        return Outcome(links: links, review: review, candidates: nodes.count { !$0.linked && $0.blocks.contains { $0 != nil } },
                       comparisons: comparisons)
    }

    private struct BlockKey: Hashable {
        var block: Int
        var token: String
    }

    private struct DatasetPair: Hashable {
        var first: Int32
        var second: Int32
    }
}
