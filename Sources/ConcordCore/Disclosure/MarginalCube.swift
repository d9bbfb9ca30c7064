/// A count table with every marginal total it is published with: each dimension gains one more
/// position, "all categories", so a 2-D table of r × c cells becomes (r+1) × (c+1) with its row
/// totals, column totals and grand total. Its **lines** are the additive constraints a reader
/// knows: along any one dimension, with every other coordinate fixed, the cells sum to the
/// line's last entry (its total).
public struct MarginalCube: Sendable, Hashable {
    /// Positions per dimension: categories + 1 (the last is the total).
    public let shape: [Int]
    /// Every cell, internal and marginal, row-major over `shape`, unrounded.
    public let values: [Int]
    /// Each line as cell indices: the categories in order, then the line's total.
    public let lines: [[Int]]

    public init(_ table: CountTable) {
        let shape = table.dimensions.map { $0.categories.count + 1 }
        var strides = Array(repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        let cellCount = shape.reduce(1, *)
        var values = Array(repeating: 0, count: cellCount)
        var coordinates = Array(repeating: 0, count: shape.count)

        func forEachCoordinate(_ body: ([Int], Int) -> Void) {
            for index in 0..<cellCount {
                var rest = index
                for d in 0..<shape.count {
                    coordinates[d] = rest / strides[d]
                    rest %= strides[d]
                }
                body(coordinates, index)
            }
        }
        forEachCoordinate { coordinates, index in
            if zip(coordinates, shape).allSatisfy({ $0 < $1 - 1 }) { values[index] = table[coordinates] }
        }
        // Totals along dimension d, for every combination of the other coordinates that is
        // already known: internal ones, and totals of the dimensions done before d.
        for d in 0..<shape.count {
            forEachCoordinate { coordinates, index in
                guard coordinates[d] == shape[d] - 1, (d + 1..<shape.count).allSatisfy({ coordinates[$0] < shape[$0] - 1 }) else { return }
                let first = index - coordinates[d] * strides[d]
                values[index] = (0..<shape[d] - 1).reduce(0) { $0 + values[first + $1 * strides[d]] }
            }
        }
        var lines: [[Int]] = []
        for d in 0..<shape.count {
            forEachCoordinate { coordinates, index in
                guard coordinates[d] == 0 else { return }
                lines.append((0..<shape[d]).map { index + $0 * strides[d] })
            }
        }
        self.shape = shape
        self.values = values
        self.lines = lines
    }

    /// The coordinates of a cell; a coordinate equal to its dimension's category count is the total.
    public func coordinates(of index: Int) -> [Int] {
        var coordinates = Array(repeating: 0, count: shape.count)
        var rest = index
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            coordinates[d] = rest % shape[d]
            rest /= shape[d]
        }
        return coordinates
    }
}
