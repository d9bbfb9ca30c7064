import ConcordCore
import Crypto

/// The envelope opener on any bytes, with the spec vector's keys (`Tests/Vectors/envelope`), fed
/// in pieces: it must refuse with an `EnvelopeError` or open. Also the manifest reader: a manifest
/// it accepts must be canonical, writing back to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    var opener = EnvelopeOpener(hubKey: Keys.hub) { $0 == "county-police" ? Keys.agency : nil }
    let piece = max(1, Int(data.first ?? 1) * 37)
    var offset = 0
    do {
        while offset < data.count {
            _ = try opener.consume(data[offset..<min(data.count, offset + piece)])
            offset += piece
        }
        _ = try opener.finish()
    } catch {}
    if let manifest = try? EnvelopeManifest(canonical: data), manifest.json.bytes != data {
        fatalError("a manifest was accepted that is not canonical")
    }
    return 0
}

private enum Keys {
    static let hub = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Array(0x20...0x3F as ClosedRange<UInt8>))
    static let agency = try! Curve25519.Signing.PrivateKey(rawRepresentation: Array(0x40...0x5F as ClosedRange<UInt8>)).publicKey
}
