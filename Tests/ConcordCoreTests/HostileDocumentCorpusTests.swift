import ConcordCore
import ConcordFiles
import Foundation
import Testing

/// Hostile dataset schemas and agreements under `Tests/Corpora/schemas` and
/// `Tests/Corpora/agreements`, read from disk as the CLI, agent and hub read them, each with the
/// exact problems `expected.json` in its folder lists (`{file}` stands for the file's path).
/// Inputs too big to check in are made at test time, under `generated/` names.
@Suite("Hostile document corpus")
struct HostileDocumentCorpusTests {
    enum Kind: String, CaseIterable, Sendable {
        case schemas, agreements
    }

    static func folder(_ kind: Kind) -> URL { repositoryRoot.appendingPathComponent("Tests/Corpora/\(kind.rawValue)") }

    static func expected(_ kind: Kind) throws -> [String: [String]] {
        try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: folder(kind).appendingPathComponent("expected.json")))
    }

    static func files(_ kind: Kind) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder(kind).path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    static let schemaHead = "format: concord-dataset/1\ndataset: people\nversion: 1\ntitle: People\n"

    /// Documents made at test time, by kind and name.
    static let generated: [Kind: [String: @Sendable () -> String]] = [
        .schemas: [
            "generated/100000-nested-flow-lists.yaml": { schemaHead + "description: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n" },
            "generated/5000-nested-block-lists.yaml": { schemaHead + "fields:\n" + String(repeating: "- ", count: 5000) + "x\n" },
            "generated/2-MB-file.yaml": { schemaHead + "description: >\n" + String(repeating: "  " + String(repeating: "y", count: 98) + "\n", count: 20_000) },
            "generated/400000-values.yaml": { schemaHead + "fields: [" + Array(repeating: "1", count: 400_000).joined(separator: ",") + "]\n" },
            "generated/10000-fields.yaml": {
                schemaHead + "fields:\n" + (0..<10_000).map { "  - {name: F\($0), type: string, role: attribute}\n" }.joined()
                    + "  - {name: First, type: name, role: identifier, identity: forename, required: true}\n"
                    + "match_keys:\n  - {name: mk1, components: [forename]}\n"
            },
        ],
        .agreements: [
            "generated/5000-permitted-uses.yaml": {
                let text = try! String(contentsOf: repositoryRoot.appendingPathComponent("Agreements/school-readiness.v1.yaml"), encoding: .utf8)
                return text.replacingOccurrences(of: "  permitted_uses:\n", with: "  permitted_uses:\n" + String(repeating: "    - Counting.\n", count: 5000))
            },
        ],
    ]

    static let cases: [(Kind, String)] = Kind.allCases.flatMap { kind in
        (files(kind) + (generated[kind] ?? [:]).keys.sorted()).map { (kind, $0) }
    }

    @Test("every corpus document has its expected problems, and every expectation its document", arguments: Kind.allCases)
    func complete(kind: Kind) throws {
        #expect(Set(try Self.expected(kind).keys) == Set(Self.files(kind) + (Self.generated[kind] ?? [:]).keys))
    }

    @Test("each hostile document gets exactly its expected problems, quickly", .timeLimit(.minutes(1)), arguments: cases)
    func hostile(kind: Kind, name: String) throws {
        let expected = try #require(try Self.expected(kind)[name], "no expectation for \(name)")
        let path: String
        var temporary: URL?
        if let make = Self.generated[kind]?[name] {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("concord-\(UUID().uuidString).yaml")
            try make().write(to: url, atomically: true, encoding: .utf8)
            temporary = url
            path = url.path
        } else {
            path = Self.folder(kind).appendingPathComponent(name).path
        }
        defer { temporary.map { try? FileManager.default.removeItem(at: $0) } }
        var problems: [DocumentProblem] = []
        do {
            let text = try DocumentFiles.readText(path)
            switch kind {
            case .schemas: _ = try DatasetSchema(yaml: text, file: path)
            case .agreements: _ = try Agreement(yaml: text, file: path, catalogue: shippedCatalogue)
            }
        } catch {
            problems = error.problems
        }
        let found = problems.map { $0.description.replacingOccurrences(of: path, with: "{file}") }
        #expect(found == expected, "\(name): \(found)")
        // Every problem names the file; each one past the document as a whole names its line.
        #expect(problems.allSatisfy { $0.file == path })
    }
}
