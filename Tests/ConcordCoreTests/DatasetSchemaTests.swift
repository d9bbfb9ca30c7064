import ConcordCore
import Testing

private func problems(_ yaml: String) -> [DocumentProblem] {
    do {
        _ = try DatasetSchema(yaml: yaml, file: "test.yaml")
        return []
    } catch {
        return error.problems
    }
}

private let minimal = """
format: concord-dataset/1
dataset: tiny
version: 1
title: Tiny
fields:
  - {name: Forename, type: name, role: identifier, identity: forename, required: true}
  - {name: Surname, type: name, role: identifier, identity: surname}
  - {name: DOB, type: date, formats: [DD/MM/YYYY], role: quasi_identifier, generalise: year, identity: date_of_birth}
  - {name: Outcome, type: enum, values: [A, B, "NO"], role: attribute}
match_keys:
  - {name: mk3, components: [surname, forename_initial, date_of_birth]}
  - {name: mk3_swapped, hashed_as: mk3, components: [surname, forename_initial, date_of_birth_swapped]}
"""

@Suite("Dataset schemas")
struct DatasetSchemaTests {
    @Test("the shipped schemas load", arguments: ["csc_referrals", "school_attendance", "police_da_incidents", "housing_cases"])
    func shipped(dataset: String) throws {
        let schema = try shippedSchema(dataset)
        #expect(schema.dataset == dataset)
        #expect(!schema.matchKeys.isEmpty)
        // Nothing that identifies a person is among the columns that leave the agency.
        let identifiers = Set(schema.fields.filter { $0.role == .identifier || $0.role == .freeText }.map(\.name))
        #expect(identifiers.isDisjoint(with: schema.pseudonymisedColumns))
        #expect(schema.fields.filter { $0.role == .quasiIdentifier }.allSatisfy { $0.generalisation != nil })
    }

    @Test("match keys with the same name are defined identically across the shipped schemas")
    func consistentKeys() throws {
        var definitions: [String: MatchKeyDefinition] = [:]
        for dataset in ["csc_referrals", "school_attendance", "police_da_incidents", "housing_cases"] {
            for key in try shippedSchema(dataset).matchKeys {
                if let earlier = definitions[key.name] {
                    #expect(earlier.components == key.components && earlier.hashedAs == key.hashedAs, "\(key.name) in \(dataset)")
                }
                definitions[key.name] = key
            }
        }
    }

    @Test("a minimal schema loads with its types, YAML 1.1 booleans kept as text")
    func minimalSchema() throws {
        let schema = try DatasetSchema(yaml: minimal, file: "test.yaml")
        #expect(schema.fields.map(\.name) == ["Forename", "Surname", "DOB", "Outcome"])
        #expect(schema.fields[3].type == .enumeration(values: ["A", "B", "NO"]))
        #expect(schema.matchKeys[1].hashedAs == "mk3")
        #expect(schema.pseudonymisedColumns == ["mk3", "mk3_swapped", "DOB", "Outcome"])
        #expect(schema.dialect.delimiter == UInt8(ascii: ","))
    }

    @Test("every problem is reported with its line and path")
    func manyProblems() {
        let yaml = """
        format: concord-dataset/1
        dataset: Bad-Name
        version: 0
        title: Broken
        colour: blue
        fields:
          - {name: DOB, type: date, role: quasi_identifier, generalise: postcode_district, formats: [DD/MM/YYYY]}
          - {name: DOB, type: integer, role: attribute, minimum: 5, maximum: 1}
          - {name: Code, type: enum, role: attribute}
          - {name: When, type: date, formats: [YY/MM], role: attribute}
          - {name: Notes, type: strin, role: free_text}
          - {name: PC, type: postcode, role: quasi_identifier}
        match_keys:
          - {name: mk1, components: [nhs_number]}
          - {name: mk2, hashed_as: nothing, components: [birth_year]}
        """
        let found = problems(yaml)
        func problem(_ line: Int, _ path: String, _ fragment: String) -> Bool {
            found.contains { $0.line == line && $0.path == path && $0.message.contains(fragment) }
        }
        #expect(problem(2, "dataset", "is not valid"))
        #expect(problem(3, "version", "positive"))
        #expect(problem(5, "colour", "unknown key"))
        #expect(problem(7, "fields[0].generalise", "does not apply to a date; use year or year_month"))
        #expect(problem(8, "fields[1].maximum", "below minimum"))
        #expect(problem(8, "fields[1].name", "unique"))
        #expect(problem(9, "fields[2]", "missing required key 'values'"))
        #expect(problem(10, "fields[3].formats[0]", "is not a date format"))
        #expect(problem(11, "fields[4].type", "'strin' is not a type"))
        #expect(problem(12, "fields[5].generalise", "must say how it is generalised"))
        #expect(problem(14, "match_keys[0].components[0]", "needs a field with identity nhs_number"))
        #expect(problem(15, "match_keys[1].hashed_as", "not an earlier match key"))
        #expect(found.count >= 12)
        #expect(found.allSatisfy { $0.file == "test.yaml" })
    }

    @Test("problems print as FILE:LINE:COLUMN: PATH: message")
    func problemFormat() throws {
        let found = problems(minimal.replacingOccurrences(of: "version: 1", with: "version: one"))
        let first = try #require(found.first)
        #expect(first.description == "test.yaml:3:10: version: 'one' is not a whole number")
    }

    @Test("hashed_as needs the same hash labels in the same order")
    func hashedAsLabels() {
        let yaml = minimal.replacingOccurrences(of: "[surname, forename_initial, date_of_birth_swapped]", with: "[forename_initial, surname, date_of_birth_swapped]")
        #expect(problems(yaml).contains { $0.path == "match_keys[1].hashed_as" && $0.message.contains("must be the same, in order") })
    }

    @Test("other refusals", arguments: [
        ("format: concord-dataset/1", "format: concord-dataset/2", "format", "not a format this version of Concord reads"),
        ("identity: forename,", "identity: date_of_birth,", "fields[0].identity", "needs a field of type date"),
        ("identity: surname}", "identity: birth_year}", "fields[1].identity", "derived match-key component"),
        ("{name: Outcome, type: enum, values: [A, B, \"NO\"], role: attribute}", "{name: Outcome, type: enum, values: [A, A], role: attribute}", "fields[3].values", "lists a value twice"),
        ("{name: Outcome, type: enum, values: [A, B, \"NO\"], role: attribute}", "{name: mk3, type: string, role: attribute}", "match_keys", "same name as a field"),
        ("title: Tiny", "title: [Tiny]", "title", "expected a single value"),
        ("role: identifier, identity: forename", "role: secret, identity: forename", "fields[0].role", "one of identifier"),
    ])
    func refusals(original: String, replacement: String, path: String, fragment: String) {
        let found = problems(minimal.replacingOccurrences(of: original, with: replacement))
        #expect(found.contains { $0.path == path && $0.message.contains(fragment) }, "\(found)")
    }

    @Test("malformed YAML and duplicate keys are reported with a line")
    func malformedYAML() throws {
        let broken = problems("format: concord-dataset/1\nfields: [\n")
        #expect(broken.first?.message.hasPrefix("not valid YAML") == true)
        #expect(broken.first?.line != nil)
        let duplicated = problems(minimal + "\ntitle: Again\n")
        #expect(duplicated.contains { $0.line == 4 && $0.message == "'title' appears more than once in the same mapping (first here)" })
        #expect(problems("").first?.message == "the file is empty")
    }
}
