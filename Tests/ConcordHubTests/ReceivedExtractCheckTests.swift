import ConcordCore
@testable import ConcordHub
import Testing

private let schema = try! DatasetSchema(yaml: """
format: concord-dataset/1
dataset: people
version: 1
title: People
fields:
  - {name: First, type: name, role: identifier, identity: forename}
  - {name: Last, type: name, role: identifier, identity: surname}
  - {name: Born, type: date, formats: [DD/MM/YYYY], role: quasi_identifier, generalise: year_month, identity: date_of_birth}
  - {name: Home, type: postcode, role: quasi_identifier, generalise: postcode_sector, identity: postcode}
  - {name: Age, type: integer, role: quasi_identifier, generalise: band_5}
  - {name: Outcome, type: enum, values: [A, B], role: attribute}
  - {name: Notes, type: string, role: free_text}
match_keys:
  - {name: mk3, components: [surname, forename_initial, date_of_birth]}
""", file: "people.yaml")

@Suite("Received extract check")
struct ReceivedExtractCheckTests {
    /// A real pseudonymised extract passes.
    @Test("what the agent writes is accepted")
    func agentOutputPasses() throws {
        let key = try LinkageKey(version: 4, secret: Array(0..<32))
        let header = ["First", "Last", "Born", "Home", "Age", "Outcome", "Notes"]
        var pseudonymiser = RecordPseudonymiser(schema: schema, key: key, columns: try ExtractHeader.columns(of: header, for: schema))
        let output = pseudonymiser.pseudonymise(CSVRecordBatch(records: [header, ["Ann", "Lee", "01/02/2003", "CM1 1AA", "12", "A", "x"], ["", "", "", "", "", "", ""]]), skippingFirst: true)
        var parser = CSVParser()
        let batches = try output.output.withUnsafeBytes { try parser.consume($0) } + parser.finish()
        var check = ReceivedExtractCheck(schema: schema)
        try check.checkHeader(schema.pseudonymisedColumns)
        #expect(batches.flatMap { check.check($0) }.isEmpty)
        #expect(check.keyVersion == 4)
        #expect(check.rowsChecked == 2)
    }

    @Test("a header with an identifier column, or in another order, is refused")
    func header() {
        let check = ReceivedExtractCheck(schema: schema)
        #expect(throws: ReceivedExtractViolation.self) { try check.checkHeader(["mk3", "Born", "Home", "Age", "Outcome", "Last"]) }
        #expect(throws: ReceivedExtractViolation.self) { try check.checkHeader(["mk3", "Home", "Born", "Age", "Outcome"]) }
    }

    @Test("raw or too fine values are refused with line and column")
    func cells() {
        let valid = "k1:" + String(repeating: "A", count: 43)
        let rows = [
            ["mk3", "Born", "Home", "Age", "Outcome"],
            [valid, "2003-02", "CM1 1", "10-14", "A"],
            ["SMITH", "2003-02-01", "CM1 1AA", "12", "A"],
            ["k2:" + String(repeating: "A", count: 43), "2003", "CM1", "10-13", "B"],
            [valid + "=", "2003-13", "XX 1", "11-15", "B"],
        ]
        var check = ReceivedExtractCheck(schema: schema)
        let violations = check.check(CSVRecordBatch(records: rows), skippingFirst: true)
        let found = Set(violations.map { "\($0.line) \($0.column ?? "*")" })
        #expect(found == ["3 mk3", "3 Born", "3 Home", "3 Age", "4 mk3", "4 Born", "4 Home", "4 Age", "5 mk3", "5 Born", "5 Home", "5 Age"])
        #expect(violations.first { $0.line == 4 && $0.column == "mk3" }?.reason.contains("version 2") == true)
    }

    @Test("encodings are well formed and of the schema's key version")
    func encodings() throws {
        var encoded = schema
        encoded.encoding = .standard(keyVersion: 4)
        let key = try LinkageKey(version: 4, secret: Array(0..<32))
        let header = ["First", "Last", "Born", "Home", "Age", "Outcome", "Notes"]
        var pseudonymiser = RecordPseudonymiser(schema: encoded, key: key, columns: try ExtractHeader.columns(of: header, for: encoded),
                                                clk: try CLKEncoder(parameters: .standard(keyVersion: 4), key: key))
        let output = pseudonymiser.pseudonymise(CSVRecordBatch(records: [header, ["Ann", "Lee", "01/02/2003", "CM1 1AA", "12", "A", "x"]]), skippingFirst: true)
        var parser = CSVParser()
        let agentRow = try #require(try (output.output.withUnsafeBytes { try parser.consume($0) } + parser.finish()).flatMap(\.strings).first)
        var check = ReceivedExtractCheck(schema: encoded)
        try check.checkHeader(encoded.pseudonymisedColumns)
        #expect(Array(encoded.pseudonymisedColumns.suffix(3)) == ["clk", "clk_b1", "clk_b2"])
        let otherVersion = try CLKEncoder(parameters: .standard(keyVersion: 5), key: try LinkageKey(version: 5, secret: Array(0..<32)))
        let fields = Array(agentRow[..<5])
        let rows = [
            encoded.pseudonymisedColumns,
            agentRow,
            fields + [otherVersion.filter { _ in "SMITH" }.text(keyVersion: 5), "", ""],
            fields + ["c4:" + String(repeating: "A", count: 170), agentRow[6], "k5:" + String(repeating: "A", count: 43)],
        ]
        let violations = check.check(CSVRecordBatch(records: rows), skippingFirst: true)
        #expect(Set(violations.map { "\($0.line) \($0.column ?? "*")" }) == ["3 clk", "4 clk", "4 clk_b2"])
        #expect(violations.first { $0.line == 3 }?.reason.contains("version 5") == true)
        // Without an encoding in the schema (or under agreements not permitting it), the columns are refused.
        #expect(throws: ReceivedExtractViolation.self) { try ReceivedExtractCheck(schema: schema).checkHeader(encoded.pseudonymisedColumns) }
    }

    @Test("generalised shapes", arguments: [
        (Generalisation.year, "2003", true), (.year, "03", false), (.yearMonth, "2003-12", true), (.yearMonth, "2003-00", false),
        (.postcodeDistrict, "SW1A", true), (.postcodeDistrict, "SW1A 1AA", false), (.postcodeDistrict, "GIR", true),
        (.postcodeSector, "SW1A 1", true), (.postcodeSector, "SW1A 1A", false), (.postcodeArea, "SW", true), (.postcodeArea, "SW1", false),
        (.band(width: 5), "-5--1", true), (.band(width: 5), "5-9", true), (.band(width: 5), "5-10", false), (.band(width: 10), "5-14", false),
    ])
    func shapes(generalisation: Generalisation, text: String, accepted: Bool) {
        #expect(Array(text.utf8).withUnsafeBufferPointer { generalisation.admits($0) } == accepted)
    }
}
