/// Given-name variants and the canonical form each stands for (BILL, WILL, LIAM → WILLIAM), from
/// `Schemas/nicknames.csv`, which is compiled into the binary so every agent uses the same table.
public struct NicknameTable: Sendable {
    private let canonicalByVariant: [String: String]

    /// The table shipped with this version of Concord.
    public static let shipped: NicknameTable = {
        let text = String(decoding: PackageResources.nicknames_csv, as: UTF8.self)
        do {
            return try NicknameTable(csv: text)
        } catch {
            fatalError("the nickname table compiled into Concord is invalid: \(error)")
        }
    }()

    /// Parses `variant,canonical` lines after a header line.
    public init(csv text: String) throws(NicknameTableError) {
        var table: [String: String] = [:]
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        guard lines.first == "variant,canonical" else { throw .missingHeader }
        for (offset, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let parts = line.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                  parts.allSatisfy({ $0.utf8.allSatisfy(ASCII.isUpper) }) else {
                throw .invalidLine(offset + 1)
            }
            guard table.updateValue(String(parts[1]), forKey: String(parts[0])) == nil else {
                throw .duplicateVariant(offset + 1)
            }
        }
        canonicalByVariant = table
    }

    /// The canonical form of a normalised forename word, or the word itself.
    public func canonical(_ forename: String) -> String {
        canonicalByVariant[forename] ?? forename
    }

    public var count: Int { canonicalByVariant.count }
}

/// Why a nickname table could not be read.
public enum NicknameTableError: Error, Sendable, Equatable {
    case missingHeader
    case invalidLine(Int)
    case duplicateVariant(Int)
}
