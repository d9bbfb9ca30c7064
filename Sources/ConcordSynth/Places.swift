/// Postcode districts of Essex, Southend-on-Sea and Thurrock (and a few on their borders), with the
/// local authority each mostly lies in and a relative number of households.
struct District: Sendable {
    let outward: String
    /// DfE local authority code: 881 Essex, 882 Southend-on-Sea, 883 Thurrock.
    let authority: Int
    let weight: Int
    /// The postcode sectors (inward digits) in use in the district.
    let sectors: [Int]
}

enum Places {
    static let districts: [District] = {
        // outward, authority, weight, sectors
        let rows: [(String, Int, Int, [Int])] = [
            ("CM0", 881, 3, [7, 8]), ("CM1", 881, 8, [1, 2, 3, 4, 6, 7]), ("CM2", 881, 7, [0, 5, 6, 7, 8, 9]),
            ("CM3", 881, 6, [1, 2, 3, 4, 5, 6, 8]), ("CM7", 881, 6, [1, 2, 3, 4, 5, 9]), ("CM8", 881, 4, [1, 2, 3]),
            ("CM9", 881, 4, [4, 5, 6]), ("CM11", 881, 3, [1, 2]), ("CM12", 881, 4, [0, 9]), ("CM13", 881, 3, [1, 2, 3]),
            ("CM14", 881, 4, [4, 5]), ("CM15", 881, 3, [0, 8, 9]), ("CM16", 881, 3, [4, 5, 6, 7]), ("CM17", 881, 3, [0, 9]),
            ("CM18", 881, 3, [6, 7]), ("CM19", 881, 3, [4, 5]), ("CM20", 881, 4, [1, 2, 3]), ("CM77", 881, 2, [6, 7, 8]),
            ("CO1", 881, 4, [1, 2]), ("CO2", 881, 6, [0, 7, 8, 9]), ("CO3", 881, 6, [0, 3, 4, 8, 9]), ("CO4", 881, 6, [0, 3, 5, 6, 9]),
            ("CO5", 881, 4, [0, 7, 8, 9]), ("CO6", 881, 3, [1, 2, 3, 4, 5]), ("CO7", 881, 4, [0, 6, 7, 8, 9]),
            ("CO9", 881, 3, [1, 2, 3, 4]), ("CO10", 881, 2, [0, 7, 8]), ("CO11", 881, 2, [1, 2]), ("CO12", 881, 3, [3, 4, 5]),
            ("CO13", 881, 3, [0, 9]), ("CO14", 881, 2, [8]), ("CO15", 881, 6, [1, 2, 3, 4, 5, 6]), ("CO16", 881, 4, [0, 7, 8, 9]),
            ("SS0", 882, 5, [0, 7, 8, 9]), ("SS1", 882, 6, [1, 2, 3]), ("SS2", 882, 6, [4, 5, 6]), ("SS3", 882, 4, [0, 8, 9]),
            ("SS9", 882, 5, [1, 2, 3, 4, 5]), ("SS4", 881, 4, [1, 2, 3]), ("SS5", 881, 4, [4, 5, 6]), ("SS6", 881, 4, [7, 8, 9]),
            ("SS7", 881, 5, [1, 2, 3, 4, 5]), ("SS8", 881, 4, [0, 7, 8, 9]), ("SS11", 881, 3, [7, 8]), ("SS12", 881, 3, [0, 9]),
            ("SS13", 881, 3, [1, 2, 3]), ("SS14", 881, 5, [0, 1, 2, 3]), ("SS15", 881, 4, [4, 5, 6]), ("SS16", 881, 4, [4, 5, 6]),
            ("SS17", 883, 4, [0, 7, 8, 9]), ("RM15", 883, 3, [4, 5, 6]), ("RM16", 883, 4, [2, 3, 4, 5, 6]), ("RM17", 883, 4, [5, 6]),
            ("RM18", 883, 3, [7, 8]), ("RM19", 883, 2, [1]), ("RM20", 883, 3, [3, 4]), ("CB10", 881, 2, [1, 2]),
            ("CB11", 881, 2, [3, 4]), ("IG10", 881, 3, [1, 2, 3, 4]), ("EN9", 881, 2, [1, 2, 3]),
        ]
        return rows.map { District(outward: $0.0, authority: $0.1, weight: $0.2, sectors: $0.3) }
    }()

    static let districtTable = WeightedTable(districts.indices.map { ($0, districts[$0].weight) })

    /// Letters that may end a UK postcode: every letter but C, I, K, M, O and V.
    static let inwardLetters: [UInt8] = Array("ABDEFGHJLNPQRSTUWXYZ".utf8)

    /// Schools per district: primaries and secondaries.
    static let primariesPerDistrict = 3
    static let secondariesPerDistrict = 1

    /// Six-digit URN of a school (Get Information About Schools style).
    static func urn(district: Int, school: Int, secondary: Bool) -> Int {
        secondary ? 136_000 + district * 4 + school : 114_000 + district * 8 + school
    }

    /// Four-digit DfE establishment number of a primary school (for UPNs).
    static func establishment(district: Int, school: Int) -> Int {
        2000 + district * 8 + school
    }
}

/// A unit postcode packed into 32 bits: district index, sector digit and two inward letters.
struct PackedPostcode: Sendable, Hashable {
    let raw: UInt32

    init(district: Int, sector: Int, first: Int, second: Int) {
        raw = UInt32(district) << 16 | UInt32(sector) << 10 | UInt32(first) << 5 | UInt32(second)
    }

    var district: Int { Int(raw >> 16) }
    var sector: Int { Int(raw >> 10 & 0xF) }
    var first: Int { Int(raw >> 5 & 0x1F) }
    var second: Int { Int(raw & 0x1F) }

    /// A random postcode in a district.
    static func draw(in district: Int, _ random: inout SynthRandom) -> PackedPostcode {
        let sectors = Places.districts[district].sectors
        return PackedPostcode(district: district, sector: random.pick(sectors),
                              first: random.int(Places.inwardLetters.count), second: random.int(Places.inwardLetters.count))
    }

    var outward: String { Places.districts[district].outward }

    /// `CM1 2AB`
    var text: String { format(separator: true) }

    /// `CM12AB`
    var compactText: String { format(separator: false) }

    private func format(separator: Bool) -> String {
        ASCIIText.make(capacity: 8) { text in
            for byte in outward.utf8 { text.append(byte) }
            if separator { text.append(UInt8(ascii: " ")) }
            text.append(UInt8(0x30 + sector))
            text.append(Places.inwardLetters[first])
            text.append(Places.inwardLetters[second])
        }
    }
}
