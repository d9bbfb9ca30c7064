@testable import ConcordCore
import Crypto
import Testing

private func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

private func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

@Suite("HMAC-SHA256 over libcrypto")
struct PrekeyedHMACTests {
    /// RFC 4231 test cases 1-4, 6 and 7 (case 5 is truncated output).
    static let rfc4231: [(key: [UInt8], data: [UInt8], mac: String)] = [
        (hex(String(repeating: "0b", count: 20)), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (hex(String(repeating: "aa", count: 20)), hex(String(repeating: "dd", count: 50)),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), hex(String(repeating: "cd", count: 50)),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (hex(String(repeating: "aa", count: 131)), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (hex(String(repeating: "aa", count: 131)),
         Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test("RFC 4231 test vectors", arguments: 0..<6)
    func rfc4231Vectors(index: Int) {
        let vector = Self.rfc4231[index]
        #expect(hexString(PrekeyedHMACSHA256(key: vector.key).authenticationCode(for: vector.data)) == vector.mac)
    }

    @Test("agrees with swift-crypto's HMAC for keys and messages of every length around block boundaries")
    func agreesWithSwiftCrypto() {
        var generator = SystemRandomNumberGenerator()
        for keyLength in [0, 1, 31, 32, 63, 64, 65, 200] {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let prekeyed = PrekeyedHMACSHA256(key: key)
            for messageLength in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000] {
                let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let expected = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
                #expect(prekeyed.authenticationCode(for: message) == Array(expected), "key \(keyLength) bytes, message \(messageLength) bytes")
            }
        }
    }

    @Test("one prepared key serves many messages independently")
    func reuse() {
        let key = PrekeyedHMACSHA256(key: Array(0..<32))
        let first = key.authenticationCode(for: Array("a".utf8))
        _ = key.authenticationCode(for: Array("something else entirely".utf8))
        #expect(key.authenticationCode(for: Array("a".utf8)) == first)
    }
}

@Suite("Linkage keys")
struct LinkageKeyTests {
    @Test("a key file round-trips and its id never reveals the key")
    func roundTrip() throws {
        let key = try LinkageKey.generate(version: 3)
        let parsed = try LinkageKey(fileContents: key.fileContents)
        #expect(parsed.id == key.id)
        #expect(parsed.version == 3)
        #expect(key.id.hasPrefix("lk3-"))
        #expect(key.id.count == 20)
        let encoded = Base64.encode(key.secret)
        #expect(!key.description.contains(encoded))
        #expect(!"\(key)".contains(encoded))
        #expect(key.fileContents.contains("format: concord-linkage-key/1"))
    }

    @Test("the key id follows the spec")
    func idMatchesSpec() throws {
        let key = try LinkageKey(version: 1, secret: Array(0..<32))
        let digest = SHA256.hash(data: Array("concord-linkage-key-id-v1".utf8) + [0] + Array(0..<32))
        #expect(key.id == "lk1-" + hexString(digest.prefix(8)))
    }

    @Test("two generated keys differ")
    func randomness() throws {
        #expect(try LinkageKey.generate(version: 1).id != LinkageKey.generate(version: 1).id)
    }

    @Test("bad key files are refused with a reason that holds no key material")
    func badFiles() throws {
        let good = "format: concord-linkage-key/1\nversion: 1\nkey: \(Base64.encode(Array(0..<32)))\n"
        #expect(try LinkageKey(fileContents: "# comment\n\n" + good).version == 1)
        #expect(throws: LinkageKeyError.missingEntry("key")) { try LinkageKey(fileContents: "format: concord-linkage-key/1\nversion: 1\n") }
        #expect(throws: LinkageKeyError.unsupportedFormat("concord-linkage-key/9")) { try LinkageKey(fileContents: good.replacingOccurrences(of: "/1", with: "/9")) }
        #expect(throws: LinkageKeyError.wrongLength(16)) { try LinkageKey(fileContents: "format: concord-linkage-key/1\nversion: 1\nkey: \(Base64.encode(Array(0..<16)))\n") }
        #expect(throws: LinkageKeyError.invalidVersion) { try LinkageKey(fileContents: good.replacingOccurrences(of: "version: 1", with: "version: 0")) }
        #expect(throws: LinkageKeyError.notBase64) { try LinkageKey(fileContents: good.replacingOccurrences(of: "key: A", with: "key: *")) }
        #expect(throws: LinkageKeyError.duplicateEntry("version")) { try LinkageKey(fileContents: good + "version: 2\n") }
        #expect(throws: LinkageKeyError.malformedLine(1)) { try LinkageKey(fileContents: "nonsense\n" + good) }
    }

    @Test("base64 round trip at every padding length")
    func base64() {
        for length in 0..<10 {
            let bytes = Array(UInt8(0)..<UInt8(length)).map { $0 &* 37 }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm8") == nil)
        #expect(Base64.decode("Z=8=") == nil)
    }
}
