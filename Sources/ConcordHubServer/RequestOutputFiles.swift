import ConcordCore
import ConcordFiles
import ConcordHubStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Requests' outputs, one CSV file each under `<data_dir>/outputs`, named by request id, mode
/// 0600, written atomically (complete or absent) and streamed from the database without holding
/// the output in memory (docs/requests.md, "Outputs").
struct RequestOutputFiles: Sendable {
    let directory: String

    init(directory: String) throws {
        try createDirectory(directory, mode: 0o700)
        self.directory = directory
    }

    func path(_ id: UUID) -> String {
        "\(directory)/\(id.uuidString.lowercased()).csv"
    }

    func remove(_ id: UUID) {
        try? FileManager.default.removeItem(atPath: path(id))
    }

    /// Writes a row-level output: `person_id,dataset,` then every requested field as
    /// `dataset.Field`, one row per record, empty where the record's dataset lacks the field.
    func writeRowLevel(_ request: RequestRecord, store: HubStore, linked: [String: LinkedDataset], personIDs: PersonIDKey) async throws -> RequestOutput {
        let fields = request.request.fields
        let file = try HashingOutputFile(path: path(request.id))
        var csv = CSVWriter(capacity: 1 << 16)
        csv.appendRecord(["person_id", "dataset"] + fields.map(\.description))
        // Records come ordered by person: the id of the last one is reused rather than recomputed.
        var last: (person: Int64, id: String)?
        for dataset in request.request.datasets {
            let own = fields.filter { $0.dataset == dataset }.map(\.field)
            // For each output column, the index of the dataset's value that fills it, or nil.
            var next = 0
            let slots = fields.map { field -> Int? in
                guard field.dataset == dataset else { return nil }
                defer { next += 1 }
                return next
            }
            try await store.forEachRecord(of: request, dataset: dataset, fields: own, linked: linked[dataset]) { person, values in
                if let person {
                    if last?.person != person { last = (person, personIDs.personID(person)) }
                    csv.appendField(last!.id)
                } else {
                    csv.appendEmptyField()
                }
                csv.appendField(dataset)
                for slot in slots {
                    if let slot, let value = values[slot] { csv.appendField(value) } else { csv.appendEmptyField() }
                }
                csv.endRecord()
                file.rows += 1
                if csv.bytes.count >= 1 << 16 { try file.write(csv.takeBytes()) }
            }
        }
        try file.write(csv.takeBytes())
        return try file.commit()
    }

    /// Writes an aggregate output: persons by the requested dimensions with every marginal total,
    /// under the agreement's disclosure control. Columns: each dimension (`*` in a total's row),
    /// `persons` (rounded; empty when suppressed), `suppressed` (`true`/`false`).
    func writeAggregate(_ request: RequestRecord, agreement: Agreement, store: HubStore, linked: [String: LinkedDataset]) async throws -> RequestOutput {
        let counts = try await store.personCounts(of: request, linked: linked)
        let dimensions = request.request.fields.enumerated().map { position, field in
            CountTable.Dimension(name: field.description, categories: Array(Set(counts.map { $0.categories[position] } + (counts.isEmpty ? [""] : []))).sorted())
        }
        var table = CountTable(dimensions: dimensions)
        let positions = dimensions.map { Dictionary(uniqueKeysWithValues: $0.categories.enumerated().map { ($1, $0) }) }
        for (categories, persons) in counts {
            table[categories.enumerated().map { positions[$0][$1]! }] = persons
        }
        // The agreement's lint requires both for aggregate outputs; a row-level agreement's
        // aggregate request still gets the strictest sensible rules rather than none.
        let protected = try DisclosureControl.protect(table, minimumCount: agreement.outputs.minimumCellCount ?? 10,
                                                  roundingBase: agreement.outputs.roundingBase ?? 5)
        let file = try HashingOutputFile(path: path(request.id))
        var csv = CSVWriter()
        csv.appendRecord(dimensions.map(\.name) + ["persons", "suppressed"])
        for row in protected.rows {
            for category in row.categories { csv.appendField(category ?? "*") }
            if let count = row.count { csv.appendField(String(count)) } else { csv.appendEmptyField() }
            csv.appendField(row.count == nil ? "true" : "false")
            csv.endRecord()
            file.rows += 1
        }
        try file.write(csv.takeBytes())
        return try file.commit()
    }

    /// The response streaming an output file in 1 MiB pieces, with its digest and size.
    func response(_ request: RequestRecord, output: RequestOutput) throws -> Response {
        let path = path(request.id)
        let input = try InputFile(path: path)
        guard input.size == Int(output.bytes) else { throw Problem(.gone, "request.output-gone", "the output of this request is no longer at the hub") }
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(request.id.uuidString.lowercased()).csv\""
        headers[Self.sha256Header] = output.sha256.lowercaseHex
        headers[Self.rowsHeader] = String(output.rows)
        return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: Int(output.bytes)) { writer in
            let input = try InputFile(path: path)
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                guard count > 0 else { break }
                try await writer.write(ByteBuffer(bytes: buffer[..<count]))
            }
            try await writer.finish(nil)
        })
    }

    static let sha256Header = HTTPField.Name("Concord-Output-SHA256")!
    static let rowsHeader = HTTPField.Name("Concord-Output-Rows")!
}

/// An output file being written: hashed and counted as it goes, renamed into place on commit.
private final class HashingOutputFile {
    private let file: AtomicOutputFile
    private var hash = SHA256()
    private var bytes: Int64 = 0
    var rows: Int64 = 0

    init(path: String) throws {
        file = try AtomicOutputFile(path: path, mode: 0o600)
    }

    func write(_ chunk: [UInt8]) throws {
        hash.update(data: chunk)
        bytes += Int64(chunk.count)
        try file.write(chunk)
    }

    func commit() throws -> RequestOutput {
        try file.commit()
        return RequestOutput(sha256: Array(hash.finalize()), rows: rows, bytes: bytes)
    }
}
