import ConcordCore
import Foundation
import PostgresNIO

extension LinkageRun {
    /// The fuzzy pass after the deterministic ones (`docs/pprl.md`, section 5): the nodes of the
    /// run that the passes left alone are compared on their encodings with the run's nodes that
    /// share one of their blocking tokens, and the pairs one-to-one assigned per dataset pair are
    /// joined as pass `plan.passes.count` (evidence `fuzzy`).
    ///
    /// Candidates are chosen in SQL by equal tokens, so only the nodes of those blocks are read
    /// (memory grows with them, not with the linkage); scores stay in this function. A node of an
    /// incremental run meets the nodes outside the run through `synchroniseNodes`, which brings
    /// in the persons of every node sharing a token with a new one.
    mutating func fuzzyPass(_ fuzzy: LinkagePlan.Fuzzy, clustering: inout PersonClustering, nodes: [Int64],
                            index: (Int64) -> Int32) async throws {
        let clock = ContinuousClock(), started = clock.now
        // Part of the clustering phase, and also reported alone.
        defer { figures.phases["fuzzy"] = Int((clock.now - started) / .milliseconds(1)) }
        var counts = LinkageReport.FuzzyFigures()
        counts.refusedDatasets = fuzzy.refused
        let roots = clustering.roots()
        var sizes = [Int32](repeating: 0, count: nodes.count)
        for root in roots { sizes[Int(root)] += 1 }
        let alone = nodes.indices.filter { sizes[Int(roots[$0])] == 1 }.map { nodes[$0] }
        guard !alone.isEmpty else {
            figures.fuzzy = counts
            return
        }
        try await transaction.query("CREATE TEMP TABLE linkage_alone (node bigint PRIMARY KEY) ON COMMIT DROP")
        try await transaction.query("INSERT INTO linkage_alone SELECT unnest(\(alone)::bigint[])")
        try await transaction.query("ANALYZE linkage_alone")
        // The blocks of the alone nodes, then every node of the run in one of them.
        let rows = try await transaction.query("""
            WITH tokens AS (
                SELECT DISTINCT u.i, u.token FROM (
                    SELECT unnest(w.encoding[2:]) AS token, generate_subscripts(w.encoding[2:], 1) AS i
                    FROM linkage_work w JOIN linkage_alone a ON a.node = w.node WHERE w.encoding IS NOT NULL) u
                WHERE u.token IS NOT NULL)
            SELECT w.node, w.dataset, w.encoding[1], array_replace(w.encoding[2:], NULL, ''), a.node IS NOT NULL
            FROM linkage_work w LEFT JOIN linkage_alone a ON a.node = w.node
            WHERE w.node IN (
                SELECT u.node FROM (
                    SELECT node, unnest(encoding[2:]) AS token, generate_subscripts(encoding[2:], 1) AS i FROM linkage_work
                    WHERE encoding IS NOT NULL) u
                JOIN tokens t ON t.i = u.i AND t.token = u.token)
            """)
        var datasetNumbers: [String: Int32] = [:]
        var ids: [Int64] = []
        var passNodes: [FuzzyLinkagePass.Node] = []
        var filters = CLKFilterSet()
        for try await (node, dataset, cell, tokens, isAlone) in rows.decode((Int64, String, String, [String], Bool).self) {
            // Cells were checked at ingest; one of another key version is never compared.
            guard let parsed = CLKFilter.parse(cell), parsed.keyVersion == fuzzy.parameters.keyVersion else { continue }
            let number = datasetNumbers[dataset] ?? Int32(datasetNumbers.count)
            datasetNumbers[dataset] = number
            ids.append(node)
            passNodes.append(.init(dataset: number, linked: !isAlone, blocks: tokens.map { $0.isEmpty ? nil : $0 }))
            filters.append(parsed.filter)
        }
        counts.nodesRead = ids.count
        let outcome = await FuzzyLinkagePass.run(nodes: passNodes, filters: filters, policy: fuzzy.policy,
                                                 parallelism: ProcessInfo.processInfo.activeProcessorCount)
        counts.candidates = outcome.candidates
        counts.comparisons = outcome.comparisons
        clustering.beginPass(plan.passes.count)
        for link in outcome.links {
            let (a, b) = (index(ids[Int(link.left)]), index(ids[Int(link.right)]))
            let apart = clustering.root(of: a) != clustering.root(of: b)
            // Refused when both sides are already linked to others, or a unique key disagrees.
            clustering.link(group: [min(a, b), max(a, b)])
            if apart && clustering.root(of: a) == clustering.root(of: b) { counts.links += 1 }
        }
        counts.reviewPairs = outcome.review.count { pair in
            clustering.root(of: index(ids[Int(pair.left)])) != clustering.root(of: index(ids[Int(pair.right)]))
        }
        try await transaction.query("DROP TABLE linkage_alone")
        figures.fuzzy = counts
    }
}
