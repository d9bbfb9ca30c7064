import Foundation
import Testing

@Suite("concord agreement")
struct AgreementCommandTests {
    static let schemas = repositoryRoot.appendingPathComponent("Schemas/datasets").path
    static let agreements = repositoryRoot.appendingPathComponent("Agreements").path

    @Test("lint passes the shipped agreements and fails a broken one with its location and code")
    func lint() throws {
        let clean = try concord("agreement", "lint", "--schemas", Self.schemas, Self.agreements)
        #expect(clean.status == 0, "\(clean.output)")
        #expect(clean.error.contains("3 agreements ok"))

        let broken = repositoryRoot.appendingPathComponent("Tests/Agreements/broken/identifier-permitted.yaml").path
        let text = try concord("agreement", "lint", "--schemas", Self.schemas, broken)
        #expect(text.status == 1)
        #expect(text.output.contains("identifier-permitted.yaml:67:15: parties.providers[0].datasets[0].fields[2]: NHSNumber is an identifier"))
        #expect(text.output.contains("[identifier-permitted]"))

        let json = try concord("agreement", "lint", "--schemas", Self.schemas, "--format", "json", broken)
        #expect(json.status == 1)
        let problems = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(problems.count == 1)
        #expect(problems.first?["code"] as? String == "identifier-permitted")
        #expect(problems.first?["line"] as? Int == 67)
    }

    @Test("show names the agreement by id and summarises it for an IG officer")
    func show() throws {
        let result = try concord("agreement", "show", "--schemas", Self.schemas, "--agreements-dir", Self.agreements, "school-readiness")
        #expect(result.status == 0, "\(result.error)")
        for expected in ["school-readiness version 1, active", "Lawful basis:", "Article 6: public_task", "Providers:", "Recipients:",
                         "Linkage: csc_referrals + school_attendance", "Outputs: row level", "After the agreement ends: data deleted within"] {
            #expect(result.output.contains(expected), "\(expected)")
        }
        let missing = try concord("agreement", "show", "--schemas", Self.schemas, "--agreements-dir", Self.agreements, "no-such-agreement")
        #expect(missing.status != 0)
        #expect(missing.error.contains("no valid agreement with id no-such-agreement"))
    }

    @Test("export writes an ODRL policy for each shipped agreement")
    func export() throws {
        let directory = try TemporaryDirectory()
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.agreements).filter({ $0.hasSuffix(".yaml") }) {
            let out = directory.file("\(file).json")
            let result = try concord("agreement", "export", "--schemas", Self.schemas, "--odrl", out, "\(Self.agreements)/\(file)")
            #expect(result.status == 0, "\(result.error)")
            let policy = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
            #expect(policy["@type"] as? String == "Agreement")
            #expect((policy["permission"] as? [Any])?.isEmpty == false)
            #expect((policy["prohibition"] as? [Any])?.isEmpty == false)
        }
    }
}

@Suite("Minimisation under agreements")
struct MinimisationTests {
    @Test("pseudonymise under an agreement writes only what it permits, and the hub's check holds it to that")
    func underAgreement() throws {
        let directory = try TemporaryDirectory()
        #expect(try concord("synth", "--seed", "5", "--people", "3000", "--out", directory.file("x")).status == 0)
        #expect(try concord("keys", "new-linkage-key", "--out", directory.file("lk.key")).status == 0)
        let schema = schemaPath("police_da_incidents")
        let common = ["--schemas", AgreementCommandTests.schemas, "--agreements-dir", AgreementCommandTests.agreements]
        let result = try run(concordBinary, ["pseudonymise", "--schema", schema, "--key", directory.file("lk.key"),
                                             "--in", directory.file("x/police_da_incidents.csv"), "--out", directory.file("p.csv"),
                                             "--agreement", "early-help-domestic-abuse", "--agreement", "youth-violence-vulnerability",
                                             "--agency", "essex-police"] + common)
        #expect(result.status == 0, "\(result.error)")
        let lines = try directory.read("p.csv").split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        // Fields neither agreement permits (date of birth, the hour, free text) are not there.
        for absent in ["DOB", "INCIDENT_HOUR", "OFFICER_NARRATIVE", "FORENAME", "SURNAME", "NOMINAL_ID"] {
            #expect(!header.contains(absent), "\(absent)")
        }
        #expect(header.starts(with: ["mk2", "mk3", "mk3_swapped", "mk4", "mk5"]))
        // The youth violence agreement asks for ages in bands of 10, coarser than the schema's 5.
        let age = try #require(header.firstIndex(of: "AGE_AT_INCIDENT"))
        let ages = Set(lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[age] }.filter { !$0.isEmpty })
        #expect(!ages.isEmpty && ages.allSatisfy { $0.hasSuffix("9") && $0.split(separator: "-").first.map { Int($0)! % 10 == 0 } == true }, "\(ages)")

        let checked = try run(concordBinary, ["hub", "check-extract", "--schema", schema, "--in", directory.file("p.csv"),
                                              "--agreement", "early-help-domestic-abuse", "--agreement", "youth-violence-vulnerability",
                                              "--agency", "essex-police"] + common)
        #expect(checked.status == 0, "\(checked.output)")
        let unminimised = try concord("hub", "check-extract", "--schema", schema, "--in", directory.file("p.csv"))
        #expect(unminimised.status != 0)

        let wrongAgency = try run(concordBinary, ["pseudonymise", "--schema", schema, "--key", directory.file("lk.key"),
                                                  "--in", directory.file("x/police_da_incidents.csv"), "--out", directory.file("q.csv"),
                                                  "--agreement", "early-help-domestic-abuse", "--agency", "essex-childrens-services"] + common)
        #expect(wrongAgency.status != 0)
        #expect(wrongAgency.error.contains("does not provide police_da_incidents"))
        #expect(!directory.exists("q.csv"))
    }
}
