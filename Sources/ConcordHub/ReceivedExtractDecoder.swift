import ConcordCore
import Crypto

/// Turns an envelope, fed in pieces, into rows the hub can load: opens it (signature, decryption,
/// decompression, payload hash), parses the CSV, holds every row to ``ReceivedExtractCheck``, and
/// yields the rows that passed, without the header. One pass, bounded memory; any problem refuses
/// the whole extract, so the caller aborts its load and nothing of it is kept.
public struct ReceivedExtractDecoder {
    private var opener: EnvelopeOpener
    private let keys: EnvelopeKeys
    private var parser = CSVParser()
    private var check: ReceivedExtractCheck
    private var sawHeader = false
    /// Rows yielded so far.
    public private(set) var rows = 0
    /// How many row problems to list before refusing.
    let reasonLimit: Int

    /// - Parameters:
    ///   - keys: the hub's keys and the sending agency's: the manifest must be signed with one of
    ///     the agency's accepted keys, the payload sealed to one of the hub's.
    ///   - release: the columns and generalisations the admitted agreements allow.
    public init(keys: EnvelopeKeys, schema: DatasetSchema, release: ReleasePlan, reasonLimit: Int = 20) {
        opener = keys.opener()
        self.keys = keys
        check = ReceivedExtractCheck(schema: schema, release: release)
        self.reasonLimit = reasonLimit
    }

    /// The verified manifest, once the header has been read.
    public var manifest: EnvelopeManifest? { opener.manifest }

    /// Consumes the next bytes of the envelope; returns the rows they completed.
    public mutating func consume(_ bytes: some Collection<UInt8>) throws(ExtractRefusal) -> [CSVRecordBatch] {
        let plaintext: [UInt8]
        do { plaintext = try opener.consume(bytes) } catch { throw ExtractRefusal(["the envelope did not open: \(error)"]) }
        try checkKeys()
        return try rows(from: plaintext, finishing: false)
    }

    /// Ends the envelope: the last chunk, the payload's length and hash, and the manifest's row count.
    public mutating func finish() throws(ExtractRefusal) -> [CSVRecordBatch] {
        let plaintext: [UInt8]
        do { plaintext = try opener.finish() } catch { throw ExtractRefusal(["the envelope did not open: \(error)"]) }
        try checkKeys()
        let output = try rows(from: plaintext, finishing: true)
        guard sawHeader else { throw ExtractRefusal(["the payload is empty: not even a header line"]) }
        if let manifest, manifest.rows != rows {
            throw ExtractRefusal(["the payload holds \(rows) rows but the manifest says \(manifest.rows)"])
        }
        return output
    }

    /// Refuses as soon as the envelope turns out to be signed with a revoked key or sealed to a
    /// retired hub key, before any of its rows is yielded.
    private func checkKeys() throws(ExtractRefusal) {
        if let refusal = keys.refusal(opener) { throw ExtractRefusal([refusal]) }
    }

    private mutating func rows(from plaintext: [UInt8], finishing: Bool) throws(ExtractRefusal) -> [CSVRecordBatch] {
        var batches: [CSVRecordBatch] = []
        do {
            batches = try plaintext.withUnsafeBytes { bytes throws(CSVError) in try parser.consume(bytes) }
            if finishing { batches += try parser.finish() }
        } catch {
            throw ExtractRefusal(["the payload is not valid CSV: \(error)"])
        }
        var output: [CSVRecordBatch] = []
        for batch in batches {
            let isHeaderBatch = !sawHeader
            if isHeaderBatch {
                guard let header = batch.firstRecord else { continue }
                do { try check.checkHeader(header) } catch { throw ExtractRefusal(["\(error)"]) }
                if let manifest, manifest.columns != header {
                    throw ExtractRefusal(["the payload's header is not the manifest's columns"])
                }
                sawHeader = true
            }
            let violations = check.check(batch, skippingFirst: isHeaderBatch)
            guard violations.isEmpty else {
                var reasons = violations.prefix(reasonLimit).map(\.description)
                if violations.count > reasonLimit { reasons.append("and \(violations.count - reasonLimit) more in the same rows") }
                throw ExtractRefusal(reasons)
            }
            rows += batch.count - (isHeaderBatch ? 1 : 0)
            output.append(isHeaderBatch ? batch.droppingFirstRecord() : batch)
        }
        return output
    }
}

/// Why an extract is refused: every reason found before stopping.
public struct ExtractRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var reasons: [String]

    public init(_ reasons: [String]) {
        self.reasons = reasons
    }

    public var description: String { reasons.joined(separator: "; ") }
}
