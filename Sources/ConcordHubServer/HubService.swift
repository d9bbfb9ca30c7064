import ConcordCore
import ConcordFiles
import ConcordHub
import ConcordHubStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The hub's keys: HPKE to open envelopes, Ed25519 to sign receipts, and the secret analysts'
/// person ids are derived from; and the keys they replaced, kept for a rotation's overlap.
public struct HubKeys: Sendable {
    /// A replaced generation of hub keys (docs/hub.md, "Hub key rotation").
    public struct Previous: Sendable {
        public var encryption: Curve25519.KeyAgreement.PrivateKey
        public var encryptionPublic: PublicKeyLine
        /// Never signs again; its public line stays listed so that what it signed still verifies.
        public var signingPublic: PublicKeyLine
        /// The last day (UTC) envelopes sealed to `encryption` are accepted.
        public var notAfter: CivilDate
    }

    public var encryption: Curve25519.KeyAgreement.PrivateKey
    public var encryptionPublic: PublicKeyLine
    public var signing: Curve25519.Signing.PrivateKey
    /// The receipt-signing key's public line, whose id every receipt names.
    public var signingPublic: PublicKeyLine
    public var personIDSecret: PersonIDSecret
    /// Newest first.
    public var previous: [Previous]

    public init(encryption: PrivateKeyDocument, signing: PrivateKeyDocument, personIDSecret: PersonIDSecret,
                previous: [(encryption: PrivateKeyDocument, signing: PrivateKeyDocument, notAfter: CivilDate)] = []) throws {
        try Self.check(encryption: encryption, signing: signing, what: "the")
        self.encryption = try encryption.encryptionKey()
        encryptionPublic = encryption.publicKey
        self.signing = try signing.signingKey()
        signingPublic = signing.publicKey
        self.personIDSecret = personIDSecret
        self.previous = try previous.map { old in
            try Self.check(encryption: old.encryption, signing: old.signing, what: "a previous")
            return Previous(encryption: try old.encryption.encryptionKey(), encryptionPublic: old.encryption.publicKey,
                            signingPublic: old.signing.publicKey, notAfter: old.notAfter)
        }
        let ids = [encryptionPublic.id] + self.previous.map(\.encryptionPublic.id)
        guard Set(ids).count == ids.count else { throw HubStartupError("keys.previous repeats an encryption key: each generation needs its own key pair") }
    }

    private static func check(encryption: PrivateKeyDocument, signing: PrivateKeyDocument, what: String) throws {
        guard encryption.kind == .hubEncryption else { throw HubStartupError("\(what) encryption key is a \(encryption.kind.rawValue) key, not hub-encryption") }
        guard signing.kind == .hubSigning else { throw HubStartupError("\(what) signing key is a \(signing.kind.rawValue) key, not hub-signing") }
    }

    /// Reads the keys from their files (mode 0600, refused when others can read them). Without
    /// `keys.person_id_secret` in the configuration, the secret is `data_dir/person-id.secret`,
    /// made on first start.
    public init(configuration: HubConfiguration) throws {
        let secret: PersonIDSecret
        if let path = configuration.personIDSecretPath {
            secret = try KeyFiles.readPersonIDSecret(path)
        } else {
            let path = "\(configuration.dataDirectory)/person-id.secret"
            if !FileManager.default.fileExists(atPath: path) {
                try createDirectory(configuration.dataDirectory, mode: 0o711)
                try KeyFiles.create(PersonIDSecret.generate(), at: path)
            }
            secret = try KeyFiles.readPersonIDSecret(path)
        }
        try self.init(encryption: KeyFiles.readPrivateKey(configuration.encryptionKeyPath), signing: KeyFiles.readPrivateKey(configuration.signingKeyPath),
                      personIDSecret: secret, previous: configuration.previousKeys.map {
                          (encryption: try KeyFiles.readPrivateKey($0.encryptionKeyPath), signing: try KeyFiles.readPrivateKey($0.signingKeyPath),
                           notAfter: $0.notAfter)
                      })
    }

    /// The keys an envelope may be sealed to on `today`: the current one, then each previous one,
    /// refused once its overlap has ended (but still tried, so the refusal can name the key).
    public func opening(today: CivilDate) -> [AcceptedKey<Curve25519.KeyAgreement.PrivateKey>] {
        [AcceptedKey(encryption)] + previous.map { old in
            AcceptedKey(old.encryption, refusal: today > old.notAfter
                ? "the envelope was sealed to hub key \(old.encryptionPublic.id), retired after \(old.notAfter); the agent must seal to the hub's current encryption key \(encryptionPublic.id) (docs/agent.md)"
                : nil)
        }
    }

    /// Every receipt- and certificate-signing public key the hub has used: the current one first.
    public var signingPublicKeys: [PublicKeyLine] { [signingPublic] + previous.map(\.signingPublic) }
}

/// Why the hub cannot start.
public struct HubStartupError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Everything a request handler needs: the store, the keys, the schemas, the upload spool, the
/// requests' output files.
struct HubService: Sendable {
    let store: HubStore
    let keys: HubKeys
    let catalogue: SchemaCatalogue
    let spool: UploadSpool
    let outputs: RequestOutputFiles
    let limits: HubConfiguration.Limits
    let locks = UploadLocks()
    let metrics: HubMetrics
    /// Told about every published extract, so linkages follow (nil: linkage runs only on demand).
    let linkage: LinkageQueue?
    let logger: Logger
    /// Seconds since the Unix epoch.
    let now: @Sendable () -> Int64

    var today: CivilDate { CivilDate(utcSecondsSinceEpoch: Double(now()))! }

    /// The keys an envelope of `agency` is checked with today: the hub's (current, then in their
    /// overlap) and the agency's (active, then revoked, so a revoked one is named when refused).
    func envelopeKeys(_ agency: AgencyRecord) -> EnvelopeKeys {
        let agencyKeys: [AcceptedKey<Curve25519.Signing.PublicKey>] = agency.activeKeys.compactMap { key in (try? key.publicKey.signingKey()).map { AcceptedKey($0) } }
            + agency.keys.compactMap { key in
                key.revocation.flatMap { revocation in
                    (try? key.publicKey.signingKey()).map {
                        AcceptedKey($0, refusal: "the envelope is signed with agency \(agency.id)'s key \(key.keyID), revoked at \(revocation.at) (\(revocation.reason)); seal it again with a current key")
                    }
                }
            }
        return EnvelopeKeys(hub: keys.opening(today: today), agency: agency.id, agencyKeys: agencyKeys)
    }

    func admit(_ manifest: EnvelopeManifest, agency: String) async throws -> UploadAdmission {
        UploadAdmission(manifest: manifest, agency: agency, schemas: catalogue, inForce: try await store.agreementsInForce(catalogue: catalogue), today: today)
    }

    /// Opens, checks and loads a fully received upload, then publishes it with a signed receipt, or
    /// refuses it with every reason. Either way the outcome is stored and audited with it.
    func ingest(_ upload: UploadRecord, agency: AgencyRecord) async throws -> UploadRecord {
        let started = ContinuousClock.now
        let manifest = try EnvelopeManifest(canonical: Array(upload.manifest.utf8))
        let admission = try await admit(manifest, agency: agency.id)
        guard admission.isAdmitted, let schema = admission.schema, let release = admission.release else {
            return try await refuse(upload, manifest: manifest, admission: admission, reasons: admission.reasons)
        }
        let table = try DatasetTable(schema: schema)
        var decoder = ReceivedExtractDecoder(keys: envelopeKeys(agency), schema: schema, release: release)
        let input = try InputFile(path: spool.path(headerDigest: upload.headerDigest))
        let staged: ExtractRecord
        do {
            staged = try await store.stage(uploadID: upload.id, agencyID: agency.id, dataset: table, mode: manifest.mode == .append ? .append : .snapshot,
                                           retainUntil: admission.retainUntil, holds: admission.holds(for: manifest.dataset, today: today),
                                           columns: release.columns) { writer in
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                    guard count > 0 else { break }
                    for batch in try decoder.consume(buffer[..<count]) { try await writer.append(batch) }
                }
                for batch in try decoder.finish() { try await writer.append(batch) }
            }
        } catch let refusal as ExtractRefusal {
            return try await refuse(upload, manifest: manifest, admission: admission, reasons: refusal.reasons)
        }
        let receipt = UploadReceipt(
            receiptID: UploadReceipt.newID(), hubKeyID: keys.signingPublic.id, uploadID: upload.id.uuidString.lowercased(), agency: agency.id,
            dataset: manifest.dataset, agreements: manifest.agreements, headerDigest: upload.headerDigest.lowercaseHex,
            manifestSHA256: SHA256.hash(data: manifest.json.bytes).lowercaseHex, payloadSHA256: manifest.payloadSHA256,
            rowsLoaded: Int(staged.rows), receivedAt: CivilDate.utcTimestamp(secondsSinceEpoch: now()))
        let signed = try receipt.signed(with: keys.signing)
        var details = Self.details(manifest, admission)
        details["rows_loaded"] = .integer(Int(staged.rows))
        details["receipt_id"] = .string(receipt.receiptID)
        _ = try await store.publish(
            extractID: staged.id, receipt: String(decoding: signed.json.bytes, as: UTF8.self),
            auditEntry: AuditEntry(actor: .agency(agency.id), action: "upload.accepted", subject: upload.id.uuidString.lowercased(),
                                   details: .object(details)))
        spool.remove(headerDigest: upload.headerDigest)
        await linkage?.published(manifest.dataset)
        await signCheckpointNow(after: "upload \(upload.id.uuidString.lowercased())")
        metrics.uploadFinished(outcome: "accepted")
        metrics.rowsLoaded(Int(staged.rows), dataset: manifest.dataset)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        logger.info("upload \(upload.id.uuidString.lowercased()) from \(agency.id): \(staged.rows) rows of \(manifest.dataset) opened, checked, staged and published in \(seconds) s")
        return try await store.upload(id: upload.id) ?? upload
    }

    private func refuse(_ upload: UploadRecord, manifest: EnvelopeManifest, admission: UploadAdmission, reasons: [String]) async throws -> UploadRecord {
        let problem = Problem(.unprocessableContent, "upload.refused", "the extract was refused and nothing of it was loaded", reasons: reasons)
        var details = Self.details(manifest, admission)
        details["reasons"] = .array(reasons.map(CanonicalJSON.string))
        let refused = try await store.refuseUpload(id: upload.id, problem: String(decoding: problem.json.bytes, as: UTF8.self), details: details)
        spool.remove(headerDigest: upload.headerDigest)
        metrics.uploadFinished(outcome: "refused")
        return refused
    }

    func json(_ value: CanonicalJSON, status: HTTPResponse.Status) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.bytes)))
    }
}

/// Serialises work on one upload (appending, completing) within this hub process.
actor UploadLocks {
    private var busy: Set<UUID> = []

    nonisolated func withLock<T>(_ id: UUID, _ body: () async throws -> T) async throws -> T {
        try await acquire(id)
        do {
            let result = try await body()
            await release(id)
            return result
        } catch {
            await release(id)
            throw error
        }
    }

    private func acquire(_ id: UUID) throws(Problem) {
        guard busy.insert(id).inserted else {
            throw Problem(.conflict, "upload.busy", "another request is working on this upload; retry when it has finished")
        }
    }

    private func release(_ id: UUID) {
        busy.remove(id)
    }
}
