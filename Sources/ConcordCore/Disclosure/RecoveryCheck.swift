/// Which suppressed cells a reader could compute exactly from what is published with them.
///
/// Every line of a `MarginalCube` is a linear equation (its cells sum to its total). With the
/// published cells moved to the right-hand side, the suppressed cells are the unknowns; a
/// suppressed cell is recoverable exactly when its value is the same in every solution of that
/// system, i.e. when its unit vector lies in the row space of the equations over the unknowns.
/// Reduced row echelon form answers that for every cell at once: a cell is determined exactly
/// when it is a pivot whose row has no free unknown in it. This is stronger than checking each
/// line alone: it also finds cells recoverable only by combining several lines (a suppressed
/// cell that is the single link between two otherwise protected groups).
public enum RecoveryCheck {
    /// The suppressed cells (indices into `cube.values`) that the published cells determine.
    public static func recoverableCells(_ cube: MarginalCube, suppressed: Set<Int>) -> [Int] {
        let unknowns = suppressed.sorted()
        guard !unknowns.isEmpty else { return [] }
        let column = Dictionary(uniqueKeysWithValues: unknowns.enumerated().map { ($1, $0) })
        var rows: [[Double]] = []
        for line in cube.lines where line.contains(where: { suppressed.contains($0) }) {
            var row = Array(repeating: 0.0, count: unknowns.count)
            for (position, cell) in line.enumerated() {
                guard let c = column[cell] else { continue }
                row[c] += position == line.count - 1 ? -1 : 1
            }
            rows.append(row)
        }
        let (reduced, pivots) = reducedRowEchelonForm(rows, columns: unknowns.count)
        let pivotColumns = Set(pivots)
        var recoverable: [Int] = []
        for (rowIndex, pivot) in pivots.enumerated() {
            let alone = (0..<unknowns.count).allSatisfy { c in c == pivot || pivotColumns.contains(c) || abs(reduced[rowIndex][c]) < tolerance }
            if alone { recoverable.append(unknowns[pivot]) }
        }
        return recoverable.sorted()
    }

    /// Entries are small integers (0, ±1) and stay well-conditioned under partial pivoting.
    private static let tolerance = 1e-9

    /// The matrix in reduced row echelon form (only its non-zero rows) and each row's pivot column.
    private static func reducedRowEchelonForm(_ matrix: [[Double]], columns: Int) -> ([[Double]], [Int]) {
        var rows = matrix
        var pivots: [Int] = []
        var top = 0
        for c in 0..<columns where top < rows.count {
            guard let best = (top..<rows.count).max(by: { abs(rows[$0][c]) < abs(rows[$1][c]) }), abs(rows[best][c]) > tolerance else { continue }
            rows.swapAt(top, best)
            let scale = rows[top][c]
            for k in 0..<columns { rows[top][k] /= scale }
            for r in 0..<rows.count where r != top && abs(rows[r][c]) > tolerance {
                let factor = rows[r][c]
                for k in 0..<columns { rows[r][k] -= factor * rows[top][k] }
            }
            pivots.append(c)
            top += 1
        }
        return (Array(rows.prefix(top)), pivots)
    }
}
