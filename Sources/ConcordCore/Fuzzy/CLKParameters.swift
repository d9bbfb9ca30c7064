import Crypto

/// What a privacy-preserving encoding (`docs/pprl.md`, `concord-clk/1`) is made of: which
/// identifiers become which tokens, how many bits each token sets, and which blocking tokens are
/// written. Two agencies' encodings are comparable only when their parameters and linkage key
/// version are equal; ``fingerprint`` names both in one short text so the hub can check that.
public struct CLKParameters: Sendable, Hashable {
    /// The scheme: the domain of every derived key, and the first field of the canonical text.
    public static let scheme = "concord-clk/1"
    /// Bits of the filter before XOR-folding, and after it (what is sent and compared).
    public static let unfoldedBits = 2048
    public static let filterBits = 1024
    public static let filterWords = filterBits / 64
    public static let filterBytes = filterBits / 8
    /// One HMAC-SHA256 gives 16 positions of 16 bits each.
    public static let maximumBitsPerToken = 16

    /// One kind of token, hashed under its own key.
    public struct Feature: Sendable, Hashable {
        /// The feature's name, also its key's HKDF info (`surname`, `forename`, …).
        public var name: String
        /// The match-key component whose value is tokenised (`docs/pseudonyms.md`, section 2).
        public var component: MatchKeyComponent
        public var tokens: Tokenisation
        /// Bits each token sets (k), 1 to 16.
        public var bitsPerToken: Int

        public init(name: String, component: MatchKeyComponent, tokens: Tokenisation, bitsPerToken: Int) {
            self.name = name
            self.component = component
            self.tokens = tokens
            self.bitsPerToken = bitsPerToken
        }
    }

    /// How a component's value becomes tokens.
    public enum Tokenisation: String, Sendable, Hashable {
        /// Bigrams of the value's Unicode scalars padded with `_` at both ends (`_S SM MI IT TH H_`).
        case paddedBigrams = "bigrams"
        /// Each digit of `YYYY-MM-DD` with its position among the eight digits (`1:1 2:9 … 8:1`).
        case datePositions = "date_positions"
        /// Each character of the outward and the inward code with its position in its part
        /// (`o1:C o2:M o3:1 i1:1 i2:A i3:A`).
        case postcodePositions = "postcode_positions"
    }

    /// A keyed blocking token: an HMAC of these components' values, present when all have one.
    public struct Block: Sendable, Hashable {
        public var name: String
        public var components: [MatchKeyComponent]

        public init(name: String, components: [MatchKeyComponent]) {
            self.name = name
            self.components = components
        }
    }

    public var features: [Feature]
    public var blocks: [Block]
    /// The linkage key version the encodings are made under.
    public var keyVersion: Int

    /// - Throws: `CLKParametersError` for a `bitsPerToken` outside 1…16, repeated names or no features.
    public init(features: [Feature], blocks: [Block], keyVersion: Int) throws(CLKParametersError) {
        guard !features.isEmpty else { throw .noFeatures }
        for feature in features where !(1...Self.maximumBitsPerToken).contains(feature.bitsPerToken) {
            throw .bitsPerToken(feature: feature.name, feature.bitsPerToken)
        }
        let names = features.map(\.name) + blocks.map(\.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) { throw .repeatedName(repeated) }
        for block in blocks where block.components.isEmpty { throw .emptyBlock(block.name) }
        self.features = features
        self.blocks = blocks
        self.keyVersion = keyVersion
    }

    /// The parameters `docs/pprl.md` recommends (section 3), tuned on `concord synth` data.
    public static func standard(keyVersion: Int) -> CLKParameters {
        // Valid by construction.
        try! CLKParameters(
            features: [
                Feature(name: "surname", component: .surname, tokens: .paddedBigrams, bitsPerToken: 12),
                Feature(name: "forename", component: .forenameCanonical, tokens: .paddedBigrams, bitsPerToken: 12),
                Feature(name: "date_of_birth", component: .dateOfBirth, tokens: .datePositions, bitsPerToken: 8),
                Feature(name: "postcode", component: .postcode, tokens: .postcodePositions, bitsPerToken: 4),
            ],
            blocks: [
                Block(name: "clk_b1", components: [.surnameSoundex, .birthYear]),
                Block(name: "clk_b2", components: [.dateOfBirth]),
            ],
            keyVersion: keyVersion)
    }

    /// The columns of `concord-clk/1`'s one parameter set, `standard` (the same for every key version).
    public static let standardColumns = standard(keyVersion: 1).columns

    /// Every component the encoding and its blocking tokens read.
    public var components: [MatchKeyComponent] {
        var result: [MatchKeyComponent] = []
        for component in features.map(\.component) + blocks.flatMap(\.components) where !result.contains(component) {
            result.append(component)
        }
        return result
    }

    /// The columns an extract carries for the encoding, after the others: `clk`, then the blocks.
    public var columns: [String] { ["clk"] + blocks.map(\.name) }

    /// Every parameter in one line, in a fixed order: what the fingerprint hashes.
    public var canonicalText: String {
        let features = features.map { "\($0.name)=\($0.component):\($0.tokens.rawValue):\($0.bitsPerToken)" }.joined(separator: ",")
        let blocks = blocks.map { "\($0.name)=\($0.components.map(\.description).joined(separator: "+"))" }.joined(separator: ",")
        return "\(Self.scheme);bits=\(Self.unfoldedBits)/xor-fold/\(Self.filterBits);features=\(features);blocks=\(blocks);key_version=\(keyVersion)"
    }

    /// `clk<key version>-<16 hex digits of SHA-256 of the canonical text>`: equal for equal
    /// parameters and key version, and different, with overwhelming probability, otherwise.
    public var fingerprint: String {
        "clk\(keyVersion)-" + SHA256.hash(data: Array(canonicalText.utf8)).prefix(8).lowercaseHex
    }

    /// Refuses to compare encodings made under different parameters or key versions.
    public func requireComparable(with other: CLKParameters) throws(CLKParametersError) {
        guard fingerprint == other.fingerprint else { throw .mismatch(fingerprint, other.fingerprint) }
    }
}

/// Why CLK parameters are unusable, or two sets of them cannot be compared.
public enum CLKParametersError: Error, Sendable, Hashable, CustomStringConvertible {
    case noFeatures
    case bitsPerToken(feature: String, Int)
    case repeatedName(String)
    case emptyBlock(String)
    case mismatch(String, String)

    public var description: String {
        switch self {
        case .noFeatures: "a CLK encoding needs at least one feature"
        case .bitsPerToken(let feature, let bits): "feature \(feature) sets \(bits) bits per token; concord-clk/1 allows 1 to \(CLKParameters.maximumBitsPerToken)"
        case .repeatedName(let name): "'\(name)' names two features or blocks"
        case .emptyBlock(let name): "blocking token \(name) has no components"
        case .mismatch(let one, let other):
            "the encodings were made under different CLK parameters or linkage key versions (\(one) and \(other)): they cannot be compared; every agency must encode with the same parameters and key version"
        }
    }
}
