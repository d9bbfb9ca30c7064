import ConcordCore
import ConcordHubStore
import ConcordProcess
import ConcordTestSupport
import Crypto
import Foundation
import Testing

/// The `concord request` commands as people run them, against a real hub.
@Suite("concord request against a hub", .enabled(if: databaseAvailable))
struct RequestCommandTests {
    /// The `concord` binary built beside the test bundle.
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("concord").path

    /// Runs `concord` with a hub and a token file; output streams go to files, so no pipe can fill.
    static func concord(_ arguments: [String], hub: TestHub, tokenFile: String) async throws -> (status: Int32, output: String, error: String) {
        let scratch = try hub.scratchDirectory()
        let environment = ["CONCORD_HUB_URL": hub.baseURL, "CONCORD_TOKEN_FILE": tokenFile, "PATH": "/usr/bin:/bin"]
        let status = try await ChildProcess(binary, arguments, directory: scratch, environment: environment,
                                            output: .file("\(scratch)/out"), error: .file("\(scratch)/err")).exitStatus()
        return (status, try String(contentsOfFile: "\(scratch)/out", encoding: .utf8),
                try String(contentsOfFile: "\(scratch)/err", encoding: .utf8))
    }

    static func tokenFile(_ token: String, of hub: TestHub) throws -> String {
        let path = "\(try hub.scratchDirectory())/token"
        #expect(FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]))
        return path
    }

    @Test func createApproveAndDownloadWithTheCommandLine() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 60)).status == 200)
            let analyst = try Self.tokenFile(try await hub.person("n-carrow", .analyst), of: hub)
            let officer = try Self.tokenFile(try await hub.person("i-thackeray", .igOfficer), of: hub)

            let created = try await Self.concord(["request", "create", "--agreement", TestHub.agreement, "--purpose", "EH-DA",
                                                  "--datasets", "police_da_incidents", "--dimensions", "GENDER,DASH_RISK",
                                                  "--justification", "needs assessment"], hub: hub, tokenFile: analyst)
            #expect(created.status == 0, "\(created.error)")
            let words = created.output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            try #require(words.count == 2 && words[1] == "pending", "\(created.output)")
            let id = words[0]

            let refused = try await Self.concord(["request", "create", "--agreement", TestHub.agreement, "--purpose", "WRONG",
                                                  "--datasets", "police_da_incidents", "--fields", "GENDER"], hub: hub, tokenFile: analyst)
            #expect(refused.status != 0 && refused.error.contains("request.refused") && refused.error.contains("purpose-mismatch")
                    && refused.error.contains("row-level-not-permitted"), "\(refused.error)")

            let listed = try await Self.concord(["request", "list"], hub: hub, tokenFile: officer)
            #expect(listed.output.contains("\(id)  pending  \(TestHub.agreement).v1  n-carrow"), "\(listed.output)")
            let own = try await Self.concord(["request", "approve", id, "--reason", "mine"], hub: hub, tokenFile: analyst)
            #expect(own.status != 0 && own.error.contains("auth.role"), "an analyst cannot approve: \(own.error)")
            let approved = try await Self.concord(["request", "approve", id, "--reason", "needs assessment, approved"], hub: hub, tokenFile: officer)
            #expect(approved.status == 0 && approved.output.contains("\(id) ready"), "\(approved.output) \(approved.error)")

            let directory = try hub.scratchDirectory()
            let downloaded = try await Self.concord(["request", "download", id, "--out", "\(directory)/counts.csv", "--report", "\(directory)/linkage.json"],
                                                    hub: hub, tokenFile: analyst)
            #expect(downloaded.status == 0, "\(downloaded.error)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/counts.csv"))
            #expect(downloaded.output.contains("sha256 \(SHA256.hash(data: bytes).lowercaseHex)"))
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("police_da_incidents.GENDER,police_da_incidents.DASH_RISK,persons,suppressed\n"))
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(directory)/counts.csv")
            #expect(attributes[.posixPermissions] as? Int == 0o600)
            #expect(try String(contentsOfFile: "\(directory)/linkage.json", encoding: .utf8).contains("\"persons\""))
            // The download's audit evidence, kept beside the output; unchecked without the hub's key.
            #expect(downloaded.output.contains("counts.csv.audit.json: audit entry") && downloaded.output.contains("not checked"), "\(downloaded.output)")
            let hubKey = "\(directory)/hub-signing.pub"
            try "\(hub.hubSigning.publicKey)\n".write(toFile: hubKey, atomically: true, encoding: .utf8)
            let checked = try await Self.concord(["audit", "check-evidence", "--hub-key", hubKey, "\(directory)/counts.csv.audit.json"], hub: hub, tokenFile: analyst)
            #expect(checked.status == 0 && checked.output.contains("ok: entry") && checked.output.contains("request.download of \(id) by user:n-carrow"),
                    "\(checked.output) \(checked.error)")
            var tampered = try String(contentsOfFile: "\(directory)/counts.csv.audit.json", encoding: .utf8)
            tampered = tampered.replacingOccurrences(of: "n-carrow", with: "k-osei-bonsu")
            try tampered.write(toFile: "\(directory)/tampered.audit.json", atomically: true, encoding: .utf8)
            let forged = try await Self.concord(["audit", "check-evidence", "--hub-key", hubKey, "\(directory)/tampered.audit.json"], hub: hub, tokenFile: analyst)
            #expect(forged.status == 1 && forged.output.contains("NOT ok"), "\(forged.output)")

            // A second download, its evidence checked with the hub's key.
            let again = try await Self.concord(["request", "download", id, "--out", "\(directory)/again.csv", "--hub-key", hubKey], hub: hub, tokenFile: analyst)
            #expect(again.status == 0 && again.output.contains("again.csv.audit.json: audit entry") && again.output.contains("checked: in the hub's signed log"),
                    "\(again.output) \(again.error)")

            let status = try await Self.concord(["request", "status", id], hub: hub, tokenFile: analyst)
            #expect(status.output.contains("state: ready") && status.output.contains("decided_by: i-thackeray"), "\(status.output)")
            let cancel = try await Self.concord(["request", "cancel", id], hub: hub, tokenFile: analyst)
            #expect(cancel.status != 0 && cancel.error.contains("request.state"), "downloaded: \(cancel.error)")

            let noToken = try await Self.concord(["request", "list"], hub: hub, tokenFile: "\(directory)/missing")
            #expect(noToken.status != 0 && noToken.error.contains("missing"))
        }
    }
}
