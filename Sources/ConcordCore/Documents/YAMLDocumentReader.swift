import Yams

/// Reads a YAML document into typed values while collecting every problem with its location,
/// so a loader can report all of them at once instead of stopping at the first.
///
/// Scalars are read from their source text, never from YAML 1.1 tag guesses: `NO` stays the
/// string "NO" (a real enum value in agency data), not `false`.
public struct YAMLDocumentReader {
    /// Upper bound on the input size: schemas and agreements are small, and a bound keeps a
    /// hostile file from exhausting memory before it is even parsed.
    public static let maximumDocumentBytes = 1 << 20
    /// libyaml's limit on nested lists and mappings, which keeps its parser's stack bounded.
    static let maximumNesting = 1000

    public let file: String
    public private(set) var problems: [DocumentProblem] = []

    public init(file: String) {
        self.file = file
    }

    /// Parses `text` into its single root node; records a problem and returns `nil` when it is
    /// not one well-formed YAML document.
    public mutating func parse(_ text: String) -> Node? {
        guard text.utf8.count <= Self.maximumDocumentBytes else {
            report(nil, "", "the file is \(text.utf8.count) bytes; documents are at most \(Self.maximumDocumentBytes)")
            return nil
        }
        if let problem = YAMLShapeCheck.problem(in: text, file: file) {
            problems.append(problem)
            return nil
        }
        do {
            guard let root = try Yams.compose(yaml: text) else {
                report(nil, "", "the file is empty")
                return nil
            }
            return root
        } catch let error as YamlError {
            reportParseError(error)
        } catch {
            report(nil, "", "not valid YAML: \(error)")
        }
        return nil
    }

    /// Records a problem at `node` (or at the document when `node` is nil).
    public mutating func report(_ node: Node?, _ path: String, _ message: String, code: String = "invalid") {
        let mark = node?.mark
        problems.append(DocumentProblem(file: file, line: mark?.line, column: mark?.column, path: path, message: message, code: code))
    }

    /// The node as a mapping whose keys are plain strings, each key at most once and all of them in
    /// `allowed`; unknown keys are reported (a misspelt key must never be silently ignored).
    public mutating func mapping(_ node: Node, _ path: String, allowed: Set<String>) -> Mapping? {
        guard case .mapping(let mapping) = node else {
            report(node, path, "expected a mapping of keys to values")
            return nil
        }
        var entries: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                report(keyNode, path, "keys must be plain text")
                continue
            }
            let keyPath = Self.join(path, key.string)
            if entries[key.string] != nil {
                report(keyNode, keyPath, "appears twice")
            } else if !allowed.contains(key.string) {
                if let suggestion = allowed.first(where: { Self.editDistance($0, key.string) <= 2 }) {
                    report(keyNode, keyPath, "unknown key; did you mean '\(suggestion)'?")
                } else {
                    report(keyNode, keyPath, "unknown key; expected one of: \(allowed.sorted().joined(separator: ", "))")
                }
            } else {
                entries[key.string] = value
            }
        }
        return Mapping(node: node, path: path, entries: entries)
    }

    /// The value of a required key, reporting its absence.
    public mutating func required(_ mapping: Mapping, _ key: String) -> Node? {
        if let value = mapping.entries[key] { return value }
        report(mapping.node, mapping.path, "missing required key '\(key)'")
        return nil
    }

    /// A scalar's source text. Control characters other than tab and line breaks are refused: a
    /// double-quoted YAML string can hold any (`"\0"`), PostgreSQL's text cannot hold NUL, and
    /// none belongs in a name, a date or prose.
    public mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(node, path, "expected a single value, not a list or mapping")
            return nil
        }
        if let control = scalar.string.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" || $0.value == 0x7F }) {
            let hex = String(control.value, radix: 16, uppercase: true)
            report(node, path, "contains the control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex); write plain text")
            return nil
        }
        return scalar.string
    }

    /// A non-empty string matching `isValid`; `expectation` says what was expected.
    public mutating func string(_ node: Node, _ path: String, expectation: String, isValid: (String) -> Bool) -> String? {
        guard let text = string(node, path) else { return nil }
        guard isValid(text) else {
            report(node, path, "'\(text)' is not valid: expected \(expectation)")
            return nil
        }
        return text
    }

    /// A string from a fixed vocabulary.
    public mutating func keyword(_ node: Node, _ path: String, in vocabulary: [String]) -> String? {
        string(node, path, expectation: "one of \(vocabulary.joined(separator: ", "))") { vocabulary.contains($0) }
    }

    /// A calendar date written `YYYY-MM-DD`.
    public mutating func date(_ node: Node, _ path: String) -> CivilDate? {
        guard let text = string(node, path) else { return nil }
        guard let date = CivilDate(iso: text) else {
            report(node, path, "'\(text)' is not a real date written YYYY-MM-DD")
            return nil
        }
        return date
    }

    /// A decimal integer written plainly (no YAML 1.1 octal, sexagesimal or `+` forms).
    public mutating func integer(_ node: Node, _ path: String) -> Int? {
        guard let text = string(node, path) else { return nil }
        guard let value = Int(text), !text.hasPrefix("+") else {
            report(node, path, "'\(text)' is not a whole number")
            return nil
        }
        return value
    }

    /// `true` or `false`.
    public mutating func boolean(_ node: Node, _ path: String) -> Bool? {
        guard let text = string(node, path) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            report(node, path, "'\(text)' is not true or false")
            return nil
        }
    }

    /// The node's items, each with its path.
    public mutating func sequence(_ node: Node, _ path: String, nonEmpty: Bool = false) -> [(node: Node, path: String)]? {
        guard case .sequence(let sequence) = node else {
            report(node, path, "expected a list")
            return nil
        }
        if nonEmpty && sequence.isEmpty {
            report(node, path, "must not be empty")
        }
        return sequence.enumerated().map { ($0.element, "\(path)[\($0.offset)]") }
    }

    /// A list of plain strings.
    public mutating func strings(_ node: Node, _ path: String, nonEmpty: Bool = false) -> [String]? {
        guard let items = sequence(node, path, nonEmpty: nonEmpty) else { return nil }
        let values = items.compactMap { string($0.node, $0.path) }
        return values.count == items.count ? values : nil
    }

    /// A checked mapping: its node, path and entries by key.
    public struct Mapping {
        public let node: Node
        public let path: String
        public let entries: [String: Node]

        public subscript(key: String) -> Node? { entries[key] }

        public func path(_ key: String) -> String { YAMLDocumentReader.join(path, key) }
    }

    /// Levenshtein distance, to suggest the key a misspelling meant.
    static func editDistance(_ first: String, _ second: String) -> Int {
        let a = Array(first.unicodeScalars), b = Array(second.unicodeScalars)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    private mutating func reportParseError(_ error: YamlError) {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            // libyaml's own words name a C function the reader cannot call.
            let message = problem.hasPrefix("Maximum nesting level reached")
                ? "lists and mappings are nested more than \(Self.maximumNesting) deep here; documents need only a few levels"
                : "not valid YAML: \(detail)\(problem)"
            problems.append(DocumentProblem(file: file, line: mark.line, column: mark.column, path: "", message: message))
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the first occurrence only: name the keys so every repeat can be found.
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            problems.append(DocumentProblem(file: file, line: context.mark.line, column: context.mark.column, path: "",
                                            message: "\(keys) appears more than once in the same mapping (first here)"))
        case .reader(let problem, _, _, _):
            problems.append(DocumentProblem(file: file, line: nil, column: nil, path: "", message: "not readable as YAML text: \(problem)"))
        default:
            problems.append(DocumentProblem(file: file, line: nil, column: nil, path: "", message: "not valid YAML: \(error)"))
        }
    }
}
