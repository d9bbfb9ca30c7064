import ConcordProcess
import ConcordTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ChildProcess`, which every test here runs `concord` with (and the hub its PostgreSQL tools).
@Suite struct ChildProcessTests {
    @Test("the exit status, the working directory, the environment and the streams given")
    func runsAsAsked() throws {
        let scratch = try TemporaryDirectory()
        try "from a file\n".write(toFile: scratch.file("in"), atomically: true, encoding: .utf8)
        let child = try ChildProcess("/bin/sh", ["-c", "pwd; echo \"$GREETING\"; cat; echo oops >&2; exit 7"], directory: scratch.path,
                                     environment: ["GREETING": "hello"], input: .file(scratch.file("in")),
                                     output: .file(scratch.file("out")), error: .file(scratch.file("err")))
        #expect(child.waitForExit() == 7)
        #expect(child.exitStatusIfEnded == 7, "the status is kept once reaped")
        #expect(try scratch.read("out") == "\(scratch.path)\nhello\nfrom a file\n")
        #expect(try scratch.read("err") == "oops\n")
    }

    @Test("a child ended by a signal: 128 + the signal, and no signal is sent once it is reaped")
    func signals() async throws {
        let child = try ChildProcess("/bin/sleep", ["60"])
        #expect(child.exitStatusIfEnded == nil, "still running")
        child.send(SIGKILL)
        #expect(await child.exitStatus() == 128 + SIGKILL)
        child.send(SIGKILL)
        #expect(child.waitForExit() == 128 + SIGKILL)
    }

    @Test("the child gets none of this process's other descriptors")
    func descriptorsStayHere() throws {
        let descriptor = open("/dev/null", O_RDONLY)   // inheritable: no close-on-exec
        defer { close(descriptor) }
        #expect(descriptor > 2)
        let result = try ChildProcess.run("/bin/sh", ["-c", "cat <&\(descriptor) && echo inherited"])
        #expect(result.status != 0 && !result.output.contains("inherited"), "\(result.output)")
    }

    @Test("run collects standard output and error together; a missing program is a clear error")
    func runCollects() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2"])
        #expect(result.status == 0 && result.output == "out\nerr\n")
        #expect(throws: ChildProcessError.self) { try ChildProcess("/nonexistent/program", []) }
    }
}
