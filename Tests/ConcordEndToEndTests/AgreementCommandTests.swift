import ConcordTestSupport
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
        let header = try #require(lines.first).split(separator: ",").map(String.init)
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

@Suite("Agent envelopes")
struct AgentEnvelopeTests {
    @Test("seal at the agency, open at the hub: only the agreement's columns travel, and any tampering is refused")
    func sealAndOpen() throws {
        let directory = try TemporaryDirectory()
        #expect(try concord("synth", "--seed", "9", "--people", "3000", "--out", directory.file("x")).status == 0)
        #expect(try concord("keys", "new-linkage-key", "--out", directory.file("lk.key")).status == 0)
        #expect(try concord("keys", "new-agency", "--id", "essex-police", "--out", directory.file("agency")).status == 0)
        #expect(try concord("keys", "new-hub", "--out", directory.file("hub")).status == 0)
        let sealed = try run(concordBinary, [
            "agent", "seal", "--schema", schemaPath("police_da_incidents"), "--key", directory.file("lk.key"),
            "--agency-key", directory.file("agency/essex-police.agency-signing.key"), "--hub-key", directory.file("hub/hub-encryption.pub"),
            "--agreement", "early-help-domestic-abuse", "--agreements-dir", AgreementCommandTests.agreements, "--schemas", AgreementCommandTests.schemas,
            "--in", directory.file("x/police_da_incidents.csv"), "--outbox", directory.file("outbox"), "--rejects", directory.file("rejects.csv"),
            "--extract-date", "2026-11-21",
        ])
        #expect(sealed.status == 0, "\(sealed.error)")
        let envelope = sealed.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(envelope.hasPrefix(directory.file("outbox/police_da_incidents-2026-11-21-")) && envelope.hasSuffix(".envelope"))
        // Only the envelope is in the outbox: the pseudonymised working file is gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("outbox")).count == 1)

        let opened = try concord("hub", "open-envelope", "--hub-key", directory.file("hub/hub-encryption.key"),
                                 "--agency-key", directory.file("agency/essex-police.agency-signing.pub"), "--in", envelope, "--out", directory.file("payload.csv"))
        #expect(opened.status == 0, "\(opened.error)")
        #expect(opened.output.contains("\"agency\":\"essex-police\"") && opened.output.contains("\"agreements\":[\"early-help-domestic-abuse.v1\"]"))
        let header = try #require(try directory.read("payload.csv").split(separator: "\n").first).split(separator: ",").map(String.init)
        for absent in ["DOB", "INCIDENT_HOUR", "OFFICER_NARRATIVE", "FORENAME", "SURNAME", "NOMINAL_ID", "INCIDENT_REF"] {
            #expect(!header.contains(absent), "\(absent) travelled")
        }
        let checked = try run(concordBinary, ["hub", "check-extract", "--schema", schemaPath("police_da_incidents"), "--in", directory.file("payload.csv"),
                                              "--agreement", "early-help-domestic-abuse", "--agency", "essex-police",
                                              "--agreements-dir", AgreementCommandTests.agreements, "--schemas", AgreementCommandTests.schemas])
        #expect(checked.status == 0, "\(checked.output)")

        var bytes = try Data(contentsOf: URL(fileURLWithPath: envelope))
        bytes[bytes.count - 100] ^= 1
        try bytes.write(to: URL(fileURLWithPath: directory.file("tampered.envelope")))
        let tampered = try concord("hub", "open-envelope", "--hub-key", directory.file("hub/hub-encryption.key"),
                                   "--agency-key", directory.file("agency/essex-police.agency-signing.pub"), "--in", directory.file("tampered.envelope"),
                                   "--out", directory.file("tampered.csv"))
        #expect(tampered.status != 0)
        #expect(tampered.error.contains("does not open"))
        #expect(!directory.exists("tampered.csv"))

        let unregistered = try concord("hub", "open-envelope", "--hub-key", directory.file("hub/hub-encryption.key"),
                                       "--in", envelope, "--out", directory.file("unregistered.csv"))
        #expect(unregistered.status != 0)
        #expect(unregistered.error.contains("not a registered agency"))
    }
}
