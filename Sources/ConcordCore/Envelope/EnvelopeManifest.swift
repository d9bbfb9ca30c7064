/// What an envelope says it carries (`docs/envelope.md`, section 2). Signed by the agency.
public struct EnvelopeManifest: Sendable, Hashable {
    public static let format = "concord-envelope/1"
    /// `none`, or `zstd` (level 1 when sealing; chosen by measurement, `docs/envelope.md`).
    public static let compressions = ["none", "zstd"]

    /// How the hub treats an extract beside the agency's earlier ones of the same dataset.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// The extract is the dataset as it stands: it replaces the agency's previous one.
        case snapshot
        /// The extract holds new records only: it is added to what the hub holds.
        case append
    }

    public var agency: String
    public var dataset: String
    public var schemaVersion: Int
    /// `<id>.v<version>` of each agreement the extract is sent under.
    public var agreements: [String]
    public var extractDate: CivilDate
    public var rows: Int
    public var columns: [String]
    public var linkageKeyID: String
    public var compression: String
    public var payloadBytes: Int
    /// Lower-case hex SHA-256 of the plaintext payload.
    public var payloadSHA256: String
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    public var created: String
    /// Absent from the manifest means `snapshot`.
    public var mode: Mode

    public init(agency: String, dataset: String, schemaVersion: Int, agreements: [String], extractDate: CivilDate, rows: Int,
                columns: [String], linkageKeyID: String, compression: String = "none", payloadBytes: Int, payloadSHA256: String, created: String,
                mode: Mode = .snapshot) {
        self.agency = agency
        self.dataset = dataset
        self.schemaVersion = schemaVersion
        self.agreements = agreements
        self.extractDate = extractDate
        self.rows = rows
        self.columns = columns
        self.linkageKeyID = linkageKeyID
        self.compression = compression
        self.payloadBytes = payloadBytes
        self.payloadSHA256 = payloadSHA256
        self.created = created
        self.mode = mode
    }

    public var json: CanonicalJSON {
        var members: [String: CanonicalJSON] = [
            "format": .string(Self.format), "agency": .string(agency), "dataset": .string(dataset),
            "schema_version": .integer(schemaVersion), "agreements": .array(agreements.map(CanonicalJSON.string)),
            "extract_date": .string(extractDate.description), "rows": .integer(rows), "columns": .array(columns.map(CanonicalJSON.string)),
            "linkage_key_id": .string(linkageKeyID), "compression": .string(compression), "payload_bytes": .integer(payloadBytes),
            "payload_sha256": .string(payloadSHA256), "created": .string(created),
        ]
        // Written only when it is not the default, so that manifests from before the key existed keep their bytes.
        if mode != .snapshot { members["mode"] = .string(mode.rawValue) }
        return .object(members)
    }

    /// Reads a manifest from its canonical bytes, refusing anything missing, extra or malformed.
    public init(canonical bytes: [UInt8]) throws(EnvelopeError) {
        let value: CanonicalJSON
        do { value = try CanonicalJSON(canonical: bytes) } catch { throw .invalidManifest("\(error)") }
        guard case .object(let members) = value else { throw .invalidManifest("not a JSON object") }
        let expected: Set<String> = ["format", "agency", "dataset", "schema_version", "agreements", "extract_date", "rows", "columns",
                                     "linkage_key_id", "compression", "payload_bytes", "payload_sha256", "created", "mode"]
        if let unknown = Set(members.keys).subtracting(expected).sorted().first { throw .invalidManifest("unknown key \(EnvelopeError.shown(unknown))") }
        func string(_ key: String) throws(EnvelopeError) -> String {
            guard case .string(let text)? = members[key] else { throw .invalidManifest("'\(key)' must be a string") }
            return text
        }
        func integer(_ key: String) throws(EnvelopeError) -> Int {
            guard case .integer(let value)? = members[key], value >= 0 else { throw .invalidManifest("'\(key)' must be a whole number, 0 or more") }
            return value
        }
        func strings(_ key: String) throws(EnvelopeError) -> [String] {
            guard case .array(let items)? = members[key] else { throw .invalidManifest("'\(key)' must be a list of strings") }
            var texts: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw .invalidManifest("'\(key)' must be a list of strings") }
                texts.append(text)
            }
            return texts
        }
        guard try string("format") == Self.format else { throw .invalidManifest("format is not \(Self.format)") }
        guard let extractDate = CivilDate(iso: try string("extract_date")) else { throw .invalidManifest("'extract_date' is not a date YYYY-MM-DD") }
        let hash = try string("payload_sha256")
        guard Hex.isLowercase(hash, length: 64) else {
            throw .invalidManifest("'payload_sha256' is not 64 lower-case hex digits")
        }
        let compression = try string("compression")
        guard Self.compressions.contains(compression) else {
            throw .invalidManifest("compression \(EnvelopeError.shown(compression)) is not one this version reads (\(Self.compressions.joined(separator: ", ")))")
        }
        var mode = Mode.snapshot
        if members["mode"] != nil {
            guard let value = Mode(rawValue: try string("mode")), value != .snapshot else {
                throw .invalidManifest("'mode' must be append when present (snapshot is written by leaving it out)")
            }
            mode = value
        }
        self.init(agency: try string("agency"), dataset: try string("dataset"), schemaVersion: try integer("schema_version"),
                  agreements: try strings("agreements"), extractDate: extractDate, rows: try integer("rows"), columns: try strings("columns"),
                  linkageKeyID: try string("linkage_key_id"), compression: compression, payloadBytes: try integer("payload_bytes"),
                  payloadSHA256: hash, created: try string("created"), mode: mode)
    }
}
