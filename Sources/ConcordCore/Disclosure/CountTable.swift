/// A table of counts over one or more categorical dimensions, before disclosure control: what an
/// aggregate request computes. Cells are stored row-major (the last dimension varies fastest).
public struct CountTable: Sendable, Hashable {
    /// One dimension: its name and its categories, in the order they are published.
    public struct Dimension: Sendable, Hashable {
        public var name: String
        public var categories: [String]

        public init(name: String, categories: [String]) {
            self.name = name
            self.categories = categories
        }
    }

    public let dimensions: [Dimension]
    /// One count per combination of categories, row-major.
    public private(set) var counts: [Int]

    /// A table of zeros. Every dimension needs at least one category.
    public init(dimensions: [Dimension]) {
        precondition(!dimensions.isEmpty && dimensions.allSatisfy { !$0.categories.isEmpty }, "a count table needs dimensions with categories")
        self.dimensions = dimensions
        counts = Array(repeating: 0, count: dimensions.reduce(1) { $0 * $1.categories.count })
    }

    /// A table with the given counts, row-major; `counts` must have one entry per cell.
    public init(dimensions: [Dimension], counts: [Int]) {
        self.init(dimensions: dimensions)
        precondition(counts.count == self.counts.count && counts.allSatisfy { $0 >= 0 }, "one non-negative count per cell")
        self.counts = counts
    }

    /// The count of the cell at these category indices (one per dimension).
    public subscript(_ coordinates: [Int]) -> Int {
        get { counts[index(coordinates)] }
        set {
            precondition(newValue >= 0, "counts are never negative")
            counts[index(coordinates)] = newValue
        }
    }

    private func index(_ coordinates: [Int]) -> Int {
        precondition(coordinates.count == dimensions.count, "one coordinate per dimension")
        var index = 0
        for (coordinate, dimension) in zip(coordinates, dimensions) {
            precondition(dimension.categories.indices.contains(coordinate), "coordinate out of range")
            index = index * dimension.categories.count + coordinate
        }
        return index
    }
}
