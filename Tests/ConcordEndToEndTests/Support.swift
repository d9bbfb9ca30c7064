import ConcordProcess
import ConcordTestSupport
import Foundation
import Testing

/// The `concord` binary built beside the test bundle, or `CONCORD_BINARY`.
let concordBinary: String = {
    if let path = ProcessInfo.processInfo.environment["CONCORD_BINARY"] { return path }
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundle.appendingPathComponent("concord").path
}()

struct RunResult {
    var status: Int32
    var output: String
    var error: String
}

/// Runs a program to completion. Its output streams go to files, so no pipe can fill and block it.
/// - Parameter input: a file to read standard input from (else none).
func run(_ executable: String, _ arguments: [String], in directory: String? = nil, input: String? = nil) throws -> RunResult {
    let command = try Command(executable, arguments, in: directory, input: input)
    return try command.result(status: command.process.waitForExit())
}

func concord(_ arguments: String..., in directory: String? = nil) throws -> RunResult {
    try run(concordBinary, arguments, in: directory)
}

/// `concord(…)` for commands that use the test PostgreSQL: the wait for the process happens on a
/// thread of its own. Blocking the test process's few cooperative threads instead can deadlock:
/// the command may wait for a database lock that an in-process test holds and can only release
/// when one of those threads runs it (two such commands at once on two cores did).
func asyncConcord(_ arguments: String..., in directory: String? = nil) async throws -> RunResult {
    try await asyncRun(concordBinary, arguments, in: directory)
}

/// `run(…)` waiting on a thread of its own (see `asyncConcord`).
func asyncRun(_ executable: String, _ arguments: [String], in directory: String? = nil) async throws -> RunResult {
    try await Command(executable, arguments, in: directory, input: nil).result()
}

/// Starts `concord` with `arguments` and returns at once, for a test that acts while it runs.
func startConcord(_ arguments: String...) throws -> Command {
    try Command(concordBinary, arguments, in: nil, input: nil)
}

/// A started program whose output and error streams go to files of a scratch directory.
struct Command {
    let process: ChildProcess
    let scratch: TemporaryDirectory

    init(_ executable: String, _ arguments: [String], in directory: String?, input: String?) throws {
        scratch = try TemporaryDirectory()
        process = try ChildProcess(executable, arguments, directory: directory, input: input.map { .file($0) } ?? .null,
                                   output: .file(scratch.file("out")), error: .file(scratch.file("err")))
    }

    var hasEnded: Bool { process.exitStatusIfEnded != nil }

    /// Waits for the program's end (on a thread of its own, as `asyncConcord`).
    func result() async throws -> RunResult {
        try result(status: await process.exitStatus())
    }

    func result(status: Int32) throws -> RunResult {
        RunResult(status: status, output: try scratch.read("out"), error: try scratch.read("err"))
    }
}

let datasets = ["csc_referrals", "school_attendance", "police_da_incidents", "housing_cases"]

func schemaPath(_ dataset: String) -> String {
    repositoryRoot.appendingPathComponent("Schemas/datasets/\(dataset).yaml").path
}
