import ConcordCore
import ConcordFiles
import Crypto

/// Seals a payload file into an envelope file in an outbox, streaming in bounded memory. The
/// envelope appears complete or not at all, named after its header digest so that the same
/// extract sealed twice can never overwrite another.
public enum EnvelopeFileSealer {
    /// - Returns: the envelope's path and header digest.
    public static func seal(payloadPath: String, manifest: EnvelopeManifest, hubKey: Curve25519.KeyAgreement.PublicKey,
                            signingKey: Curve25519.Signing.PrivateKey, outbox: String) throws -> (path: String, headerDigest: [UInt8]) {
        var sealer = try EnvelopeSealer(manifest: manifest, hubKey: hubKey, signingKey: signingKey)
        let path = "\(outbox)/\(manifest.dataset)-\(manifest.extractDate)-\(sealer.headerDigest.prefix(6).lowercaseHex).envelope"
        let input = try InputFile(path: payloadPath)
        let output = try AtomicOutputFile(path: path, mode: 0o640)
        defer { output.abandon() }
        try output.write(sealer.header)
        try input.forEachChunk { try output.write(try sealer.append($0)) }
        try output.write(try sealer.finish())
        try output.commit()
        return (path, sealer.headerDigest)
    }
}
