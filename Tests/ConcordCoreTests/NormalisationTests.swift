@testable import ConcordCore
import Testing

/// Runs a byte-level normaliser on a string.
func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    Array(text.utf8).withUnsafeBufferPointer(body)
}

@Suite("Personal names")
struct PersonalNameTests {
    static let cases: [(input: String, normalised: String?)] = [
        ("  zoë ", "ZOE"),
        ("Mr. John-Paul", "JOHN PAUL"),
        ("O’Connor", "OCONNOR"),
        ("O'Brien", "OBRIEN"),
        ("d`Arcy", "DARCY"),
        ("Łukasz", "LUKASZ"),
        ("ﬁona", "FIONA"),            // ligature
        ("Straße", "STRASSE"),
        ("ÆTHELRED", "AETHELRED"),
        ("Søren", "SOREN"),
        ("ＪＯＨＮ", "JOHN"),           // full-width
        ("José  María", "JOSE MARIA"),
        ("Smith - Jones", "SMITH JONES"),
        ("Dr Mrs Jane", "JANE"),
        ("Lord", "LORD"),              // a surname, not a title
        ("Miss", "MISS"),
        ("J.R.R.", "J R R"),
        ("Anne2", "ANNE"),
        ("Σοφία", "ΣΟΦΙΑ"),
        ("Наталья", "НАТАЛЬЯ"),
        ("Nguyễn", "NGUYEN"),
        ("Ðorđe", "DORDE"),
        ("Þór", "THOR"),
        ("Ngʼangʼa", "NGANGA"),
        ("ʻOhana", "OHANA"),
        ("---", nil),
        ("123", nil),
        ("", nil),
        ("Mr", "MR"),
    ]

    @Test("normalisation rules", arguments: cases)
    func rules(input: String, normalised: String?) {
        #expect(withBytes(input) { PersonalName($0) }?.normalised == normalised)
    }

    @Test("invalid UTF-8 is not a name")
    func invalidUTF8() {
        #expect([UInt8]([0x4A, 0xFF, 0x4F]).withUnsafeBufferPointer { PersonalName($0) } == nil)
    }

    @Test("the ASCII fast path normalises exactly as the Unicode path on random printable ASCII")
    func fastPathAgrees() {
        var generator = SplitMix(seed: 7)
        // Titles are over-represented so that title dropping is exercised too.
        let words = ["Mr ", "Dr ", "Lord ", "Miss-", "MRS. "].map { Array($0.utf8) }
        let alphabet = Array(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\t".utf8)
        for _ in 0..<5000 {
            let length = Int(generator.next() % 14)
            let prefix = generator.next() % 3 == 0 ? words[Int(generator.next() % UInt64(words.count))] : []
            let bytes = prefix + (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            let text = String(decoding: bytes, as: UTF8.self)
            let fast = bytes.withUnsafeBufferPointer { PersonalName.asciiNormalised($0) }
            #expect(fast == PersonalName.unicodeNormalised(text), "\(text.debugDescription)")
        }
    }

    @Test("normalising twice equals normalising once")
    func idempotent() {
        for (input, _) in Self.cases {
            guard let once = withBytes(input, { PersonalName($0) })?.normalised else { continue }
            #expect(withBytes(once) { PersonalName($0) }?.normalised == once)
        }
    }

    @Test("first word and joined words")
    func derived() throws {
        let name = try #require(withBytes("Mary-Ann Smith") { PersonalName($0) })
        #expect(name.firstWord == "MARY")
        #expect(name.joinedWords == "MARYANNSMITH")
    }
}

@Suite("Postcodes")
struct PostcodeTests {
    @Test("valid shapes and their forms", arguments: [
        ("SW1A 1AA", "SW1A 1AA", "SW1A 1", "SW1A", "SW"),
        ("sw1a1aa", "SW1A 1AA", "SW1A 1", "SW1A", "SW"),
        (" cm1  1aa ", "CM1 1AA", "CM1 1", "CM1", "CM"),
        ("M1 1AE", "M1 1AE", "M1 1", "M1", "M"),
        ("B33 8TH", "B33 8TH", "B33 8", "B33", "B"),
        ("CR2 6XH", "CR2 6XH", "CR2 6", "CR2", "CR"),
        ("DN55 1PT", "DN55 1PT", "DN55 1", "DN55", "DN"),
        ("W1A 0AX", "W1A 0AX", "W1A 0", "W1A", "W"),
        ("EC1A 1BB", "EC1A 1BB", "EC1A 1", "EC1A", "EC"),
        ("GIR 0AA", "GIR 0AA", "GIR 0", "GIR", "GIR"),
    ])
    func valid(input: String, unit: String, sector: String, district: String, area: String) throws {
        let postcode = try #require(withBytes(input) { Postcode($0) })
        #expect(postcode.description == unit)
        #expect(postcode.sector == sector)
        #expect(postcode.district == district)
        #expect(postcode.area == area)
    }

    @Test("invalid postcodes", arguments: ["", "SW1A", "SW1A 1A", "SW1A 1AAA", "1W1A 1AA", "SW1A 1CA", "SW1A 1AI", "S 1AA", "SWAA 1AA", "SW1A-1AA", "SW1A 1ÀA", "ABCDE 1AA"])
    func invalid(input: String) {
        #expect(withBytes(input) { Postcode($0) } == nil)
    }
}

@Suite("NHS numbers")
struct NHSNumberTests {
    @Test("valid numbers with spaces and hyphens", arguments: [("9434765919", "9434765919"), ("943 476 5919", "9434765919"), ("943-476-5919", "9434765919"), ("4010232137", "4010232137")])
    func valid(input: String, expected: String) {
        #expect(withBytes(input) { NHSNumber.normalised($0) } == expected)
    }

    @Test("invalid numbers", arguments: [
        "9434765918",   // wrong check digit
        "9434765910",
        "1234567890",   // check digit would be 10
        "0000000000", "9999999999", "1111111111", // placeholders pass the checksum but are refused
        "943476591", "94347659190", "94347659l9", "", "943 476 59 1 9x",
    ])
    func invalid(input: String) {
        #expect(withBytes(input) { NHSNumber.normalised($0) } == nil)
    }

    @Test("a weighted sum divisible by 11 gives check digit 0")
    func remainderZero() throws {
        let prefixes = (0..<100).map { [1, $0 / 10, $0 % 10, 2, 3, 4, 5, 6, 7] }
        let digits = try #require(prefixes.first { zip($0, (2...10).reversed()).map(*).reduce(0, +) % 11 == 0 })
        let number = digits.map(String.init).joined() + "0"
        #expect(withBytes(number) { NHSNumber.normalised($0) } == number)
    }
}

@Suite("Sex codes, references, dates, Soundex")
struct SmallNormaliserTests {
    @Test("sex codes", arguments: [("m", SexCode.male), ("Male", .male), ("1", .male), ("F", .female), ("female", .female), ("2", .female),
                                   ("9", .indeterminate), ("X", .indeterminate), ("Indeterminate", .indeterminate),
                                   ("0", .unknown), ("not  known", .unknown), ("NOT STATED", .unknown), ("U", .unknown)])
    func sexCodes(input: String, code: SexCode) {
        #expect(withBytes(input) { SexCode($0) } == code)
    }

    @Test("unknown sex codes", arguments: ["", "3", "MF", "boy", "é"])
    func unknownSexCodes(input: String) {
        #expect(withBytes(input) { SexCode($0) } == nil)
    }

    @Test("references", arguments: [("ab-123/4", "AB1234"), ("A 123.456", "A123456"), ("ｘ１２", "X12"), ("A12_3", nil), ("--", nil), ("Ä1", nil)])
    func references(input: String, expected: String?) {
        #expect(withBytes(input) { ReferenceNumber.normalised($0) } == expected)
    }

    @Test("date formats", arguments: [
        ("DD/MM/YYYY", "05/03/2014", "2014-03-05"),
        ("DD/MM/YYYY", "5/3/2014", nil),
        ("D/M/YYYY", "5/3/2014", "2014-03-05"),
        ("D/M/YYYY", "05/03/2014", "2014-03-05"),
        ("YYYY-MM-DD", "2024-02-29", "2024-02-29"),
        ("YYYY-MM-DD", "2023-02-29", nil),
        ("YYYY-MM-DD", "1900-02-29", nil),
        ("YYYY-MM-DD", "2000-02-29", "2000-02-29"),
        ("DD/MM/YYYY", "31/04/2014", nil),
        ("DD/MM/YYYY", "00/01/2014", nil),
        ("DD/MM/YYYY", "01/13/2014", nil),
        ("DD-MMM-YYYY", "07-feb-2019", "2019-02-07"),
        ("DD-MMM-YYYY", "07-FEB-2019", "2019-02-07"),
        ("DD-MMM-YYYY", "07-Fbr-2019", nil),
        ("YYYY-MM-DD", "2024-01-01x", nil),
        ("YYYY-MM-DD", "0999-01-01", nil),
    ])
    func dates(format: String, input: String, expected: String?) throws {
        let parsed = try #require(DateFormat(format))
        #expect(withBytes(input) { parsed.parse($0) }?.description == expected)
    }

    @Test("invalid date formats", arguments: ["YYYY", "DD/MM", "YYYY-MM-DD-DD", "YY-MM-DD", "DD/MM/YYYY hh"])
    func invalidFormats(format: String) {
        #expect(DateFormat(format) == nil)
    }

    @Test("day and month swap only when it is another real date")
    func swap() throws {
        #expect(CivilDate(year: 2014, month: 3, day: 5)?.swappingDayAndMonth?.description == "2014-05-03")
        #expect(CivilDate(year: 2014, month: 3, day: 3)?.swappingDayAndMonth == nil)
        #expect(CivilDate(year: 2014, month: 3, day: 13)?.swappingDayAndMonth == nil)
    }

    @Test("Soundex", arguments: [("ROBERT", "R163"), ("RUPERT", "R163"), ("RUBIN", "R150"), ("ASHCRAFT", "A261"), ("ASHCROFT", "A261"),
                                 ("TYMCZAK", "T522"), ("PFISTER", "P236"), ("HONEYMAN", "H555"), ("LEE", "L000"), ("SMITH", "S530"),
                                 ("SMYTH", "S530"), ("OBRIEN", "O165"), ("ΣΟΦΙΑ", nil), ("", nil)])
    func soundex(input: String, expected: String?) {
        #expect(Soundex.code(input) == expected)
    }

    @Test("the shipped nickname table maps variants and leaves other names alone")
    func nicknames() {
        let table = NicknameTable.shipped
        #expect(table.count > 300)
        #expect(table.canonical("BILL") == "WILLIAM")
        #expect(table.canonical("WILL") == "WILLIAM")
        #expect(table.canonical("LIAM") == "WILLIAM")
        #expect(table.canonical("WILLIAM") == "WILLIAM")
        #expect(table.canonical("ZEBEDEE") == "ZEBEDEE")
    }

    @Test("malformed nickname tables are refused")
    func badNicknameTables() {
        #expect(throws: NicknameTableError.missingHeader) { try NicknameTable(csv: "BILL,WILLIAM\n") }
        #expect(throws: NicknameTableError.invalidLine(2)) { try NicknameTable(csv: "variant,canonical\nbill,WILLIAM\n") }
        #expect(throws: NicknameTableError.duplicateVariant(3)) { try NicknameTable(csv: "variant,canonical\nBILL,WILLIAM\nBILL,WILFRED\n") }
    }
}

/// A small deterministic generator for tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
