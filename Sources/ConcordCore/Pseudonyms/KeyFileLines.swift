/// The text format of Concord's key files: `name: value` lines, blank lines and `#` comments
/// ignored, each name from a known set and at most once.
enum KeyFileLines {
    enum Problem: Error {
        case malformedLine(Int)
        case duplicate(String)
    }

    static func parse(_ text: String, names: Set<String>) throws(Problem) -> [String: String] {
        var values: [String: String] = [:]
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingASCIISpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else { throw .malformedLine(offset + 1) }
            let name = String(line[..<colon].trimmingASCIISpaces)
            guard names.contains(name) else { throw .malformedLine(offset + 1) }
            guard values.updateValue(String(line[line.index(after: colon)...].trimmingASCIISpaces), forKey: name) == nil else {
                throw .duplicate(name)
            }
        }
        return values
    }
}
