import ConcordCore
import Testing

/// The person-id derivation of docs/requests.md section 4, against values computed independently
/// with Python's hmac and hashlib (HKDF written out from RFC 5869).
@Suite("Person ids")
struct PersonIDTests {
    let secret = try! PersonIDSecret(secret: Array(0..<32))

    @Test func vectorsMatchTheSpecification() {
        let key = secret.key(agreement: "early-help-domestic-abuse", version: 1)
        #expect(key.personID(1) == "p_a8bc7fbebe5b516fccf2d4bb68854d29")
        #expect(key.personID(2) == "p_8857640bba78d10cce0ec9a16985ed27")
        #expect(key.personID(123_456_789) == "p_5e260b6a6454f3dec01dbf83a7342a0b")
        #expect(secret.key(agreement: "school-readiness", version: 1).personID(1) == "p_c69eec4aaff0dd7cae0503ebae6f1600")
        #expect(secret.id == "ps-3bd292313bbf9ad1")
    }

    @Test func anotherAgreementVersionGivesOtherIDs() {
        #expect(secret.key(agreement: "early-help-domestic-abuse", version: 2).personID(1) != "p_a8bc7fbebe5b516fccf2d4bb68854d29")
    }

    @Test func theSecretFileRoundTripsAndNeverShowsTheSecretInItsDescription() throws {
        let fresh = PersonIDSecret.generate()
        let read = try PersonIDSecret(fileContents: fresh.fileContents)
        #expect(read.id == fresh.id && read.key(agreement: "a", version: 1).personID(7) == fresh.key(agreement: "a", version: 1).personID(7))
        #expect("\(secret)" == "person-id secret ps-3bd292313bbf9ad1")
        #expect(throws: PersonIDSecretError.unsupportedFormat("concord-linkage-key/1")) {
            try PersonIDSecret(fileContents: "format: concord-linkage-key/1\nsecret: AAAA\n")
        }
        #expect(throws: PersonIDSecretError.wrongLength(3)) {
            try PersonIDSecret(fileContents: "format: concord-person-id-secret/1\nsecret: AAAA\n")
        }
    }
}
