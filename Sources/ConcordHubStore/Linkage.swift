import ConcordCore
import Foundation
import NIOCore
import PostgresNIO

/// How a dataset's published rows are read as linkage nodes: the agreement's match keys of a
/// row of the view `current_<dataset>` aliased `d`, as nodes store them. Linkage and outputs use
/// the same expression, so a row finds its node (and person) by equality with `linkage_nodes.keys`.
public struct LinkedDataset: Sendable, Hashable {
    public var dataset: String
    /// `current_<dataset>`, double-quoted.
    public var view: String
    /// `ARRAY[d."mk2", NULL::text, …]::text[]` (`NULL` for keys the table lacks), built only from
    /// validated identifiers.
    public var keys: String
}

extension HubStore {
    /// The agreement's linked datasets that have a table, with their key arrays.
    public func linkedDatasets(plan: LinkagePlan) async throws -> [LinkedDataset] {
        try await withTransaction { try await linkedDatasets(plan: plan, in: $0) }
    }

    func linkedDatasets(plan: LinkagePlan, in transaction: HubTransaction) async throws -> [LinkedDataset] {
        var result: [LinkedDataset] = []
        for dataset in plan.datasets {
            try DatasetTable.validateDatasetName(dataset.name)
            let table = "ds_" + dataset.name
            var columns: Set<String> = []
            for try await name in try await transaction.query("""
                SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table)
                """).decode(String.self) {
                columns.insert(name)
            }
            guard !columns.isEmpty else { continue }
            let cells = plan.keys.enumerated().map { index, key in
                let column = DatasetTable.sqlName(for: key)
                return dataset.carries[index] && columns.contains(column) && DatasetTable.isValidIdentifier(column) ? "d.\(quoted(column))" : "NULL::text"
            }
            result.append(LinkedDataset(dataset: dataset.name, view: quoted("current_" + dataset.name),
                                        keys: "ARRAY[\(cells.joined(separator: ", "))]::text[]"))
        }
        return result
    }

    /// Brings the agreement's linkage up to date with the published extracts, in one transaction
    /// (`docs/linkage.md`, section 3): key tuples that appeared or disappeared since the last run
    /// are found with set-based SQL, only they and the persons they touch are clustered again, and
    /// persons keep their numbers while the evidence holds. Audited as `linkage.update` with the
    /// run's figures. Returns the linkage report.
    @discardableResult
    public func updateLinkage(agreement: Agreement, plan: LinkagePlan, actor: AuditActor) async throws -> LinkageReport {
        let clock = ContinuousClock()
        return try await withLinkageTransaction { transaction in
            try await transaction.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.keyClass), \(AdvisoryLock.linkage))")
            // Timed from here: waiting for another run is not this run's work.
            let started = clock.now
            var run = try await LinkageRun.begin(agreement: agreement, plan: plan, in: transaction)
            var phaseStarted = clock.now
            func endPhase(_ name: String) {
                run.figures.phases[name] = Int((clock.now - phaseStarted) / .milliseconds(1))
                phaseStarted = clock.now
            }
            try await run.synchroniseNodes(datasets: linkedDatasets(plan: plan, in: transaction))
            endPhase("nodes")
            try await run.cluster()
            endPhase("clustering")
            try await run.store()
            endPhase("storing")
            run.figures.milliseconds = Int((clock.now - started) / .milliseconds(1))
            try await run.finish()
            let report = try await linkageReport(agreementID: agreement.id, agreementVersion: agreement.version, plan: plan, run: run.figures, in: transaction)
            try await transaction.audit(AuditEntry(actor: actor, action: "linkage.update", subject: "\(agreement.id).v\(agreement.version)",
                                                   details: report.auditDetails))
            return report
        }
    }

    /// Forgets the agreement's persons so that the next run links everything afresh (after a
    /// restore, or to measure a full linkage). Person numbers are never reused: persons found
    /// afterwards get new ones, so outputs made before and after do not share person ids.
    /// Audited as `linkage.reset`.
    public func resetLinkage(agreementID: String, actor: AuditActor) async throws {
        try await withTransaction { transaction in
            try await transaction.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.keyClass), \(AdvisoryLock.linkage))")
            let nodes = try await transaction.query("""
                WITH gone AS (DELETE FROM linkage_nodes WHERE agreement_id = \(agreementID) RETURNING 1) SELECT count(*) FROM gone
                """).collect().first?.decode(Int.self) ?? 0
            try await transaction.query("DELETE FROM linkage_datasets WHERE agreement_id = \(agreementID)")
            try await transaction.audit(AuditEntry(actor: actor, action: "linkage.reset", subject: agreementID, details: .object(["nodes": .integer(nodes)])))
        }
    }

    /// Runs `body` in a transaction in which PostgreSQL joins by hashing, never by nested loops:
    /// for reading linked rows (`LinkedDataset`) and for linkage itself. Every join there is
    /// between large sets, and right after a bulk change the statistics of `linkage_nodes` can
    /// be too old to say so (only the table's owner may ANALYZE it); one nested loop would compare
    /// every row with every node.
    public func withLinkageTransaction<T: Sendable>(_ body: (HubTransaction) async throws -> T) async throws -> T {
        try await withTransaction { transaction in
            try await transaction.query("SET LOCAL enable_nestloop = off")
            return try await body(transaction)
        }
    }

    private func linkageReport(agreementID: String, agreementVersion: Int, plan: LinkagePlan, run: LinkageReport.RunFigures,
                               in transaction: HubTransaction) async throws -> LinkageReport {
        try await transaction.query("""
            CREATE TEMP TABLE linkage_persons ON COMMIT DROP AS
            SELECT person, sum(records)::bigint AS records, array_agg(DISTINCT dataset) AS datasets
            FROM linkage_nodes WHERE agreement_id = \(agreementID) GROUP BY person
            """)
        var records: [String: Int] = [:], linked: [String: Int] = [:]
        for try await (dataset, total, linkedRecords) in try await transaction.query("""
            SELECT n.dataset, sum(n.records)::bigint, coalesce(sum(n.records) FILTER (WHERE p.records > 1), 0)::bigint
            FROM linkage_nodes n JOIN linkage_persons p ON p.person = n.person
            WHERE n.agreement_id = \(agreementID) GROUP BY n.dataset
            """).decode((String, Int, Int).self) {
            records[dataset] = total
            linked[dataset] = linkedRecords
        }
        let allRecords = records.values.reduce(0, +)
        func rate(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }
        var sizes: [String: Int] = [:]
        var persons = 0
        for try await (size, count) in try await transaction.query("SELECT records, count(*)::bigint FROM linkage_persons GROUP BY records")
            .decode((Int, Int).self) {
            sizes[LinkageReport.sizeBucket(records: size), default: 0] += count
            persons += count
        }
        var byKey: [String: Int] = [:]
        for try await (key, count) in try await transaction.query("""
            SELECT evidence, sum(records)::bigint FROM linkage_nodes WHERE agreement_id = \(agreementID) AND evidence IS NOT NULL GROUP BY evidence
            """).decode((String, Int).self) {
            byKey[key] = count
        }
        var pairs: [LinkageReport.PairFigures] = []
        for try await (dataset, other, count) in try await transaction.query("""
            SELECT n.dataset, o.dataset, sum(n.records)::bigint
            FROM linkage_nodes n JOIN (SELECT person, unnest(datasets) AS dataset FROM linkage_persons) o ON o.person = n.person
            WHERE n.agreement_id = \(agreementID) AND o.dataset <> n.dataset GROUP BY 1, 2 ORDER BY 1, 2
            """).decode((String, String, Int).self) {
            pairs.append(.init(dataset: dataset, other: other, records: count, rate: rate(count, records[dataset] ?? 0)))
        }
        let flagged = try await transaction.query("""
            SELECT count(DISTINCT person)::bigint FROM linkage_nodes WHERE agreement_id = \(agreementID) AND flagged
            """).collect().first?.decode(Int.self) ?? 0
        try await transaction.query("DROP TABLE linkage_persons")
        let datasetNames = plan.datasets.map(\.name).filter { records[$0] != nil }
        return LinkageReport(
            agreement: agreementID, agreementVersion: agreementVersion, keys: plan.keys,
            datasets: datasetNames.map { .init(dataset: $0, records: records[$0]!, linkedRecords: linked[$0] ?? 0, matchRate: rate(linked[$0] ?? 0, records[$0]!)) },
            linkedBy: plan.keys.map { .init(key: $0, records: byKey[$0] ?? 0, rate: rate(byKey[$0] ?? 0, allRecords)) },
            pairs: pairs, persons: persons,
            clusterSizes: LinkageReport.sizeBuckets.map { .init(size: $0, persons: sizes[$0] ?? 0) },
            flaggedPersons: flagged, run: run)
    }
}

extension LinkageReport {
    /// The figures the audit entry keeps (integers only: the audit log's canonical JSON has no
    /// fractions; rates follow from the counts).
    var auditDetails: CanonicalJSON {
        .object([
            "run": .integer(run.run),
            "linkage_key_id": .string(run.linkageKeyID ?? ""),
            "datasets_on_other_linkage_keys": .object((run.datasetsOnOtherLinkageKeys ?? [:]).mapValues(CanonicalJSON.string)),
            "records": .object(Dictionary(uniqueKeysWithValues: datasets.map { ($0.dataset, CanonicalJSON.integer($0.records)) })),
            "linked_records": .object(Dictionary(uniqueKeysWithValues: datasets.map { ($0.dataset, CanonicalJSON.integer($0.linkedRecords)) })),
            "linked_by": .object(Dictionary(uniqueKeysWithValues: linkedBy.map { ($0.key, CanonicalJSON.integer($0.records)) })),
            "persons": .integer(persons),
            "flagged_persons": .integer(flaggedPersons),
            "new_nodes": .integer(run.newNodes), "removed_nodes": .integer(run.removedNodes), "clustered_nodes": .integer(run.clusteredNodes),
            "merges": .integer(run.merges), "splits": .integer(run.splits),
            "merges_by_key": .object(run.mergesByKey.mapValues { .integer($0) }), "splits_by_key": .object(run.splitsByKey.mapValues { .integer($0) }),
            "conflicts": .object(run.conflicts.mapValues { .integer($0) }),
            "milliseconds": .integer(run.milliseconds),
        ])
    }
}
