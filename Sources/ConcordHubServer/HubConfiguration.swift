import ConcordCore
import ConcordHubStore
import Yams

/// The hub's configuration file, `concord-hub/1` (`docs/hub.md`). Relative paths are relative to
/// the file's folder.
public struct HubConfiguration: Sendable, Hashable {
    public static let format = "concord-hub/1"

    /// TLS material; required unless the hub listens on loopback only.
    public struct TLS: Sendable, Hashable {
        public var certificatePath: String
        public var keyPath: String
    }

    /// Bounds on what one request and one upload may cost the hub.
    public struct Limits: Sendable, Hashable {
        /// Largest request body (a PATCH piece, an envelope prefix).
        public var maxRequestBytes = 64 << 20
        /// Largest envelope an upload may announce.
        public var maxEnvelopeBytes = 64 << 30
        /// A request whose body has not fully arrived this long after its head is abandoned, and
        /// its connection closed (its upload stays resumable).
        public var requestTimeoutSeconds = 300
        /// A connection that has not sent a whole request head this long after it opened (or
        /// after the previous response) is closed: slow senders cannot hold connections.
        public var headerTimeoutSeconds = 30
        /// Requests handled at once; more are answered 503 `hub.busy`.
        public var maxConcurrentRequests = 64
        /// How long work waits for a database connection before giving up: a request is then
        /// answered 503 `hub.unavailable` (PostgreSQL down, restarting or every connection busy).
        public var databaseWaitSeconds = 30

        public init() {}
    }

    /// The IG dashboard (docs/ig-dashboard.md).
    public struct IG: Sendable, Hashable {
        /// A party's dataset whose last extract was published longer ago than this is flagged late.
        public var lateExtractHours = 36
        /// Sessions end after this long unused, and after `sessionHours` however used.
        public var sessionIdleMinutes = 30
        public var sessionHours = 8

        public init() {}

        public var timeouts: SessionTimeouts { SessionTimeouts(idleSeconds: sessionIdleMinutes * 60, absoluteSeconds: sessionHours * 3600) }
    }

    /// A generation of hub keys replaced by `keys.encryption` and `keys.signing`, kept for a key
    /// rotation's overlap (docs/hub.md, "Hub key rotation").
    public struct PreviousKeys: Sendable, Hashable {
        public var encryptionKeyPath: String
        public var signingKeyPath: String
        /// The last day (UTC) envelopes sealed to this encryption key are accepted.
        public var notAfter: CivilDate
    }

    public var host = "127.0.0.1"
    public var port = 8443
    public var tls: TLS?
    /// Where uploads in progress, the embedded PostgreSQL cluster and runtime files live.
    public var dataDirectory: String
    /// An external PostgreSQL; when absent the hub runs an embedded cluster under the data directory.
    public var databaseURL: String?
    /// The unprivileged system user that runs the embedded cluster when the hub runs as root.
    public var embeddedPostgresUser = "concord-pg"
    /// The hub's HPKE private key (hub-encryption.key) and receipt-signing key (hub-signing.key).
    public var encryptionKeyPath: String
    public var signingKeyPath: String
    /// Earlier key generations, newest first (`keys.previous`).
    public var previousKeys: [PreviousKeys] = []
    /// The secret analysts' person ids are derived from (`concord keys new-hub` writes
    /// hub-keys/person-id.secret); without it, `data_dir/person-id.secret`, made on first start.
    public var personIDSecretPath: String?
    /// Folder of dataset schemas the hub accepts.
    public var schemasDirectory: String
    public var limits = Limits()
    public var ig = IG()

    public init(dataDirectory: String, encryptionKeyPath: String, signingKeyPath: String, schemasDirectory: String) {
        self.dataDirectory = dataDirectory
        self.encryptionKeyPath = encryptionKeyPath
        self.signingKeyPath = signingKeyPath
        self.schemasDirectory = schemasDirectory
    }

    /// Whether `host` names the loopback interface, where plain HTTP is allowed.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Reads a configuration, reporting every problem with its line and key.
    /// - Parameter directory: the folder relative paths are resolved against.
    public init(yaml text: String, file: String, directory: String) throws(InvalidDocumentError) {
        var reader = YAMLDocumentReader(file: file)
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : "\(directory)/\(path)" }
        guard let root = reader.parse(text),
              let top = reader.mapping(root, "", allowed: ["format", "listen", "tls", "data_dir", "database_url", "embedded_postgres_user",
                                                          "keys", "schemas_dir", "limits", "ig"])
        else { throw InvalidDocumentError(problems: reader.problems) }
        if let node = reader.required(top, "format"), let format = reader.string(node, "format"), format != Self.format {
            reader.report(node, "format", "'\(format)' is not a format this version of Concord reads; expected \(Self.format)")
        }
        let dataDirectory = reader.required(top, "data_dir").flatMap { reader.string($0, "data_dir") }.map(resolve)
        let schemas = reader.required(top, "schemas_dir").flatMap { reader.string($0, "schemas_dir") }.map(resolve)
        var encryption: String?
        var signing: String?
        var personIDSecret: String?
        var previous: [PreviousKeys] = []
        if let node = reader.required(top, "keys"),
           let keys = reader.mapping(node, "keys", allowed: ["encryption", "signing", "person_id_secret", "previous"]) {
            encryption = reader.required(keys, "encryption").flatMap { reader.string($0, keys.path("encryption")) }.map(resolve)
            signing = reader.required(keys, "signing").flatMap { reader.string($0, keys.path("signing")) }.map(resolve)
            personIDSecret = keys["person_id_secret"].flatMap { reader.string($0, keys.path("person_id_secret")) }.map(resolve)
            for (item, path) in keys["previous"].flatMap({ reader.sequence($0, keys.path("previous")) }) ?? [] {
                guard let entry = reader.mapping(item, path, allowed: ["encryption", "signing", "not_after"]) else { continue }
                let encryption = reader.required(entry, "encryption").flatMap { reader.string($0, entry.path("encryption")) }.map(resolve)
                let signing = reader.required(entry, "signing").flatMap { reader.string($0, entry.path("signing")) }.map(resolve)
                let notAfter = reader.required(entry, "not_after").flatMap { reader.date($0, entry.path("not_after")) }
                if let encryption, let signing, let notAfter {
                    previous.append(PreviousKeys(encryptionKeyPath: encryption, signingKeyPath: signing, notAfter: notAfter))
                }
            }
        }
        guard let dataDirectory, let schemas, let encryption, let signing else { throw InvalidDocumentError(problems: reader.problems) }
        self.init(dataDirectory: dataDirectory, encryptionKeyPath: encryption, signingKeyPath: signing, schemasDirectory: schemas)
        personIDSecretPath = personIDSecret
        previousKeys = previous

        if let node = top["listen"], let listen = reader.mapping(node, "listen", allowed: ["host", "port"]) {
            if let value = listen["host"].flatMap({ reader.string($0, listen.path("host")) }) { host = value }
            if let portNode = listen["port"], let value = reader.integer(portNode, listen.path("port")) {
                if (1...65535).contains(value) { port = value } else { reader.report(portNode, listen.path("port"), "must be 1 to 65535") }
            }
        }
        if let node = top["tls"], let section = reader.mapping(node, "tls", allowed: ["certificate", "key"]) {
            let certificate = reader.required(section, "certificate").flatMap { reader.string($0, section.path("certificate")) }
            let key = reader.required(section, "key").flatMap { reader.string($0, section.path("key")) }
            if let certificate, let key { tls = TLS(certificatePath: resolve(certificate), keyPath: resolve(key)) }
        } else if !Self.isLoopback(host) {
            reader.report(top["listen"] ?? root, "tls", "the hub listens on \(host), which is not loopback: plain HTTP is allowed only on loopback; add tls: {certificate, key}")
        }
        func positive(_ section: YAMLDocumentReader.Mapping, _ key: String) -> Int? {
            guard let node = section[key], let value = reader.integer(node, section.path(key)) else { return nil }
            guard value > 0 else { reader.report(node, section.path(key), "must be a positive whole number"); return nil }
            return value
        }
        databaseURL = top["database_url"].flatMap { reader.string($0, "database_url") }
        if let user = top["embedded_postgres_user"].flatMap({ reader.string($0, "embedded_postgres_user") }) { embeddedPostgresUser = user }
        if let node = top["limits"], let section = reader.mapping(node, "limits", allowed: ["max_request_bytes", "max_envelope_bytes",
                                                                                             "request_timeout_seconds", "header_timeout_seconds", "database_wait_seconds",
                                                                                             "max_concurrent_requests"]) {
            if let value = positive(section, "max_request_bytes") { limits.maxRequestBytes = value }
            if let value = positive(section, "max_envelope_bytes") { limits.maxEnvelopeBytes = value }
            if let value = positive(section, "request_timeout_seconds") { limits.requestTimeoutSeconds = value }
            if let value = positive(section, "header_timeout_seconds") { limits.headerTimeoutSeconds = value }
            if let value = positive(section, "database_wait_seconds") { limits.databaseWaitSeconds = value }
            if let value = positive(section, "max_concurrent_requests") { limits.maxConcurrentRequests = value }
        }
        if let node = top["ig"], let section = reader.mapping(node, "ig", allowed: ["late_extract_hours", "session_idle_minutes", "session_hours"]) {
            if let value = positive(section, "late_extract_hours") { ig.lateExtractHours = value }
            if let value = positive(section, "session_idle_minutes") { ig.sessionIdleMinutes = value }
            if let value = positive(section, "session_hours") { ig.sessionHours = value }
        }
        guard reader.problems.isEmpty else { throw InvalidDocumentError(problems: reader.problems) }
    }
}
