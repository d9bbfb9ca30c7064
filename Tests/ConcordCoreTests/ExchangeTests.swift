import ConcordCore
import Crypto
import Testing

@Suite("Signed requests and receipts")
struct ExchangeTests {
    let agency = PrivateKeyDocument.generate(.agencySigning, owner: "essex-police")
    let hub = PrivateKeyDocument.generate(.hubSigning, owner: "hub")

    private func request(target: String = "/v1/uploads/abc?x=1", timestamp: Int64 = 1_790_000_000) -> SignedRequest {
        SignedRequest(method: "patch", target: target, agency: "essex-police", keyID: agency.publicKey.id, timestamp: timestamp,
                      nonce: "0123456789abcdef0123456789abcdef", contentSHA256: SignedRequest.emptyContentSHA256)
    }

    /// The string to sign is exactly the eight lines of docs/api-auth.md.
    @Test func stringToSignIsTheDocumentedLines() {
        let text = String(decoding: request().stringToSign, as: UTF8.self)
        #expect(text == """
            concord-request-v1
            PATCH
            /v1/uploads/abc?x=1
            essex-police
            \(agency.publicKey.id)
            1790000000
            0123456789abcdef0123456789abcdef
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
    }

    @Test func headersRoundTripAndAnyChangeBreaksTheSignature() throws {
        let original = request()
        let headers = Dictionary(uniqueKeysWithValues: try original.headers(signedWith: agency.signingKey()).map { ($0.name, $0.value) })
        let (parsed, signature) = try SignedRequest.parse(method: "PATCH", target: original.target) { headers[$0] }
        #expect(parsed == original)
        let key = try agency.publicKey.signingKey()
        #expect(parsed.isSigned(by: key, signature: signature))
        var moved = parsed
        moved.target = "/v1/uploads/other"
        #expect(!moved.isSigned(by: key, signature: signature))
        #expect(parsed.isFresh(now: 1_790_000_300) && !parsed.isFresh(now: 1_790_000_301) && !parsed.isFresh(now: 1_789_999_699))
    }

    @Test func malformedHeadersAreNamed() {
        var headers = [SignedRequest.Header.agency: "a", SignedRequest.Header.keyID: "as-1", SignedRequest.Header.timestamp: "-5",
                       SignedRequest.Header.nonce: "short", SignedRequest.Header.contentSHA256: "00", SignedRequest.Header.signature: "x"]
        #expect(throws: SignedRequestError.malformed("\(SignedRequest.Header.timestamp) must be whole seconds since 1970-01-01T00:00:00Z")) {
            _ = try SignedRequest.parse(method: "GET", target: "/") { headers[$0] }
        }
        headers[SignedRequest.Header.timestamp] = "1"
        #expect(throws: SignedRequestError.self) { _ = try SignedRequest.parse(method: "GET", target: "/") { headers[$0] } }
        headers[SignedRequest.Header.agency] = nil
        #expect(throws: SignedRequestError.malformed("the Concord-Agency header is missing")) {
            _ = try SignedRequest.parse(method: "GET", target: "/") { headers[$0] }
        }
    }

    private func receipt() -> UploadReceipt {
        UploadReceipt(receiptID: UploadReceipt.newID(), hubKeyID: hub.publicKey.id, uploadID: "u1", agency: "essex-police",
                      dataset: "police_da_incidents", agreements: ["early-help-domestic-abuse.v1"], headerDigest: "aa", manifestSHA256: "bb",
                      payloadSHA256: "cc", rowsLoaded: 7, receivedAt: "2026-11-22T01:02:03Z")
    }

    @Test func receiptsVerifyOnlyWithThePinnedKeyAndUntouched() throws {
        let signed = try receipt().signed(with: hub.signingKey())
        let read = try SignedUploadReceipt(canonical: signed.json.bytes)
        #expect(read == signed)
        try read.verify(hubKey: hub.publicKey)
        #expect(read.mismatches(headerDigest: "aa", manifestSHA256: "bb", payloadSHA256: "cc", rows: 7).isEmpty)
        #expect(read.mismatches(headerDigest: "aa", manifestSHA256: "bb", payloadSHA256: "cd", rows: 8).count == 2)

        var altered = read
        altered.receipt.rowsLoaded = 8
        #expect(throws: ReceiptError.badSignature) { try altered.verify(hubKey: hub.publicKey) }
        let other = PrivateKeyDocument.generate(.hubSigning, owner: "hub")
        #expect(throws: ReceiptError.self) { try read.verify(hubKey: other.publicKey) }
        #expect(throws: ReceiptError.self) { _ = try SignedUploadReceipt(canonical: Array(#"{"receipt":{},"signature":"AA=="}"#.utf8)) }
    }

    @Test func timestampsAreWrittenAsTheFormatsSay() {
        #expect(CivilDate.utcTimestamp(secondsSinceEpoch: 0) == "1970-01-01T00:00:00Z")
        #expect(CivilDate.utcTimestamp(secondsSinceEpoch: 1_700_000_000) == "2023-11-14T22:13:20Z")
        #expect(CivilDate.utcTimestamp(secondsSinceEpoch: 1_795_824_000 + 86_399) == "2026-11-28T23:59:59Z")
    }

    /// A manifest writes `mode` only for append, so snapshot manifests keep their bytes.
    @Test func manifestModeIsWrittenOnlyForAppend() throws {
        var manifest = EnvelopeManifest(agency: "a", dataset: "d", schemaVersion: 1, agreements: ["x.v1"], extractDate: CivilDate(year: 2026, month: 1, day: 2)!,
                                        rows: 0, columns: [], linkageKeyID: "lk1-0", payloadBytes: 0, payloadSHA256: String(repeating: "0", count: 64),
                                        created: "2026-01-02T00:00:00Z")
        #expect(!String(decoding: manifest.json.bytes, as: UTF8.self).contains("mode"))
        manifest.mode = .append
        #expect(try EnvelopeManifest(canonical: manifest.json.bytes).mode == .append)
        let explicitSnapshot = String(decoding: manifest.json.bytes, as: UTF8.self).replacingOccurrences(of: "\"append\"", with: "\"snapshot\"")
        #expect(throws: EnvelopeError.self) { _ = try EnvelopeManifest(canonical: Array(explicitSnapshot.utf8)) }
    }
}
