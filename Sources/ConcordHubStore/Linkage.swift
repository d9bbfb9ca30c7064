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
    /// `ARRAY[d."clk", d."clk_b1", …]::text[]`: the row's encoding and blocking tokens, as nodes
    /// store them (`linkage_nodes.encoding`), or `NULL::text[]` when the dataset takes no part in
    /// the fuzzy pass.
    public var encoding: String
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
            var encoding = "NULL::text[]"
            if dataset.encoded, let parameters = plan.fuzzy?.parameters {
                let encodingColumns = parameters.columns.map(DatasetTable.sqlName(for:))
                if encodingColumns.allSatisfy({ columns.contains($0) && DatasetTable.isValidIdentifier($0) }) {
                    encoding = "ARRAY[\(encodingColumns.map { "d.\(quoted($0))" }.joined(separator: ", "))]::text[]"
                }
            }
            result.append(LinkedDataset(dataset: dataset.name, view: quoted("current_" + dataset.name),
                                        keys: "ARRAY[\(cells.joined(separator: ", "))]::text[]", encoding: encoding))
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
    /// every row with every node. Sorts and hashes get `work_mem` enough to group a million key
    /// tuples in memory (PostgreSQL's default of 4 MB spills them to temporary files).
    public func withLinkageTransaction<T: Sendable>(_ body: (HubTransaction) async throws -> T) async throws -> T {
        try await withTransaction { transaction in
            try await transaction.query("SET LOCAL enable_nestloop = off")
            try await transaction.query("SET LOCAL work_mem = '64MB'")
            return try await body(transaction)
        }
    }

    /// The report of the agreement's linkage as it now stands, from one pass over its nodes.
    private func linkageReport(agreementID: String, agreementVersion: Int, plan: LinkagePlan, run: LinkageReport.RunFigures,
                               in transaction: HubTransaction) async throws -> LinkageReport {
        // The fuzzy pass is the last pass: its evidence is counted as a key's.
        var tally = LinkageTally(datasets: plan.datasets.map(\.name), keys: plan.keys + (plan.fuzzy == nil ? [] : [LinkagePlan.fuzzyEvidence]))
        // Datasets and keys as 1-based positions in the plan's lists (0: linked by no key), so no
        // name is decoded per node; and nodes in arrays of up to 65,536, since decoding a row
        // costs far more than its figures (a row per node took seconds for a million nodes).
        for try await (persons, datasets, records, keys, flagged) in try await transaction.query("""
            SELECT array_agg(person), array_agg(array_position(\(tally.datasets), dataset)), array_agg(records),
                   array_agg(coalesce(array_position(\(tally.keys), evidence), 0)), array_agg(flagged)
            FROM linkage_nodes WHERE agreement_id = \(agreementID) GROUP BY node >> 16
            """).decode(([Int64], [Int32], [Int64], [Int32], [Bool]).self) {
            for index in persons.indices {
                tally.add(person: persons[index], dataset: Int(datasets[index]) - 1, records: Int(records[index]),
                          key: keys[index] == 0 ? nil : Int(keys[index]) - 1, flagged: flagged[index])
            }
        }
        return tally.report(agreement: agreementID, agreementVersion: agreementVersion, run: run)
    }
}

extension LinkageReport {
    /// The figures the audit entry keeps (integers only: the audit log's canonical JSON has no
    /// fractions; rates follow from the counts).
    var auditDetails: CanonicalJSON {
        var details: [String: CanonicalJSON] = [
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
        ]
        if let fuzzy = run.fuzzy { details["fuzzy"] = fuzzy.auditDetails }
        return .object(details)
    }
}

extension LinkageReport.FuzzyFigures {
    /// Counts only: scores and the pairs themselves never leave the hub.
    var auditDetails: CanonicalJSON {
        .object([
            "candidates": .integer(candidates), "nodes_read": .integer(nodesRead), "comparisons": .integer(comparisons),
            "links": .integer(links), "review_pairs": .integer(reviewPairs),
            "refused_datasets": .object(refusedDatasets.mapValues { .string($0) }),
        ])
    }
}
