@testable import ConcordCore
import Foundation
import Testing

/// The vectors in `Tests/Vectors/`, also printed in `docs/pseudonyms.md` and checked by the Python
/// implementation (`Benchmarks/test_baseline.py`): the two implementations cannot drift apart.
@Suite("Specification test vectors")
struct SpecVectorTests {
    struct NormalisationVector: Decodable, CustomTestStringConvertible {
        var kind: String
        var input: String
        var format: String?
        var output: String?
        var testDescription: String { "\(kind) \(input.debugDescription)" }
    }

    struct MatchKeyVector: Decodable, CustomTestStringConvertible {
        var name: String
        var version: Int
        var components: [[String]]
        var message_hex: String?
        var text: String
        var testDescription: String { "\(name) v\(version) \(text)" }
    }

    static func load<T: Decodable>(_ file: String) -> [T] {
        let data = try! Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Vectors/\(file)"))
        return try! JSONDecoder().decode([T].self, from: data)
    }

    static let normalisation: [NormalisationVector] = load("normalisation.json")
    static let matchKeys: [MatchKeyVector] = load("match_keys.json")

    @Test("there are vectors of every kind")
    func coverage() {
        #expect(Set(Self.normalisation.map(\.kind)) == ["name", "date", "postcode", "nhs_number", "soundex", "sex", "reference"])
        #expect(Self.matchKeys.count >= 10)
    }

    @Test("normalisation", arguments: normalisation)
    func normalise(vector: NormalisationVector) throws {
        let actual: String? = Array(vector.input.utf8).withUnsafeBufferPointer { raw in
            let cell = ASCII.trimmed(raw)
            switch vector.kind {
            case "name": return PersonalName(cell)?.normalised
            case "postcode": return Postcode(cell)?.description
            case "nhs_number": return NHSNumber.normalised(cell)
            case "sex": return SexCode(cell)?.rawValue
            case "reference": return ReferenceNumber.normalised(cell)
            case "date": return DateFormat(vector.format ?? "")?.parse(cell)?.description
            case "soundex": return Soundex.code(vector.input)
            default: Issue.record("unknown kind \(vector.kind)"); return nil
            }
        }
        #expect(actual == vector.output)
    }

    @Test("match keys", arguments: matchKeys)
    func matchKey(vector: MatchKeyVector) throws {
        let hasher = MatchKeyHasher(key: try LinkageKey(version: vector.version, secret: Array(0..<32)))
        let components = vector.components.map { (label: $0[0], value: $0[1]) }
        if let expected = vector.message_hex {
            let message = hasher.message(keyName: vector.name, components: components)
            #expect(message.map { String(format: "%02x", $0) }.joined() == expected)
        }
        #expect(hasher.text(keyName: vector.name, components: components) == vector.text)
    }

    @Test("the key id in the spec")
    func keyID() throws {
        #expect(vectorKey.id == "lk1-64ec4365b89aaed7")
        #expect(try repositoryFile("docs/pseudonyms.md").contains("lk1-64ec4365b89aaed7"))
    }
}
