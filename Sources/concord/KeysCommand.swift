import ArgumentParser
import ConcordAgent
import ConcordCore
import ConcordFiles
import Foundation

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and inspect keys.",
        discussion: """
        Three kinds of secret, each in a file created with mode 0600 and refused when others can read it:
          the linkage key      shared by a partnership's agencies; turns identifiers into match keys
          an agency key        Ed25519; signs the agency's envelopes
          the hub keys         X25519, envelopes are encrypted to it; Ed25519, signs receipts
        Public keys are printed as one line (concord-public-key/1 KIND OWNER KEY) to paste into the
        other side's configuration; key ids are fingerprints that name a key without revealing it.
        """,
        subcommands: [NewLinkageKey.self, NewAgency.self, NewHub.self, Inspect.self]
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

            Example:
              concord keys new-linkage-key --out /etc/concord/keys/linkage.key
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
            try KeyFiles.create(key, at: out)
            print(key.id)
            Console.note("wrote linkage key \(key.id) to \(out) (mode 0600); share it only with the partnership's agencies")
        }
    }

    struct NewAgency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-agency",
            abstract: "Create an agency's signing key pair.",
            discussion: """
            Writes DIR/ID.agency-signing.key (private, mode 0600: it stays on the agent's machine) and
            DIR/ID.agency-signing.pub, and prints the public line for the hub operator to register.

            Example:
              concord keys new-agency --id essex-police --out /etc/concord/keys
            """
        )

        @Option(help: ArgumentHelp("The agency's id, as agreements name it.", valueName: "id"))
        var id: String

        @Option(help: ArgumentHelp("Folder to write the key files to (created if missing).", valueName: "dir"))
        var out: String

        func validate() throws {
            guard id.range(of: "^[a-z][a-z0-9-]{1,63}$", options: .regularExpression) != nil else {
                throw ValidationError("'\(id)' is not an agency id: lower-case letters, digits and -, starting with a letter")
            }
        }

        func run() async throws {
            try createDirectory(out, mode: 0o700)
            let key = try writePair(.agencySigning, owner: id, name: "\(id).agency-signing", in: out)
            print(key.publicKey)
            Console.note("agency signing key \(key.publicKey.id): register the line above with the hub")
        }
    }

    struct NewHub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-hub",
            abstract: "Create the hub's encryption and receipt-signing key pairs.",
            discussion: """
            Writes DIR/hub-encryption.key and DIR/hub-signing.key (private, mode 0600: they stay on the
            hub) with their .pub files, and prints both public lines for the agencies' configuration.
            Also writes DIR/person-id.secret (mode 0600), from which the hub derives analysts'
            per-agreement person ids (keys.person_id_secret in the hub's configuration); it is never
            shown, and replacing it gives every person new ids.

            Example:
              concord keys new-hub --out /etc/concord/hub-keys
            """
        )

        @Option(help: ArgumentHelp("Folder to write the key files to (created if missing).", valueName: "dir"))
        var out: String

        func run() async throws {
            try createDirectory(out, mode: 0o700)
            for kind in [ExchangeKeyKind.hubEncryption, .hubSigning] {
                let key = try writePair(kind, owner: "hub", name: kind.rawValue, in: out)
                print(key.publicKey)
                Console.note("\(kind.rawValue) key \(key.publicKey.id)")
            }
            let secret = PersonIDSecret.generate()
            try KeyFiles.create(secret, at: "\(out)/person-id.secret")
            Console.note("\(secret) in \(out)/person-id.secret (keep it with the hub's keys)")
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a key file is and its id, never the secret.",
            discussion: """
            Works on linkage keys, private keys, the hub's person-id secret and public key files. Two
            agencies hold the same linkage key exactly when the ids match.

            Example:
              concord keys inspect /etc/concord/keys/linkage.key
            """
        )

        @Argument(help: ArgumentHelp("A key file.", valueName: "file"))
        var file: String

        func run() async throws {
            if file.hasSuffix(".pub") {
                let line = try PublicKeyLine(line: String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
                print("public \(line.kind.rawValue) key of \(line.owner)\nkey id:  \(line.id)\n\(line)")
                return
            }
            let text = try SecretFile.read(file)
            if text.contains("format: \(LinkageKey.fileFormat)") {
                let key = try KeyFiles.readLinkageKey(file)
                print("linkage key\nkey id:  \(key.id)\nversion: \(key.version)")
            } else if text.contains("format: \(PersonIDSecret.fileFormat)") {
                print("hub person-id secret\nid:      \(try KeyFiles.readPersonIDSecret(file).id)")
            } else {
                let key = try KeyFiles.readPrivateKey(file)
                print("private \(key.kind.rawValue) key of \(key.owner)\nkey id:  \(key.publicKey.id)\npublic:  \(key.publicKey)")
            }
        }
    }
}

/// Writes `DIR/NAME.key` (secret) and `DIR/NAME.pub`; refuses to overwrite either.
private func writePair(_ kind: ExchangeKeyKind, owner: String, name: String, in directory: String) throws -> PrivateKeyDocument {
    let key = PrivateKeyDocument.generate(kind, owner: owner)
    let publicPath = "\(directory)/\(name).pub"
    guard !FileManager.default.fileExists(atPath: publicPath) else { throw SecretFileError.exists(publicPath) }
    try KeyFiles.create(key, at: "\(directory)/\(name).key")
    try "\(key.publicKey)\n".write(toFile: publicPath, atomically: true, encoding: .utf8)
    return key
}
