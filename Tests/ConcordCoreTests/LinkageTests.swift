import ConcordCore
import Testing

/// The shipped youth violence agreement, linked over three datasets.
private func youthViolence() throws -> Agreement {
    let path = "Agreements/youth-violence-vulnerability.v1.yaml"
    return try Agreement(yaml: repositoryFile(path), file: path, catalogue: shippedCatalogue)
}

@Suite struct LinkagePlanTests {
    @Test func passesFollowTheAgreementAndSwappedKeysCompareWithTheirOriginal() throws {
        let plan = try LinkagePlan(agreement: youthViolence(), catalogue: shippedCatalogue)
        #expect(plan.keys == ["mk_upn", "mk2", "mk3", "mk3_swapped", "mk4", "mk5"])
        #expect(plan.passes.map(\.key) == plan.keys)
        #expect(plan.passes[3].comparedWith == [2], "mk3_swapped is hashed as mk3")
        #expect(plan.passes[2].comparedWith.isEmpty)
        #expect(plan.valueSpaces == [0, 1, 2, 2, 4, 5])
        #expect(plan.uniqueKeys == [0], "a unique pupil number names one person; names and dates do not")
        #expect(plan.datasets.map(\.name) == ["csc_referrals", "school_attendance", "police_da_incidents"])
        #expect(plan.datasets[2].carries[0] == false, "police records carry no UPN")
    }

    @Test func aKeyNoLinkedDatasetDefinesIsRefused() throws {
        var agreement = try youthViolence()
        agreement.linkage.matchKeys.append("mk_nowhere")
        #expect(throws: LinkagePlanError.undefinedKey("mk_nowhere")) { try LinkagePlan(agreement: agreement, catalogue: shippedCatalogue) }
        agreement.linkage.permitted = false
        #expect(throws: LinkagePlanError.notPermitted(agreement: agreement.id)) { try LinkagePlan(agreement: agreement, catalogue: shippedCatalogue) }
    }
}

/// Clusters `nodeCount` nodes: `passes[p]` lists the groups sharing a value of pass `p`'s key.
private func cluster(_ nodeCount: Int, unique: [[Int32]] = [], previous: [Int64]? = nil, passes: [[[Int32]]]) -> PersonClustering {
    var clustering = PersonClustering(nodeCount: nodeCount, uniqueValues: unique, previousPersons: previous ?? Array(repeating: 0, count: nodeCount),
                                      passCount: passes.count)
    for (pass, groups) in passes.enumerated() {
        clustering.beginPass(pass)
        for group in groups { clustering.link(group: group) }
    }
    return clustering
}

/// The partition as sets of nodes, sorted, so that tests do not depend on which node is a root.
private func partition(_ clustering: inout PersonClustering) -> [[Int]] {
    var byRoot: [Int32: [Int]] = [:]
    for (node, root) in clustering.roots().enumerated() { byRoot[root, default: []].append(node) }
    return byRoot.values.sorted { $0[0] < $1[0] }
}

@Suite struct PersonClusteringTests {
    @Test func aStrongKeyLinksAllWhoShareIt() {
        var clustering = cluster(4, passes: [[[0, 1], [1, 2]]])
        #expect(partition(&clustering) == [[0, 1, 2], [3]])
        #expect(clustering.evidence == [0, 0, 0, -1])
    }

    @Test func aWeakerKeyNeverJoinsTwoPersonsAlreadyLinked() {
        // Pass 0 makes {0,1} and {2,3}; pass 1 would chain them through a shared weak value.
        var clustering = cluster(5, passes: [[[0, 1], [2, 3]], [[1, 2], [3, 4]]])
        #expect(partition(&clustering) == [[0, 1], [2, 3, 4]], "node 4 was not yet linked, so the weak key links it")
        #expect(clustering.evidence[4] == 1)
        #expect(clustering.evidence[3] == 0, "evidence is the first key that linked a node")
    }

    @Test func aValueSharedByTwoLinkedPersonsIsAmbiguousAndLinksNobodyToThem() {
        var clustering = cluster(5, passes: [[[0, 1], [2, 3]], [[0, 2, 4]]])
        #expect(partition(&clustering) == [[0, 1], [2, 3], [4]])
        #expect(clustering.ambiguousValues == [0, 1])
    }

    @Test func twoValuesOfAUniqueKeyAreSplitNotMerged() {
        // Nodes 0 and 1 hold different NHS numbers (1 and 2); node 2 has none. A weak key joins all three.
        var clustering = cluster(3, unique: [[1, 2, 0]], passes: [[], [[0, 1, 2]]])
        #expect(partition(&clustering) == [[0, 2], [1]], "the join that would give one person two NHS numbers is refused")
        #expect(clustering.conflicts.map { [$0.key.uniqueKey, $0.key.pass, $0.value] } == [[0, 1, 1]])
        #expect(clustering.flaggedRoots().count == 2)
    }

    @Test func joiningTwoPreviousPersonsIsNoted() {
        let clustering = cluster(3, previous: [7, 9, 0], passes: [[], [[0, 2], [1, 2]]])
        #expect(clustering.joinsOfPreviousPersons.map { [$0.first, $0.second, Int64($0.pass)] } == [[7, 9, 1]])
    }
}

@Suite struct PersonIdentitiesTests {
    @Test func personsKeepTheirNumbersAndNewOnesAreNumberedFromNext() {
        let identities = PersonIdentities(roots: [0, 0, 2, 3], previousPersons: [5, 0, 6, 0], previousEvidence: [-1, -1, -1, -1], joins: [], nextPerson: 10)
        #expect(identities.persons == [5, 5, 6, 10])
        #expect(identities.events.isEmpty)
        #expect(identities.nextPerson == 11)
    }

    @Test func aMergeKeepsTheLargerPersonsNumberAndNamesTheKey() {
        let identities = PersonIdentities(roots: [0, 0, 0, 0], previousPersons: [5, 5, 6, 0], previousEvidence: [-1, 0, -1, -1],
                                          joins: [(first: 5, second: 6, pass: 2)], nextPerson: 10)
        #expect(identities.persons == [5, 5, 5, 5])
        #expect(identities.events.map { "\($0.kind) \($0.person) \($0.other) \($0.pass)" } == ["merge 6 5 2"])
    }

    @Test func aSplitLeavesTheNumberWithTheLargerPartAndBlamesTheKeyThatHadLinkedTheRest() {
        let identities = PersonIdentities(roots: [0, 0, 2], previousPersons: [5, 5, 5], previousEvidence: [-1, 1, 3], joins: [], nextPerson: 10)
        #expect(identities.persons == [5, 5, 10])
        #expect(identities.events.map { "\($0.kind) \($0.person) \($0.other) \($0.pass)" } == ["split 10 5 3"])
    }
}

@Suite struct LinkageQualityTests {
    @Test func countsPairsFromTheContingencyOfFoundAndTruePersons() {
        // True persons: a = {0,1,2}, b = {3,4}. Found: {0,1}, {2,3,4}.
        let quality = LinkageQuality([(1, "a"), (1, "a"), (2, "a"), (2, "b"), (2, "b")].map { (found: $0.0, truth: $0.1) })
        #expect(quality.truePairs == 4 && quality.foundPairs == 4 && quality.correctPairs == 2)
        #expect(quality.precision == 0.5 && quality.recall == 0.5)
        #expect(quality.description.hasPrefix("5 records: precision 50.00%, recall 50.00%"))
    }
}

@Suite struct LinkageTallyTests {
    /// Persons 7 (two csc nodes and a police one, linked by mk1 and mk2), 8 (one school node,
    /// flagged, also linked by mk1) and 9 (alone); the nodes arrive in no order.
    @Test func figuresComeFromOnePassInAnyOrder() {
        let nodes: [(person: Int64, dataset: Int, records: Int, key: Int?, flagged: Bool)] = [
            (7, 0, 2, nil, false), (9, 2, 1, nil, false), (8, 1, 3, 0, true), (7, 2, 1, 1, false), (7, 0, 1, 0, false), (8, 1, 1, nil, true),
        ]
        var figures: [LinkageReport] = []
        for order in [nodes, nodes.reversed()] {
            var tally = LinkageTally(datasets: ["csc", "school", "police", "housing"], keys: ["mk1", "mk2"])
            for node in order { tally.add(person: node.person, dataset: node.dataset, records: node.records, key: node.key, flagged: node.flagged) }
            figures.append(tally.report(agreement: "a", agreementVersion: 2, run: .init(run: 1)))
        }
        #expect(figures[0] == figures[1])
        let report = figures[0]
        #expect(report.datasets.map { "\($0.dataset) \($0.records) \($0.linkedRecords)" } == ["csc 3 3", "school 4 4", "police 2 1"],
                "housing has no records and is left out; person 9 alone is not linked")
        #expect(report.linkedBy.map { "\($0.key) \($0.records)" } == ["mk1 4", "mk2 1"])
        #expect(report.pairs.map { "\($0.dataset)+\($0.other) \($0.records)" } == ["csc+police 3", "police+csc 1"])
        #expect(report.persons == 3 && report.flaggedPersons == 1)
        #expect(report.clusterSizes.filter { $0.persons > 0 }.map { "\($0.size): \($0.persons)" } == ["1: 1", "4: 2"])
        #expect(abs(report.linkedBy[0].rate - 4.0 / 9.0) < 1e-12)
    }
}
