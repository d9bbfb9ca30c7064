import AsyncHTTPClient
import ConcordCore
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Foundation
import Hummingbird
import NIOCore
import Testing

/// A browser's part, without a browser: cookies kept by hand, redirects not followed, forms posted
/// as `application/x-www-form-urlencoded`.
struct WebSession {
    let hub: TestHub
    let client: HTTPClient
    var cookies: [String: String] = [:]

    static func with(_ hub: TestHub, _ body: (inout WebSession) async throws -> Void) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        var session = WebSession(hub: hub, client: client)
        do {
            try await body(&session)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    mutating func get(_ target: String) async throws -> TestResponse { try await send(.get, target, form: nil) }

    mutating func post(_ target: String, _ form: [(String, String)]) async throws -> TestResponse { try await send(.post, target, form: form) }

    private mutating func send(_ method: HTTPRequest.Method, _ target: String, form: [(String, String)]?) async throws -> TestResponse {
        var request = HTTPClientRequest(url: hub.baseURL + target)
        request.method = .init(rawValue: method.rawValue)
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        if let form {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let body = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let answer = TestResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                  body: Array(buffer: try await response.body.collect(upTo: 16 << 20)))
        for (name, value) in answer.headers where name.lowercased() == "set-cookie" {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let cookie = String(pair[0])
            if value.contains("Max-Age=0") { cookies[cookie] = nil } else { cookies[cookie] = String(pair[1]) }
        }
        return answer
    }

    /// Signs in with `token` through the form; the answer to the form's post.
    mutating func signIn(_ token: String) async throws -> TestResponse {
        let form = try await get("/ig/sign-in")
        #expect(form.status == 200)
        return try await post("/ig/sign-in", [("csrf", try form.hiddenCSRF()), ("token", token)])
    }
}

extension TestResponse {
    /// The first form's CSRF token on the page.
    func hiddenCSRF() throws -> String {
        guard let range = text.range(of: #"name="csrf" value="([^"]*)""#, options: .regularExpression) else { throw TestFailure("no CSRF field in \(text)") }
        return String(text[range].dropFirst(#"name="csrf" value=""#.count).dropLast())
    }
}

@Suite("IG dashboard over HTTP", .enabled(if: databaseAvailable))
struct IGDashboardTests {
    @Test func signInCookiesHeadersRolesAndSignOut() async throws {
        try await TestHub.with { hub in
            let officer = try await hub.person("i-thackeray", .igOfficer)
            let analyst = try await hub.person("n-carrow", .analyst)
            try await WebSession.with(hub) { web in
                let away = try await web.get("/ig/")
                #expect(away.status == 303 && away.header("Location") == "/ig/sign-in")

                let wrong = try await web.signIn("cct_not-a-token")
                #expect(wrong.status == 401 && wrong.text.contains("not accepted"), "\(wrong.text)")
                let noForm = try await web.post("/ig/sign-in", [("token", officer)])
                #expect(noForm.status == 403, "a sign-in without the form's CSRF token is refused")
                try await hub.refusals.flush()
                let refused = try await hub.store.auditEntries(limit: 10_000, filter: AuditFilter(actions: ["request.refused"], subject: "POST /ig/sign-in"))
                #expect(Set(refused.compactMap { record -> String? in
                    if case .object(let details) = record.entry.details, case .string(let code)? = details["code"] { code } else { nil }
                }) == ["auth.token", "ig.csrf"])
                #expect(try await hub.store.auditEntries(limit: 10_000).allSatisfy { !$0.content.contains(officer) && !$0.content.contains("cct_not-a-token") },
                        "no token reaches the audit log")

                let notForAnalysts = try await web.signIn(analyst)
                #expect(notForAnalysts.status == 403 && notForAnalysts.text.contains("n-carrow, whose role is analyst"), "\(notForAnalysts.text)")
                #expect(web.cookies[IGDashboardCookie.session] == nil)

                let signedIn = try await web.signIn(officer)
                #expect(signedIn.status == 303 && signedIn.header("Location") == "/ig/")
                let cookie = try #require(signedIn.headers.first { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix(IGDashboardCookie.session) }?.value)
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ig") && !cookie.contains("Secure"), "\(cookie)")
                #expect(try await hub.audit(subject: "i-thackeray").map(\.entry.action).contains("ig.signin"))

                let home = try await web.get("/ig/")
                #expect(home.status == 200 && home.text.contains("Early help") && home.text.contains("Skip to main content"), "\(home.text)")
                let policy = try #require(home.header("Content-Security-Policy"))
                #expect(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'") && !policy.contains("script-src"))
                #expect(home.header("X-Frame-Options") == "DENY" && home.header("Cache-Control") == "no-store" && home.header("Referrer-Policy") == "no-referrer")
                #expect(!home.text.contains("<script"))

                let forged = try await web.post("/ig/sign-out", [("csrf", "forged")])
                #expect(forged.status == 403)
                #expect(try await web.get("/ig/").status == 200, "a refused sign-out leaves the session alone")
                let out = try await web.post("/ig/sign-out", [("csrf", try home.hiddenCSRF())])
                #expect(out.status == 303 && out.header("Location") == "/ig/sign-in?signed-out=1")
                #expect(try await hub.audit(subject: "i-thackeray").map(\.entry.action).contains("ig.signout"))
                #expect(try await web.get("/ig/").header("Location") == "/ig/sign-in")
            }
        }
    }

    @Test func sessionsEndWhenIdleOrOld() async throws {
        try await TestHub.with { hub in
            let officer = try await hub.person("i-thackeray", .igOfficer)
            for ageing in ["created_at = now() - interval '31 minutes', last_seen_at = now() - interval '31 minutes'",
                           "created_at = now() - interval '9 hours', last_seen_at = now()"] {
                try await WebSession.with(hub) { web in
                    #expect(try await web.signIn(officer).status == 303)
                    #expect(try await web.get("/ig/requests").status == 200)
                    try await hub.store.withTransaction { _ = try await $0.query("UPDATE ig_sessions SET \(unescaped: ageing) WHERE ended_at IS NULL") }
                    let expired = try await web.get("/ig/requests")
                    #expect(expired.status == 303 && expired.header("Location") == "/ig/sign-in?expired=1", "\(ageing)")
                    #expect(try await web.get("/ig/sign-in?expired=1").text.contains("Your session has ended"))
                }
            }
        }
    }

    /// The requests page's form decides through the API's path; a form without the session's
    /// CSRF token or without a reason changes nothing; the decision shows in the access log.
    @Test func approveThroughTheFormWithCSRF() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 60)).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            let officer = try await hub.person("i-thackeray", .igOfficer)
            let id = try await hub.ask(analyst, fields: ["police_da_incidents.GENDER"]).requestID
            try await WebSession.with(hub) { web in
                #expect(try await web.signIn(officer).status == 303)
                let page = try await web.get("/ig/requests")
                #expect(page.status == 200 && page.text.contains(id) && page.text.contains("n-carrow") && page.text.contains(#"value="approve""#))
                let csrf = try page.hiddenCSRF()

                let forged = try await web.post("/ig/requests/\(id)/decision", [("csrf", "x"), ("decision", "approve"), ("reason", "ok")])
                #expect(forged.status == 403)
                let noReason = try await web.post("/ig/requests/\(id)/decision", [("csrf", csrf), ("decision", "approve"), ("reason", "  ")])
                #expect(noReason.status == 400 && noReason.text.contains("reason"), "\(noReason.text)")
                #expect(try await hub.store.request(id: try #require(UUID(uuidString: id)))?.state == .pending)

                let approved = try await web.post("/ig/requests/\(id)/decision", [("csrf", csrf), ("decision", "approve"), ("reason", "Proportionate & within purpose")])
                #expect(approved.status == 303 && approved.header("Location") == "/ig/requests?decided=\(id)&state=ready", "\(approved.text)")
                #expect(try await hub.store.request(id: try #require(UUID(uuidString: id)))?.decisionReason == "Proportionate & within purpose")
                let notice = try await web.get(try #require(approved.header("Location")))
                #expect(notice.text.contains("is now ready") && !notice.text.contains(#"id="req-\#(id)""#))

                let log = try await web.get("/ig/audit?agreement=early-help-domestic-abuse&action=request.approve")
                #expect(log.status == 200 && log.text.contains(id) && log.text.contains("user:i-thackeray"), "\(log.text)")
                #expect(!log.text.contains("request.create"), "the filter holds")
            }
        }
    }

    @Test func uploadsPageFlagsLateAndMissingExtracts() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 40)).status == 200)
            let officer = try await hub.person("i-thackeray", .igOfficer)
            try await WebSession.with(hub) { web in
                #expect(try await web.signIn(officer).status == 303)
                let fresh = try await web.get("/ig/uploads")
                let police = try #require(fresh.row(containing: "police_da_incidents"))
                #expect(police.contains("on time") && police.contains("essex-police"), "\(police)")
                #expect(try #require(fresh.row(containing: "csc_referrals")).contains("missing"))
                try await hub.store.withTransaction { _ = try await $0.query("UPDATE extracts SET published_at = now() - interval '37 hours'") }
                #expect(try #require(try await web.get("/ig/uploads").row(containing: "police_da_incidents")).contains("late"))
            }
        }
    }

    @Test func retentionPageShowsWhenEachExtractIsPurgedAndUnderWhichHolds() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 40)).status == 200)
            let today = try #require(CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970))
            let schedule = try await hub.store.retentionSchedule(on: today, catalogue: hub.catalogue)
            let extract = try #require(schedule.extracts.first { $0.dataset == "police_da_incidents" })
            let purgeOn = try #require(extract.purgeOn, "an accepted extract has a purge date")
            #expect(purgeOn > today)
            let officer = try await hub.person("i-thackeray", .igOfficer)
            try await WebSession.with(hub) { web in
                #expect(try await web.signIn(officer).status == 303)
                let page = try await web.get("/ig/retention")
                #expect(page.status == 200)
                let row = try #require(page.row(containing: "police_da_incidents"), "\(page.text)")
                #expect(row.contains(purgeOn.description) && row.contains("essex-police") && row.contains(">40<"), "\(row)")
                for hold in extract.holds { #expect(row.contains(hold.agreementID)) }
                #expect(page.text.contains("No request output is kept."))
            }
        }
    }

    @Test func transparencyPageVerifiesTheLog() async throws {
        try await TestHub.with { hub in
            _ = try await hub.store.signCheckpoint(with: try HubKeys(encryption: hub.hubEncryption, signing: hub.hubSigning, personIDSecret: PersonIDSecret.generate()),
                                                   now: Int64(Date().timeIntervalSince1970))
            let officer = try await hub.person("i-thackeray", .igOfficer)
            try await WebSession.with(hub) { web in
                #expect(try await web.signIn(officer).status == 303)
                let page = try await web.get("/ig/transparency")
                #expect(page.text.contains("Latest signed checkpoint") && page.text.contains("Entries covered"), "\(page.text)")
                let verified = try await web.post("/ig/transparency/verify", [("csrf", try page.hiddenCSRF())])
                #expect(verified.status == 200 && verified.text.contains("The audit log is intact"), "\(verified.text)")
            }
        }
    }

    @Test func publicRegisterNamesNoPeople() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 30)).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            _ = try await hub.ask(analyst, fields: ["police_da_incidents.GENDER"])
            let page = try await hub.send(.get, "/register")
            #expect(page.status == 200 && page.text.contains("Register of data sharing agreements") && page.text.contains("early-help-domestic-abuse"))
            let month = CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970)!.yearMonthText
            let json = try await hub.send(.get, "/register.json")
            #expect(json.status == 200)
            guard case .array(let agreements)? = try json.json()["agreements"],
                  let early = agreements.first(where: { if case .object(let m) = $0, m["id"] == .string(TestHub.agreement) { true } else { false } }),
                  case .object(let members) = early, case .array(let months)? = members["months"] else { throw TestFailure(json.text) }
            #expect(months == [.object(["month": .string(month), "uploads": .integer(1), "requests": .integer(1), "downloads": .integer(0)])])
            for person in ["n-carrow", "Niamh", "i-thackeray", "Thackeray", "Bracegirdle", "@"] {
                #expect(!page.text.contains(person) && !json.text.contains(person), "the register names \(person)")
            }
        }
    }
}

/// The dashboard's cookie names, as tests see them.
enum IGDashboardCookie {
    static let session = "concord_ig_session"
}

extension TestResponse {
    /// The table row (`<tr>…</tr>`) of the page that contains `text`.
    func row(containing text: String) -> String? {
        text.isEmpty ? nil : self.text.components(separatedBy: "<tr").first { $0.contains(text) }
    }
}
