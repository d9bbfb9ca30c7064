import ConcordCore
import ConcordFiles
import Crypto

/// Opens an envelope file at the hub: verifies the agency's signature, decrypts and decompresses
/// the payload chunk by chunk into a file that appears only once every check has passed.
public enum EnvelopeFileOpener {
    /// - Parameter agencyKeys: the registered signing keys, by agency id.
    /// - Returns: the verified manifest and the header digest that names the envelope.
    public static func open(envelopePath: String, hubKey: Curve25519.KeyAgreement.PrivateKey,
                            agencyKeys: [String: Curve25519.Signing.PublicKey], payloadPath: String) throws -> (manifest: EnvelopeManifest, headerDigest: [UInt8]) {
        var opener = EnvelopeOpener(hubKey: hubKey) { agencyKeys[$0] }
        let input = try InputFile(path: envelopePath)
        let output = try AtomicOutputFile(path: payloadPath, mode: 0o640)
        defer { output.abandon() }
        try input.forEachChunk { try output.write(try opener.consume($0)) }
        try output.write(try opener.finish())
        guard let manifest = opener.manifest, let digest = opener.headerDigest else { throw EnvelopeError.truncated("no header") }
        try output.commit()
        return (manifest, digest)
    }
}
