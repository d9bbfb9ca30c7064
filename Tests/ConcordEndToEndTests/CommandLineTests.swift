import ConcordTestSupport
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
        var leaves: [(path: String, discussion: String)] = []
        func walk(_ command: CommandInfo, _ path: String) {
            let here = path.isEmpty ? command.name : "\(path) \(command.name)"
            if command.subcommands.isEmpty { leaves.append((here, command.discussion)) }
            for subcommand in command.subcommands.values { walk(subcommand, here) }
        }
        walk(try CommandInfo.tree(), "")
        #expect(leaves.count >= 30, "the tree was read: \(leaves.map(\.path))")
        for leaf in leaves {
            let example = leaf.discussion.contains("Example") || leaf.discussion.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("concord ") }
            #expect(example, "`\(leaf.path) --help` has no example")
        }
    }

    /// The README, docs/ and every command's help show commands people copy: each must be a real
    /// command, with options it has. Commands are read from code (fenced blocks and `spans`) in
    /// the Markdown, and from the help texts; `concord request … --ca-file` names an option
    /// some command under `request` has.
    @Test("every command the README, docs and help texts show exists, with the options they give it")
    func documentedCommandsExist() throws {
        let tree = try CommandInfo.tree()
        var sources: [(place: String, code: String)] = []
        let docs = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
        for file in ["README.md"] + docs {
            let lines = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            var block: [Substring]?
            for (number, line) in zip(1..., lines) {
                if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                    if let code = block { sources.append(("\(file) (block ending at line \(number))", code.joined(separator: "\n"))) }
                    block = block == nil ? [] : nil
                } else if block != nil {
                    block?.append(line)
                } else {
                    sources += line.matches(of: /`([^`]+)`/).map { ("\(file):\(number)", String($0.output.1)) }
                }
            }
        }
        func helpTexts(_ command: CommandInfo, _ path: String) {
            sources.append(("`\(path) --help`", command.discussion))
            for subcommand in command.subcommands.values { helpTexts(subcommand, "\(path) \(subcommand.name)") }
        }
        helpTexts(tree, "concord")
        var checked = 0
        for (place, code) in sources {
            // A command runs to the end of its line (continuations joined) or a shell separator.
            for match in code.replacingOccurrences(of: "\\\n", with: " ").matches(of: /(?:^|[^\w\/.-])concord((?: +[a-z][a-z0-9-]*)*)([^\n|;&)`]*)/.anchorsMatchLineEndings()) {
                let words = match.output.1.split(separator: " ").map(String.init)
                guard let first = words.first else { continue }
                var command = tree
                var path = ["concord"]
                for word in words {
                    guard let next = command.subcommands[word] else { break }
                    (command, path) = (next, path + [word])
                }
                guard path.count > 1 else {
                    Issue.record("\(place): `concord \(first)`: there is no such command")
                    continue
                }
                let options = command.allOptions
                for option in match.output.0.matches(of: /(?:^|[^\w-])(--[a-z][a-z0-9-]*)/).map({ String($0.output.1) }) where !options.contains(option) {
                    Issue.record("\(place): `\(path.joined(separator: " "))` has no option \(option)")
                }
                checked += 1
            }
        }
        #expect(checked >= 100, "commands were found in the docs: \(checked)")
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
        #expect(hub.output.split(separator: "\n").map { $0.split(separator: " ").dropFirst().first } == ["hub-encryption", "hub-signing"])
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

/// One command of the `concord` tree as swift-argument-parser describes it
/// (`--experimental-dump-help`, ToolInfoV0): its name, help discussion, long options and subcommands.
struct CommandInfo {
    var name: String
    var discussion: String
    var options: Set<String>
    var subcommands: [String: CommandInfo]

    /// Its options and those of every command under it: what `concord group … --option` may name.
    var allOptions: Set<String> {
        subcommands.values.reduce(options) { $0.union($1.allOptions) }
    }

    static func tree() throws -> CommandInfo {
        let dump = try concord("--experimental-dump-help")
        #expect(dump.status == 0, "\(dump.error)")
        let tool = try #require(try JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any])
        return CommandInfo(try #require(tool["command"] as? [String: Any]))
    }

    init(_ command: [String: Any]) {
        name = command["commandName"] as? String ?? "?"
        discussion = command["discussion"] as? String ?? ""
        let names = (command["arguments"] as? [[String: Any]] ?? []).flatMap { $0["names"] as? [[String: String]] ?? [] }
        options = Set(names.filter { $0["kind"] == "long" }.compactMap { $0["name"].map { "--\($0)" } } + ["--help"])
        let children = (command["subcommands"] as? [[String: Any]] ?? []).map(CommandInfo.init).filter { $0.name != "help" }
        subcommands = Dictionary(uniqueKeysWithValues: children.map { ($0.name, $0) })
    }
}
