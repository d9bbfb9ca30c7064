import ConcordProcess
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `concord hub serve` as a child process, as an operator runs it, so that tests can kill it
/// (SIGKILL: no clean-up at all) and start it again on the same configuration and database.
final class HubProcess: @unchecked Sendable {
    let config: String
    let url: String
    private let log: String
    // Touched only by the test that owns the hub, one call at a time.
    private var process: ChildProcess?

    /// Adds `listen` on a free loopback port to the `concord-hub/1` configuration at `config`.
    init(config: String) throws {
        let port = try freeLoopbackPort()
        try (try String(contentsOfFile: config, encoding: .utf8) + "listen: {host: 127.0.0.1, port: \(port)}\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        self.config = config
        self.url = "http://127.0.0.1:\(port)"
        self.log = config + ".serve.log"
    }

    deinit {
        process?.send(SIGKILL)
        _ = process?.waitForExit()
    }

    /// Starts the hub and waits (up to `timeout` seconds) until `/readyz` answers 200.
    func start(timeout: Double = 90) async throws {
        let process = try ChildProcess(concordBinary, ["hub", "serve", "--config", config], output: .file(log, append: true), error: .file(log, append: true))
        self.process = process
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await status("/readyz") == 200 { return }
            try #require(process.exitStatusIfEnded == nil, "the hub stopped: \(serveLog.suffix(2000))")
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the hub was not ready within \(timeout) s: \(serveLog.suffix(2000))")
        throw CancellationError()
    }

    /// SIGKILL, then reaps it: what a power cut or the OOM killer does.
    func killHard() {
        guard let process else { return }
        process.send(SIGKILL)
        _ = process.waitForExit()
        self.process = nil
    }

    /// SIGTERM, then waits: a clean stop. A hub still running `within` later is killed (as
    /// systemd's stop timeout would), so that a hub that hangs in its shutdown cannot hang the
    /// tests. Returns whether it stopped by itself.
    @discardableResult
    func stop(within limit: Duration = .seconds(30)) -> Bool {
        guard let process else { return true }
        process.send(SIGTERM)
        let deadline = ContinuousClock.now + limit
        while process.exitStatusIfEnded == nil && ContinuousClock.now < deadline { usleep(50_000) }
        let stopped = process.exitStatusIfEnded != nil
        if !stopped {
            process.send(SIGKILL)
            _ = process.waitForExit()
        }
        self.process = nil
        return stopped
    }

    /// The HTTP status of `GET path` (0 when nothing answers).
    func status(_ path: String) async throws -> Int {
        let result = try await asyncRun("/usr/bin/curl", ["-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", url + path])
        return Int(result.output) ?? 0
    }

    var serveLog: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}

/// A TCP port nothing listens on right now (bound, read, released).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    try #require(bound, "could not bind a loopback port")
    return Int(UInt16(bigEndian: address.sin_port))
}
