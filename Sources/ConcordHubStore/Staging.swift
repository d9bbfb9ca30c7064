import ConcordCore
import Foundation
import PostgresNIO

/// How an extract combines with the agency's earlier ones.
public enum ExtractMode: String, Sendable, Hashable, CaseIterable {
    /// Replaces the agency's previously published extract of the dataset.
    case snapshot
    /// Adds to what the agency published before.
    case append
}

/// `staged` (loaded, invisible) → `published` (visible in `current_<dataset>`) → `superseded`
/// (replaced by a later snapshot); or `staged` → `discarded`. Rows of superseded and discarded
/// extracts are deleted.
public enum ExtractState: String, Sendable, Hashable, CaseIterable {
    case staged, published, superseded, discarded
    /// Its rows were deleted because no agreement holds them any longer (docs/retention.md).
    case purged
}

/// A loaded extract.
public struct ExtractRecord: Sendable, Hashable {
    public var id: Int64
    public var uploadID: UUID
    public var agencyID: String
    public var dataset: String
    public var mode: ExtractMode
    public var state: ExtractState
    public var rows: Int64
}

/// What `publish` did.
public struct PublishedExtract: Sendable, Hashable {
    public var extract: ExtractRecord
    /// The agency's earlier extracts this snapshot replaced (their rows are gone).
    public var superseded: [Int64]
    /// The `seq` of the audit entry that records the publication.
    public var auditSeq: Int64
}

/// Feeds rows into a staging `COPY`: hand it already validated rows, in the column order given to
/// `HubStore.stage`. It encodes them in PostgreSQL's COPY text format straight into one buffer,
/// sent a megabyte at a time: a row of a `CSVRecordBatch` costs no allocation and one buffer
/// call. An empty cell is stored as NULL. Use it only inside the `stage` closure it is given to.
public final class StagingWriter {
    private let writer: PostgresCopyFromWriter
    private let columnCount: Int
    /// `<extract id>\t`, the first cell of every row.
    private let rowPrefix: [UInt8]
    private var buffer: ByteBuffer
    /// Rows written so far.
    public private(set) var rows: Int64 = 0

    private static let flushThreshold = 1 << 20

    init(writer: PostgresCopyFromWriter, extractID: Int64, columnCount: Int) {
        self.writer = writer
        self.columnCount = columnCount
        rowPrefix = Array("\(extractID)\t".utf8)
        buffer = ByteBuffer()
        buffer.reserveCapacity(Self.flushThreshold + 64 * 1024)
    }

    /// Appends every record of a parsed CSV batch (each with exactly the extract's columns): the
    /// fast path.
    public func append(_ batch: CSVRecordBatch) async throws {
        try rowPrefix.withUnsafeBufferPointer { prefix in
            try batch.forEachRecord { record in
                guard record.count == columnCount else { throw HubStoreError.rowShape(row: Int(rows) + 1, cells: record.count, columns: columnCount) }
                Self.appendRow(prefix: prefix, cellCount: record.count, cell: { record[$0] }, to: &buffer)
                rows += 1
            }
        }
        try await flush(force: false)
    }

    /// Appends one row of cells (a convenience: batches are faster).
    public func append(row: [String]) async throws {
        try await append(CSVRecordBatch(records: [row]))
    }

    func flush(force: Bool) async throws {
        guard buffer.readableBytes >= (force ? 1 : Self.flushThreshold) else { return }
        try await writer.write(buffer)
        buffer.clear()
    }

    /// One row in COPY text format: `prefix`, the cells separated by tabs, a newline. Written with
    /// one reservation of the worst case (every byte escaped), then plain memory copies.
    static func appendRow(prefix: UnsafeBufferPointer<UInt8>, cellCount: Int, cell: (Int) -> UnsafeBufferPointer<UInt8>,
                          to buffer: inout ByteBuffer) {
        var worstCase = prefix.count + 3 * cellCount + 1
        for index in 0..<cellCount { worstCase += 2 * cell(index).count }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: worstCase) { output in
            guard let base = output.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
            var at = copy(prefix, to: base)
            for index in 0..<cellCount {
                if index > 0 {
                    base[at] = UInt8(ascii: "\t")
                    at += 1
                }
                at += encodeCell(cell(index), to: base + at)
            }
            base[at] = UInt8(ascii: "\n")
            return at + 1
        }
    }

    /// One cell: empty is `\N` (NULL); backslash, tab, newline and carriage return are escaped
    /// (`\\`, `\t`, `\n`, `\r`). Most cells hold none of them, which memchr (vectorised in
    /// libc) finds out faster than a byte loop; only those that do take the loop. Returns the
    /// bytes written.
    private static func encodeCell(_ cell: UnsafeBufferPointer<UInt8>, to output: UnsafeMutablePointer<UInt8>) -> Int {
        guard let cellBase = cell.baseAddress, !cell.isEmpty else {
            output[0] = UInt8(ascii: "\\")
            output[1] = UInt8(ascii: "N")
            return 2
        }
        let needsEscaping = [UInt8(ascii: "\\"), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains { special in
            memchr(cellBase, Int32(special), cell.count) != nil
        }
        guard needsEscaping else { return copy(cell, to: output) }
        var at = 0
        for byte in cell {
            let escaped: UInt8
            switch byte {
            case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
            case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
            case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
            default:
                output[at] = byte
                at += 1
                continue
            }
            output[at] = UInt8(ascii: "\\")
            output[at + 1] = escaped
            at += 2
        }
        return at
    }

    private static func copy(_ bytes: UnsafeBufferPointer<UInt8>, to output: UnsafeMutablePointer<UInt8>) -> Int {
        if let source = bytes.baseAddress { output.update(from: source, count: bytes.count) }
        return bytes.count
    }
}

extension HubStore {
    /// Loads an upload's rows into `table` as a new `staged` extract, with `COPY`, in one
    /// transaction: afterwards the rows are stored but invisible through `current_<dataset>`
    /// until `publish`. `columns` is the extract's header (match key and field names, in the
    /// order `rows` writes cells); columns of the table it does not name stay NULL. The upload
    /// must be `receiving`, of `agencyID` and of the table's dataset.
    /// `holds` are the retention of each agreement the extract is shared under, counted from
    /// today (docs/retention.md); `retainUntil` is the latest of them.
    public func stage(uploadID: UUID, agencyID: String, dataset table: DatasetTable, mode: ExtractMode, retainUntil: CivilDate?,
                      holds: [RetentionHold] = [], columns: [String], rows: (StagingWriter) async throws -> Void) async throws -> ExtractRecord {
        var sqlColumns = ["_extract"]
        for name in columns {
            guard let column = table.column(named: name) else { throw HubStoreError.unknownColumn(dataset: table.dataset, column: name) }
            guard !sqlColumns.contains(column.sqlName) else { throw HubStoreError.columnNameClash(dataset: table.dataset, column: column.sqlName, names: [name, name]) }
            sqlColumns.append(column.sqlName)
        }
        let retain = retainUntil?.description
        return try await withTransaction { transaction in
            let upload = try await lockUpload(uploadID, expecting: .receiving, in: transaction)
            guard upload.agencyID == agencyID, upload.dataset == table.dataset else {
                throw HubStoreError.uploadState(upload: uploadID.uuidString.lowercased(), state: "an upload of \(upload.agencyID)'s \(upload.dataset)",
                                                expected: "\(agencyID)'s \(table.dataset)")
            }
            let inserted = try await transaction.query("""
                INSERT INTO extracts (upload_id, agency_id, dataset, mode, retain_until)
                VALUES (\(uploadID), \(agencyID), \(table.dataset), \(mode.rawValue), \(retain)::date) RETURNING id
                """).collect()
            guard let extractID = try inserted.first?.decode(Int64.self) else { throw HubStoreError.database(message: "no extract id returned", sqlState: nil) }
            for hold in holds {
                try await transaction.query("""
                    INSERT INTO extract_retention (extract_id, agreement_id, agreement_version, retain_until)
                    VALUES (\(extractID), \(hold.agreementID), \(hold.agreementVersion), \((hold.retainUntil ?? retainUntil)?.description)::date)
                    """)
            }
            var count: Int64 = 0
            // Table and column names are validated identifiers (DatasetTable); copyFrom quotes them.
            try await transaction.copy(into: table.tableName, columns: sqlColumns) { copyWriter in
                let writer = StagingWriter(writer: copyWriter, extractID: extractID, columnCount: columns.count)
                try await rows(writer)
                try await writer.flush(force: true)
                count = writer.rows
            }
            try await transaction.query("UPDATE extracts SET rows = \(count) WHERE id = \(extractID)")
            return ExtractRecord(id: extractID, uploadID: uploadID, agencyID: agencyID, dataset: table.dataset, mode: mode, state: .staged, rows: count)
        }
    }

    /// Makes a staged extract visible, in one transaction: a snapshot supersedes the agency's
    /// published extract of the dataset (an append adds to it), the upload becomes `complete`
    /// with `receipt`, and `auditEntry` (e.g. `upload.accepted` with the row count) is appended.
    /// The superseded extracts' rows are then deleted.
    public func publish(extractID: Int64, receipt: String, auditEntry: AuditEntry) async throws -> PublishedExtract {
        let published = try await withTransaction { transaction in
            let extract = try await lockExtract(extractID, expecting: .staged, in: transaction)
            let upload = try await lockUpload(extract.uploadID, expecting: .receiving, in: transaction)
            // Publishes of one agency wait for each other, so two snapshots cannot both stay published.
            try await transaction.query("SELECT 1 FROM agencies WHERE id = \(extract.agencyID) FOR NO KEY UPDATE")
            var superseded: [Int64] = []
            if extract.mode == .snapshot {
                for try await id in try await transaction.query("""
                    UPDATE extracts SET state = 'superseded', ended_at = now()
                    WHERE agency_id = \(extract.agencyID) AND dataset = \(extract.dataset) AND state = 'published' RETURNING id
                    """).decode(Int64.self) {
                    superseded.append(id)
                }
            }
            try await transaction.query("UPDATE extracts SET state = 'published', published_at = now() WHERE id = \(extractID)")
            _ = try await finish(upload, state: .complete, receipt: receipt, problem: nil, in: transaction)
            let entry = try await transaction.audit(auditEntry)
            var record = extract
            record.state = .published
            return PublishedExtract(extract: record, superseded: superseded, auditSeq: entry.seq)
        }
        if !published.superseded.isEmpty {
            try await deleteRows(dataset: published.extract.dataset, extracts: published.superseded)
        }
        return published
    }

    /// Discards a staged extract: its rows are deleted and it becomes `discarded`, audited as
    /// `extract.discard` with `reason`. Its upload stays `receiving`, so it can be completed again.
    public func discardStaged(extractID: Int64, reason: String, by actor: AuditActor) async throws {
        try await withTransaction { transaction in
            let extract = try await lockExtract(extractID, expecting: .staged, in: transaction)
            try await transaction.query("UPDATE extracts SET state = 'discarded', ended_at = now() WHERE id = \(extractID)")
            try await deleteRows(dataset: extract.dataset, extracts: [extractID], in: transaction)
            try await transaction.audit(AuditEntry(actor: actor, action: "extract.discard", subject: String(extractID), details: .object([
                "upload": .string(extract.uploadID.uuidString.lowercased()), "agency": .string(extract.agencyID),
                "dataset": .string(extract.dataset), "rows": .integer(Int(extract.rows)), "reason": .string(reason),
            ])))
        }
    }

    /// At start-up, before serving: discards every extract staged before `cutoff` and never
    /// published (a crash or restart between staging and publishing), and deletes any rows of
    /// superseded or discarded extracts a crash left behind. Returns the discarded extracts' ids.
    /// With several hubs on one database, pass a cutoff older than any staging still under way.
    @discardableResult
    public func recoverInterruptedStaging(stagedBefore cutoff: Date = Date()) async throws -> [Int64] {
        let staged = try await rows("SELECT id FROM extracts WHERE state = 'staged' AND staged_at < \(cutoff) ORDER BY id")
            .map { try $0.decode(Int64.self) }
        var discarded: [Int64] = []
        for id in staged {
            do {
                try await discardStaged(extractID: id, reason: "interrupted between staging and publishing", by: .hub)
                discarded.append(id)
            } catch HubStoreError.extractState {
                // Published (or discarded) by another hub since the list was read: not ours to touch.
            }
        }
        let leftovers = try await rows("SELECT dataset, array_agg(id) FROM extracts WHERE state IN ('superseded', 'discarded') GROUP BY dataset")
            .map { try $0.decode((String, [Int64]).self) }
        for (dataset, ids) in leftovers {
            try await deleteRows(dataset: dataset, extracts: ids)
        }
        return discarded
    }

    /// The extract with this id.
    public func extract(id: Int64) async throws -> ExtractRecord? {
        try await rows("SELECT \(unescaped: ExtractRecord.columns) FROM extracts WHERE id = \(id)").first.map(ExtractRecord.init(row:))
    }

    private func lockExtract(_ id: Int64, expecting expected: ExtractState, in transaction: HubTransaction) async throws -> ExtractRecord {
        let rows = try await transaction.query("SELECT \(unescaped: ExtractRecord.columns) FROM extracts WHERE id = \(id) FOR UPDATE").collect()
        guard let row = rows.first else { throw HubStoreError.unknownExtract(id) }
        let record = try ExtractRecord(row: row)
        guard record.state == expected else { throw HubStoreError.extractState(extract: id, state: record.state.rawValue, expected: expected.rawValue) }
        return record
    }

    /// Deletes the rows of `extracts` from the dataset's table, in a transaction of its own.
    private func deleteRows(dataset: String, extracts: [Int64]) async throws {
        try await withTransaction { try await deleteRows(dataset: dataset, extracts: extracts, in: $0) }
    }

    private func deleteRows(dataset: String, extracts: [Int64], in transaction: HubTransaction) async throws {
        // The name comes from the extracts table, which only stage() fills from a DatasetTable;
        // it is validated again before it becomes part of a statement.
        try DatasetTable.validateDatasetName(dataset)
        try await transaction.query("DELETE FROM \(unescaped: quoted("ds_" + dataset)) WHERE \"_extract\" = ANY(\(extracts))")
    }
}

extension ExtractRecord {
    static let columns = "id, upload_id, agency_id, dataset, mode, state, rows"

    init(row: PostgresRow) throws {
        let (id, uploadID, agencyID, dataset, mode, state, rows) = try row.decode((Int64, UUID, String, String, String, String, Int64).self)
        guard let parsedMode = ExtractMode(rawValue: mode), let parsedState = ExtractState(rawValue: state) else {
            throw HubStoreError.database(message: "extract \(id) has unknown mode \(mode) or state \(state)", sqlState: nil)
        }
        self.init(id: id, uploadID: uploadID, agencyID: agencyID, dataset: dataset, mode: parsedMode, state: parsedState, rows: rows)
    }
}
