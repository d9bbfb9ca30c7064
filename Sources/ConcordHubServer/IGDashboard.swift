import ConcordCore
import ConcordHubStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The IG dashboard under `/ig/` (docs/ig-dashboard.md): server-rendered pages for IG officers and
/// admins, signed in with their API token into a session kept in PostgreSQL, every form carrying
/// a CSRF token. What the pages show is in `IGPages`; this is the door: routes, sessions, CSRF,
/// roles, and turning failures into pages.
struct IGDashboard: Sendable {
    let service: HubService
    let pages: WebPages
    let authenticator: Authenticator
    let settings: HubConfiguration.IG
    /// Cookies carry `Secure` when the hub serves HTTPS.
    let secure: Bool

    static let sessionCookie = "concord_ig_session"
    /// Before sign-in: the random value the sign-in form's CSRF token is derived from.
    static let signInCookie = "concord_ig_signin"
    static let roles: Set<UserRole> = [.igOfficer, .admin]

    /// A signed-in person on one request.
    struct Visit: Sendable {
        var user: UserRecord
        var session: String
        /// The CSRF token every form of this session carries.
        var csrf: String { IGDashboard.csrf(for: session) }
    }

    func register(on router: Router<HubRequestContext>, gate: RequestGate) {
        func route(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping @Sendable (Request, HubRequestContext) async throws -> Response) {
            router.on(RouterPath(path), method: method) { request, context in
                try await gate.admit { await answer(request, context, handler) }
            }
        }
        route(.get, "/static/concord.css") { _, _ in WebPages.stylesheet }
        route(.get, "/register") { _, _ in try await service.registerPage(pages: pages) }
        route(.get, "/ig/sign-in", signInForm)
        route(.post, "/ig/sign-in", signIn)
        route(.post, "/ig/sign-out") { request, context in try await signedIn(request, context, form: true) { visit, _ in try await signOut(visit, context) } }
        let content = IGPages(dashboard: self)
        let views: [(String, @Sendable (Request, HubRequestContext, Visit) async throws -> Response)] = [
            ("/ig", content.agreements), ("/ig/uploads", content.uploads), ("/ig/requests", content.requests), ("/ig/audit", content.audit),
            ("/ig/transparency", content.transparency), ("/ig/report", content.report), ("/ig/retention", content.retention),
        ]
        for (path, page) in views {
            route(.get, path) { request, context in try await signedIn(request, context, form: false) { visit, _ in try await page(request, context, visit) } }
        }
        route(.post, "/ig/requests/:request_id/decision") { request, context in
            try await signedIn(request, context, form: true) { visit, form in try await content.decide(request, context, visit, form: form) }
        }
        route(.post, "/ig/transparency/verify") { request, context in
            try await signedIn(request, context, form: true) { visit, _ in try await content.verify(request, context, visit) }
        }
    }

    // MARK: Signing in and out

    private func signInForm(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        if let session = WebPages.cookie(Self.sessionCookie, in: request),
           let user = try await service.store.sessionUser(id: session, timeouts: settings.timeouts), Self.roles.contains(user.role) {
            return WebPages.redirect("/ig/")
        }
        let parameters = request.uri.queryParameters
        let notice: String? = parameters["expired"] != nil ? "Your session has ended. Sign in again to continue."
            : parameters["signed-out"] != nil ? "You have signed out." : nil
        return signInPage(status: .ok, notice: notice, error: nil)
    }

    /// The sign-in form, with a fresh pre-session value for its CSRF token.
    private func signInPage(status: HTTPResponse.Status, notice: String?, error: String?) -> Response {
        let seed = APIToken.generate(prefix: "cip_")
        var frame: [String: Any] = ["title": "Sign in", "area": "IG dashboard"]
        frame["notice"] = notice
        frame["error"] = error
        return WebPages.html(pages.page("signin", ["csrf": Self.csrf(for: seed)], frame: frame), status: status,
                             headers: [(.setCookie, cookie(Self.signInCookie, seed, maxAge: 600))])
    }

    private func signIn(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let form = try await WebPages.form(request)
        guard let seed = WebPages.cookie(Self.signInCookie, in: request), Self.validCSRF(form["csrf"], for: seed) else {
            try await refuse(Problem.forbidden("ig.csrf", "the sign-in form's CSRF token is missing or does not match"), request, context)
            return signInPage(status: .forbidden, notice: nil, error: "The sign-in form had expired or did not come from this hub. Try again.")
        }
        let user: UserRecord
        do {
            user = try await authenticator.person(token: (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
        } catch let problem as Problem {
            try await refuse(problem, request, context)
            return signInPage(status: problem.status, notice: nil, error: "That token was not accepted: it is unknown, or its user is disabled.")
        }
        guard Self.roles.contains(user.role) else {
            try await refuse(Problem.forbidden("auth.role", "the IG dashboard admits ig-officer, admin; \(user.id) is \(user.role.rawValue)"), request, context)
            return forbidden(user)
        }
        let session = try await service.store.startSession(user: user)
        return WebPages.redirect("/ig/", headers: [
            (.setCookie, cookie(Self.sessionCookie, session, maxAge: settings.timeouts.absoluteSeconds)),
            (.setCookie, cookie(Self.signInCookie, "", maxAge: 0)),
        ])
    }

    private func signOut(_ visit: Visit, _ context: HubRequestContext) async throws -> Response {
        try await service.store.endSession(id: visit.session)
        return WebPages.redirect("/ig/sign-in?signed-out=1", headers: [(.setCookie, cookie(Self.sessionCookie, "", maxAge: 0))])
    }

    /// A failed sign-in or refused form goes to the audit log like a refused API request: the
    /// first of its kind each minute at once, repeats counted (`RefusalAudit`). Never the token.
    /// - Parameter claimed: `bearer` for a sign-in (a token was offered), `session` for a form.
    private func refuse(_ problem: Problem, _ request: Request, _ context: HubRequestContext, claimed: String = "bearer") async throws {
        try await authenticator.refusals.record(problem, subject: "\(request.method) \(request.uri.path)", claimed: claimed)
    }

    private func forbidden(_ user: UserRecord) -> Response {
        WebPages.html(pages.page("message", [
            "message": "The IG dashboard is for IG officers and administrators. You are signed in as \(user.id), whose role is \(user.role.rawValue).",
            "link": ["href": "/register", "text": "The public register of agreements"],
        ], frame: ["title": "Not for your role", "area": "IG dashboard"]), status: .forbidden)
    }

    // MARK: Sessions and CSRF

    /// Runs `body` for a signed-in IG officer or admin. Without a live session a page redirects to
    /// the sign-in form (saying the session ended when one was presented); a form (`form`) must
    /// also carry the session's CSRF token, or nothing is done.
    func signedIn(_ request: Request, _ context: HubRequestContext, form: Bool,
                  _ body: (Visit, [String: String]) async throws -> Response) async throws -> Response {
        let presented = WebPages.cookie(Self.sessionCookie, in: request)
        guard let session = presented, let user = try await service.store.sessionUser(id: session, timeouts: settings.timeouts) else {
            return WebPages.redirect(presented == nil ? "/ig/sign-in" : "/ig/sign-in?expired=1",
                                     headers: presented == nil ? [] : [(.setCookie, cookie(Self.sessionCookie, "", maxAge: 0))])
        }
        guard Self.roles.contains(user.role) else { return forbidden(user) }
        let visit = Visit(user: user, session: session)
        var fields: [String: String] = [:]
        if form {
            fields = try await WebPages.form(request)
            guard Self.validCSRF(fields["csrf"], for: session) else {
                try await refuse(Problem.forbidden("ig.csrf", "the form's CSRF token is missing or does not match the session"), request, context, claimed: "session")
                return WebPages.html(pages.page("message", [
                    "message": "The form did not carry this session's security token, so nothing was done. Go back, reload the page and try again.",
                ], frame: frame(visit, title: "Form refused")), status: .forbidden)
            }
        }
        return try await body(visit, fields)
    }

    /// The layout's values for a signed-in page.
    func frame(_ visit: Visit, title: String, nav: String? = nil) -> [String: Any] {
        var frame: [String: Any] = [
            "title": title, "area": "IG dashboard",
            "user": ["id": visit.user.id, "role": visit.user.role.rawValue, "csrf": visit.csrf] as [String: Any],
        ]
        if let nav { frame["nav_" + nav] = true }
        return frame
    }

    /// The CSRF token of a session (or of a sign-in form's pre-session value): an HMAC of a
    /// constant under the secret itself, so it needs no storage and differs per session.
    static func csrf(for secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array("concord-ig-csrf/1".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return Data(code).base64EncodedString()
    }

    static func validCSRF(_ presented: String?, for secret: String) -> Bool {
        guard let presented else { return false }
        let expected = Array(csrf(for: secret).utf8)
        let given = Array(presented.utf8)
        // Constant time: a mismatch's position tells nothing.
        return given.count == expected.count && zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/ig; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    // MARK: Failures as pages

    /// A page's answer; a problem becomes a page saying what went wrong, anything else a 500
    /// that names no internals (they go to the log).
    private func answer(_ request: Request, _ context: HubRequestContext,
                        _ handler: (Request, HubRequestContext) async throws -> Response) async -> Response {
        do {
            return try await handler(request, context)
        } catch let problem as Problem {
            return WebPages.html(pages.page("message", ["message": problem.detail], frame: ["title": problem.status.reasonPhrase, "area": "IG dashboard"]),
                                 status: problem.status)
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return WebPages.html(pages.page("message", ["message": "The hub could not show this page; its log says why."],
                                            frame: ["title": "Something went wrong", "area": "IG dashboard"]), status: .internalServerError)
        }
    }
}
