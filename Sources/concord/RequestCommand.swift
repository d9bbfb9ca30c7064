import ArgumentParser
import ConcordAgent
import ConcordCore
import ConcordFiles
import Crypto
import Foundation

struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Ask the hub for outputs under an agreement, approve them, download them.",
        discussion: """
        Analysts ask for a row-level extract or an aggregate table under a data sharing agreement;
        the hub decides with the agreement (every reason when it refuses), an IG officer approves
        when the agreement says so, and the output is made from the agreement's linkage. Row-level
        outputs name people only by a person_id that is stable under one agreement and unrelated
        across agreements; aggregate outputs are suppressed and rounded as the agreement says.
        States and output formats: docs/requests.md.

        Every subcommand talks to the hub with your API token (concord hub user add prints it):
          export CONCORD_HUB_URL=https://hub.example.org
          export CONCORD_TOKEN_FILE=~/.concord/token      # a file only you can read (chmod 600)

        An analyst's session:
          concord request create --agreement early-help-domestic-abuse --purpose EH-DA \\
              --datasets police_da_incidents,csc_referrals \\
              --dimensions police_da_incidents.GENDER,csc_referrals.PrimaryNeedCode \\
              --justification "Needs assessment 2026"
          concord request status 3f0c…          # pending until an IG officer approves
          concord request download 3f0c… --out counts.csv

        An IG officer's:
          concord request list
          concord request approve 3f0c… --reason "Within the needs assessment's scope"
        """,
        subcommands: [Create.self, List.self, Status.self, Cancel.self, Approve.self, Deny.self, Download.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask for an output under an agreement.",
            discussion: """
            Give --fields for a row-level output (one row per record: person_id, dataset, then the
            fields) or --dimensions for an aggregate one (persons counted by each combination of
            the dimensions' values, with totals). Fields are dataset.Field, or Field alone with
            one dataset. Prints the request's id and state; a refusal lists every reason and exits 1.

            Example:
              concord request create --agreement school-readiness --purpose SR-EARLY-YEARS \\
                  --datasets csc_referrals,school_attendance \\
                  --fields csc_referrals.ReferralDate,school_attendance.Sessions\\ Possible
            """
        )

        @OptionGroup var hub: HubSession

        @Option(help: ArgumentHelp("The agreement's id.", valueName: "id"))
        var agreement: String

        @Option(help: ArgumentHelp("The agreement's purpose code you ask under.", valueName: "code"))
        var purpose: String

        @Option(help: ArgumentHelp("Datasets, comma-separated.", valueName: "d1,d2"))
        var datasets: String

        @Option(help: ArgumentHelp("Fields of a row-level output, comma-separated.", valueName: "dataset.Field,…"))
        var fields: String?

        @Option(help: ArgumentHelp("Dimensions of an aggregate output, comma-separated.", valueName: "dataset.Field,…"))
        var dimensions: String?

        @Option(name: .customLong("as-of"), help: ArgumentHelp("Only extracts published by the end of this day (UTC).", valueName: "YYYY-MM-DD"))
        var asOf: String?

        @Option(help: ArgumentHelp("Why you need it, for the IG officer and the audit log.", valueName: "text"))
        var justification: String?

        func validate() throws {
            guard (fields == nil) != (dimensions == nil) else {
                throw ValidationError("give --fields (a row-level output) or --dimensions (an aggregate one), not both")
            }
            if let asOf, CivilDate(iso: asOf) == nil { throw ValidationError("--as-of must be a date, YYYY-MM-DD") }
        }

        func run() async throws {
            func list(_ text: String) -> [String] { text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            var body: [String: Any] = [
                "agreement": agreement, "purpose": purpose, "datasets": list(datasets),
                "fields": list(fields ?? dimensions ?? ""), "level": fields != nil ? "row_level" : "aggregate",
            ]
            if let asOf { body["as_of"] = asOf }
            if let justification { body["justification"] = justification }
            RequestView.printState(try await hub.call("POST", "/v1/requests", json: body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Your requests (and, for an IG officer, those you may approve), newest first.",
            discussion: "One line each: id, state, agreement, requester, level, created.\n\nExample:\n  CONCORD_TOKEN_FILE=~/.concord/token concord request list"
        )

        @OptionGroup var hub: HubSession

        func run() async throws {
            let answer = try await hub.call("GET", "/v1/requests")
            guard case .array(let requests)? = answer["requests"] else { return }
            for case .object(let request) in requests {
                print(["request_id", "state", "agreement", "requester", "level", "created_at"].map { RequestView.text(request, $0) }.joined(separator: "  "))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One request: its state, the decision's reasons, the approval, the output's digest.",
            discussion: "With --json, the hub's answer as it came (docs/openapi.yaml, AnalystRequest).\n\nExample:\n  concord request status 3f0c… --json"
        )

        @OptionGroup var hub: HubSession
        @Argument(help: ArgumentHelp("The request's id.", valueName: "id")) var id: String
        @Flag(help: "Print the hub's JSON.") var json = false

        func run() async throws {
            let request = try await hub.call("GET", "/v1/requests/\(try RequestView.id(id))")
            if json { print(String(decoding: CanonicalJSON.object(request).bytes, as: UTF8.self)) } else { RequestView.show(request) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel your request while it is pending or approved, or ready and not yet downloaded.",
            discussion: "Example:\n  concord request cancel 3f0c…")

        @OptionGroup var hub: HubSession
        @Argument(help: ArgumentHelp("The request's id.", valueName: "id")) var id: String

        func run() async throws {
            RequestView.printState(try await hub.call("POST", "/v1/requests/\(try RequestView.id(id))/cancel"))
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a pending request (IG officers who are the agreement's approvers).",
            discussion: """
            The reason is kept in the audit log. Nobody may approve a request they made. Once
            approved, the hub runs the agreement's linkage and makes the output.

            Example:
              concord request approve 3f0c… --reason "Within the needs assessment's scope"
            """
        )

        @OptionGroup var decision: DecisionArguments

        func run() async throws {
            try await decision.send("approve")
        }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deny a pending request, with a reason the requester sees (IG officers).",
            discussion: "The reason is kept in the audit log.\n\nExample:\n  concord request deny 3f0c… --reason \"Outside the agreement's purpose\""
        )

        @OptionGroup var decision: DecisionArguments

        func run() async throws {
            try await decision.send("deny")
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a ready output through a fresh single-use link, checking its SHA-256.",
            discussion: """
            The output streams into a temporary file beside FILE (mode 0600), which is renamed into
            place only once its SHA-256 matches what the hub recorded; otherwise FILE is left as it
            was. Each download is audited at the hub (who, when, bytes, rows); the audit entry's
            inclusion proof in the hub's signed transparency log is kept beside the output as
            FILE.audit.json, your own evidence of what you received. With --hub-key (the hub's
            receipt-signing public key, from its operators) the evidence is checked first: signed
            by the hub, leading to the entry, and the entry recording this download's SHA-256.
            `concord audit check-evidence` checks it again at any time. With --report, the linkage
            report of the run the output came from is written too.

            Example:
              concord request download 3f0c… --out early-help-counts.csv --hub-key hub-signing.pub --report linkage.json
            """
        )

        @OptionGroup var hub: HubSession
        @Argument(help: ArgumentHelp("The request's id.", valueName: "id")) var id: String
        @Option(help: ArgumentHelp("Where to write the output (CSV).", valueName: "file")) var out: String
        @Option(help: ArgumentHelp("Where to write the linkage report (JSON).", valueName: "file")) var report: String?
        @Option(name: .customLong("hub-key"), help: ArgumentHelp("The hub's receipt-signing public key line, to check the download's audit evidence (default: $CONCORD_HUB_KEY).", valueName: "file"))
        var hubKey: String?

        func run() async throws {
            let id = try RequestView.id(id)
            let request = try await hub.call("GET", "/v1/requests/\(id)")
            guard case .object(let output)? = request["output"], case .string(let expected)? = output["sha256"] else {
                throw ValidationError("request \(id) has no output to download; it is \(RequestView.text(request, "state"))")
            }
            let link = try await hub.call("POST", "/v1/requests/\(id)/links")
            let file = try AtomicOutputFile(path: out, mode: 0o600)
            var hash = SHA256()
            var bytes = 0
            let answer = try await hub.stream(RequestView.text(link, "path")) { piece in
                hash.update(bufferPointer: piece)
                bytes += piece.count
                try file.write(piece)
            }
            let digest = hash.finalize().lowercaseHex
            guard digest == expected, answer.header("Concord-Output-SHA256") == expected else {
                file.abandon()
                throw ValidationError("the download's SHA-256 is \(digest), not the \(expected) the hub recorded; nothing was written to \(out)")
            }
            try file.commit()
            let evidence = try await keepEvidence(seq: answer.header("Concord-Audit-Seq"), request: id, digest: digest)
            if let report {
                let text = try await hub.call("GET", "/v1/requests/\(id)/linkage-report", raw: true)
                let file = try AtomicOutputFile(path: report, mode: 0o600)
                try file.write(Array(text.utf8))
                try file.commit()
            }
            print("\(out): \(answer.header("Concord-Output-Rows") ?? "?") rows, \(bytes) bytes, sha256 \(digest)")
            print(evidence)
        }

        /// Fetches the inclusion proof of the download's `request.download` entry and keeps it as
        /// `out.audit.json`, checked first when the hub's key is known. Returns what to tell the user.
        private func keepEvidence(seq: String?, request id: String, digest: String) async throws -> String {
            guard let seq, Int(seq) != nil else { throw ValidationError("the hub named no audit entry for this download (no Concord-Audit-Seq)") }
            let text = try await hub.call("GET", "/v1/audit/proofs/inclusion?seq=\(seq)", raw: true)
            let value = try CanonicalJSON(canonical: Array(text.utf8))
            var told = "\(out).audit.json: audit entry \(seq)"
            if let keyFile = hubKey ?? ProcessInfo.processInfo.environment["CONCORD_HUB_KEY"] {
                let checked: AuditEvidence
                do {
                    checked = try AuditEvidence(json: value, hubKey: try hubSigningKey(file: keyFile))
                } catch {
                    throw ValidationError("\(out) was written, but the hub's evidence of the download does not check out: \(error)")
                }
                guard checked.records(action: "request.download", subject: id, details: ["sha256": .string(digest)]) else {
                    throw ValidationError("\(out) was written, but the hub's audit entry \(seq) does not record this download of \(digest)")
                }
                told += ", checked: in the hub's signed log of \(checked.checkpoint.size) entries"
            } else {
                told += " (not checked: give --hub-key to check it, or later with concord audit check-evidence)"
            }
            let file = try AtomicOutputFile(path: "\(out).audit.json", mode: 0o600)
            try file.write(value.bytes)
            try file.commit()
            return told
        }
    }
}

/// What an IG officer's approval or denial names.
struct DecisionArguments: ParsableArguments {
    @OptionGroup var hub: HubSession
    @Argument(help: ArgumentHelp("The request's id.", valueName: "id")) var id: String
    @Option(help: ArgumentHelp("Why (required; audited).", valueName: "text")) var reason: String

    func send(_ verb: String) async throws {
        RequestView.printState(try await hub.call("POST", "/v1/requests/\(try RequestView.id(id))/\(verb)", json: ["reason": reason]))
    }
}

/// The hub and the caller's token, shared by the request subcommands.
struct HubSession: ParsableArguments {
    @Option(help: ArgumentHelp("The hub's address (default: $CONCORD_HUB_URL).", valueName: "url"))
    var hub: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("A file holding your API token, readable only by you (default: $CONCORD_TOKEN_FILE; or the token in $CONCORD_TOKEN).", valueName: "file"))
    var tokenFile: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("PEM certificates to trust for the hub instead of the system's.", valueName: "file"))
    var caFile: String?

    /// The token from the file (checked like a key: mode 0600), else `CONCORD_TOKEN`. Never an
    /// argument, so that it does not land in shell history or the process list.
    private func token() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = tokenFile ?? environment["CONCORD_TOKEN_FILE"] {
            return try SecretFile.read(path).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let token = environment["CONCORD_TOKEN"], !token.isEmpty { return token }
        throw ValidationError("no API token: give --token-file FILE (mode 0600) or set CONCORD_TOKEN_FILE or CONCORD_TOKEN")
    }

    /// One API call; a JSON object back, or the hub's problem as the error.
    func call(_ method: String, _ target: String, json: [String: Any]? = nil) async throws -> [String: CanonicalJSON] {
        let text = try await call(method, target, json: json, raw: true)
        guard case .object(let members) = try CanonicalJSON(canonical: Array(text.utf8)) else {
            throw ValidationError("the hub's answer to \(method) \(target) is not a JSON object")
        }
        return members
    }

    /// One API call; the answer's body as text.
    func call(_ method: String, _ target: String, json: [String: Any]? = nil, raw: Bool) async throws -> String {
        var headers = [(name: "Authorization", value: "Bearer \(try token())")]
        var body: [UInt8] = []
        if let json {
            headers.append((name: "Content-Type", value: "application/json"))
            body = Array(try JSONSerialization.data(withJSONObject: json))
        }
        let answer = try await withTransport { try await $0.send(HubRequest(method: method, target: target, headers: headers, body: body)) }
        try Self.check(answer)
        return String(decoding: answer.body, as: UTF8.self)
    }

    /// A GET whose successful body goes to `sink` piece by piece as it arrives.
    func stream(_ target: String, into sink: (UnsafeRawBufferPointer) throws -> Void) async throws -> HubResponse {
        let headers = [(name: "Authorization", value: "Bearer \(try token())")]
        let answer = try await withTransport { try await $0.stream(HubRequest(method: "GET", target: target, headers: headers), into: sink) }
        try Self.check(answer)
        return answer
    }

    /// Runs `body` with a connection to the hub, closed afterwards whatever happens.
    private func withTransport<T>(_ body: (HTTPHubTransport) async throws -> T) async throws -> T {
        guard let url = hub ?? ProcessInfo.processInfo.environment["CONCORD_HUB_URL"] else {
            throw ValidationError("no hub: give --hub URL or set CONCORD_HUB_URL")
        }
        return try await HTTPHubTransport.with(baseURL: url, caFile: caFile, body)
    }

    private static func check(_ answer: HubResponse) throws {
        guard !(200..<300).contains(answer.status) else { return }
        let problem = ProblemDocument(json: try? CanonicalJSON(canonical: answer.body))
            ?? ProblemDocument(status: answer.status, code: "http-\(answer.status)", detail: String(decoding: answer.body.prefix(500), as: UTF8.self))
        throw HubAnswerError(problem: problem)
    }
}

/// The hub refused: its problem, every reason on its own line.
struct HubAnswerError: Error, CustomStringConvertible {
    let problem: ProblemDocument
    var description: String {
        ([problem.code + ": " + problem.detail] + problem.reasons.map { "  - " + $0 }).joined(separator: "\n")
    }
}

/// How requests are shown to people.
enum RequestView {
    /// A string member of the hub's answer, or `-`.
    static func text(_ object: [String: CanonicalJSON], _ key: String) -> String {
        if case .string(let value)? = object[key] { value } else { "-" }
    }

    static func id(_ text: String) throws -> String {
        guard let id = UUID(uuidString: text) else { throw ValidationError("'\(text)' is not a request id (a UUID, as create and list print it)") }
        return id.uuidString.lowercased()
    }

    /// `<id> <state>` on standard output (for scripts), why it waits or failed on standard error.
    static func printState(_ request: [String: CanonicalJSON]) {
        print("\(text(request, "request_id")) \(text(request, "state"))")
        note(request)
    }

    /// Why a request was refused, waits or failed, on standard error.
    static func note(_ request: [String: CanonicalJSON]) {
        if ["refused", "pending"].contains(text(request, "state")), case .array(let reasons)? = request["reasons"] {
            for case .object(let reason) in reasons {
                if case .string(let message)? = reason["message"] { Console.note("  \(message)") }
            }
        }
        if case .string(let error)? = request["error"] { Console.note("  \(error)") }
    }

    static func show(_ request: [String: CanonicalJSON]) {
        let keys = ["request_id", "state", "agreement", "requester", "purpose", "level", "as_of", "justification", "created_at",
                    "decided_by", "decision_reason", "decided_at", "cancelled_at", "completed_at", "error"]
        for key in keys {
            if case .string(let value)? = request[key] { print("\(key): \(value)") }
        }
        for key in ["datasets", "fields"] {
            if case .array(let items)? = request[key] {
                print("\(key): " + items.compactMap { if case .string(let text) = $0 { text } else { nil } }.joined(separator: ", "))
            }
        }
        if case .object(let output)? = request["output"], case .string(let digest)? = output["sha256"],
           case .integer(let rows)? = output["rows"], case .integer(let bytes)? = output["bytes"] {
            print("output: \(rows) rows, \(bytes) bytes, sha256 \(digest)")
        }
        note(request)
    }
}
