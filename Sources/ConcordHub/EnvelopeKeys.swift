import ConcordCore
import Crypto

/// A key the hub holds or knows, and whether what was sealed to it or signed with it is still
/// accepted: a hub key past its rotation's overlap, or a revoked agency key, is still tried so that
/// the refusal can say which key it was.
public struct AcceptedKey<Key: Sendable>: Sendable {
    public var key: Key
    /// Why an envelope under this key is refused; `nil` while it is accepted.
    public var refusal: String?

    public init(_ key: Key, refusal: String? = nil) {
        self.key = key
        self.refusal = refusal
    }
}

/// The keys an envelope from one agency is opened with: every hub key that may have sealed it and
/// every signing key the agency has held.
public struct EnvelopeKeys: Sendable {
    public var hub: [AcceptedKey<Curve25519.KeyAgreement.PrivateKey>]
    public var agency: String
    public var agencyKeys: [AcceptedKey<Curve25519.Signing.PublicKey>]

    public init(hub: [AcceptedKey<Curve25519.KeyAgreement.PrivateKey>], agency: String, agencyKeys: [AcceptedKey<Curve25519.Signing.PublicKey>]) {
        self.hub = hub
        self.agency = agency
        self.agencyKeys = agencyKeys
    }

    /// An opener trying all these keys.
    public func opener() -> EnvelopeOpener {
        let agency = agency
        let signing = agencyKeys.map(\.key)
        return EnvelopeOpener(hubKeys: hub.map(\.key)) { $0 == agency ? signing : [] }
    }

    /// Why the envelope is refused for the keys `opener` found it signed with or sealed to so far;
    /// `nil` while every key found is accepted.
    public func refusal(_ opener: EnvelopeOpener) -> String? {
        opener.agencyKeyIndex.flatMap { agencyKeys[$0].refusal } ?? opener.hubKeyIndex.flatMap { hub[$0].refusal }
    }
}
