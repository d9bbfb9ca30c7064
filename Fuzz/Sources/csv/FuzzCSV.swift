import ConcordCore

/// The CSV parser on any bytes, fed in two pieces split where the first byte says: it must throw a
/// `CSVError` or give records, and records it gives must survive being written and read again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let records = parse(data, split: data.first.map { Int($0) } ?? 0) else { return 0 }
    var writer = CSVWriter()
    for record in records {
        for field in record { field.withUnsafeBufferPointer { writer.appendField($0) } }
        writer.endRecord()
    }
    // Blank lines are skipped when read, so a record of one empty field is written quoted.
    guard let again = parse(writer.bytes, split: writer.bytes.count / 2), again == records else {
        fatalError("CSV round trip changed \(records) into \(parse(writer.bytes, split: writer.bytes.count / 2) ?? [])")
    }
    return 0
}

private func parse(_ bytes: [UInt8], split: Int) -> [[[UInt8]]]? {
    var parser = CSVParser(maximumRecordBytes: 1 << 16, batchSize: 7)
    var batches: [CSVRecordBatch] = []
    let cut = min(split, bytes.count)
    do {
        batches += try bytes[..<cut].withUnsafeBytes { try parser.consume($0) }
        batches += try bytes[cut...].withUnsafeBytes { try parser.consume($0) }
        batches += try parser.finish()
    } catch {
        return nil
    }
    var records: [[[UInt8]]] = []
    for batch in batches { batch.forEachRecord { record in records.append((0..<record.count).map { Array(record[$0]) }) } }
    return records
}
