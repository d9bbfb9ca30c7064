import Foundation
import Testing

@Suite("concord command line")
struct CommandLineTests {
    @Test("help teaches the commands")
    func help() throws {
        let root = try concord("--help")
        #expect(root.status == 0)
        for command in ["keys", "schema", "pseudonymise", "synth", "hub"] {
            #expect(root.output.contains(command))
        }
        let pseudonymise = try concord("pseudonymise", "--help")
        #expect(pseudonymise.output.contains("rejects file stays at the agency"))
        #expect(pseudonymise.output.contains("Example:"))
    }

    @Test("every command's help has an example")
    func everyLeafHasAnExample() throws {
        // The whole command tree as swift-argument-parser describes it (ToolInfoV0).
        let dump = try concord("--experimental-dump-help")
        #expect(dump.status == 0, "\(dump.error)")
        let tool = try #require(try JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any])
        var leaves: [(path: String, discussion: String)] = []
        func walk(_ command: [String: Any], _ path: String) {
            let name = command["commandName"] as? String ?? "?"
            let here = path.isEmpty ? name : "\(path) \(name)"
            let subcommands = (command["subcommands"] as? [[String: Any]] ?? []).filter { $0["commandName"] as? String != "help" }
            if subcommands.isEmpty { leaves.append((here, command["discussion"] as? String ?? "")) }
            for subcommand in subcommands { walk(subcommand, here) }
        }
        walk(try #require(tool["command"] as? [String: Any]), "")
        #expect(leaves.count >= 30, "the tree was read: \(leaves.map(\.path))")
        for leaf in leaves {
            let example = leaf.discussion.contains("Example") || leaf.discussion.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("concord ") }
            #expect(example, "`\(leaf.path) --help` has no example")
        }
    }

    @Test("a linkage key: created private, named by its id, never overwritten")
    func keys() throws {
        let directory = try TemporaryDirectory()
        let created = try concord("keys", "new-linkage-key", "--out", directory.file("lk.key"), "--version", "3")
        #expect(created.status == 0)
        let id = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.wholeMatch(of: /lk3-[0-9a-f]{16}/) != nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.file("lk.key"))
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        let keyLine = try directory.read("lk.key").split(separator: "\n").first { $0.hasPrefix("key: ") }!
        #expect(!created.output.contains(keyLine.dropFirst(5)) && !created.error.contains(keyLine.dropFirst(5)))

        let inspected = try concord("keys", "inspect", directory.file("lk.key"))
        #expect(inspected.output.contains(id))
        let again = try concord("keys", "new-linkage-key", "--out", directory.file("lk.key"))
        #expect(again.status != 0)
        #expect(again.error.contains("already exists"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory.file("lk.key"))
        let open = try concord("keys", "inspect", directory.file("lk.key"))
        #expect(open.status != 0)
        #expect(open.error.contains("chmod 600"))
    }

    @Test("schema check passes the shipped schemas and lists every problem of a broken one")
    func schemaCheck() throws {
        let good = try run(concordBinary, ["schema", "check"] + datasets.map(schemaPath))
        #expect(good.status == 0)
        #expect(good.output.split(separator: "\n").count == 4)
        let directory = try TemporaryDirectory()
        let broken = try String(contentsOfFile: schemaPath("housing_cases"), encoding: .utf8)
            .replacingOccurrences(of: "type: postcode", with: "type: postcod")
            .replacingOccurrences(of: "format: concord-dataset/1", with: "format: concord-dataset/1\nowner: me")
        try broken.write(toFile: directory.file("broken.yaml"), atomically: true, encoding: .utf8)
        let bad = try concord("schema", "check", directory.file("broken.yaml"))
        #expect(bad.status == 1)
        #expect(bad.output.contains("broken.yaml:") && bad.output.contains("owner: unknown key"))
        #expect(bad.output.contains("'postcod' is not a type"))
    }

    @Test("a header that does not match the schema stops everything before a row is written")
    func headerMismatch() throws {
        let directory = try TemporaryDirectory()
        #expect(try concord("keys", "new-linkage-key", "--out", directory.file("lk.key")).status == 0)
        try "Forename,Surname,DOB\nAnn,Lee,01/01/2000\n".write(toFile: directory.file("in.csv"), atomically: true, encoding: .utf8)
        let result = try concord("pseudonymise", "--schema", schemaPath("csc_referrals"), "--key", directory.file("lk.key"),
                                 "--in", directory.file("in.csv"), "--out", directory.file("out.csv"))
        #expect(result.status == 1)
        #expect(result.error.contains("missing columns: PersonID"))
        #expect(!directory.exists("out.csv"))
    }
}

@Suite("Envelope interoperability")
struct EnvelopeInteroperabilityTests {
    @Test("an independent Python implementation of the spec opens the envelope test vector")
    func pythonOpensVector() throws {
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "python3 is needed (make test installs it)")
        let script = repositoryRoot.appendingPathComponent("Tests/Vectors/envelope/open_envelope.py").path
        let vector = repositoryRoot.appendingPathComponent("Tests/Vectors/envelope/vector.json").path
        let result = try run(python, [script, vector])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.hasPrefix("ok: 300 rows"))
    }
}

@Suite("concord keys for agencies and the hub")
struct ExchangeKeyCommandTests {
    @Test("agency and hub key pairs and the hub's person-id secret: private files 0600, public lines printed and written, never overwritten")
    func pairs() throws {
        let directory = try TemporaryDirectory()
        let agency = try concord("keys", "new-agency", "--id", "county-police", "--out", directory.file("keys"))
        #expect(agency.status == 0, "\(agency.error)")
        #expect(agency.output.hasPrefix("concord-public-key/1 agency-signing county-police "))
        let hub = try concord("keys", "new-hub", "--out", directory.file("keys"))
        #expect(hub.status == 0)
        #expect(hub.output.split(separator: "\n").map { $0.split(separator: " ")[1] } == ["hub-encryption", "hub-signing"])
        for name in ["county-police.agency-signing", "hub-encryption", "hub-signing"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.file("keys/\(name).key"))
            #expect(attributes[.posixPermissions] as? Int == 0o600, "\(name)")
            let publicLine = try directory.read("keys/\(name).pub").trimmingCharacters(in: .newlines)
            #expect(agency.output.contains(publicLine) || hub.output.contains(publicLine))
            let inspected = try concord("keys", "inspect", directory.file("keys/\(name).key"))
            #expect(inspected.output.contains(publicLine))
            let secret = try #require(try directory.read("keys/\(name).key").split(separator: "\n").first { $0.hasPrefix("key: ") })
            #expect(!inspected.output.contains(secret.dropFirst(5)) && !agency.output.contains(secret.dropFirst(5)) && !hub.output.contains(secret.dropFirst(5)))
        }
        let personIDSecret = directory.file("keys/person-id.secret")
        #expect(try FileManager.default.attributesOfItem(atPath: personIDSecret)[.posixPermissions] as? Int == 0o600)
        let secret = try #require(try directory.read("keys/person-id.secret").split(separator: "\n").first { $0.hasPrefix("secret: ") })
        let inspected = try concord("keys", "inspect", personIDSecret)
        #expect(inspected.status == 0 && inspected.output.contains("hub person-id secret") && hub.error.contains(inspected.output.split(separator: " ").last!.trimmingCharacters(in: .newlines)))
        #expect(!inspected.output.contains(secret.dropFirst(8)) && !hub.output.contains(secret.dropFirst(8)) && !hub.error.contains(secret.dropFirst(8)))
        let again = try concord("keys", "new-hub", "--out", directory.file("keys"))
        #expect(again.status != 0)
        #expect(again.error.contains("never overwritten"))
    }
}
