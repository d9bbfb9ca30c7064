import ConcordCore
import ConcordProcess
import Crypto
import Foundation

/// A private PostgreSQL cluster under the hub's data directory, made from the system's
/// PostgreSQL 15 binaries: created on first start (`initdb`), started with `pg_ctl start -w`,
/// stopped with `pg_ctl stop -m fast`. It listens only on a Unix socket (mode 0700) and trusts
/// local connections, so nothing but this machine's owner of the socket can reach it.
///
/// Layout under `directory`: `cluster/` (PGDATA), `socket/` (the socket directory; under `/tmp`
/// when the path would be too long for a socket), `postgres.log`.
///
/// As root, the binaries run as the unprivileged system user `serverUser` (created if missing)
/// through `runuser`, since `initdb` refuses root; the directory is given to that user.
public struct EmbeddedPostgres: Sendable {
    /// The cluster's superuser: owns the database and runs migrations.
    public static let superuser = "concord"
    /// The role the hub uses at run time (created with LOGIN on first start).
    public static let runtimeUser = "concord_hub"
    public static let database = "concord"
    /// The system user the server runs as when the hub runs as root.
    public static let defaultServerUser = "concord-pg"

    /// What a client needs to reach the running cluster.
    public struct Endpoint: Sendable, Hashable {
        /// The socket file (`<socket directory>/.s.PGSQL.5432`).
        public var socketPath: String
        public var superuser: String
        public var runtimeUser: String
        public var database: String

        /// Logging in as the superuser (migrations, dataset tables).
        public var ownerConfiguration: HubDatabaseConfiguration {
            HubDatabaseConfiguration(unixSocketPath: socketPath, username: superuser, database: database)
        }

        /// Logging in as the runtime role (serving).
        public var runtimeConfiguration: HubDatabaseConfiguration {
            HubDatabaseConfiguration(unixSocketPath: socketPath, username: runtimeUser, database: database)
        }
    }

    public let directory: String
    public let binDirectory: String
    public let serverUser: String

    /// sockaddr_un holds 108 bytes; stay well inside it.
    static let maximumSocketPathLength = 100
    static let socketFileName = ".s.PGSQL.5432"

    /// - Parameters:
    ///   - directory: the hub's directory for the cluster (created if missing).
    ///   - binDirectory: where `initdb`, `pg_ctl` and `psql` are; by default
    ///     `/usr/lib/postgresql/15/bin`, else `pg_config --bindir`.
    ///   - serverUser: who runs the server when this process is root.
    public init(directory: String, binDirectory: String? = nil, serverUser: String = EmbeddedPostgres.defaultServerUser) throws(HubStoreError) {
        guard directory.hasPrefix("/"), !directory.contains("\n"), !directory.contains("'") else {
            throw .embeddedPostgres("the data directory must be an absolute path without newlines or quotes, not \(directory)")
        }
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if let binDirectory {
            self.binDirectory = binDirectory
        } else {
            self.binDirectory = try Self.findBinDirectory()
        }
        self.serverUser = serverUser
        for tool in ["initdb", "pg_ctl", "psql"] where !FileManager.default.isExecutableFile(atPath: "\(self.binDirectory)/\(tool)") {
            throw .embeddedPostgres("\(self.binDirectory)/\(tool) is missing; install PostgreSQL 15 (scripts/install-deps.sh)")
        }
    }

    var clusterDirectory: String { directory + "/cluster" }
    var logFile: String { directory + "/postgres.log" }

    /// The socket directory: inside `directory` when the socket path fits, else a directory
    /// under /tmp named after `directory`'s path (stable across restarts), mode 0700.
    var socketDirectory: String {
        let inside = directory + "/socket"
        if inside.utf8.count + 1 + Self.socketFileName.utf8.count <= Self.maximumSocketPathLength { return inside }
        let digest = Array(SHA256.hash(data: Array(directory.utf8))).prefix(8).lowercaseHex
        return "/tmp/concord-pg-" + digest
    }

    /// Creates the cluster if needed, starts it, and makes sure the `concord` database and the
    /// runtime role exist. A `postmaster.pid` left by a crash does not stop it: pg_ctl checks the
    /// process is gone; while the dead server's last children exit, the start is retried.
    public func start() async throws -> Endpoint {
        let runAs = try await prepareUser()
        try prepareDirectory(directory, owner: runAs)
        try prepareDirectory(socketDirectory, owner: runAs)
        if !FileManager.default.fileExists(atPath: clusterDirectory + "/PG_VERSION") {
            try await initialise(runAs: runAs)
        }
        try await startServer(runAs: runAs)
        try await createDatabaseAndRoles()
        return Endpoint(socketPath: socketDirectory + "/" + Self.socketFileName, superuser: Self.superuser,
                        runtimeUser: Self.runtimeUser, database: Self.database)
    }

    /// Whether the cluster's server is running (a running hub started it, for example).
    public func isRunning() async throws -> Bool {
        guard FileManager.default.fileExists(atPath: clusterDirectory + "/PG_VERSION") else { return false }
        let runAs = try await prepareUser()
        return try await ProcessRunner.run(binDirectory + "/pg_ctl", ["-D", clusterDirectory, "status"], as: runAs).status == 0
    }

    /// Stops the server (`pg_ctl stop -m fast`: open transactions roll back, then a clean
    /// shutdown). Stopping a server that is not running does nothing.
    public func stop() async throws {
        let runAs = try await prepareUser()
        // pg_ctl status: 3 means no server is running in this directory.
        if try await ProcessRunner.run(binDirectory + "/pg_ctl", ["-D", clusterDirectory, "status"], as: runAs).status == 3 { return }
        let result = try await ProcessRunner.run(binDirectory + "/pg_ctl", ["-D", clusterDirectory, "-m", "fast", "-w", "-t", "60", "stop"], as: runAs)
        guard result.status == 0 else { throw HubStoreError.embeddedPostgres("pg_ctl stop failed: \(result.output)") }
    }

    // MARK: Steps

    private func initialise(runAs: ServerUser?) async throws {
        let result = try await ProcessRunner.run(binDirectory + "/initdb", [
            "-D", clusterDirectory, "-U", Self.superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions",
        ], as: runAs)
        guard result.status == 0 else { throw HubStoreError.embeddedPostgres("initdb failed for \(clusterDirectory): \(result.output)") }
        // Settings quoted for postgresql.conf: a quote doubles. Paths were checked for newlines.
        let socket = socketDirectory.replacingOccurrences(of: "'", with: "''")
        let settings = """

            # ---- Concord hub: a private cluster reachable only through its Unix socket ----
            listen_addresses = ''
            unix_socket_directories = '\(socket)'
            unix_socket_permissions = 0700
            # Nightly loads and linkage runs write gigabytes at a time; checkpoints every 1 GB of
            # WAL (the default) would write each page again as a full-page image.
            max_wal_size = '4GB'

            """
        guard let handle = FileHandle(forWritingAtPath: clusterDirectory + "/postgresql.conf") else {
            throw HubStoreError.embeddedPostgres("cannot write \(clusterDirectory)/postgresql.conf")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
    }

    private func startServer(runAs: ServerUser?) async throws {
        // Already running (a hub restarted without stopping it): use it.
        if try await ProcessRunner.run(binDirectory + "/pg_ctl", ["-D", clusterDirectory, "status"], as: runAs).status == 0 { return }
        var last = ""
        for attempt in 1...10 {
            let result = try await ProcessRunner.run(binDirectory + "/pg_ctl", [
                "-D", clusterDirectory, "-l", logFile, "-w", "-t", "60", "start",
            ], as: runAs)
            if result.status == 0 { return }
            last = result.output + Self.tail(of: logFile)
            // After a crash the killed postmaster's children may still hold its shared memory
            // for a moment; PostgreSQL refuses to start until they are gone.
            guard attempt < 10, last.contains("shared memory") || last.contains("lock file") else { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw HubStoreError.embeddedPostgres("could not start PostgreSQL in \(clusterDirectory): \(last)")
    }

    /// Idempotent: the database and the runtime role, by fixed SQL (nothing from input).
    private func createDatabaseAndRoles() async throws {
        let exists = try await psql(database: "postgres", "SELECT 1 FROM pg_database WHERE datname = 'concord'")
        if exists.trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
            _ = try await psql(database: "postgres", "CREATE DATABASE concord OWNER concord")
        }
        _ = try await psql(database: "postgres", """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN CREATE ROLE concord_hub LOGIN;
                ELSE ALTER ROLE concord_hub LOGIN; END IF;
            END $$
            """)
    }

    private func psql(database: String, _ sql: String) async throws -> String {
        let result = try await ProcessRunner.run(binDirectory + "/psql", [
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-U", Self.superuser, "-d", database, "-c", sql,
        ], as: nil)
        guard result.status == 0 else { throw HubStoreError.embeddedPostgres("psql on \(socketDirectory) failed: \(result.output)") }
        return result.output
    }

    // MARK: Users and directories

    /// The user to run the binaries as: `nil` when not root (run them directly).
    private func prepareUser() async throws -> ServerUser? {
        guard geteuid() == 0 else { return nil }
        if let user = ServerUser(name: serverUser) { return user }
        let result = try await ProcessRunner.run("/usr/sbin/useradd", [
            "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", serverUser,
        ], as: nil)
        // Two hubs may race to create it: whoever loses finds it there.
        guard let user = ServerUser(name: serverUser) else {
            throw HubStoreError.embeddedPostgres("running as root, and the system user \(serverUser) to run PostgreSQL as could not be created: \(result.output)")
        }
        return user
    }

    /// Creates `path` (mode 0700) if needed and, as root, gives it to the server user.
    private func prepareDirectory(_ path: String, owner: ServerUser?) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & mode_t(S_IFMT) == mode_t(S_IFDIR) else { throw HubStoreError.embeddedPostgres("\(path) exists and is not a directory") }
            // A directory under /tmp someone else made could be a trap: refuse what we do not own.
            let expected = owner?.uid ?? geteuid()
            guard info.st_uid == expected || info.st_uid == geteuid() else {
                throw HubStoreError.embeddedPostgres("\(path) belongs to uid \(info.st_uid), not to the PostgreSQL user; remove it")
            }
        } else {
            do {
                // Parents get the default mode: the server user must be able to pass through them.
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw HubStoreError.embeddedPostgres("cannot create \(path): \(error.localizedDescription)")
            }
        }
        if let owner, chown(path, owner.uid, owner.gid) != 0 {
            throw HubStoreError.embeddedPostgres("cannot give \(path) to \(owner.name): \(String(cString: strerror(errno)))")
        }
        guard chmod(path, 0o700) == 0 else { throw HubStoreError.embeddedPostgres("cannot set mode 0700 on \(path)") }
    }

    private static func findBinDirectory() throws(HubStoreError) -> String {
        let standard = "/usr/lib/postgresql/15/bin"
        if FileManager.default.isExecutableFile(atPath: standard + "/initdb") { return standard }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let pgConfig = "\(directory)/pg_config"
            guard FileManager.default.isExecutableFile(atPath: pgConfig),
                  let output = try? ChildProcess.run(pgConfig, ["--bindir"]), output.status == 0 else { continue }
            return output.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        throw .embeddedPostgres("PostgreSQL's initdb is not in \(standard) and pg_config is not on PATH; install PostgreSQL 15 (scripts/install-deps.sh)")
    }

    private static func tail(of path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return "\n" + String(decoding: data.suffix(2000), as: UTF8.self)
    }
}

/// An unprivileged system user, by name and ids.
struct ServerUser: Sendable {
    let name: String
    let uid: uid_t
    let gid: gid_t

    init?(name: String) {
        guard let entry = getpwnam(name) else { return nil }
        self.name = name
        uid = entry.pointee.pw_uid
        gid = entry.pointee.pw_gid
    }
}

/// Runs a program with arguments (never through a shell) and collects its output.
enum ProcessRunner {
    /// Runs the program on a thread of its own (it may take seconds), as `user` through
    /// `runuser -u USER --` when given.
    static func run(_ program: String, _ arguments: [String], as user: ServerUser?) async throws -> ChildProcess.Result {
        let (executable, fullArguments) = user.map { ("/usr/sbin/runuser", ["-u", $0.name, "--", program] + arguments) } ?? (program, arguments)
        do {
            return try await onThreadOfItsOwn { () throws(ChildProcessError) in try ChildProcess.run(executable, fullArguments) }
        } catch {
            throw HubStoreError.embeddedPostgres(error.description)
        }
    }
}
