import ConcordTestSupport
import Foundation
import Testing

/// The foundation's whole flow, as an agency runs it: synthetic extracts, pseudonymised with a
/// fresh key, checked as the hub will check them, and compared byte for byte with the independent
/// Python implementation of the spec. Then the whole exchange, as `make demo` runs it.
@Suite("Pseudonymisation flow")
struct FlowTests {
    /// Synthetic extracts of every dataset and a fresh key, in a directory of the test's own.
    static func prepare() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        let synth = try concord("synth", "--seed", "11", "--people", "4000", "--out", directory.file("extracts"))
        try #require(synth.status == 0, "synth failed: \(synth.error)")
        let key = try concord("keys", "new-linkage-key", "--out", directory.file("lk.key"))
        try #require(key.status == 0, "keys failed: \(key.error)")
        return directory
    }

    @Test("each dataset pseudonymises, rejects only bad rows, and passes the hub's check")
    func pseudonymise() throws {
        let directory = try Self.prepare()
        for dataset in datasets {
            try pseudonymise(dataset: dataset, in: directory)
        }
    }

    private func pseudonymise(dataset: String, in directory: TemporaryDirectory) throws {
        let result = try concord("pseudonymise", "--schema", schemaPath(dataset), "--key", directory.file("lk.key"),
                                 "--in", directory.file("extracts/\(dataset).csv"), "--out", directory.file("\(dataset).swift.csv"),
                                 "--rejects", directory.file("\(dataset).swift.rejects.csv"))
        #expect(result.status == 0, "\(dataset): \(result.error)")
        let summary = try #require(result.error.firstMatch(of: /read (\d+) rows, wrote (\d+), rejected (\d+)/))
        let (read, wrote, rejected) = (Int(summary.1)!, Int(summary.2)!, Int(summary.3)!)
        #expect(read > 20)
        #expect(read == wrote + rejected)
        #expect(Double(rejected) < Double(read) * 0.05)

        let check = try concord("hub", "check-extract", "--schema", schemaPath(dataset), "--in", directory.file("\(dataset).swift.csv"))
        #expect(check.status == 0, "\(dataset): \(check.output)")

        // No raw identifier survives: no name, NHS number or full postcode of the extract appears.
        let output = try directory.read("\(dataset).swift.csv")
        let extract = try directory.read("extracts/\(dataset).csv")
        let surnameColumn = ["csc_referrals": "Surname", "school_attendance": "Legal Surname", "police_da_incidents": "SURNAME", "housing_cases": "applicant_surname"][dataset]!
        let delimiter: Character = dataset == "police_da_incidents" ? "|" : ","
        let lines = extract.split(separator: "\n")
        let column = try #require(lines.first?.split(separator: delimiter).firstIndex { $0 == surnameColumn })
        let surnames = Set(lines.dropFirst().compactMap { line -> String? in
            let cells = line.split(separator: delimiter, omittingEmptySubsequences: false)
            return cells.count > column ? String(cells[column]) : nil
        }.filter { $0.count >= 4 && $0.allSatisfy(\.isLetter) })
        #expect(!surnames.isEmpty)
        let outputCells = Set(output.split(whereSeparator: { $0 == "," || $0 == "\n" }).map(String.init))
        #expect(surnames.isDisjoint(with: outputCells))
        #expect(Set(surnames.map { $0.uppercased() }).isDisjoint(with: outputCells))
    }

    @Test("the Python implementation of the spec writes the same bytes")
    func pythonAgrees() throws {
        let directory = try Self.prepare()
        for dataset in datasets {
            try pythonAgrees(dataset: dataset, in: directory)
        }
    }

    private func pythonAgrees(dataset: String, in directory: TemporaryDirectory) throws {
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "python3 is needed (make test installs it)")
        let swift = try concord("pseudonymise", "--schema", schemaPath(dataset), "--key", directory.file("lk.key"),
                                "--in", directory.file("extracts/\(dataset).csv"), "--out", directory.file("\(dataset).s.csv"),
                                "--rejects", directory.file("\(dataset).s.rejects.csv"))
        #expect(swift.status == 0)
        let baseline = repositoryRoot.appendingPathComponent("Benchmarks/pseudonymise_baseline.py").path
        let py = try run(python, [baseline, "--schema", schemaPath(dataset), "--key", directory.file("lk.key"),
                                  "--in", directory.file("extracts/\(dataset).csv"), "--out", directory.file("\(dataset).py.csv"),
                                  "--rejects", directory.file("\(dataset).py.rejects.csv")])
        #expect(py.status == 0, "\(py.error)")
        #expect(try directory.read("\(dataset).s.csv") == directory.read("\(dataset).py.csv"), "\(dataset)")
        // Reasons are worded by each implementation; lines and fields must agree.
        func lineAndField(_ name: String) throws -> [String] {
            try directory.read(name).split(separator: "\n").map { $0.split(separator: ",").prefix(2).joined(separator: ",") }
        }
        #expect(try lineAndField("\(dataset).s.rejects.csv") == lineAndField("\(dataset).py.rejects.csv"))
    }

    /// `make demo`'s script, smaller, with this build's binary: four agencies push through a hub on
    /// an embedded PostgreSQL, an analyst gets a linked row-level dataset and an aggregate table
    /// under two agreements, the IG officer approves and verifies the audit log. Run twice in the
    /// same folder, as a user runs `make demo` again without cleaning.
    @Test("the demo runs the whole exchange, twice in the same folder", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/initdb")))
    func demo() async throws {
        let directory = try TemporaryDirectory()
        let script = repositoryRoot.appendingPathComponent("scripts/demo.sh").path
        for round in 1...2 {
            let demo = try await asyncRun("/usr/bin/env", ["CONCORD=\(concordBinary)", "bash", script, "--people", "800", "--seed", "3",
                                                             "--out", directory.file("demo"), "--exit"])
            #expect(demo.status == 0, "round \(round): \(demo.output.suffix(3000)) \(demo.error.suffix(3000))")
            #expect(demo.output.hasSuffix("demo: ok\n"), "round \(round): \(demo.output.suffix(500))")
            let summary = try #require(demo.output.components(separatedBy: "==> 14/14 summary").last)
            for agency in ["essex-childrens-services", "colne-estuary-trust", "essex-police", "colchester-housing"] {
                #expect(summary.contains(agency), "round \(round): rows pushed by \(agency)")
            }
            #expect(summary.contains("school-readiness v1: ") && summary.contains("early-help-domestic-abuse v1: "), "\(summary)")
            #expect(summary.contains("linked row-level records") && summary.contains("aggregate cells and totals"))
            #expect(summary.contains("verified against a signed checkpoint"))
            // What the analyst received: person ids, never a match key.
            let outputs = try FileManager.default.contentsOfDirectory(atPath: directory.file("demo/requests")).filter { $0.hasSuffix(".csv") }
            #expect(outputs.count == 2, "\(outputs)")
            for output in outputs {
                let text = try directory.read("demo/requests/\(output)")
                #expect(text.split(separator: "\n").count > 1)
                #expect(!text.contains("k1:"), "a match key in \(output)")
            }
            #expect(!demo.output.contains("hub keeps running"))
        }
    }
}
