#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A program started with `posix_spawn` and reaped with `waitpid`: what the embedded
/// PostgreSQL's tools and the tests' `concord` commands run as.
///
/// Foundation's `Process` is not used: on Linux its exit monitoring (a SIGCHLD source and a run
/// loop per waiting thread) did not always reap children inside the test runner, and a wait that
/// returned early trapped on `terminationStatus`. Here the thread that waits calls `waitpid` on
/// the child itself, and the status is kept once reaped.
public final class ChildProcess: Sendable {
    /// Where a standard stream of the child goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A file opened for the child (created with mode 0600 when writing; `append` keeps what it holds).
        case file(String, append: Bool = false)
        /// A descriptor of this process, duplicated into the child.
        case descriptor(Int32)
    }

    /// The child's process id.
    public let id: pid_t
    /// The wait status once the child has been reaped.
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` (a path; no shell, no `PATH` search).
    /// - Parameters:
    ///   - directory: the child's working directory (else this process's).
    ///   - environment: the child's whole environment (else this process's).
    public init(_ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
                input: Stream = .null, output: Stream = .null, error: Stream = .null) throws(ChildProcessError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (descriptor, stream) in [(Int32(0), input), (1, output), (2, error)] {
            switch stream {
            case .null: posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path, let append):
                let flags = descriptor == 0 ? O_RDONLY : O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
                posix_spawn_file_actions_addopen(&actions, descriptor, path, flags, 0o600)
            case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, descriptor)
            }
        }
        // Nothing else of this process reaches the child: not its database connections, its
        // listening sockets or its other children's pipes (which the child, or a daemon it
        // starts, would otherwise hold open after this process closes them).
        guard let addCloseFrom = Self.addCloseFrom else {
            throw ChildProcessError("cannot run \(executable): this C library cannot close a child's other descriptors (glibc 2.34 or later can)")
        }
        guard addCloseFrom(&actions, 3) == 0 else { throw ChildProcessError("cannot run \(executable): no memory for its spawn actions") }
        if let directory {
            guard let addChangeDirectory = Self.addChangeDirectory else {
                throw ChildProcessError("cannot run \(executable) in \(directory): this C library cannot set a child's directory")
            }
            guard addChangeDirectory(&actions, directory) == 0 else { throw ChildProcessError("cannot run \(executable) in \(directory): no memory for its spawn actions") }
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environmentStrings = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { environmentStrings?.forEach { free($0) } }
        var pid = pid_t()
        let spawned = environmentStrings.map { posix_spawn(&pid, executable, &actions, nil, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ChildProcessError("cannot run \(executable): \(String(cString: strerror(spawned)))") }
        id = pid
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29 and later), which Swift does not import.
    private static let addChangeDirectory = cFunction("posix_spawn_file_actions_addchdir_np",
                                                      as: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32).self)

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift does not import.
    private static let addCloseFrom = cFunction("posix_spawn_file_actions_addclosefrom_np",
                                                as: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)

    private static func cFunction<F>(_ name: String, as type: F.Type) -> F? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: type) }
    }

    /// Blocks the calling thread until the child ends; its exit status, or 128 + the signal that
    /// ended it (-1 if something else in this process reaped it first, so its status is lost).
    public func waitForExit() -> Int32 {
        // Waits without reaping (WNOWAIT), so that no lock is held while blocked and `send` can
        // still reach the child; the reaping is done under the lock, once.
        var information = siginfo_t()
        while true {
            if let status = exitStatusIfEnded { return status }
            if waitid(P_PID, id_t(id), &information, WEXITED | WNOWAIT) == -1 && errno != EINTR { return exitStatusIfEnded ?? -1 }
        }
    }

    /// Waits for the child's end (as `waitForExit`) on a thread of its own, so that the caller's
    /// cooperative threads stay free: the child may be waiting for work they must do (a test's
    /// in-process hub, or a database lock a test holds).
    public func exitStatus() async -> Int32 {
        await onThreadOfItsOwn { self.waitForExit() }
    }

    /// The exit status (as `waitForExit`) if the child has ended, else nil.
    public var exitStatusIfEnded: Int32? {
        reaped.withLock { status -> Int32? in
            if status == nil {
                var waited: Int32 = 0
                var result = waitpid(id, &waited, WNOHANG)
                while result == -1 && errno == EINTR { result = waitpid(id, &waited, WNOHANG) }
                if result == id { status = waited }
            }
            return status.map(Self.exitStatus)
        }
    }

    /// Sends `signal` unless the child has been reaped (when its id may belong to another process).
    public func send(_ signal: Int32) {
        reaped.withLock { status in
            if status == nil { _ = kill(id, signal) }
        }
    }

    /// WIFEXITED / WEXITSTATUS, which Swift does not import; a signal's death counts as 128 + its number.
    private static func exitStatus(_ waitStatus: Int32) -> Int32 {
        waitStatus & 0x7F == 0 ? (waitStatus >> 8) & 0xFF : 128 + (waitStatus & 0x7F)
    }
}

extension ChildProcess {
    /// What `run` collects.
    public struct Result: Sendable {
        public let status: Int32
        /// Standard output and error together.
        public let output: String
    }

    /// Runs a program to its end on the calling thread, collecting its standard output and error
    /// through a pipe. For programs that say little: the pipe is read until the child closes it.
    public static func run(_ executable: String, _ arguments: [String]) throws(ChildProcessError) -> Result {
        // The child gets the pipe only as its stdout and stderr (every other descriptor is closed
        // in it), so nothing it starts in turn (pg_ctl's postmaster) keeps the pipe open after it exits.
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { throw ChildProcessError("cannot make a pipe to run \(executable)") }
        defer { close(pipeEnds[0]) }
        let child: ChildProcess
        do {
            defer { close(pipeEnds[1]) }
            child = try ChildProcess(executable, arguments, output: .descriptor(pipeEnds[1]), error: .descriptor(pipeEnds[1]))
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
            if count > 0 {
                output += chunk[0..<count]
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return Result(status: child.waitForExit(), output: String(decoding: output, as: UTF8.self))
    }
}

/// Runs blocking work (waiting for a child, a blocking socket) on a thread of its own, so that the
/// caller's cooperative threads stay free for work the blocking one may be waiting for.
public func onThreadOfItsOwn<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
        Thread.detachNewThread {
            do throws(E) { continuation.resume(returning: .success(try body())) } catch { continuation.resume(returning: .failure(error)) }
        }
    }
    return try result.get()
}

/// A program could not be started.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
