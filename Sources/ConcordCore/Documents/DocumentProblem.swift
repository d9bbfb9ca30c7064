/// One thing wrong with a YAML document (a dataset schema, later an agreement), located precisely
/// enough that a person can fix it without guessing.
public struct DocumentProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file the document came from, as the user named it.
    public var file: String
    /// 1-based line, or `nil` when the problem concerns the document as a whole.
    public var line: Int?
    /// 1-based column in Unicode scalars.
    public var column: Int?
    /// Where in the document's structure, e.g. `fields[3].generalise`; empty for the root.
    public var path: String
    /// What is wrong and, where there is one obvious fix, what to do.
    public var message: String
    /// A stable name for the kind of problem, for machines (`invalid` for format errors).
    public var code: String

    public init(file: String, line: Int?, column: Int?, path: String, message: String, code: String = "invalid") {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.code = code
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// A document that could not be loaded, with every problem found in it.
public struct InvalidDocumentError: Error, Sendable, CustomStringConvertible {
    public var problems: [DocumentProblem]

    public init(problems: [DocumentProblem]) {
        self.problems = problems
    }

    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        return "\(problems.count) \(noun):\n" + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
