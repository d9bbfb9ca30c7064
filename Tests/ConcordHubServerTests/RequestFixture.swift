import ConcordCore
import ConcordFiles
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Crypto
import Foundation
import Hummingbird
import Testing

/// People, agreement variants and request calls for the request tests.
extension TestHub {
    /// A user with `role`; returns their bearer token.
    func person(_ id: String, _ role: UserRole) async throws -> String {
        try await store.addUser(id: id, role: role, by: .operator("tests")).token
    }

    /// Calls the API as the holder of `token`, with an optional JSON body.
    func call(_ method: HTTPRequest.Method, _ target: String, token: String, json: [String: Any]? = nil) async throws -> TestResponse {
        let body = try json.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
        var headers = [("Authorization", "Bearer \(token)")]
        if json != nil { headers.append(("Content-Type", "application/json")) }
        return try await send(method, target, body: body, headers: headers)
    }

    /// Creates a request; the answer as sent.
    func ask(_ token: String, agreement: String = TestHub.agreement, purpose: String = "EH-DA", datasets: [String] = ["police_da_incidents"],
             fields: [String], level: String = "aggregate") async throws -> TestResponse {
        try await call(.post, "/v1/requests", token: token, json: [
            "agreement": agreement, "purpose": purpose, "datasets": datasets, "fields": fields, "level": level, "justification": "tests",
        ])
    }

    func decide(_ id: String, _ verb: String, token: String, reason: String = "within the agreement's purpose") async throws -> TestResponse {
        try await call(.post, "/v1/requests/\(id)/\(verb)", token: token, json: ["reason": reason])
    }

    /// A download link for a ready request, then the download through it.
    func download(_ id: String, token: String) async throws -> TestResponse {
        let link = try await call(.post, "/v1/requests/\(id)/links", token: token)
        #expect(link.status == 201, "\(link.text)")
        return try await call(.get, try link.json().string("path"), token: token)
    }

    /// Applies a shipped agreement with text replaced (id, version, status, people…), as the
    /// operator would apply a new agreement or version; the replacements must all apply.
    func applyVariant(of name: String, _ replacements: [(String, String)]) async throws {
        var text = try DocumentFiles.readText(repositoryRoot.appendingPathComponent("Agreements/\(name).v1.yaml").path)
        for (old, new) in replacements {
            #expect(text.contains(old), "\(name) has no '\(old)' to replace")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let agreement = try Agreement(yaml: text, file: "\(name) variant", catalogue: catalogue)
        _ = try await store.applyAgreement(yaml: text, agreement: agreement, by: .operator("tests"))
        try await HubRuntime.prepareDatasetTables(store, catalogue: catalogue)
    }

    /// Audit entries about one subject, in order.
    func audit(subject: String) async throws -> [AuditRecord] {
        try await store.auditEntries(limit: 100_000).filter { $0.entry.subject == subject }
    }
}

extension TestResponse {
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The request id of a created request's answer.
    var requestID: String {
        get throws { try json().string("request_id") }
    }

    var state: String? { try? json().string("state") }

    /// The reason codes of a refusal (`code: message` lines) or of a request's `reasons`.
    var reasonCodes: Set<String> {
        guard let members = try? json() else { return [] }
        if case .array(let items)? = members["reasons"] {
            return Set(items.compactMap { item -> String? in
                switch item {
                case .string(let line): line.split(separator: ":").first.map(String.init)
                case .object(let fields): if case .string(let code)? = fields["code"] { code } else { nil }
                default: nil
                }
            })
        }
        return []
    }

    /// The body as CSV records.
    var csv: [[String]] {
        get throws { try csvRecords(body) }
    }
}

/// CSV bytes as records of strings, header first.
func csvRecords(_ bytes: [UInt8]) throws -> [[String]] {
    var parser = CSVParser()
    let batches = try bytes.withUnsafeBytes { try parser.consume($0) } + parser.finish()
    return batches.flatMap(\.strings)
}
