import AsyncHTTPClient
import ConcordAgent
import ConcordCore
import ConcordFiles
import ConcordHubServer
import ConcordHubStore
import ConcordSynth
import ConcordTestSupport
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import Testing

/// A real hub for tests: a fresh database on the test PostgreSQL, the shipped schemas and
/// agreements applied, one agency registered, and the HTTP server on a free loopback port.
struct TestHub: Sendable {
    let baseURL: String
    let store: HubStore
    let hubEncryption: PrivateKeyDocument
    let hubSigning: PrivateKeyDocument
    /// essex-police's signing key, registered at the hub.
    let agency: PrivateKeyDocument
    let linkageKey: LinkageKey
    let catalogue: SchemaCatalogue
    /// The hub's data directory is `hub` in it; tests make scratch directories beside it.
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }
    /// Where the hub audits refused requests; tests flush it as the checkpointer would.
    let refusals: RefusalAudit

    static let agencyID = "essex-police"
    static let agreement = "early-help-domestic-abuse"

    /// Runs `body` with a hub, stopping it afterwards.
    /// - Parameter previousKeys: hub keys replaced by a rotation, with the last day each is accepted
    ///   (`keys.previous`, docs/hub.md).
    static func with(previousKeys: [(encryption: PrivateKeyDocument, signing: PrivateKeyDocument, notAfter: CivilDate)] = [],
                     _ body: @Sendable (TestHub) async throws -> Void) async throws {
        try await withFreshDatabase { database in
            try await withClient(database) { client in
                let store = HubStore(client: client, logger: testLogger)
                try await store.migrate()
                let catalogue = try DocumentFiles.loadCatalogue(repositoryRoot.appendingPathComponent("Schemas/datasets").path)
                for file in try DocumentFiles.yamlFiles(in: repositoryRoot.appendingPathComponent("Agreements").path) {
                    let text = try DocumentFiles.readText(file)
                    _ = try await store.applyAgreement(yaml: text, agreement: try Agreement(yaml: text, file: file, catalogue: catalogue),
                                                       by: .operator("tests"))
                }
                try await HubRuntime.prepareDatasetTables(store, catalogue: catalogue)
                let agency = PrivateKeyDocument.generate(.agencySigning, owner: agencyID)
                _ = try await store.addAgency(id: agencyID, name: "Essex Police", publicKey: agency.publicKey, by: .operator("tests"))

                let directory = try TemporaryDirectory()
                var configuration = HubConfiguration(dataDirectory: directory.file("hub"), encryptionKeyPath: "", signingKeyPath: "", schemasDirectory: "")
                configuration.port = 0
                configuration.limits.maxRequestBytes = 1 << 20
                let hubEncryption = PrivateKeyDocument.generate(.hubEncryption, owner: "hub")
                let hubSigning = PrivateKeyDocument.generate(.hubSigning, owner: "hub")
                let (ports, portContinuation) = AsyncStream<Int>.makeStream()
                let linkage = LinkageQueue()
                // A window no test outlasts, however loaded the machine: the tests of counted
                // refusals flush it themselves (with the hub's 60 s, a slow run split one flood in two).
                let refusals = RefusalAudit(store: store, window: .seconds(3600))
                let application = try HubApplication.make(
                    configuration: configuration, store: store, keys: try HubKeys(encryption: hubEncryption, signing: hubSigning, personIDSecret: PersonIDSecret.generate(),
                                                                    previous: previousKeys),
                    catalogue: catalogue, logger: testLogger, linkage: linkage, refusals: refusals,
                    onServerRunning: { portContinuation.yield($0) })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await application.run() }
                    group.addTask { try await LinkageWorker(store: store, catalogue: catalogue, queue: linkage, logger: testLogger).run() }
                    defer { group.cancelAll() }
                    var iterator = ports.makeAsyncIterator()
                    let port = try #require(await iterator.next())
                    let hub = TestHub(baseURL: "http://127.0.0.1:\(port)", store: store, hubEncryption: hubEncryption, hubSigning: hubSigning,
                                      agency: agency, linkageKey: try LinkageKey.generate(version: 1), catalogue: catalogue,
                                      temporary: directory, refusals: refusals)
                    try await body(hub)
                }
            }
        }
    }

    /// A pseudonymised, sealed extract of `rows` synthetic police incidents (or another
    /// `dataset`, sent by `sender`), as the agent makes it. The same seed and `people` give the
    /// same population in every dataset, so extracts overlap as real agencies' do.
    /// - Parameter claimedAgreements: what the manifest names, when a test needs it to differ from what the payload follows.
    func envelope(rows: Int, seed: UInt64 = 1, people: Int? = nil, dataset: SynthDataset = .policeDAIncidents, sender: PrivateKeyDocument? = nil,
                  agreements: [String] = [TestHub.agreement], claimedAgreements: [String]? = nil,
                  mode: EnvelopeManifest.Mode = .snapshot, linkageKey: LinkageKey? = nil,
                  sealedTo hubKey: PrivateKeyDocument? = nil) async throws -> SealedTestEnvelope {
        let sender = sender ?? agency
        let linkageKey = linkageKey ?? self.linkageKey
        let work = try scratchDirectory()
        let synthesiser = Synthesiser(SynthConfiguration(seed: seed, people: people ?? max(200, rows), errorRates: .none))
        let summary = try synthesiser.write(dataset, rows: rows, to: work)
        let schema = try #require(catalogue.schemas[dataset.rawValue])
        let loaded = try agreements.map { name in
            try Agreement(yaml: DocumentFiles.readText(repositoryRoot.appendingPathComponent("Agreements/\(name).v1.yaml").path),
                          file: name, catalogue: catalogue)
        }
        var job = PseudonymiseJob(schema: schema, key: linkageKey, inputPath: try #require(summary.files.first).path,
                                  outputPath: work + "/payload.csv", parallelism: 1)
        job.release = try ReleasePlan(schema: schema, agreements: loaded, agency: sender.owner)
        let result = try await job.run()
        let manifest = EnvelopeManifest(
            agency: sender.owner, dataset: schema.dataset, schemaVersion: schema.version, agreements: claimedAgreements ?? loaded.map { "\($0.id).v\($0.version)" },
            extractDate: CivilDate(year: 2026, month: 11, day: 21)!, rows: result.rowsWritten, columns: result.columns, linkageKeyID: linkageKey.id,
            compression: "zstd", payloadBytes: result.outputBytes, payloadSHA256: result.outputSHA256, created: "2026-11-22T01:00:00Z", mode: mode)
        let (path, digest) = try EnvelopeFileSealer.seal(payloadPath: work + "/payload.csv", manifest: manifest,
                                                         hubKey: try (hubKey ?? hubEncryption).publicKey.encryptionKey(),
                                                         signingKey: try sender.signingKey(), outbox: work)
        return SealedTestEnvelope(path: path, headerDigest: digest, manifest: manifest, payloadPath: work + "/payload.csv")
    }

    /// A new empty directory beside the hub's data, removed with it when the test ends.
    func scratchDirectory() throws -> String {
        let path = temporary.file("scratch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    /// Sends a request signed as `key`'s owner (by default the registered agency), with the given overrides for failure cases.
    func signed(_ method: HTTPRequest.Method, _ target: String, body: [UInt8] = [], headers extra: [(String, String)] = [],
                key: PrivateKeyDocument? = nil, timestamp: Int64? = nil, nonce: String? = nil,
                claimedDigest: String? = nil) async throws -> TestResponse {
        let key = key ?? agency
        let request = SignedRequest(method: method.rawValue, target: target, agency: key.owner, keyID: key.publicKey.id,
                                    timestamp: timestamp ?? Int64(Date().timeIntervalSince1970), nonce: nonce ?? SignedRequest.newNonce(),
                                    contentSHA256: claimedDigest ?? SHA256.hash(data: body).lowercaseHex)
        return try await send(method, target, body: body, headers: try request.headers(signedWith: key.signingKey()) + extra)
    }

    func send(_ method: HTTPRequest.Method, _ target: String, body: [UInt8] = [], headers: [(String, String)] = []) async throws -> TestResponse {
        var request = HTTPClientRequest(url: baseURL + target)
        request.method = .init(rawValue: method.rawValue)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == .post || method == .patch { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer: bytes))
    }

    /// Uploads a whole envelope in pieces of `piece` bytes; returns the complete call's answer.
    /// - Parameter sender: the agency sending it (by default the registered essex-police).
    func upload(_ envelope: SealedTestEnvelope, piece: Int = 256 << 10, as sender: PrivateKeyDocument? = nil) async throws -> TestResponse {
        let bytes = try envelope.bytes()
        let start = try await signed(.post, "/v1/uploads", body: try envelope.prefix(of: bytes), headers: [("Upload-Length", String(bytes.count))], key: sender)
        guard start.status == 201 || start.status == 200 else { return start }
        let upload = try start.json()
        if case .string("complete")? = upload["state"] { return start }
        let id = try upload.string("upload_id")
        var offset = try upload.integer("offset")
        while offset < bytes.count {
            let end = min(offset + piece, bytes.count)
            let appended = try await signed(.patch, "/v1/uploads/\(id)", body: Array(bytes[offset..<end]), headers: [("Upload-Offset", String(offset))], key: sender)
            guard appended.status == 204 else { return appended }
            offset = end
        }
        return try await signed(.post, "/v1/uploads/\(id)/complete", key: sender)
    }

    /// Rows of `dataset` visible to readers.
    func visibleRows(_ dataset: String) async throws -> Int {
        try await store.withTransaction { transaction in
            var count = 0
            for try await value in try await transaction.query("SELECT count(*) FROM \(unescaped: "current_" + dataset)").decode(Int.self) { count = value }
            return count
        }
    }
}

struct SealedTestEnvelope: Sendable {
    let path: String
    let headerDigest: [UInt8]
    let manifest: EnvelopeManifest
    let payloadPath: String

    func bytes() throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Header, signature and encapsulated key: what starts an upload.
    func prefix(of bytes: [UInt8]) throws -> [UInt8] {
        Array(bytes[0..<(try #require(Envelope.prefixLength(announcedIn: bytes)))])
    }
}

struct TestResponse: Sendable {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> [String: CanonicalJSON] {
        guard case .object(let members) = try CanonicalJSON(canonical: body) else { throw TestFailure("not a JSON object: \(text)") }
        return members
    }

    /// The problem's code, for refusals.
    var problemCode: String? {
        guard let members = try? json(), case .string(let code)? = members["code"] else { return nil }
        return code
    }
}

extension [String: CanonicalJSON] {
    func string(_ key: String) throws -> String {
        guard case .string(let value)? = self[key] else { throw TestFailure("no string '\(key)'") }
        return value
    }

    func integer(_ key: String) throws -> Int {
        guard case .integer(let value)? = self[key] else { throw TestFailure("no integer '\(key)'") }
        return value
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
