import Crypto
import Logging
import PostgresNIO

/// One versioned SQL file of `Sources/ConcordHubStore/Migrations`, carried inside the binary
/// (`.embedInCode`), so a `concord` binary copied alone still migrates its database.
struct Migration: Sendable {
    let version: Int
    let name: String
    let sql: String
    let sha256: [UInt8]

    init(version: Int, name: String, bytes: [UInt8]) {
        self.version = version
        self.name = name
        sql = String(decoding: bytes, as: UTF8.self)
        sha256 = Array(SHA256.hash(data: bytes))
    }

    /// Every migration this hub knows, in order. A new file `NNNN_name.sql` gets an entry here and
    /// an `.embedInCode` line in Package.swift; a released file never changes. (SwiftPM names the
    /// embedded bytes after the file, its leading digit turned into `_`.)
    static let all: [Migration] = [
        Migration(version: 1, name: "foundation", bytes: PackageResources._001_foundation_sql),
        Migration(version: 2, name: "linkage", bytes: PackageResources._002_linkage_sql),
        Migration(version: 3, name: "requests", bytes: PackageResources._003_requests_sql),
        Migration(version: 4, name: "transparency", bytes: PackageResources._004_transparency_sql),
        Migration(version: 5, name: "linkage_values", bytes: PackageResources._005_linkage_values_sql),
        Migration(version: 6, name: "ig_sessions", bytes: PackageResources._006_ig_sessions_sql),
        Migration(version: 7, name: "retention", bytes: PackageResources._007_retention_sql),
        Migration(version: 8, name: "agency_keys", bytes: PackageResources._008_agency_keys_sql),
        Migration(version: 9, name: "linkage_encodings", bytes: PackageResources._009_linkage_encodings_sql),
    ]

    /// The version a current database is at.
    static var latest: Int { all.last?.version ?? 0 }

    /// The file's statements one by one: PostgresNIO runs each query as an extended-protocol
    /// statement, which holds exactly one command.
    var statements: [String] { SQLStatementSplitter.split(sql) }
}

/// The advisory lock keys of the hub (two-`int4` form, class `0x436F6E63`, "Conc"). Documented in
/// docs/hub-database.md so operators can see them in `pg_locks`.
enum AdvisoryLock {
    static let keyClass: Int32 = 0x436F_6E63
    /// Held (session-level) while migrating or changing dataset tables.
    static let migrations: Int32 = 1
    /// Held (transaction-level) while appending to the audit log, so the chain stays linear.
    static let audit: Int32 = 2
    /// Held (transaction-level) while a linkage run updates persons, one run at a time.
    static let linkage: Int32 = 3
    /// Held (transaction-level) while growing the audit log's Merkle tree and signing a checkpoint.
    static let checkpoint: Int32 = 4
    /// Held (transaction-level) while a purge is planned and recorded, so one purge runs at a time.
    static let purge: Int32 = 5
}

/// Splits a trusted SQL file into statements at top-level semicolons, skipping over `--` and
/// `/* */` comments, quoted strings and identifiers, and dollar-quoted bodies (`$$ … $$`,
/// `$tag$ … $tag$`) so that PL/pgSQL functions stay whole.
enum SQLStatementSplitter {
    static func split(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        // Whether the statement so far has anything but comments and white space.
        var hasCode = false
        func flush(upTo end: Int) {
            if hasCode { statements.append(String(decoding: bytes[start..<end], as: UTF8.self)) }
            hasCode = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte != UInt8(ascii: ";"), byte > 0x20, !(byte == UInt8(ascii: "-") || byte == UInt8(ascii: "/")) { hasCode = true }
            switch byte {
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index = (find([UInt8(ascii: "*"), UInt8(ascii: "/")], in: bytes, from: index + 2) ?? bytes.count - 2) + 2
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // A doubled quote inside continues the string; the scan simply re-enters it.
                let quote = bytes[index]
                index += 1
                while index < bytes.count, bytes[index] != quote { index += 1 }
                index += 1
            case UInt8(ascii: "$"):
                if let tagEnd = dollarTagEnd(bytes, from: index) {
                    let tag = Array(bytes[index...tagEnd])
                    index = (find(tag, in: bytes, from: tagEnd + 1) ?? bytes.count - tag.count) + tag.count
                } else {
                    index += 1
                }
            case UInt8(ascii: ";"):
                flush(upTo: index)
                index += 1
                start = index
            default:
                if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "/") { hasCode = true }
                index += 1
            }
        }
        if start < bytes.count { flush(upTo: bytes.count) }
        return statements
    }

    /// The index of the closing `$` of a dollar-quote tag starting at `start` (`$$` or `$name$`).
    private static func dollarTagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "$") { return index }
            guard byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                    || (index > start + 1 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) else { return nil }
            index += 1
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start <= bytes.count - needle.count else { return nil }
        for index in start...(bytes.count - needle.count) where bytes[index..<index + needle.count].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
