import Crypto

/// Computes an agency's privacy-preserving encodings (`docs/pprl.md`): a hardened 1024-bit Bloom
/// filter of a record's identifiers and its keyed blocking tokens. Every feature is hashed under
/// its own key derived from the linkage key, so without that key nobody can compute an encoding
/// to test a guessed identifier, and equal parameters and key give identical encodings anywhere.
public struct CLKEncoder: Sendable {
    public let parameters: CLKParameters
    private let featureKeys: [PrekeyedHMACSHA256]
    private let blockHasher: MatchKeyHasher

    /// - Throws: `CLKParametersError.mismatch` when the key's version is not the parameters'.
    public init(parameters: CLKParameters, key: LinkageKey) throws(CLKParametersError) {
        guard key.version == parameters.keyVersion else {
            var other = parameters
            other.keyVersion = key.version
            throw .mismatch(parameters.fingerprint, other.fingerprint)
        }
        self.parameters = parameters
        featureKeys = parameters.features.map { PrekeyedHMACSHA256(key: Self.derivedKey(key, info: "feature:" + $0.name)) }
        // 32 bytes and the key's own (valid) version by construction.
        blockHasher = MatchKeyHasher(key: try! LinkageKey(version: key.version, secret: Self.derivedKey(key, info: "blocking")))
    }

    /// HKDF-SHA256 (RFC 5869) of the linkage key, salt `concord-clk/1`, 32 bytes.
    static func derivedKey(_ key: LinkageKey, info: String) -> [UInt8] {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: key.secret), salt: Array(CLKParameters.scheme.utf8),
                               info: Array(info.utf8), outputByteCount: 32).withUnsafeBytes { Array($0) }
    }

    /// The encoding of a record whose component values `value` gives (`nil`: no value; that
    /// feature then sets no bit). Empty when no feature has a value.
    public func filter(_ value: (MatchKeyComponent) -> String?) -> CLKFilter {
        var unfolded = [UInt64](repeating: 0, count: CLKParameters.unfoldedBits / 64)
        var mac = [UInt8](repeating: 0, count: PrekeyedHMACSHA256.byteCount)
        for (index, feature) in parameters.features.enumerated() {
            guard let text = value(feature.component) else { continue }
            for token in Self.tokens(of: text, as: feature.tokens) {
                token.utf8.withContiguousStorageIfAvailable { message in
                    mac.withUnsafeMutableBufferPointer { featureKeys[index].authenticationCode(for: message, into: $0) }
                } ?? { mac = featureKeys[index].authenticationCode(for: Array(token.utf8)) }()
                for position in 0..<feature.bitsPerToken {
                    let bit = (Int(mac[2 * position]) << 8 | Int(mac[2 * position + 1])) & (CLKParameters.unfoldedBits - 1)
                    unfolded[bit / 64] |= 1 << (63 - UInt64(bit % 64))
                }
            }
        }
        // XOR-folding (Schnell, Borgs and Encarnação 2016): the two halves combined bit by bit.
        let half = CLKParameters.filterWords
        return CLKFilter(words: (0..<half).map { unfolded[$0] ^ unfolded[$0 + half] })
    }

    /// Per block of the parameters, its keyed token (`k<version>:` and 43 base64url characters,
    /// shaped as a match key but under the derived blocking key), or `nil` when a component has
    /// no value.
    public func blockingTokens(_ value: (MatchKeyComponent) -> String?) -> [String?] {
        parameters.blocks.map { block in
            var components: [(label: String, value: String)] = []
            for component in block.components {
                guard let text = value(component) else { return nil }
                components.append((component.hashLabel, text))
            }
            return blockHasher.text(keyName: block.name, components: components)
        }
    }

    /// The tokens of one feature's value (`docs/pprl.md`, section 2).
    static func tokens(of value: String, as tokenisation: CLKParameters.Tokenisation) -> [String] {
        switch tokenisation {
        case .paddedBigrams:
            let scalars = ["_"] + value.unicodeScalars.map { String($0) } + ["_"]
            return (0..<scalars.count - 1).map { scalars[$0] + scalars[$0 + 1] }
        case .datePositions:
            return value.filter(\.isASCIIDigit).enumerated().map { "\($0.offset + 1):\($0.element)" }
        case .postcodePositions:
            let parts = value.split(separator: " ")
            return zip(["o", "i"], parts).flatMap { prefix, part in part.enumerated().map { "\(prefix)\($0.offset + 1):\($0.element)" } }
        }
    }
}

private extension Character {
    var isASCIIDigit: Bool { asciiValue.map { (0x30...0x39).contains($0) } ?? false }
}
