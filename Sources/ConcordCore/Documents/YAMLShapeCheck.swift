import CYaml

/// A pass over a YAML document's parse events, before it is composed into nodes, that refuses
/// what no schema, agreement or configuration needs and a hostile file could use to make the hub
/// or an agent hang: anchors and aliases (a few lines of nested aliases stand for billions of
/// nodes, which composing hashes as mapping keys), and more nodes than a document of the size
/// limit could hold written out.
///
/// It runs libyaml's event parser directly because the composer resolves aliases as it builds,
/// so by the time a node tree exists the damage is done.
enum YAMLShapeCheck {
    /// Nodes (scalars, lists and mappings) a document may hold: far more than the largest
    /// shipped agreement (about 2,000), far fewer than an alias bomb expands to.
    static let maximumNodes = 200_000

    /// The first thing wrong with the document's shape, as a problem; `nil` when it has none.
    /// Syntax errors are left to the composer, which reports them with its own context.
    static func problem(in text: String, file: String) -> DocumentProblem? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        var utf8 = Array(text.utf8)
        return utf8.withUnsafeMutableBufferPointer { buffer -> DocumentProblem? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var nodes = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1, column = Int(event.start_mark.column) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_ALIAS_EVENT:
                    return DocumentProblem(file: file, line: line, column: column, path: "",
                                           message: "YAML aliases (*name) are not allowed: write the value out in full")
                case YAML_SCALAR_EVENT where event.data.scalar.anchor != nil,
                     YAML_SEQUENCE_START_EVENT where event.data.sequence_start.anchor != nil,
                     YAML_MAPPING_START_EVENT where event.data.mapping_start.anchor != nil:
                    return DocumentProblem(file: file, line: line, column: column, path: "",
                                           message: "YAML anchors (&name) are not allowed: write each value out in full")
                case YAML_SCALAR_EVENT, YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    nodes += 1
                    if nodes > maximumNodes {
                        return DocumentProblem(file: file, line: line, column: column, path: "",
                                               message: "the document has more than \(maximumNodes) values; documents are at most that")
                    }
                default:
                    continue
                }
            }
        }
    }
}
