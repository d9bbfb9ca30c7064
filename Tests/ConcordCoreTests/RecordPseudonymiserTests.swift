import ConcordCore
import Testing

/// Pseudonymises records (header first) with a schema; returns the output rows and the rejects.
func pseudonymise(_ records: [[String]], schema: DatasetSchema, key: LinkageKey = vectorKey) throws -> (rows: [[String: String]], rejects: [RejectedRow]) {
    let columns = try ExtractHeader.columns(of: records[0], for: schema)
    var pseudonymiser = RecordPseudonymiser(schema: schema, key: key, columns: columns)
    let result = pseudonymiser.pseudonymise(CSVRecordBatch(records: records), skippingFirst: true)
    var parser = CSVParser()
    let header = schema.pseudonymisedColumns
    let batches = try result.output.withUnsafeBytes { try parser.consume($0) } + parser.finish()
    let rows = batches.flatMap(\.strings).map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    #expect(result.rowsRead == records.count - 1)
    #expect(result.rowsWritten == rows.count)
    return (rows, result.rejects)
}

private let schema = try! DatasetSchema(yaml: """
format: concord-dataset/1
dataset: people
version: 1
title: People
csv: {null_values: ["", "NULL"]}
fields:
  - {name: Ref, type: reference, role: identifier, identity: local_id, required: true}
  - {name: First, type: name, role: identifier, identity: forename}
  - {name: Last, type: name, role: identifier, identity: surname, required: true}
  - {name: Born, type: date, formats: [DD/MM/YYYY, YYYY-MM-DD], role: quasi_identifier, generalise: year_month, identity: date_of_birth}
  - {name: NHS, type: nhs_number, role: identifier, identity: nhs_number}
  - {name: Home, type: postcode, role: quasi_identifier, generalise: postcode_district, identity: postcode}
  - {name: Sex, type: sex, role: attribute, identity: sex}
  - {name: Age, type: integer, role: quasi_identifier, generalise: band_5, minimum: 0, maximum: 120}
  - {name: Flag, type: boolean, role: attribute}
  - {name: Score, type: decimal, role: attribute, maximum: 10}
  - {name: Notes, type: string, role: free_text, max_length: 20}
match_keys:
  - {name: mk1, components: [nhs_number]}
  - {name: mk2, components: [surname, forename, date_of_birth, postcode]}
  - {name: mk3, components: [surname, forename_initial, date_of_birth]}
  - {name: mk3_swapped, hashed_as: mk3, components: [surname, forename_initial, date_of_birth_swapped]}
  - {name: mk4, components: [forename_canonical, date_of_birth, postcode_district]}
  - {name: mk_sex, components: [surname, sex]}
  - {name: mk_local, components: [local_id]}
""", file: "people.yaml")

private let peopleHeader = ["Ref", "First", "Last", "Born", "NHS", "Home", "Sex", "Age", "Flag", "Score", "Notes"]

@Suite("Record pseudonymiser")
struct RecordPseudonymiserTests {
    @Test("writes match keys and generalised fields, and never an identifier")
    func output() throws {
        let row = ["ab-1", "Zoë-Anne", "O’Brien", "05/03/2014", "943 476 5919", "cm1 1aa", "f", "7", "yes", "3.5", "secret note"]
        let (rows, rejects) = try pseudonymise([peopleHeader, row], schema: schema)
        #expect(rejects.isEmpty)
        let out = try #require(rows.first)
        #expect(out["Born"] == "2014-03")
        #expect(out["Home"] == "CM1")
        #expect(out["Sex"] == "F")
        #expect(out["Age"] == "5-9")
        #expect(out["Flag"] == "true")
        #expect(out["Score"] == "3.5")
        #expect(out["Notes"] == nil)
        for column in ["mk1", "mk2", "mk3", "mk3_swapped", "mk4", "mk_sex", "mk_local"] {
            let value = try #require(out[column])
            #expect(value.hasPrefix("k1:") && value.count == 46, "\(column)")
        }
        let hasher = MatchKeyHasher(key: vectorKey)
        #expect(out["mk1"] == hasher.text(keyName: "mk1", components: [("nhs_number", "9434765919")]))
        #expect(out["mk2"] == hasher.text(keyName: "mk2", components: [("surname", "OBRIEN"), ("forename", "ZOE"), ("date_of_birth", "2014-03-05"), ("postcode", "CM1 1AA")]))
        #expect(out["mk3_swapped"] == hasher.text(keyName: "mk3", components: [("surname", "OBRIEN"), ("forename_initial", "Z"), ("date_of_birth", "2014-05-03")]))
        #expect(out["mk_local"] == hasher.text(keyName: "mk_local", components: [("local_id", "AB1")]))
        let text = rows.flatMap(\.values).joined(separator: ",")
        for raw in ["Zo", "ZOE", "OBRIEN", "Brien", "9434765919", "943 476", "05/03", "2014-03-05", "1AA", "secret"] {
            #expect(!text.contains(raw), "\(raw) leaked")
        }
    }

    @Test("a swapped date of birth in one record equals the real one in another")
    func swappedDateLinks() throws {
        let base = ["1", "Ann", "Lee", "", "", "", "", "", "", "", ""]
        var real = base; real[3] = "2014-05-03"
        var swapped = base; swapped[3] = "2014-03-05"
        let (rows, _) = try pseudonymise([peopleHeader, real, swapped], schema: schema)
        #expect(rows[1]["mk3_swapped"] == rows[0]["mk3"])
        #expect(rows[0]["mk3_swapped"] == rows[1]["mk3"])
        #expect(rows[0]["mk3"] != rows[1]["mk3"])
    }

    @Test("nicknames share the canonical key; a missing component leaves the key empty")
    func canonicalAndMissing() throws {
        let bill = ["1", "Bill", "Jones", "01/02/1990", "", "SS0 7AB", "U", "", "", "", ""]
        var william = bill; william[1] = "William"
        var noName = bill; noName[1] = "NULL"
        let (rows, rejects) = try pseudonymise([peopleHeader, bill, william, noName], schema: schema)
        #expect(rejects.isEmpty)
        #expect(rows[0]["mk4"] == rows[1]["mk4"])
        #expect(rows[0]["mk2"] != rows[1]["mk2"])
        #expect(rows[0]["mk1"] == "")
        #expect(rows[0]["mk_sex"] == "")       // sex U is missing for match keys
        #expect(rows[0]["Sex"] == "U")          // but written as an attribute
        #expect(rows[2]["mk2"] == "" && rows[2]["mk3"] == "" && rows[2]["mk4"] == "")
        #expect(rows[2]["mk_local"] != "")
    }

    @Test("rejects every invalid field of a row, with reasons that never hold the value")
    func rejects() throws {
        let bad = ["", "J0hn", "Smith", "31/04/2014", "9434765918", "XX1", "Q", "130", "perhaps", "1e5", String(repeating: "n", count: 21)]
        let (rows, rejects) = try pseudonymise([peopleHeader, bad, ["2", "A", "B", "", "", "", "", "", "", "", ""]], schema: schema)
        #expect(rows.count == 1)
        let rejected = try #require(rejects.first)
        #expect(rejected.line == 2)
        #expect(rejected.problems.map(\.field) == ["Ref", "Born", "NHS", "Home", "Sex", "Age", "Flag", "Score", "Notes"])
        for problem in rejected.problems {
            for value in ["31/04", "9434765918", "XX1", "130", "perhaps", "1e5", "nnnn"] {
                #expect(!problem.reason.contains(value))
            }
        }
    }

    @Test("a row with the wrong number of fields is rejected, not misread")
    func wrongFieldCount() throws {
        let (rows, rejects) = try pseudonymise([peopleHeader, ["1", "A"]], schema: schema)
        #expect(rows.isEmpty)
        #expect(rejects.first?.problems == [FieldProblem(field: "*", reason: "has 2 fields; the header has 11")])
    }

    @Test("columns may come in any order; a header that differs is refused with every difference")
    func header() throws {
        let reordered = peopleHeader.reversed().map { $0 }
        let row = ["1", "A", "B", "", "", "", "", "", "", "", ""].reversed().map { $0 }
        let (rows, _) = try pseudonymise([Array(reordered), Array(row)], schema: schema)
        #expect(rows.count == 1)
        var wrong = peopleHeader
        wrong[1] = "Forename"
        wrong.append("Ref")
        #expect(throws: HeaderMismatch(dataset: "people", version: 1, schemaFields: schema.fields.count, missing: ["First"], unexpected: ["Forename"], duplicated: ["Ref"])) {
            try ExtractHeader.columns(of: wrong, for: schema)
        }
    }

    @Test("another key or key version gives unrelated values")
    func keySeparation() throws {
        let row = ["1", "Ann", "Lee", "2014-05-03", "", "", "", "", "", "", ""]
        let first = try pseudonymise([peopleHeader, row], schema: schema).rows[0]["mk3"]
        let otherKey = try pseudonymise([peopleHeader, row], schema: schema, key: LinkageKey(version: 1, secret: Array(1...32))).rows[0]["mk3"]
        let otherVersion = try pseudonymise([peopleHeader, row], schema: schema, key: LinkageKey(version: 2, secret: Array(0..<32))).rows[0]["mk3"]
        #expect(first != otherKey)
        #expect(otherVersion?.hasPrefix("k2:") == true)
        #expect(first?.dropFirst(3) != otherVersion?.dropFirst(3))
    }

    @Test("integer bands below zero are as wide as those above")
    func bands() {
        #expect(FieldValue.integer(7).generalised(.band(width: 5)) == "5-9")
        #expect(FieldValue.integer(0).generalised(.band(width: 5)) == "0-4")
        #expect(FieldValue.integer(-1).generalised(.band(width: 5)) == "-5--1")
        #expect(FieldValue.integer(-5).generalised(.band(width: 5)) == "-5--1")
        #expect(FieldValue.integer(-6).generalised(.band(width: 5)) == "-10--6")
    }
}
