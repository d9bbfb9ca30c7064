import ConcordAgent
import ConcordCore
import ConcordFiles
import ConcordTestSupport
import Foundation
import Testing

/// Hostile extracts under `Tests/Corpora/csv`, run through the agent's pseudonymise job with the
/// `people` schema, each with the exact outcome `Tests/Corpora/csv/expected.json` gives it: the
/// error that stops the job (`{input}` stands for the file's path), or the rejects it writes.
/// Inputs too big to check in (a 100 MB field, 10,000 columns) are made at test time.
@Suite("Hostile CSV corpus")
struct HostileCSVCorpusTests {
    struct Expected: Decodable, Sendable {
        /// The job's error, with `{input}` for the input path.
        var error: String?
        /// The rejects file's lines after its header, when the job finishes.
        var rejects: [String]?
        var rowsWritten: Int?

        enum CodingKeys: String, CodingKey {
            case error, rejects
            case rowsWritten = "rows_written"
        }
    }

    static let corpus = URL(fileURLWithPath: repositoryRoot + "/Tests/Corpora/csv")

    static let expected: [String: Expected] = {
        let data = try! Data(contentsOf: corpus.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode([String: Expected].self, from: data)
    }()

    static let files: [String] = try! FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".csv") }.sorted()

    /// Inputs made at test time, by the name `expected.json` gives them.
    static let generated: [String: @Sendable () -> [UInt8]] = [
        "generated/100-MB-single-field.csv": { header + [UInt8](repeating: UInt8(ascii: "x"), count: 100 << 20) + Array(",Ann,A,01/01/2000\n".utf8) },
        "generated/100-MB-quoted-field.csv": {
            header + [UInt8(ascii: "\"")] + [UInt8](repeating: UInt8(ascii: "\n"), count: 100 << 20) + Array("\",Ann,A,01/01/2000\n".utf8)
        },
        "generated/10000-columns-in-header.csv": {
            Array(("Last,First,Outcome,Born," + (1...9996).map { "C\($0)" }.joined(separator: ",") + "\nLee,Ann,A,01/01/2000\n").utf8)
        },
        "generated/10000-columns-in-a-row.csv": {
            header + Array(("Lee,Ann,A,01/01/2000" + String(repeating: ",x", count: 9996) + "\nPark,Jo,B,02/02/2002\n").utf8)
        },
        "generated/1000000-empty-lines-then-an-unterminated-quote.csv": {
            header + [UInt8](repeating: 0x0A, count: 1_000_000) + Array("\"Lee,Ann,A,01/01/2000\n".utf8)
        },
    ]

    static let header = Array("Last,First,Outcome,Born\n".utf8)

    @Test("every corpus file and generated input has its expected outcome, and every expectation its input")
    func complete() {
        #expect(Set(Self.files + Self.generated.keys) == Set(Self.expected.keys))
        #expect(Self.expected.count >= 25)
    }

    @Test("each hostile extract gets exactly its expected error or rejects", arguments: files + generated.keys.sorted())
    func hostile(name: String) async throws {
        let expected = try #require(Self.expected[name], "no expectation for \(name)")
        let directory = try TemporaryDirectory()
        let input = directory.file("in.csv")
        if let make = Self.generated[name] {
            try Data(make()).write(to: URL(fileURLWithPath: input))
        } else {
            try FileManager.default.copyItem(atPath: Self.corpus.appendingPathComponent(name).path, toPath: input)
        }
        do {
            let summary = try await job(directory).run()
            #expect(expected.error == nil, "\(name): finished, expected \(expected.error ?? "")")
            let rejects = summary.rejectsPath.map { try? String(contentsOfFile: $0, encoding: .utf8) } ?? nil
            let lines = rejects.map { $0.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().dropLast().map(String.init) } ?? []
            #expect(lines == (expected.rejects ?? []), "\(name): rejects \(lines)")
            #expect(summary.rowsWritten == expected.rowsWritten ?? 0, "\(name)")
        } catch {
            let message = "\(error)".replacingOccurrences(of: input, with: "{input}")
            #expect(message == expected.error, "\(name): \(message)")
            // A refused extract leaves nothing behind to be sent by mistake.
            #expect(directory.contents == ["in.csv"], "\(name)")
        }
    }
}
