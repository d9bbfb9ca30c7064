import ConcordCore
import Testing

/// Parses `text` fed in chunks of `chunkSize` bytes; returns records with their line numbers.
private func parse(_ text: String, chunkSize: Int = .max, delimiter: UInt8 = UInt8(ascii: ","), maximumRecordBytes: Int = 1 << 20, batchSize: Int = 3) throws -> [(line: Int, fields: [String])] {
    try parse(Array(text.utf8), chunkSize: chunkSize, delimiter: delimiter, maximumRecordBytes: maximumRecordBytes, batchSize: batchSize)
}

private func parse(_ bytes: [UInt8], chunkSize: Int = .max, delimiter: UInt8 = UInt8(ascii: ","), maximumRecordBytes: Int = 1 << 20, batchSize: Int = 3) throws -> [(line: Int, fields: [String])] {
    var parser = CSVParser(delimiter: delimiter, maximumRecordBytes: maximumRecordBytes, batchSize: batchSize)
    var batches: [CSVRecordBatch] = []
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + min(chunkSize, bytes.count))
        let chunk = Array(bytes[offset..<end])
        batches += try chunk.withUnsafeBytes { try parser.consume($0) }
        offset = end
    }
    batches += try parser.finish()
    var records: [(Int, [String])] = []
    for batch in batches {
        #expect(batch.count <= batchSize)
        batch.forEachRecord { records.append(($0.line, $0.strings)) }
    }
    return records
}

@Suite("CSV parser")
struct CSVParserTests {
    @Test("plain records with LF, CRLF and CR line ends")
    func lineEnds() throws {
        for newline in ["\n", "\r\n", "\r"] {
            let records = try parse("a,b,c\(newline)1,2,3\(newline)x,,z\(newline)")
            #expect(records.map(\.fields) == [["a", "b", "c"], ["1", "2", "3"], ["x", "", "z"]])
            #expect(records.map(\.line) == [1, 2, 3])
        }
    }

    @Test("quoted fields keep delimiters, doubled quotes and line breaks")
    func quoting() throws {
        let records = try parse("name,notes\n\"Smith, John\",\"said \"\"hi\"\"\nthen left\"\n\"\",\"\"\"\"\nlast,row\n")
        #expect(records.map(\.fields) == [["name", "notes"], ["Smith, John", "said \"hi\"\nthen left"], ["", "\""], ["last", "row"]])
        // The record after the embedded line break starts on line 4.
        #expect(records.map(\.line) == [1, 2, 4, 5])
    }

    @Test("a CRLF inside a quoted field counts as one line")
    func crlfInsideQuotes() throws {
        let records = try parse("a\r\n\"x\r\ny\"\r\nb\r\n")
        #expect(records.map(\.fields) == [["a"], ["x\r\ny"], ["b"]])
        #expect(records.map(\.line) == [1, 2, 4])
    }

    @Test("the last record may lack a line end, including an empty last field")
    func noFinalNewline() throws {
        #expect(try parse("a,b\n1,2").map(\.fields) == [["a", "b"], ["1", "2"]])
        #expect(try parse("a,b\n1,").map(\.fields) == [["a", "b"], ["1", ""]])
        #expect(try parse("a,b\n1,\"q\"").map(\.fields) == [["a", "b"], ["1", "q"]])
    }

    @Test("blank lines are skipped but counted")
    func blankLines() throws {
        let records = try parse("a\n\n\r\nb\n\n")
        #expect(records.map(\.fields) == [["a"], ["b"]])
        #expect(records.map(\.line) == [1, 4])
    }

    @Test("a UTF-8 byte-order mark is dropped, even split across chunks")
    func byteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a,b\n1,2\n".utf8)
        for chunkSize in [1, 2, 3, 4, 100] {
            #expect(try parse(bytes, chunkSize: chunkSize).map(\.fields) == [["a", "b"], ["1", "2"]])
        }
        // A file shorter than a byte-order mark is still read.
        #expect(try parse("a", chunkSize: 1).map(\.fields) == [["a"]])
        #expect(try parse("a\nb", chunkSize: 1, batchSize: 1).map(\.fields) == [["a"], ["b"]])
    }

    @Test("chunk boundaries never change the result", arguments: [1, 2, 3, 5, 7, 64])
    func chunkInvariance(chunkSize: Int) throws {
        let text = "id,\"na,me\",x\r\n1,\"O\"\"Brien\",\"multi\nline\"\r\n2,Zoë,\r\n3,\"\",\"\"\"\"\n"
        let whole = try parse(text)
        let chunked = try parse(text, chunkSize: chunkSize)
        #expect(chunked.map(\.fields) == whole.map(\.fields))
        #expect(chunked.map(\.line) == whole.map(\.line))
    }

    @Test("another delimiter")
    func pipeDelimiter() throws {
        let records = try parse("a|b\n\"x|y\"|z,w\n", delimiter: UInt8(ascii: "|"))
        #expect(records.map(\.fields) == [["a", "b"], ["x|y", "z,w"]])
    }

    @Test("bytes are passed through undecoded, invalid UTF-8 and NUL included")
    func rawBytes() throws {
        let records = try parse([0x61, 0x2C, 0xFF, 0x00, 0x62, 0x0A])
        #expect(records.count == 1)
        var parser = CSVParser()
        let bytes: [UInt8] = [0x61, 0x2C, 0xFF, 0x00, 0x62, 0x0A]
        let batches = try bytes.withUnsafeBytes { try parser.consume($0) } + parser.finish()
        batches[0].forEachRecord { record in
            #expect(Array(record[1]) == [0xFF, 0x00, 0x62])
        }
    }

    @Test("a quote inside an unquoted field is refused with its line")
    func quoteInUnquoted() {
        #expect(throws: CSVError(line: 2, kind: .quoteInUnquotedField)) { try parse("a,b\n1,5'10\"\n") }
    }

    @Test("text after a closing quote is refused with its line")
    func textAfterQuote() {
        #expect(throws: CSVError(line: 3, kind: .textAfterClosingQuote)) { try parse("a\nb\n\"x\"y\n") }
    }

    @Test("an unterminated quoted field is reported where it opens")
    func unterminated() {
        #expect(throws: CSVError(line: 2, kind: .unterminatedQuotedField)) { try parse("a,b\n1,\"never closed\n3,4\n5,6\n") }
    }

    @Test("a record larger than the limit is refused without buffering it whole")
    func oversizedRecord() {
        let big = "a\n" + String(repeating: "x", count: 5000) + "\n"
        #expect(throws: CSVError(line: 2, kind: .recordTooLarge(maximumBytes: 1000))) {
            try parse(big, chunkSize: 100, maximumRecordBytes: 1000)
        }
        #expect(throws: CSVError(line: 2, kind: .recordTooLarge(maximumBytes: 1000))) {
            try parse("a\n\"" + String(repeating: "y", count: 5000) + "\"\n", chunkSize: 100, maximumRecordBytes: 1000)
        }
    }

    @Test("error messages say what to do")
    func messages() {
        #expect(CSVError(line: 7, kind: .unterminatedQuotedField).description == "line 7: a quoted field starts here and is never closed")
        #expect(CSVError(line: 3, kind: .quoteInUnquotedField).description.contains("enclosed in quotes"))
    }
}

@Suite("CSV writer")
struct CSVWriterTests {
    @Test("quotes only what needs quoting, and round-trips through the parser")
    func roundTrip() throws {
        let records = [["plain", "with,comma", "with \"quote\"", "line\nbreak", "cr\rhere", "", "Zoë"]]
        var writer = CSVWriter()
        for record in records { writer.appendRecord(record) }
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "plain,\"with,comma\",\"with \"\"quote\"\"\",\"line\nbreak\",\"cr\rhere\",,Zoë\n")
        let parsed = try parse(String(decoding: writer.bytes, as: UTF8.self))
        #expect(parsed.map(\.fields) == records)
    }

    @Test("empty fields and other delimiters")
    func emptyAndDelimiter() {
        var writer = CSVWriter(delimiter: UInt8(ascii: "|"))
        writer.appendEmptyField()
        writer.appendField("a|b")
        writer.appendField("a,b")
        writer.endRecord()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "|\"a|b\"|a,b\n")
    }
}
