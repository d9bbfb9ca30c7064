import ConcordCore
import Foundation
import Testing

/// The shipped agreements, and a corpus of deliberately broken ones under `Tests/Agreements`, each
/// with the exact problems it must produce in `Tests/Agreements/expected.json`.
@Suite("Agreement corpus")
struct AgreementCorpusTests {
    struct Expected: Decodable, Equatable, CustomStringConvertible {
        var file: String?
        var code: String
        var line: Int?
        var path: String
        var message: String
        var description: String { "\(code)@\(line ?? 0) \(path): \(message)" }
    }

    static let expected: [String: [Expected]] = {
        let data = try! Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Agreements/expected.json"))
        return try! JSONDecoder().decode([String: [Expected]].self, from: data)
    }()

    static let brokenFiles: [String] = try! FileManager.default
        .contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Tests/Agreements/broken").path)
        .filter { $0.hasSuffix(".yaml") }.sorted()

    static func files(in folder: String) throws -> [(path: String, text: String)] {
        let directory = repositoryRoot.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted().map {
            ("\(folder)/\($0)", try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8))
        }
    }

    @Test("the shipped agreements load without a problem, for the datasets in Schemas/")
    func shipped() throws {
        let (agreements, problems) = Agreement.load(files: try Self.files(in: "Agreements"), catalogue: shippedCatalogue)
        #expect(problems.isEmpty, "\(problems)")
        #expect(agreements.count >= 3)
        for agreement in agreements {
            #expect(agreement.status == .active)
            #expect(agreement.providers.flatMap(\.datasets).allSatisfy { shippedCatalogue.schemas[$0.dataset] != nil })
            // Each shipped agreement permits its own analysts' linked request for its purpose.
            let analyst = try #require(agreement.recipients.first?.people.first?.id)
            let fields = agreement.providers.flatMap(\.datasets).map { DatasetField($0.dataset, $0.fields[0].field) }
            let request = DecisionRequest(principal: .analyst(analyst),
                                          action: .request(datasets: agreement.linkage.datasets, fields: fields.filter { agreement.linkage.datasets.contains($0.dataset) },
                                                           level: .aggregate, linked: agreement.linkage.permitted),
                                          purpose: agreement.purpose.code, date: agreement.validFrom)
            #expect(Decision.evaluate(request, under: agreement).effect != .deny, "\(agreement.id)")
        }
    }

    @Test("every broken agreement has its expectations, and every expectation its file")
    func corpusComplete() {
        #expect(Set(Self.brokenFiles) == Set(Self.expected.keys).subtracting(["duplicate"]))
        #expect(Self.brokenFiles.count >= 25)
    }

    @Test("each broken agreement gives exactly its expected problems", arguments: brokenFiles)
    func broken(file: String) throws {
        let path = "Tests/Agreements/broken/\(file)"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        let (agreements, problems) = Agreement.load(files: [(path, text)], catalogue: shippedCatalogue)
        #expect(agreements.isEmpty)
        let found = problems.map { Expected(file: nil, code: $0.code, line: $0.line, path: $0.path, message: $0.message) }
        #expect(found == Self.expected[file], "\(found)")
        #expect(problems.allSatisfy { $0.file == path })
    }

    @Test("the same agreement version in two files is reported against the second")
    func duplicate() throws {
        let files = try ["first", "second"].flatMap { try Self.files(in: "Tests/Agreements/duplicate/\($0)") }
        let (agreements, problems) = Agreement.load(files: files, catalogue: shippedCatalogue)
        #expect(agreements.count == 1)
        let found = problems.map { Expected(file: $0.file, code: $0.code, line: $0.line, path: $0.path, message: $0.message) }
        #expect(found == Self.expected["duplicate"])
    }
}
