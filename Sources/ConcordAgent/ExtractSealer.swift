import ConcordCore
import ConcordFiles
import Foundation

/// The one path from an extract to an envelope, shared by `concord agent seal` and
/// `concord agent push`: validate every row, keep only what the agreements permit, pseudonymise,
/// then compress, encrypt to the hub and sign. The pseudonymised CSV exists only as a hidden
/// working file beside the envelope and is removed whatever happens.
public struct ExtractSealer: Sendable {
    public var schema: DatasetSchema
    public var linkageKey: LinkageKey
    /// The agency's signing key; its owner is the sending agency.
    public var signingKey: PrivateKeyDocument
    /// The hub's encryption key.
    public var hubKey: PublicKeyLine
    /// The agreements the extract is sent under, and what they let leave.
    public var agreements: [Agreement]
    public var release: ReleasePlan
    /// `zstd` or `none`.
    public var compression = "zstd"
    /// Whether the hub replaces the agency's previous extract with this one, or adds it.
    public var mode = EnvelopeManifest.Mode.snapshot
    public var parallelism = ProcessInfo.processInfo.activeProcessorCount

    public init(schema: DatasetSchema, linkageKey: LinkageKey, signingKey: PrivateKeyDocument, hubKey: PublicKeyLine, agreements: [Agreement]) throws {
        guard signingKey.kind == .agencySigning else { throw ExtractSealerError.notAnAgencyKey(signingKey.kind) }
        self.schema = schema
        self.linkageKey = linkageKey
        self.signingKey = signingKey
        self.hubKey = hubKey
        self.agreements = agreements
        release = try ReleasePlan(schema: schema, agreements: agreements, agency: signingKey.owner)
    }

    /// Pseudonymises `extract` and seals it into the folder `destination` chooses once the rows are
    /// counted (so that an extract with too many rejects never appears in the outbox, even briefly).
    /// - Parameters:
    ///   - workingDirectory: where the pseudonymised CSV is written while sealing; on the same
    ///     file system as the destinations, and private to the agency.
    ///   - rejectsPath: where rejected rows are described (line, field, reason; never a value), if any are.
    public func seal(extract: String, extractDate: CivilDate, rejectsPath: String, workingDirectory: String,
                     destination: (PseudonymiseSummary) -> String) async throws -> SealedExtract {
        let working = "\(workingDirectory)/.\(schema.dataset).\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: working) }
        var job = PseudonymiseJob(schema: schema, key: linkageKey, inputPath: extract, outputPath: working, rejectsPath: rejectsPath,
                                  parallelism: parallelism)
        job.release = release
        job.rejectsOnlyIfAny = true
        let clock = ContinuousClock()
        let start = clock.now
        let summary = try await job.run()
        let pseudonymised = clock.now

        let manifest = EnvelopeManifest(
            agency: signingKey.owner, dataset: schema.dataset, schemaVersion: schema.version,
            agreements: agreements.map { "\($0.id).v\($0.version)" }, extractDate: extractDate,
            rows: summary.rowsWritten, columns: summary.columns, linkageKeyID: linkageKey.id, compression: compression,
            payloadBytes: summary.outputBytes, payloadSHA256: summary.outputSHA256, created: UTCTimestamp.string(Date()), mode: mode)
        let folder = destination(summary)
        let (path, digest) = try EnvelopeFileSealer.seal(payloadPath: working, manifest: manifest, hubKey: try hubKey.encryptionKey(),
                                                         signingKey: try signingKey.signingKey(), outbox: folder)
        return SealedExtract(path: path, headerDigest: digest.lowercaseHex, summary: summary,
                             pseudonymiseDuration: start.duration(to: pseudonymised), sealDuration: pseudonymised.duration(to: clock.now))
    }
}

/// An extract sealed into an envelope.
public struct SealedExtract: Sendable {
    public var path: String
    public var headerDigest: String
    public var summary: PseudonymiseSummary
    public var pseudonymiseDuration: Duration
    public var sealDuration: Duration
}

extension PseudonymiseSummary {
    /// The share of rows read that were rejected (0 for an extract without rows).
    public var rejectShare: Double {
        rowsRead == 0 ? 0 : Double(rowsRejected) / Double(rowsRead)
    }
}

/// Why an extract cannot be sealed with the keys given.
public enum ExtractSealerError: Error, Sendable, CustomStringConvertible {
    case notAnAgencyKey(ExchangeKeyKind)
    /// The system clock is outside the years 1000 to 9999.
    case clock

    public var description: String {
        switch self {
        case .notAnAgencyKey(let kind): "the signing key is a \(kind.rawValue) key, not an agency signing key (concord keys new-agency)"
        case .clock: "the system clock is not set to a plausible date; give the extract date explicitly"
        }
    }
}

/// Times as the envelope and receipt formats write them: `YYYY-MM-DDTHH:MM:SSZ`, UTC.
public enum UTCTimestamp {
    public static func string(_ date: Date) -> String {
        CivilDate.utcTimestamp(secondsSinceEpoch: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// Today's date in UTC: the extract date when none is given.
    public static func today(_ date: Date = Date()) throws -> CivilDate {
        guard let today = CivilDate(utcSecondsSinceEpoch: date.timeIntervalSince1970) else { throw ExtractSealerError.clock }
        return today
    }
}
