import ConcordCore
import Testing

@Suite("Disclosure control")
struct DisclosureControlTests {
    private func dimension(_ name: String, _ count: Int) -> CountTable.Dimension {
        CountTable.Dimension(name: name, categories: (0..<count).map { "\(name)\($0)" })
    }

    /// The published rows as a reader sees them: categories (nil = all) → count (nil = suppressed).
    private func published(_ table: ProtectedTable) -> [[String?]: Int?] {
        Dictionary(uniqueKeysWithValues: table.rows.map { ($0.categories, $0.count) })
    }

    @Test func oneDimensionSuppressesTheNextSmallestCellWithTheSmallOne() throws {
        let table = CountTable(dimensions: [dimension("d", 4)], counts: [3, 40, 20, 30])
        let protected = try DisclosureControl.protect(table, minimumCount: 10, roundingBase: 1)
        let rows = published(protected)
        #expect(rows[["d0"]] == .some(nil))
        #expect(rows[["d2"]] == .some(nil), "20 is the smallest other cell, so it is the complement")
        #expect(rows[["d1"]] == 40 && rows[["d3"]] == 30)
        #expect(rows[[nil]] == 93, "the total is published")
        #expect(Self.attack(protected).isEmpty)
    }

    @Test func zerosArePublishedAndNeverChosenAsComplements() throws {
        let table = CountTable(dimensions: [dimension("d", 3)], counts: [0, 4, 25])
        let protected = try DisclosureControl.protect(table, minimumCount: 10, roundingBase: 1)
        let rows = published(protected)
        #expect(rows[["d0"]] == 0)
        #expect(rows[["d1"]] == .some(nil) && rows[["d2"]] == .some(nil), "the only non-zero complement in the line is 25")
        #expect(rows[[nil]] == 29)
    }

    @Test func twoDimensionsGetTwoSuppressedCellsInEveryAffectedRowAndColumn() throws {
        // 3 × 3 with one small cell.
        let table = CountTable(dimensions: [dimension("r", 3), dimension("c", 3)], counts: [
            5, 30, 40,
            25, 50, 60,
            35, 45, 70,
        ])
        let protected = try DisclosureControl.protect(table, minimumCount: 10, roundingBase: 1)
        #expect(protected.primary == [0])
        for line in protected.cube.lines {
            let count = line.count { protected.suppressed.contains($0) }
            #expect(count != 1, "line \(line) has a single suppressed cell")
        }
        // The cheapest pattern: r0c0, r0c1 (30), r1c0 (25), r1c1 (50).
        let rows = published(protected)
        for cell in [["r0", "c0"], ["r0", "c1"], ["r1", "c0"], ["r1", "c1"]] { #expect(rows[cell] == .some(nil), "\(cell)") }
        #expect(rows[["r2", "c2"]] == 70 && rows[[nil, nil]] == 360)
        #expect(Self.attack(protected).isEmpty)
    }

    @Test func smallMarginalTotalsAreSuppressedAndProtectedToo() throws {
        // Row r1 is small in total although no cell of it is below the threshold on its own... its cells are.
        let table = CountTable(dimensions: [dimension("r", 2), dimension("c", 2)], counts: [20, 30, 4, 3])
        let protected = try DisclosureControl.protect(table, minimumCount: 10, roundingBase: 1)
        let rows = published(protected)
        #expect(rows[["r1", nil]] == .some(nil), "a row total of 7 is itself disclosive")
        #expect(Self.attack(protected).isEmpty)
        #expect(RecoveryCheck.recoverableCells(protected.cube, suppressed: protected.suppressed).isEmpty)
    }

    @Test func roundingAppliesToTotalsComputedFromUnroundedCells() throws {
        let table = CountTable(dimensions: [dimension("d", 3)], counts: [12, 12, 13])
        let protected = try DisclosureControl.protect(table, minimumCount: 10, roundingBase: 5)
        let rows = published(protected)
        #expect(rows[["d0"]] == 10 && rows[["d1"]] == 10 && rows[["d2"]] == 15)
        #expect(rows[[nil]] == 35, "37 rounded, not 10 + 10 + 15")
        #expect(DisclosureControl.round(0, base: 5) == 0 && DisclosureControl.round(2, base: 5) == 0 && DisclosureControl.round(3, base: 5) == 5)
    }

    /// Two groups of suppressed cells, each a closed rectangle, joined by one more suppressed
    /// cell: every row and column has two or more, yet the joining cell is the difference of the
    /// two groups' row and column sums. The exact check finds it; the per-line rule cannot.
    @Test func theExactCheckFindsACellRecoverableOnlyByCombiningLines() throws {
        let table = CountTable(dimensions: [dimension("r", 4), dimension("c", 4)], counts: Array(repeating: 50, count: 16))
        let cube = MarginalCube(table)
        func cell(_ r: Int, _ c: Int) -> Int { r * 5 + c }
        let groups: Set<Int> = [cell(0, 0), cell(0, 1), cell(1, 0), cell(1, 1), cell(2, 2), cell(2, 3), cell(3, 2), cell(3, 3)]
        let bridge = cell(1, 2)
        let pattern = groups.union([bridge])
        #expect(cube.lines.allSatisfy { line in line.count { pattern.contains($0) } != 1 })
        #expect(RecoveryCheck.recoverableCells(cube, suppressed: pattern) == [bridge])
        #expect(RecoveryCheck.recoverableCells(cube, suppressed: groups).isEmpty)
    }

    /// Random tables of one to three dimensions from a seeded generator: every small cell is
    /// suppressed, and a reader who solves every line with one unknown, again and again with
    /// what they solved, recovers no suppressed cell; nor does exact linear algebra.
    @Test func randomTablesNeverDiscloseASuppressedCell() throws {
        var random = SplitMix(seed: 20261122)
        for trial in 0..<300 {
            let dimensionCount = Int(random.next() % 3) + 1
            let dimensions = (0..<dimensionCount).map { dimension("x\($0)_", Int(random.next() % 4) + 1) }
            var table = CountTable(dimensions: dimensions)
            let cells = table.counts.count
            let counts = (0..<cells).map { _ -> Int in
                switch random.next() % 10 {
                case 0, 1: 0
                case 2, 3, 4: Int(random.next() % 10)
                default: Int(random.next() % 60)
                }
            }
            table = CountTable(dimensions: dimensions, counts: counts)
            let minimum = Int(random.next() % 10) + 2
            let protected = try DisclosureControl.protect(table, minimumCount: minimum, roundingBase: 1)
            for (index, value) in protected.cube.values.enumerated() where (1..<minimum).contains(value) {
                #expect(protected.suppressed.contains(index), "trial \(trial): a cell of \(value) was published")
            }
            #expect(protected.suppressed.allSatisfy { protected.cube.values[$0] > 0 }, "trial \(trial): a zero was suppressed")
            let recovered = Self.attack(protected)
            #expect(recovered.isEmpty, "trial \(trial): \(counts) min \(minimum): recovered \(recovered)")
            #expect(RecoveryCheck.recoverableCells(protected.cube, suppressed: protected.suppressed).isEmpty, "trial \(trial)")
        }
    }

    /// The largest tables allowed are protected; larger ones are refused with a reason.
    @Test func largeTablesAreProtectedAndLargerOnesRefused() throws {
        var random = SplitMix(seed: 7)
        let dimensions = [dimension("r", 40), dimension("c", 40)]
        let table = CountTable(dimensions: dimensions, counts: (0..<1600).map { _ in Int(random.next() % 30) })
        let protected = try DisclosureControl.protect(table, minimumCount: 10, roundingBase: 1)
        #expect(Self.attack(protected).isEmpty)
        #expect(throws: DisclosureControlError.tooManyCells(101 * 100)) {
            try DisclosureControl.protect(CountTable(dimensions: [dimension("r", 100), dimension("c", 99)]), minimumCount: 10, roundingBase: 5)
        }
    }

    /// What a reader can work out from the published rows alone: every row whose category is
    /// "all" in some dimension is the sum of the rows naming each category there. Solves every
    /// such equation with exactly one unknown, repeatedly; returns the suppressed rows solved.
    static func attack(_ table: ProtectedTable) -> [[String?]] {
        var known: [[String?]: Int] = [:]
        var unknown: Set<[String?]> = []
        for row in table.rows {
            if let count = row.count { known[row.categories] = count } else { unknown.insert(row.categories) }
        }
        var equations: [(total: [String?], parts: [[String?]])] = []
        for row in table.rows {
            for (d, category) in row.categories.enumerated() where category == nil {
                let parts = table.dimensions[d].categories.map { value -> [String?] in
                    var key = row.categories
                    key[d] = value
                    return key
                }
                equations.append((row.categories, parts))
            }
        }
        var solved: [[String?]] = []
        var progress = true
        while progress {
            progress = false
            for equation in equations {
                let cells = [equation.total] + equation.parts
                let missing = cells.filter { known[$0] == nil }
                guard missing.count == 1, let target = missing.first else { continue }
                let partsSum = equation.parts.reduce(0) { $0 + (known[$1] ?? 0) }
                known[target] = target == equation.total ? partsSum : known[equation.total]! - partsSum
                if unknown.contains(target) { solved.append(target) }
                progress = true
            }
        }
        return solved
    }
}
