import ConcordAgent
import ConcordCore
import ConcordFiles
import ConcordTestSupport
import Foundation
import Testing

let schema = try! DatasetSchema(yaml: """
format: concord-dataset/1
dataset: people
version: 1
title: People
fields:
  - {name: First, type: name, role: identifier, identity: forename, required: true}
  - {name: Last, type: name, role: identifier, identity: surname, required: true}
  - {name: Born, type: date, formats: [DD/MM/YYYY], role: quasi_identifier, generalise: year, identity: date_of_birth}
  - {name: Outcome, type: enum, values: [A, B], role: attribute}
match_keys:
  - {name: mk3, components: [surname, forename_initial, date_of_birth]}
""", file: "people.yaml")

let key = try! LinkageKey(version: 1, secret: Array(0..<32))

func job(_ directory: TemporaryDirectory, rejects: String? = nil, batchSize: Int = 4096) -> PseudonymiseJob {
    var job = PseudonymiseJob(schema: schema, key: key, inputPath: directory.file("in.csv"), outputPath: directory.file("out.csv"),
                              rejectsPath: rejects.map(directory.file), parallelism: 2)
    job.batchSize = batchSize
    return job
}

@Suite("Pseudonymise job")
struct PseudonymiseJobTests {
    @Test("writes the output in input order across many small batches, with rejects by line")
    func ordering() async throws {
        let directory = try TemporaryDirectory()
        var lines = ["Last,First,Outcome,Born"]
        for index in 0..<1000 {
            lines.append(index % 97 == 0 ? "Name\(index),X,C,01/01/2000" : "Lee\(String(repeating: "a", count: index % 7)),Ann,A,\(String(format: "%02d", index % 28 + 1))/03/2001")
        }
        _ = try directory.write("in.csv", lines.joined(separator: "\r\n") + "\r\n")
        let summary = try await job(directory, batchSize: 7).run()
        #expect(summary.rowsRead == 1000)
        #expect(summary.rowsRejected == 11)
        #expect(summary.rowsWritten == 989)
        #expect(summary.rejectsPath == directory.file("out.rejects.csv"))

        // The same rows one at a time, in order, give the same bytes.
        var single = RecordPseudonymiser(schema: schema, key: key, columns: try ExtractHeader.columns(of: ["Last", "First", "Outcome", "Born"], for: schema))
        let records = lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let expected = single.pseudonymise(CSVRecordBatch(records: records), skippingFirst: true)
        #expect(try directory.read("out.csv") == "mk3,Born,Outcome\n" + String(decoding: expected.output, as: UTF8.self))

        let rejects = try directory.read("out.rejects.csv").split(separator: "\n")
        #expect(rejects.first == "line,field,reason")
        #expect(rejects.dropFirst().allSatisfy { $0.hasSuffix("Outcome,\"is not one of the allowed values: A, B\"") })
        #expect(rejects[1].hasPrefix("2,"))
        #expect(rejects.count == 12)
        #expect(directory.contents == ["in.csv", "out.csv", "out.rejects.csv"])
    }

    @Test("a header that does not match writes nothing")
    func headerMismatch() async throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("in.csv", "First,Last,Born,Outcome,NHS\nA,B,01/01/2000,A,123\n")
        await #expect(throws: CSVFileError.self) { try await job(directory, rejects: "rejects.csv").run() }
        #expect(directory.contents == ["in.csv"])
    }

    @Test("malformed CSV late in the file writes nothing, and an old output is left as it was")
    func malformedLate() async throws {
        let directory = try TemporaryDirectory()
        var text = "First,Last,Born,Outcome\n"
        for _ in 0..<5000 { text += "Ann,Lee,01/01/2000,A\n" }
        text += "Ann,\"Lee,01/01/2000,A\n"
        _ = try directory.write("in.csv", text)
        _ = try directory.write("out.csv", "previous output\n")
        await #expect {
            try await job(directory, batchSize: 100).run()
        } throws: { error in
            "\(error)".contains("line 5002: a quoted field starts here and is never closed")
        }
        #expect(try directory.read("out.csv") == "previous output\n")
        #expect(directory.contents == ["in.csv", "out.csv"])
    }

    @Test("an empty file is an error; a header alone gives a header alone")
    func emptyAndHeaderOnly() async throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("in.csv", "")
        await #expect(throws: CSVFileError.self) { try await job(directory).run() }
        _ = try directory.write("in.csv", "\u{FEFF}First,Last,Born,Outcome\r\n")
        let summary = try await job(directory, rejects: "rejects.csv").run()
        #expect(summary.rowsRead == 0)
        #expect(try directory.read("out.csv") == "mk3,Born,Outcome\n")
        #expect(try directory.read("rejects.csv") == "line,field,reason\n")
    }

    @Test("a missing input names the file")
    func missingInput() async throws {
        let directory = try TemporaryDirectory()
        await #expect {
            try await job(directory).run()
        } throws: { error in
            "\(error)".contains("in.csv") && "\(error)".contains("No such file")
        }
    }
}

@Suite("Linkage key files")
struct KeyFileTests {
    @Test("created 0600, never overwritten, refused when others can read it")
    func permissions() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("linkage.key")
        let key = try LinkageKey.generate(version: 2)
        try KeyFiles.create(key, at: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try KeyFiles.readLinkageKey(path).id == key.id)
        #expect(throws: SecretFileError.self) { try KeyFiles.create(try LinkageKey.generate(version: 2), at: path) }
        #expect(try KeyFiles.readLinkageKey(path).id == key.id)
        for open in [0o640, 0o604, 0o644] {
            try FileManager.default.setAttributes([.posixPermissions: open], ofItemAtPath: path)
            #expect {
                try KeyFiles.readLinkageKey(path)
            } throws: { error in
                "\(error)".contains("chmod 600") && !"\(error)".contains(key.fileContents.split(separator: "\n").last!.dropFirst(5))
            }
        }
    }

    @Test("a file that is not a key says so without echoing its contents")
    func notAKey() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("bad.key", "secret-looking line\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect {
            try KeyFiles.readLinkageKey(path)
        } throws: { error in
            "\(error)".contains("is not a valid key") && !"\(error)".contains("secret-looking")
        }
    }
}
