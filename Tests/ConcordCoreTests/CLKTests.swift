@testable import ConcordCore
import Foundation
import Testing

/// The `concord-clk/1` encoding, blocking tokens, comparison and assignment (`docs/pprl.md`),
/// checked against the vectors the independent Python implementation writes.
@Suite struct CLKTests {
    struct Vectors: Decodable {
        struct Record: Decodable {
            var values: [String: String?]
            var clk_hex: String
            var bits: Int
            var blocking_tokens: [String?]
        }
        struct Dice: Decodable {
            var a: Int
            var b: Int
            var dice: Double
        }
        var key_version: Int
        var records: [Record]
        var dice: [Dice]
        var tokens: [String: [String]]
    }

    static let vectors = try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Vectors/clk/vectors.json")))
    static let parameters = CLKParameters.standard(keyVersion: 1)

    static func values(_ record: Vectors.Record) -> (MatchKeyComponent) -> String? {
        { record.values[$0.description] ?? nil }
    }

    @Test func tokensFollowTheSpecification() {
        #expect(CLKEncoder.tokens(of: "SMITH", as: .paddedBigrams) == Self.vectors.tokens["SMITH"])
        #expect(CLKEncoder.tokens(of: "1980-07-21", as: .datePositions) == Self.vectors.tokens["1980-07-21"])
        #expect(CLKEncoder.tokens(of: "CM1 1AA", as: .postcodePositions) == Self.vectors.tokens["CM1 1AA"])
    }

    @Test func encodingsMatchTheVectors() throws {
        let encoder = try CLKEncoder(parameters: Self.parameters, key: vectorKey)
        for record in Self.vectors.records {
            let filter = encoder.filter(Self.values(record))
            #expect(filter.bytes.lowercaseHex == record.clk_hex)
            #expect(filter.bitCount == record.bits)
            #expect(encoder.blockingTokens(Self.values(record)) == record.blocking_tokens)
        }
        let filters = Self.vectors.records.map { encoder.filter(Self.values($0)) }
        for pair in Self.vectors.dice {
            #expect(abs(filters[pair.a].dice(filters[pair.b]) - pair.dice) < 1e-6)
        }
    }

    @Test func twoAgenciesWithOneKeyEncodeIdentically() throws {
        let record = Self.vectors.records[2]
        let first = try CLKEncoder(parameters: Self.parameters, key: vectorKey)
        let second = try CLKEncoder(parameters: .standard(keyVersion: 1), key: LinkageKey(version: 1, secret: Array(0..<32)))
        #expect(first.filter(Self.values(record)) == second.filter(Self.values(record)))
        #expect(first.blockingTokens(Self.values(record)) == second.blockingTokens(Self.values(record)))
    }

    @Test func anotherKeyGivesUnrelatedEncodings() throws {
        let record = Self.vectors.records[2]
        let mine = try CLKEncoder(parameters: Self.parameters, key: vectorKey).filter(Self.values(record))
        let other = try CLKEncoder(parameters: Self.parameters, key: LinkageKey(version: 1, secret: Array(repeating: 7, count: 32)))
        let theirs = other.filter(Self.values(record))
        #expect(mine != theirs)
        // Unrelated positions: about as similar as two different people, far below any threshold.
        #expect(mine.dice(theirs) < 0.4)
        #expect(other.blockingTokens(Self.values(record)) != record.blocking_tokens)
    }

    @Test func blockingTokensAreNeverMatchKeys() throws {
        let record = Self.vectors.records[0]
        let token = try #require(try CLKEncoder(parameters: Self.parameters, key: vectorKey).blockingTokens(Self.values(record))[1])
        let matchKey = MatchKeyHasher(key: vectorKey).text(keyName: "clk_b2", components: [("date_of_birth", "2014-03-05")])
        #expect(token != matchKey)
        #expect(token.hasPrefix("k1:") && token.utf8.count == 46)
    }

    @Test func parameterOrKeyVersionMismatchIsRefused() throws {
        var changed = Self.parameters
        changed.features[0].bitsPerToken = 11
        #expect(throws: CLKParametersError.self) { try Self.parameters.requireComparable(with: changed) }
        #expect(throws: CLKParametersError.self) { try Self.parameters.requireComparable(with: .standard(keyVersion: 2)) }
        try Self.parameters.requireComparable(with: .standard(keyVersion: 1))
        #expect(Self.parameters.fingerprint.hasPrefix("clk1-") && Self.parameters.fingerprint.utf8.count == 21)
        #expect(throws: CLKParametersError.self) { try CLKEncoder(parameters: .standard(keyVersion: 2), key: vectorKey) }
        #expect(throws: CLKParametersError.bitsPerToken(feature: "surname", 17)) {
            try CLKParameters(features: [.init(name: "surname", component: .surname, tokens: .paddedBigrams, bitsPerToken: 17)], blocks: [], keyVersion: 1)
        }
    }

    @Test func textRoundTripsWithItsKeyVersion() throws {
        let filter = try CLKEncoder(parameters: Self.parameters, key: vectorKey).filter(Self.values(Self.vectors.records[1]))
        let text = filter.text(keyVersion: 1)
        #expect(text.utf8.count == 3 + 171)
        let parsed = try #require(CLKFilter.parse(text))
        #expect(parsed.keyVersion == 1 && parsed.filter == filter)
        #expect(CLKFilter.parse("c1:" + text.dropFirst(4)) == nil)
        #expect(CLKFilter.parse("k1:" + text.dropFirst(3)) == nil)
    }

    @Test func thresholdAndReviewBand() throws {
        let policy = try FuzzyMatchPolicy(threshold: 0.8, reviewFloor: 0.7)
        #expect(policy.decision(0.8) == .link)
        #expect(policy.decision(0.7999) == .review)
        #expect(policy.decision(0.7) == .review)
        #expect(policy.decision(0.6999) == .apart)
        #expect(throws: FuzzyMatchPolicyError.self) { try FuzzyMatchPolicy(threshold: 0.7, reviewFloor: 0.8) }
        #expect(throws: FuzzyMatchPolicyError.self) { try FuzzyMatchPolicy(threshold: 1.1, reviewFloor: 0.8) }
    }

    @Test func assignmentIsOneToOneByDescendingScore() throws {
        typealias Pair = FuzzyComparison.ScoredPair
        let policy = try FuzzyMatchPolicy(threshold: 0.8, reviewFloor: 0.7)
        // Record 1 matches 10 best and 11 well; 2 matches 11 only: greedy gives 1–10 and 2–11.
        // 3–12 is in the review band; 4–10 is in it too, but 10 is linked, so it is not reported.
        let pairs = [Pair(left: 1, right: 11, score: 0.85), Pair(left: 1, right: 10, score: 0.95), Pair(left: 2, right: 11, score: 0.82),
                     Pair(left: 2, right: 10, score: 0.81), Pair(left: 3, right: 12, score: 0.75), Pair(left: 4, right: 10, score: 0.72),
                     Pair(left: 5, right: 13, score: 0.5)]
        let (links, review) = policy.assign(pairs)
        #expect(links.map { [$0.left, $0.right] } == [[1, 10], [2, 11]])
        #expect(review.map { [$0.left, $0.right] } == [[3, 12]])
    }

    @Test func parallelComparisonWithinBlocksFindsEveryPairAboveTheMinimum() async throws {
        let encoder = try CLKEncoder(parameters: Self.parameters, key: vectorKey)
        let filters = CLKFilterSet(Self.vectors.records.map { encoder.filter(Self.values($0)) })
        // Every record against every record, as one block of one side, and as two sides.
        let all = Array(Int32(0)..<Int32(filters.count))
        let within = await FuzzyComparison.compare(blocks: [.init(within: all)], left: filters, right: filters, minimum: 0.8, parallelism: 2)
        #expect(within.map { [$0.left, $0.right] } == [[0, 1], [2, 3]])
        // Two sides with the same record numbers: every pair, each record with itself too.
        let sides = await FuzzyComparison.compare(blocks: [.init(left: all, right: all)], left: filters, right: filters, minimum: 0.8, parallelism: 2)
        #expect(sides.count == 5 + 4)
        let across = await FuzzyComparison.compare(blocks: [.init(left: [0, 2], right: [1, 3, 4]), .init(left: [0], right: [1])],
                                                   left: filters, right: filters, minimum: 0, parallelism: 3)
        #expect(across.count == 6, "a pair met in two blocks is returned once")
        for pair in across {
            #expect(abs(pair.score - filters[Int(pair.left)].dice(filters[Int(pair.right)])) < 1e-12)
        }
    }
}

/// The agency side: `RecordPseudonymiser` ends each row with the record's encoding and tokens.
@Suite struct CLKPseudonymiserTests {
    @Test func rowsEndWithTheEncodingOfTheirNormalisedIdentifiers() throws {
        let schema = try DatasetSchema(yaml: """
            format: concord-dataset/1
            dataset: people
            version: 1
            title: People
            fields:
              - {name: First, type: name, role: identifier, identity: forename}
              - {name: Last, type: name, role: identifier, identity: surname}
              - {name: Born, type: date, formats: [DD/MM/YYYY], role: identifier, identity: date_of_birth}
              - {name: Home, type: postcode, role: identifier, identity: postcode}
            match_keys:
              - {name: mk2, components: [surname, forename, date_of_birth, postcode]}
            fuzzy_encoding: {scheme: concord-clk/1, parameters: standard, key_version: 1}
            """, file: "people.yaml")
        #expect(schema.encoding == .standard(keyVersion: 1))
        #expect(ReleasePlan(schema: schema).columns == ["mk2", "clk", "clk_b1", "clk_b2"])
        let records = [["First", "Last", "Born", "Home"], ["  Zoë-Anne ", "O’Brien", "05/03/2014", "cm11aa"], ["Bill", "Smith-Jones", "21/07/1980", ""]]
        let encoder = try CLKEncoder(parameters: .standard(keyVersion: 1), key: vectorKey)
        var pseudonymiser = RecordPseudonymiser(schema: schema, key: vectorKey, columns: try ExtractHeader.columns(of: records[0], for: schema), clk: encoder)
        let result = pseudonymiser.pseudonymise(CSVRecordBatch(records: records), skippingFirst: true)
        var parser = CSVParser()
        let rows = try (result.output.withUnsafeBytes { try parser.consume($0) } + parser.finish()).flatMap(\.strings)
        #expect(rows.count == 2 && rows.allSatisfy { $0.count == 1 + 3 })
        // Vector #0 of Tests/Vectors/clk: O’Brien → OBRIEN, Zoë-Anne → ZOE, CM1 1AA.
        let first = try #require(CLKFilter.parse(rows[0][1]))
        #expect(first.filter.bytes.lowercaseHex == CLKTests.vectors.records[0].clk_hex)
        #expect(Array(rows[0][2...]) == CLKTests.vectors.records[0].blocking_tokens.map { $0 ?? "" })
        // Bill → WILLIAM (the canonical forename); no postcode: that feature sets no bit.
        let expected = encoder.filter { component in
            ["surname": "SMITHJONES", "forename_canonical": "WILLIAM", "date_of_birth": "1980-07-21", "surname_soundex": "S532", "birth_year": "1980"][component.description]
        }
        #expect(CLKFilter.parse(rows[1][1])?.filter == expected)
    }
}

/// Where the encoding parameters live: the dataset schema, versioned with the linkage key.
@Suite struct CLKSchemaTests {
    static let fields = """
        format: concord-dataset/1
        dataset: people
        version: 1
        title: People
        fields:
          - {name: Last, type: name, role: identifier, identity: surname}
        match_keys:
          - {name: mk9, components: [surname]}
        """

    @Test func aSchemaNamesItsEncodingAndKeyVersion() throws {
        let schema = try DatasetSchema(yaml: Self.fields + "\nfuzzy_encoding: {scheme: concord-clk/1, parameters: standard, key_version: 3}\n", file: "p.yaml")
        #expect(schema.encoding?.fingerprint == CLKParameters.standard(keyVersion: 3).fingerprint)
        #expect(try DatasetSchema(yaml: Self.fields, file: "p.yaml").encoding == nil, "no fuzzy_encoding: no encoding")
    }

    @Test(arguments: ["{scheme: concord-clk/2, parameters: standard, key_version: 1}", "{scheme: concord-clk/1, parameters: mine, key_version: 1}",
                      "{scheme: concord-clk/1, parameters: standard, key_version: 0}", "{scheme: concord-clk/1, parameters: standard}"])
    func anEncodingThisVersionCannotMakeIsRefused(_ encoding: String) {
        #expect(throws: (any Error).self) { try DatasetSchema(yaml: Self.fields + "\nfuzzy_encoding: \(encoding)\n", file: "p.yaml") }
    }

    @Test func anEncodingUnderAnotherKeyVersionIsRefusedAtTheAgency() throws {
        let other = try LinkageKey(version: 2, secret: Array(0..<32))
        #expect(throws: CLKParametersError.self) { try CLKEncoder(parameters: .standard(keyVersion: 1), key: other) }
    }
}

/// Where the fuzzy pass is permitted: the agreement's `linkage.fuzzy`, which also sets its band.
@Suite struct CLKAgreementTests {
    static func agreement(fuzzy: String) throws -> Agreement {
        let yaml = fixtureAgreementYAML.replacingOccurrences(of: "  match_keys: [mk2, mk3, mk3_swapped]\n", with: "  match_keys: [mk2, mk3, mk3_swapped]\n" + fuzzy)
        return try Agreement(yaml: yaml, file: "test-agreement.yaml", catalogue: shippedCatalogue)
    }

    @Test func anAgreementSetsTheBandOrTakesTheStandardOne() throws {
        #expect(try Self.agreement(fuzzy: "  fuzzy: {threshold: 0.9}\n").linkage.fuzzy == (try FuzzyMatchPolicy(threshold: 0.9, reviewFloor: 0.7)))
        #expect(try Self.agreement(fuzzy: "  fuzzy: {}\n").linkage.fuzzy == .standard)
        #expect(fixtureAgreement.linkage.fuzzy == nil, "no fuzzy key: no fuzzy pass")
        #expect(throws: (any Error).self) { try Self.agreement(fuzzy: "  fuzzy: {threshold: 0.6}\n") }
        #expect(throws: (any Error).self) { try Self.agreement(fuzzy: "  fuzzy: {threshold: high}\n") }
    }

    @Test func theEncodingIsSentOnlyUnderAgreementsPermittingTheFuzzyPass() throws {
        var schema = try shippedSchema("csc_referrals")
        schema.encoding = .standard(keyVersion: 1)
        var fuzzy = fixtureAgreement
        fuzzy.linkage.fuzzy = .standard
        let permitted = try ReleasePlan(schema: schema, agreements: [fuzzy], agency: "county-childrens")
        #expect(permitted.encoding == .standard(keyVersion: 1) && permitted.columns.suffix(3) == ["clk", "clk_b1", "clk_b2"])
        #expect(try ReleasePlan(schema: schema, agreements: [fixtureAgreement], agency: "county-childrens").encoding == nil)
        var other = fixtureAgreement
        other.id = "another-agreement"
        #expect(try ReleasePlan(schema: schema, agreements: [fuzzy, other], agency: "county-childrens").encoding == nil,
                "an encoding reaches the hub only if every agreement it is sent under permits the fuzzy pass")
    }
}
