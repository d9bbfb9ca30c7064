import ConcordAgent
import ConcordCore
import ConcordFiles
import ConcordTestSupport
import Crypto
import Foundation
import Synchronization
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Keys shared by the agent tests: the agency's signing key and the hub's two keys.
enum TestKeys {
    static let agency = PrivateKeyDocument.generate(.agencySigning, owner: "essex-police")
    static let hubEncryption = PrivateKeyDocument.generate(.hubEncryption, owner: "hub")
    static let hubSigning = PrivateKeyDocument.generate(.hubSigning, owner: "hub")
    static let otherHubSigning = PrivateKeyDocument.generate(.hubSigning, owner: "hub")
    static let linkage = try! LinkageKey(version: 3, secret: Array(100..<132))
}

/// The police extract's header and rows: two valid, one with an impossible date of birth.
enum PoliceExtract {
    static let header = "INCIDENT_REF|NOMINAL_ID|FORENAME|SURNAME|DOB|AGE_AT_INCIDENT|GENDER|HOME_POSTCODE|INVOLVEMENT|INCIDENT_DATE|INCIDENT_HOUR|DASH_RISK|CRIME_RECORDED|OFFENCE_CATEGORY|REPEAT_VICTIM|MARAC_REFERRAL|CHILDREN_PRESENT|OFFICER_NARRATIVE"
    static let good = [
        "INC-7731|NOM-4410|Alice|Smithson|01/02/1980|44|F|CO1 1AA|VICTIM|03/04/2024|22|HIGH|true|Violence with injury|false|true|2|Officer saw Alice Smithson at home",
        "INC-7731|NOM-4411|Robert|Smithson|11/12/1978|45|M|CO1 1AA|PERPETRATOR|03/04/2024|22||true|Violence with injury|||2|Robert Smithson arrested",
    ]
    static let bad = "INC-7732|NOM-4412|Carol|Jonesworth|31/02/1990|34|F|CO2 2BB|VICTIM|05/04/2024|9|MEDIUM|false||false|false|0|Carol Jonesworth declined"
    /// Values that must never leave the agency: identifiers, free text, and a field no agreement permits.
    static let secrets = ["INC-7731", "NOM-4410", "Alice", "Smithson", "Robert", "Officer saw", "arrested", "Jonesworth", "31/02/1990"]

    static func text(badRows: Int = 0) -> String {
        ([header] + good + Array(repeating: bad, count: badRows)).joined(separator: "\n") + "\n"
    }
}

/// A configured agent in a temporary directory.
struct AgentFixture {
    let directory: TemporaryDirectory

    init(maximumRejectShare: String = "0.5", mode: String = "snapshot") throws {
        directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("keys"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.file("extracts"), withIntermediateDirectories: true)
        try KeyFiles.create(TestKeys.agency, at: directory.file("keys/agency.key"))
        try KeyFiles.create(TestKeys.linkage, at: directory.file("keys/linkage.key"))
        _ = try directory.write("agent.yaml", Self.configuration(maximumRejectShare: maximumRejectShare, mode: mode))
    }

    static func configuration(maximumRejectShare: String = "0.5", mode: String = "snapshot") -> String {
        """
        format: concord-agent/1
        agency: essex-police
        hub:
          url: https://hub.example.org
          encryption_key: "\(TestKeys.hubEncryption.publicKey)"
          receipt_key: "\(TestKeys.hubSigning.publicKey)"
        signing_key: keys/agency.key
        linkage_key: keys/linkage.key
        state_dir: state
        agreements_dir: \(repositoryRoot)/Agreements
        schemas_dir: \(repositoryRoot)/Schemas/datasets
        max_reject_share: \(maximumRejectShare)
        retry: {attempts: 3, initial_delay_seconds: 0.5, max_delay_seconds: 2}
        datasets:
          police_da_incidents:
            schema: \(repositoryRoot)/Schemas/datasets/police_da_incidents.yaml
            extract: extracts/police-*.csv
            mode: \(mode)
            agreements: [early-help-domestic-abuse]

        """
    }

    var configurationPath: String { directory.file("agent.yaml") }

    func setup() throws -> AgentSetup {
        try AgentSetup.load(try AgentConfiguration.load(path: configurationPath))
    }

    func writeExtract(_ name: String, badRows: Int = 0) throws -> String {
        try directory.write("extracts/\(name)", PoliceExtract.text(badRows: badRows))
    }

    /// Seals the police extract into the outbox (or held/).
    func seal(badRows: Int = 0) async throws -> SealOutcome {
        let setup = try setup()
        try setup.state.prepare()
        let extract = try writeExtract("police-2026-11-21.csv", badRows: badRows)
        return try await setup.seal(dataset: "police_da_incidents", extract: extract, extractDate: CivilDate(iso: "2026-11-21")!)
    }
}

/// Opens an envelope file as the hub would; returns its manifest and payload text.
func openEnvelope(_ path: String) throws -> (EnvelopeManifest, String) {
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let agencyKey = try TestKeys.agency.publicKey.signingKey()
    var opener = EnvelopeOpener(hubKey: try TestKeys.hubEncryption.encryptionKey()) { $0 == "essex-police" ? agencyKey : nil }
    var payload = try opener.consume(bytes)
    payload += try opener.finish()
    return (try #require(opener.manifest), String(decoding: payload, as: UTF8.self))
}

/// A receipt for an envelope, signed by `key` (the pinned hub key unless a test says otherwise).
func receipt(for envelope: EnvelopeFile, uploadID: String = "0d6f7a52-8c1e-4b7a-9f00-5a1c2e3d4f60", rows: Int? = nil,
             headerDigest: String? = nil, key: PrivateKeyDocument = TestKeys.hubSigning) throws -> SignedUploadReceipt {
    try UploadReceipt(receiptID: UploadReceipt.newID(), hubKeyID: key.publicKey.id, uploadID: uploadID, agency: envelope.manifest.agency,
                      dataset: envelope.manifest.dataset, agreements: envelope.manifest.agreements,
                      headerDigest: headerDigest ?? envelope.headerDigest, manifestSHA256: envelope.manifestSHA256,
                      payloadSHA256: envelope.manifest.payloadSHA256, rowsLoaded: rows ?? envelope.manifest.rows,
                      receivedAt: "2026-11-22T02:31:00Z").signed(with: key.signingKey())
}

/// A transport that answers from a script and records every request, so a test can check which
/// requests the client made and in which order. It holds no upload state of its own: each test's
/// script says what the hub answers.
final class ScriptedTransport: HubTransport {
    typealias Script = @Sendable (HubRequest, _ index: Int) throws -> HubResponse
    private let script: Script
    private let log = Mutex<[HubRequest]>([])

    init(_ script: @escaping Script) {
        self.script = script
    }

    var requests: [HubRequest] { log.withLock { $0 } }

    func send(_ request: HubRequest) async throws -> HubResponse {
        let index = log.withLock { log in
            log.append(request)
            return log.count - 1
        }
        return try script(request, index)
    }
}

struct ConnectionReset: Error {}

/// Counts calls, for scripts that answer differently the first time.
final class Counter: Sendable {
    private let count = Mutex(0)

    /// The number of earlier calls.
    func next() -> Int {
        count.withLock { count in
            defer { count += 1 }
            return count
        }
    }
}

/// JSON answers as the hub writes them.
enum HubAnswer {
    static let uploadID = "0d6f7a52-8c1e-4b7a-9f00-5a1c2e3d4f60"

    static func upload(_ envelope: EnvelopeFile, offset: Int, state: String = "receiving", receipt: SignedUploadReceipt? = nil,
                       status: Int = 201) -> HubResponse {
        var members: [String: CanonicalJSON] = [
            "upload_id": .string(uploadID), "agency": .string("essex-police"), "dataset": .string(envelope.manifest.dataset),
            "header_digest": .string(envelope.headerDigest), "length": .integer(envelope.length), "offset": .integer(offset),
            "state": .string(state),
        ]
        if let receipt { members["receipt"] = receipt.json }
        // Pretty-printed with spaces, as a server may: the client must not need canonical answers.
        let text = String(decoding: CanonicalJSON.object(members).bytes, as: UTF8.self).replacingOccurrences(of: ",\"", with: ", \"")
        return HubResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(text.utf8))
    }

    static func problem(_ status: Int, _ code: String, offset: Int? = nil, reasons: [String] = []) -> HubResponse {
        var members: [String: CanonicalJSON] = [
            "type": .string("https://concord.invalid/problems/\(code)"), "title": .string(code), "status": .integer(status),
            "code": .string(code), "detail": .string("detail of \(code)"), "reasons": .array(reasons.map(CanonicalJSON.string)),
        ]
        if let offset { members["offset"] = .integer(offset) }
        return HubResponse(status: status, headers: ["Content-Type": "application/problem+json"], body: CanonicalJSON.object(members).bytes)
    }

    /// What a hub that takes every byte answers: a new upload at offset 0, each piece appended,
    /// completion with a receipt, and `get` (default: not found) to GET. `patch` may answer the
    /// PATCH at an offset otherwise (`nil`: append it).
    static func accepting(_ request: HubRequest, _ envelope: EnvelopeFile, get: HubResponse? = nil,
                          patch: (Int) throws -> HubResponse? = { _ in nil }) throws -> HubResponse {
        switch (request.method, request.target) {
        case ("POST", "/v1/uploads"): return upload(envelope, offset: 0)
        case ("GET", _): return get ?? problem(404, "upload.not-found")
        case ("PATCH", _):
            let offset = Int(request.header("Upload-Offset") ?? "") ?? -1
            return try patch(offset) ?? appended(offset + request.body.count)
        case ("POST", _): return upload(envelope, offset: envelope.length, state: "complete", receipt: try receipt(for: envelope), status: 200)
        default: return problem(500, "unexpected")
        }
    }

    static func appended(_ offset: Int) -> HubResponse {
        HubResponse(status: 204, headers: ["Upload-Offset": String(offset)])
    }
}
