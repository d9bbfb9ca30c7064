import ArgumentParser
import ConcordAgent
import ConcordCore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and inspect keys.",
        subcommands: [NewLinkageKey.self, Inspect.self]
    )

    struct NewLinkageKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-linkage-key",
            abstract: "Create a partnership's linkage key.",
            discussion: """
            The linkage key is the secret HMAC key every agency of a partnership uses to turn
            identifiers into match keys. One agency creates it and hands it to the others over a
            secure channel; it must never reach the hub, a repository, a ticket or an email.

            The file is created with mode 0600 and is never overwritten. The key id printed (for
            example lk1-3f9a2c4e5b6d7a8f) names the key in configs and logs without revealing it.

            Rotate by creating a key with the next --version; match keys carry the version, so
            values under different versions are never compared.
            """
        )

        @Option(name: .long, help: ArgumentHelp("Where to write the key file.", valueName: "file"))
        var out: String

        @Option(name: .long, help: "The key's version, 1-65535; increase it when rotating.")
        var version: Int = 1

        func run() async throws {
            let key: LinkageKey
            do {
                key = try LinkageKey.generate(version: version)
            } catch {
                throw ValidationError("\(error)")
            }
            try LinkageKeyFile.create(key, at: out)
            print(key.id)
            Console.note("wrote linkage key \(key.id) to \(out) (mode 0600); share it only with the partnership's agencies")
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a linkage key's id and version, never the key.",
            discussion: "Use it to check that two agencies hold the same key: the ids match exactly when the keys do."
        )

        @Argument(help: ArgumentHelp("A linkage key file.", valueName: "file"))
        var file: String

        func run() async throws {
            let key = try LinkageKeyFile.read(file)
            print("key id:  \(key.id)")
            print("version: \(key.version)")
        }
    }
}
