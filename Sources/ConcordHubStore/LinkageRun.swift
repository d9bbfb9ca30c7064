import ConcordCore
import Foundation
import NIOCore
import PostgresNIO

/// One linkage run inside its transaction (`HubStore.updateLinkage`): the steps of
/// `docs/linkage.md`, section 3, each a set-based statement, with the clustering itself in
/// memory over only the nodes that need it.
struct LinkageRun {
    let agreementID: String
    let plan: LinkagePlan
    let transaction: HubTransaction
    private var nextPerson: Int64
    private var runNumber: Int
    var figures: LinkageReport.RunFigures
    /// What clustering found, per clustered node, and the events.
    private var result: Result?

    private struct Result {
        var nodes: [Int64]
        var persons: [Int64]
        var evidence: [Int8]
        var flagged: [Bool]
        var events: [PersonIdentities.Event]
    }

    /// Locks (or creates) the agreement's linkage; a linkage made under another plan is emptied
    /// so that it is rebuilt (person numbers are never reused).
    static func begin(agreement: Agreement, plan: LinkagePlan, in transaction: HubTransaction) async throws -> LinkageRun {
        let rows = try await transaction.query("""
            SELECT signature, next_person, runs FROM linkages WHERE agreement_id = \(agreement.id) FOR UPDATE
            """).collect()
        var nextPerson: Int64 = 1, runs = 0
        if let row = rows.first {
            let (signature, next, previousRuns) = try row.decode((String, Int64, Int).self)
            (nextPerson, runs) = (next, previousRuns)
            if signature != plan.signature {
                try await transaction.query("DELETE FROM linkage_nodes WHERE agreement_id = \(agreement.id)")
                try await transaction.query("DELETE FROM linkage_datasets WHERE agreement_id = \(agreement.id)")
            }
        } else {
            try await transaction.query("""
                INSERT INTO linkages (agreement_id, agreement_version, signature) VALUES (\(agreement.id), \(agreement.version), \(plan.signature))
                """)
        }
        try await transaction.query("""
            UPDATE linkages SET agreement_version = \(agreement.version), signature = \(plan.signature) WHERE agreement_id = \(agreement.id)
            """)
        let figures = LinkageReport.RunFigures(run: runs + 1)
        return LinkageRun(agreementID: agreement.id, plan: plan, transaction: transaction, nextPerson: nextPerson, runNumber: runs + 1, figures: figures)
    }

    /// Finds what changed since the last run, into the temporary table `linkage_work`: the new key
    /// tuples of the published rows (numbered, not yet stored), and the nodes of every person they
    /// touch. Tuples gone are deleted from `linkage_nodes`, and their persons touched (they may
    /// split); the record counts of the others are refreshed.
    ///
    /// Only rows of extracts shared under the agreement are read, and only of datasets whose such
    /// published extracts changed since the last run: published extracts never change, so the
    /// same extracts hold the same rows.
    ///
    /// Records pseudonymised under different linkage keys are never linked together (docs/linkage.md,
    /// "Linkage key versions"): the run links under one linkage key id, that of the newest
    /// published extract of any of the datasets, and reads only extracts sealed under it; a
    /// dataset whose newest extract is under another key is reported and contributes no records
    /// until its agency sends an extract under the linking key.
    mutating func synchroniseNodes(datasets: [LinkedDataset]) async throws {
        var newest: [(dataset: String, extract: Int64, key: String)] = []
        for dataset in datasets {
            let rows = try await transaction.query(PostgresQuery(unsafeSQL: """
                SELECT e.id, up.manifest::jsonb ->> 'linkage_key_id' FROM extracts e JOIN uploads up ON up.id = e.upload_id
                WHERE e.dataset = $2 AND e.state = 'published' AND \(HubStore.sharedUnderAgreement) ORDER BY e.id DESC LIMIT 1
                """, binds: binds(dataset.dataset))).decode((Int64, String).self)
            for try await (extract, key) in rows { newest.append((dataset.dataset, extract, key)) }
        }
        let linkingKey = newest.max { $0.extract < $1.extract }?.key
        figures.linkageKeyID = linkingKey
        figures.datasetsOnOtherLinkageKeys = Dictionary(uniqueKeysWithValues: newest.filter { $0.key != linkingKey }.map { ($0.dataset, $0.key) })
        var changed: [(dataset: LinkedDataset, extracts: [Int64])] = []
        for dataset in datasets {
            // Only rows shared under this agreement are linked under it (linkage_outside_agreement),
            // and only those sealed under the linking key.
            var keyBinds = binds(dataset.dataset)
            keyBinds.append(linkingKey ?? "")
            let published = try await transaction.query(PostgresQuery(unsafeSQL: """
                SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}') FROM extracts e JOIN uploads up ON up.id = e.upload_id
                WHERE e.dataset = $2 AND e.state = 'published' AND \(HubStore.sharedUnderAgreement)
                  AND up.manifest::jsonb ->> 'linkage_key_id' = $3
                """, binds: keyBinds)).collect().first?.decode([Int64].self) ?? []
            let read = try await transaction.query("""
                SELECT extracts FROM linkage_datasets WHERE agreement_id = \(agreementID) AND dataset = \(dataset.dataset)
                """).collect().first?.decode([Int64].self)
            guard (read ?? []) != published else { continue }
            changed.append((dataset, published))
            try await transaction.query("""
                INSERT INTO linkage_datasets (agreement_id, dataset, extracts) VALUES (\(agreementID), \(dataset.dataset), \(published))
                ON CONFLICT (agreement_id, dataset) DO UPDATE SET extracts = excluded.extracts
                """)
        }
        figures.datasetsRead = changed.map(\.dataset.dataset)
        try await transaction.query("""
            CREATE TEMP TABLE linkage_work (node bigint, dataset text, keys text[], records bigint, person bigint, evidence text, new boolean,
                                            encoding text[]) ON COMMIT DROP
            """)
        guard !changed.isEmpty else { return }
        // New nodes are numbered from the nodes' own sequence, looked up once rather than per row.
        let sequence = try await transaction.query("SELECT pg_get_serial_sequence('linkage_nodes', 'node')").collect().first?.decode(String.self) ?? ""
        /// Each changed dataset's distinct key tuples of the extracts read, with their record
        /// counts and the encoding of one of their rows (the least, so that it is the same on
        /// every run), into `linkage_work` as new nodes or into `linkage_current` to be compared.
        func readTuples(asNewNodes: Bool) async throws {
            for (dataset, extracts) in changed {
                // The view and key array come from validated identifiers (LinkedDataset).
                if asNewNodes {
                    try await transaction.query("""
                        INSERT INTO linkage_work
                        SELECT nextval(\(sequence)::regclass), \(dataset.dataset), k, count(*), NULL, NULL, true, min(e) FILTER (WHERE e[1] IS NOT NULL) FROM (
                            SELECT \(unescaped: dataset.keys) AS k, \(unescaped: dataset.encoding) AS e FROM \(unescaped: dataset.view) d
                            WHERE d."_extract" = ANY(\(extracts))) s
                        GROUP BY k
                        """)
                } else {
                    try await transaction.query("""
                        INSERT INTO linkage_current
                        SELECT \(dataset.dataset), k, count(*), min(e) FILTER (WHERE e[1] IS NOT NULL) FROM (
                            SELECT \(unescaped: dataset.keys) AS k, \(unescaped: dataset.encoding) AS e FROM \(unescaped: dataset.view) d
                            WHERE d."_extract" = ANY(\(extracts))) s
                        GROUP BY k
                        """)
                }
            }
        }
        let hadNodes = try await count("SELECT count(*) FROM (SELECT 1 FROM linkage_nodes WHERE agreement_id = \(agreementID) LIMIT 1) s") > 0
        guard hadNodes else {
            // A first run (or a rebuild): every tuple is new, nothing is gone or touched.
            try await readTuples(asNewNodes: true)
            figures.newNodes = try await count("SELECT count(*) FROM linkage_work")
            try await transaction.query("ANALYZE linkage_work")
            return
        }
        let changedNames = changed.map(\.dataset.dataset)
        try await transaction.query("""
            CREATE TEMP TABLE linkage_current (dataset text NOT NULL, keys text[] NOT NULL, records bigint NOT NULL, encoding text[]) ON COMMIT DROP
            """)
        try await transaction.query("CREATE TEMP TABLE linkage_touched (person bigint PRIMARY KEY) ON COMMIT DROP")
        try await readTuples(asNewNodes: false)
        try await transaction.query("ANALYZE linkage_current")
        figures.removedNodes = try await count("""
            WITH gone AS (
                DELETE FROM linkage_nodes n WHERE n.agreement_id = \(agreementID) AND n.dataset = ANY(\(changedNames))
                AND NOT EXISTS (SELECT 1 FROM linkage_current c WHERE c.dataset = n.dataset AND c.keys = n.keys)
                RETURNING person),
            noted AS (INSERT INTO linkage_touched SELECT DISTINCT person FROM gone WHERE person IS NOT NULL ON CONFLICT DO NOTHING)
            SELECT count(*) FROM gone
            """)
        try await transaction.query("""
            UPDATE linkage_nodes n SET records = c.records FROM linkage_current c
            WHERE n.agreement_id = \(agreementID) AND c.dataset = n.dataset AND c.keys = n.keys AND n.records <> c.records
            """)
        try await transaction.query("""
            INSERT INTO linkage_work
            SELECT nextval(\(sequence)::regclass), c.dataset, c.keys, c.records, NULL, NULL, true, c.encoding
            FROM linkage_current c
            WHERE NOT EXISTS (SELECT 1 FROM linkage_nodes n WHERE n.agreement_id = \(agreementID) AND n.dataset = c.dataset AND n.keys = c.keys)
            """)
        figures.newNodes = try await count("SELECT count(*) FROM linkage_work")
        if figures.newNodes > 0 {
            // Persons sharing any key value with a new tuple, in one pass over the nodes.
            let spaces = plan.valueSpaces
            // Keys are unnested in the select list (a ProjectSet), not by a lateral join: with
            // nested loops off, a lateral join can drag the join after it into one too.
            try await transaction.query("""
                CREATE TEMP TABLE linkage_new_values ON COMMIT DROP AS
                SELECT DISTINCT (\(spaces)::int[])[u.i] AS space, u.value
                FROM (SELECT unnest(w.keys) AS value, generate_subscripts(w.keys, 1) AS i FROM linkage_work w) u WHERE u.value IS NOT NULL
                """)
            try await transaction.query("ANALYZE linkage_new_values")
            try await transaction.query("""
                INSERT INTO linkage_touched
                SELECT DISTINCT u.person
                FROM (SELECT n.person, unnest(n.keys) AS value, generate_subscripts(n.keys, 1) AS i FROM linkage_nodes n
                      WHERE n.agreement_id = \(agreementID)) u
                JOIN linkage_new_values v ON v.value = u.value AND v.space = (\(spaces)::int[])[u.i]
                ON CONFLICT DO NOTHING
                """)
            if plan.fuzzy != nil {
                // A node sharing a blocking token with a new one may be its fuzzy match: its person
                // is clustered again with it, so the fuzzy pass sees both (docs/pprl.md, section 5).
                try await transaction.query("""
                    INSERT INTO linkage_touched
                    SELECT DISTINCT u.person
                    FROM (SELECT n.person, unnest(n.encoding[2:]) AS token, generate_subscripts(n.encoding[2:], 1) AS i FROM linkage_nodes n
                          WHERE n.agreement_id = \(agreementID) AND n.encoding IS NOT NULL) u
                    JOIN (SELECT DISTINCT unnest(w.encoding[2:]) AS token, generate_subscripts(w.encoding[2:], 1) AS i FROM linkage_work w
                          WHERE w.encoding IS NOT NULL) b ON b.token = u.token AND b.i = u.i
                    WHERE u.person IS NOT NULL
                    ON CONFLICT DO NOTHING
                    """)
            }
        }
        // The touched persons are few on a nightly run: their nodes are found by index.
        try await transaction.query("SET LOCAL enable_nestloop = on")
        try await transaction.query("""
            INSERT INTO linkage_work SELECT n.node, n.dataset, n.keys, n.records, n.person, n.evidence, false, n.encoding
            FROM linkage_nodes n JOIN linkage_touched t ON t.person = n.person WHERE n.agreement_id = \(agreementID)
            """)
        try await transaction.query("SET LOCAL enable_nestloop = off")
        try await transaction.query("ANALYZE linkage_work")
    }

    /// Clusters the nodes of `linkage_work`, gives the clusters their person numbers, stores the
    /// new nodes and updates the others that changed.
    mutating func cluster() async throws {
        var nodes: [Int64] = []
        var previousPersons: [Int64] = []
        var previousEvidence: [Int8] = []
        let passIndex = Dictionary(uniqueKeysWithValues: (0..<passCount).map { (passKey($0), Int8($0)) })
        // Read in the table's order (new nodes were written in node order) and sorted here if
        // need be: cheaper than the database sorting millions of rows on disk.
        var sorted = true
        for try await (node, person, evidence) in try await transaction.query("""
            SELECT node, coalesce(person, 0), evidence FROM linkage_work
            """).decode((Int64, Int64, String?).self) {
            if let last = nodes.last, last > node { sorted = false }
            nodes.append(node)
            previousPersons.append(person)
            previousEvidence.append(evidence.flatMap { passIndex[$0] } ?? -1)
        }
        figures.clusteredNodes = nodes.count
        guard !nodes.isEmpty else { return }
        if !sorted {
            let order = nodes.indices.sorted { nodes[$0] < nodes[$1] }
            nodes = order.map { nodes[$0] }
            previousPersons = order.map { previousPersons[$0] }
            previousEvidence = order.map { previousEvidence[$0] }
        }
        // A first run numbers its nodes without gaps: a node's index is then its offset.
        let first = nodes[0]
        let contiguous = nodes[nodes.count - 1] - first + 1 == nodes.count
        func index(of node: Int64) -> Int32 {
            if contiguous { return Int32(node - first) }
            var (low, high) = (0, nodes.count)
            while low < high {
                let middle = (low + high) / 2
                if nodes[middle] < node { low = middle + 1 } else { high = middle }
            }
            return Int32(low)
        }
        var uniqueValues: [[Int32]] = []
        for key in plan.uniqueKeys {
            // Each distinct value gets a number (0 is "none"), grouped by hashing rather than sorted.
            var values = Array(repeating: Int32(0), count: nodes.count)
            var number: Int32 = 0
            for try await group in try await transaction.query("""
                SELECT array_agg(node) FROM linkage_work WHERE keys[\(key + 1)] IS NOT NULL GROUP BY keys[\(key + 1)]
                """).decode([Int64].self) {
                number += 1
                for node in group { values[Int(index(of: node))] = number }
            }
            uniqueValues.append(values)
        }
        var clustering = PersonClustering(nodeCount: nodes.count, uniqueValues: uniqueValues, previousPersons: previousPersons, passCount: passCount)
        for (passNumber, pass) in plan.passes.enumerated() {
            clustering.beginPass(passNumber)
            let column = pass.column + 1
            let groups = if pass.comparedWith.isEmpty {
                "SELECT array_agg(node) FROM linkage_work WHERE keys[\(column)] IS NOT NULL GROUP BY keys[\(column)] HAVING count(*) > 1"
            } else {
                // A key hashed as another links a node's value of it to other nodes' values of
                // that other key (a swapped date of birth to real ones), not to itself again.
                """
                SELECT array_agg(DISTINCT node) FROM (
                    SELECT node, keys[\(column)] AS value, true AS own FROM linkage_work WHERE keys[\(column)] IS NOT NULL
                    \(pass.comparedWith.map { "UNION ALL SELECT node, keys[\($0 + 1)], false FROM linkage_work WHERE keys[\($0 + 1)] IS NOT NULL" }.joined(separator: "\n"))
                ) s GROUP BY value HAVING bool_or(own) AND bool_or(NOT own) AND count(DISTINCT node) > 1
                """
            }
            for try await group in try await transaction.query(PostgresQuery(unsafeSQL: groups)).decode([Int64].self) {
                clustering.link(group: group.map(index(of:)).sorted())
            }
        }
        if let fuzzy = plan.fuzzy {
            try await fuzzyPass(fuzzy, clustering: &clustering, nodes: nodes, index: index(of:))
        }
        let roots = clustering.roots()
        let flaggedRoots = clustering.flaggedRoots()
        let identities = PersonIdentities(roots: roots, previousPersons: previousPersons, previousEvidence: previousEvidence,
                                          joins: clustering.joinsOfPreviousPersons, nextPerson: nextPerson)
        nextPerson = identities.nextPerson
        for (conflict, count) in clustering.conflicts {
            figures.conflicts[plan.keys[conflict.uniqueKey], default: 0] += count
        }
        for (pass, count) in clustering.ambiguousValues.enumerated() where count > 0 {
            figures.ambiguousValues[passKey(pass)] = count
        }
        for event in identities.events {
            let key = self.key(causing: event) ?? "none"
            switch event.kind {
            case .merge: figures.mergesByKey[key, default: 0] += 1
            case .split: figures.splitsByKey[key, default: 0] += 1
            }
        }
        figures.merges = figures.mergesByKey.values.reduce(0, +)
        figures.splits = figures.splitsByKey.values.reduce(0, +)
        result = Result(nodes: nodes, persons: identities.persons, evidence: clustering.evidence,
                        flagged: roots.map { flaggedRoots.contains($0) }, events: identities.events)
    }

    /// Stores what `cluster()` found.
    func store() async throws {
        guard let result else { return }
        try await writeBack(nodes: result.nodes, persons: result.persons, evidence: result.evidence, flagged: result.flagged)
        try await record(events: result.events)
    }

    /// Copies the results into a temporary table, stores the new nodes with their persons, and
    /// updates the other nodes whose person, evidence or flag changed.
    /// The agreement and a dataset, as `$1` and `$2` of `HubStore.sharedUnderAgreement`.
    private func binds(_ dataset: String) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(agreementID)
        binds.append(dataset)
        return binds
    }

    private func writeBack(nodes: [Int64], persons: [Int64], evidence: [Int8], flagged: [Bool]) async throws {
        try await transaction.query("""
            CREATE TEMP TABLE linkage_result (node bigint NOT NULL, person bigint NOT NULL, evidence text, flagged boolean NOT NULL) ON COMMIT DROP
            """)
        try await transaction.copy(into: "linkage_result", columns: ["node", "person", "evidence", "flagged"]) { writer in
            var buffer = ByteBuffer()
            for index in nodes.indices {
                let key = evidence[index] >= 0 ? passKey(Int(evidence[index])) : "\\N"
                // Keys are agreement match key names (`^[a-z][a-z0-9_]*$`): nothing to escape.
                buffer.writeString("\(nodes[index])\t\(persons[index])\t\(key)\t\(flagged[index] ? "t" : "f")\n")
                if buffer.readableBytes >= 1 << 20 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
        try await transaction.query("""
            INSERT INTO linkage_nodes (agreement_id, node, dataset, keys, records, person, evidence, flagged, encoding)
            SELECT \(agreementID), w.node, w.dataset, w.keys, w.records, r.person, r.evidence, r.flagged, w.encoding
            FROM linkage_work w JOIN linkage_result r ON r.node = w.node WHERE w.new ORDER BY w.node
            """)
        try await transaction.query("""
            UPDATE linkage_nodes n SET person = r.person, evidence = r.evidence, flagged = r.flagged
            FROM linkage_work w JOIN linkage_result r ON r.node = w.node
            WHERE NOT w.new AND n.agreement_id = \(agreementID) AND n.node = w.node
            AND (n.person IS DISTINCT FROM r.person OR n.evidence IS DISTINCT FROM r.evidence OR n.flagged <> r.flagged)
            """)
    }

    /// The key of the pass that caused a merge or split, if one did.
    private func key(causing event: PersonIdentities.Event) -> String? {
        event.pass >= 0 ? passKey(event.pass) : nil
    }

    /// The deterministic passes, then the fuzzy pass when the plan has one.
    private var passCount: Int { plan.passes.count + (plan.fuzzy == nil ? 0 : 1) }

    /// The evidence a pass stores: its key, or `fuzzy` for the pass after the deterministic ones.
    private func passKey(_ pass: Int) -> String {
        pass < plan.passes.count ? plan.passes[pass].key : LinkagePlan.fuzzyEvidence
    }

    private func record(events: [PersonIdentities.Event]) async throws {
        guard !events.isEmpty else { return }
        let keys = events.map { key(causing: $0) ?? "" }
        try await transaction.query("""
            INSERT INTO linkage_events (agreement_id, run, kind, person, other, key)
            SELECT \(agreementID), \(runNumber), kind, person, other, nullif(key, '')
            FROM unnest(\(events.map(\.kind.rawValue))::text[], \(events.map(\.person))::bigint[], \(events.map(\.other))::bigint[], \(keys)::text[])
                AS e(kind, person, other, key)
            """)
    }

    /// Records the run on the linkage.
    func finish() async throws {
        let lastRun = String(decoding: try JSONEncoder().encode(figures), as: UTF8.self)
        try await transaction.query("""
            UPDATE linkages SET next_person = \(nextPerson), runs = \(runNumber), last_run = \(lastRun), updated_at = now()
            WHERE agreement_id = \(agreementID)
            """)
    }

    private func count(_ query: PostgresQuery) async throws -> Int {
        try await transaction.query(query).collect().first?.decode(Int.self) ?? 0
    }
}
