/// Statistical disclosure control for an aggregate output (`docs/requests.md`, "Aggregate
/// outputs"): a count table is published with all its marginal totals, small cells suppressed,
/// complementary cells suppressed so that none of them can be worked out from the totals, and
/// every published count rounded.
public enum DisclosureControl {
    /// Protects `table` under an agreement's output rules.
    ///
    /// 1. **Primary suppression**: every cell, internal or marginal, counting 1 to
    ///    `minimumCount - 1` is suppressed. Zeros are published: a zero discloses no person, and
    ///    suppressing zeros would make structural zeros unreadable (usual SDC practice).
    /// 2. **Secondary suppression**: along every line (one dimension varying, the others fixed,
    ///    with its total), one suppressed entry alone would equal the total minus the rest, so
    ///    while some line has exactly one suppressed entry, its smallest non-zero published entry
    ///    is suppressed too (for a 1-D table: the next smallest cell; for 2-D: every row and
    ///    column with a suppressed cell gets at least two; for more dimensions: every 1-D line of
    ///    the cube), until no line changes.
    /// 3. **Across lines**: a cell can still be determined by combining several lines; the exact
    ///    check (`RecoveryCheck`) finds those, and for each the smallest non-zero published entry
    ///    of its lines is suppressed and step 2 runs again, until no suppressed cell is determined.
    /// 4. **Rounding**: every published count, totals included, is rounded to the nearest multiple
    ///    of `roundingBase` (halves up). Totals are computed from the unrounded cells and then
    ///    rounded, so rounded cells need not add up to their rounded total.
    public static func protect(_ table: CountTable, minimumCount: Int, roundingBase: Int) throws(DisclosureControlError) -> ProtectedTable {
        precondition(minimumCount >= 1 && roundingBase >= 1, "the agreement's output rules are positive")
        let cells = table.dimensions.reduce(1) { $0 * ($1.categories.count + 1) }
        guard cells <= maximumCells else { throw .tooManyCells(cells) }
        let cube = MarginalCube(table)
        var suppressed = Set(cube.values.indices.filter { (1..<minimumCount).contains(cube.values[$0]) })
        let primary = suppressed
        while true {
            enforceTwoPerLine(cube, &suppressed)
            guard let exposed = RecoveryCheck.recoverableCells(cube, suppressed: suppressed).first else { break }
            let lines = cube.lines.filter { $0.contains(exposed) }
            let complement = smallestPublished(in: lines.flatMap { $0 }, cube, suppressed)
                ?? smallestPublished(in: Array(cube.values.indices), cube, suppressed)
            // A determined cell always has a published non-zero cell somewhere: with every
            // non-zero cell suppressed, the equations are homogeneous and fix nothing non-zero.
            guard let complement else { break }
            suppressed.insert(complement)
        }
        return ProtectedTable(dimensions: table.dimensions, cube: cube, suppressed: suppressed, primary: primary, roundingBase: roundingBase)
    }

    private static func enforceTwoPerLine(_ cube: MarginalCube, _ suppressed: inout Set<Int>) {
        var changed = true
        while changed {
            changed = false
            for line in cube.lines where line.count(where: { suppressed.contains($0) }) == 1 {
                // The total is positive whenever a cell in its line is, so a candidate exists.
                if let complement = smallestPublished(in: line, cube, suppressed) {
                    suppressed.insert(complement)
                    changed = true
                }
            }
        }
    }

    /// The published non-zero cell with the smallest count (the first such on a tie), so the
    /// least information is lost.
    private static func smallestPublished(in cells: [Int], _ cube: MarginalCube, _ suppressed: Set<Int>) -> Int? {
        cells.filter { cube.values[$0] > 0 && !suppressed.contains($0) }.min { (cube.values[$0], $0) < (cube.values[$1], $1) }
    }

    /// The largest table, totals included, protected: the exact check solves a linear system
    /// over the suppressed cells, so the cost grows with the cube of their number, and a table
    /// this large is mostly small cells anyway.
    public static let maximumCells = 10_000

    /// `value` rounded to the nearest multiple of `base`, halves up.
    public static func round(_ value: Int, base: Int) -> Int {
        (value + base / 2) / base * base
    }
}

/// A count table after disclosure control: every cell of its `MarginalCube`, published (rounded)
/// or suppressed.
public struct ProtectedTable: Sendable, Hashable {
    public let dimensions: [CountTable.Dimension]
    /// The unrounded values and the lines they are published with. Never published as such.
    public let cube: MarginalCube
    /// Cells withheld, by index into `cube.values`: primary and complementary.
    public let suppressed: Set<Int>
    /// The cells withheld because they are small themselves.
    public let primary: Set<Int>
    public let roundingBase: Int

    /// One published line of the output: a category per dimension (`nil` for "all categories")
    /// and the rounded count, `nil` when suppressed.
    public struct Row: Sendable, Hashable {
        public var categories: [String?]
        public var count: Int?
    }

    /// Every cell, internal and marginal, row-major with totals after their categories.
    public var rows: [Row] {
        cube.values.indices.map { index in
            let categories = zip(cube.coordinates(of: index), dimensions).map { coordinate, dimension in
                coordinate < dimension.categories.count ? dimension.categories[coordinate] : nil
            }
            return Row(categories: categories, count: published(index))
        }
    }

    /// The rounded count of a cell, or `nil` when it is suppressed.
    public func published(_ index: Int) -> Int? {
        suppressed.contains(index) ? nil : DisclosureControl.round(cube.values[index], base: roundingBase)
    }
}

/// Why a table cannot be published.
public enum DisclosureControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The table with its totals would have this many cells, more than `DisclosureControl.maximumCells`.
    case tooManyCells(Int)

    public var description: String {
        switch self {
        case .tooManyCells(let cells):
            "the table would have \(cells) cells with its totals (at most \(DisclosureControl.maximumCells)); ask for fewer or coarser dimensions"
        }
    }
}
