import ConcordCore
import ConcordHubStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The hub's request context: Hummingbird's core storage, nothing more; who is calling is passed
/// to handlers explicitly, once `Authenticator` has established it.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// Who a request comes from, once authenticated.
enum Authenticated: Sendable {
    case anyone
    /// A registered, enabled agency whose signature verified; `request` holds the body digest still to check.
    case agency(AgencyRecord, SignedRequest)
    case person(UserRecord)

    var auditActor: AuditActor {
        switch self {
        case .anyone: .hub
        case .agency(let agency, _): .agency(agency.id)
        case .person(let user): .user(user.id)
        }
    }
}

/// Establishes who is calling, before anything else is done with the request
/// (`docs/api-auth.md`): signed agency requests and people's bearer tokens, each refusal audited.
struct Authenticator: Sendable {
    let store: HubStore
    /// Where refusals go: the audit log, with floods counted rather than written one by one.
    let refusals: RefusalAudit
    /// Seconds since the Unix epoch; a parameter so tests can present stale requests.
    let now: @Sendable () -> Int64

    func authenticate(_ request: Request, for endpoint: HubEndpoint) async throws -> Authenticated {
        if endpoint.callers.contains(.anyone) { return .anyone }
        do {
            return try await identify(request, for: endpoint)
        } catch let problem as Problem {
            try await refusals.record(problem, subject: "\(request.method) \(endpoint.path)", claimed: Self.claimed(request))
            throw problem
        }
    }

    /// Who a refused request said it was, for the audit log: the claimed agency id (cut short; it
    /// may be anything a stranger typed), `bearer` for a token (never the token), else `none`.
    private static func claimed(_ request: Request) -> String {
        if let agency = request.headers[field(SignedRequest.Header.agency)] { return "agency:" + agency.prefix(64) }
        return request.headers[.authorization] == nil ? "none" : "bearer"
    }

    private func identify(_ request: Request, for endpoint: HubEndpoint) async throws -> Authenticated {
        let signed = request.headers[Self.field(SignedRequest.Header.signature)] != nil || request.headers[Self.field(SignedRequest.Header.agency)] != nil
        if signed {
            guard endpoint.callers.contains(.agency) else {
                throw Problem.forbidden("auth.role", "\(endpoint.path) is for people (\(Self.roles(endpoint))); agencies may not call it")
            }
            return try await agency(request)
        }
        if let authorization = request.headers[.authorization] {
            let people = endpoint.callers.subtracting([.agency])
            guard !people.isEmpty else {
                throw Problem.forbidden("auth.role", "\(endpoint.path) is for agencies, which sign their requests (docs/api-auth.md); a bearer token is not accepted")
            }
            let user = try await person(authorization)
            guard let role = Caller(rawValue: user.role.rawValue), people.contains(role) else {
                throw Problem.forbidden("auth.role", "\(endpoint.path) admits \(Self.roles(endpoint)); \(user.id) is \(user.role.rawValue)")
            }
            return .person(user)
        }
        let how = endpoint.callers.contains(.agency) ? "sign the request as an agency (docs/api-auth.md)" : "send Authorization: Bearer <token>"
        throw Problem.unauthorised("auth.missing", "\(endpoint.path) needs credentials: \(how)")
    }

    private func agency(_ request: Request) async throws -> Authenticated {
        let (signed, signature): (SignedRequest, [UInt8])
        do {
            (signed, signature) = try SignedRequest.parse(method: request.method.rawValue, target: request.head.path ?? "") {
                request.headers[Self.field($0)]
            }
        } catch {
            throw Problem.unauthorised("auth.malformed", "\(error)")
        }
        guard let agency = try await store.agency(id: signed.agency) else {
            throw Problem.unauthorised("auth.unknown-agency", "no agency '\(signed.agency.prefix(64))' is registered at this hub; ask the hub operator to run concord hub agency add")
        }
        guard agency.enabled else {
            throw Problem.forbidden("auth.agency-disabled", "agency \(agency.id) is disabled at this hub")
        }
        guard let agencyKey = agency.key(id: signed.keyID) else {
            let active = agency.activeKeys.map(\.keyID).joined(separator: ", ")
            throw Problem.unauthorised("auth.unknown-key", "key \(signed.keyID.prefix(64)) is not one of agency \(agency.id)'s registered keys (\(active.isEmpty ? "none active" : active))")
        }
        if let revocation = agencyKey.revocation {
            throw Problem.unauthorised("auth.revoked-key", "key \(agencyKey.keyID) of agency \(agency.id) was revoked at \(revocation.at) (\(revocation.reason)); sign with a current key")
        }
        let now = now()
        guard signed.isFresh(now: now) else {
            throw Problem.unauthorised("auth.stale", "the request was signed at \(signed.timestamp), \(now - signed.timestamp) s from the hub's clock (allowed: \(SignedRequest.allowedClockSkewSeconds) s); check the agent's clock")
        }
        guard let key = try? agencyKey.publicKey.signingKey(), signed.isSigned(by: key, signature: signature) else {
            throw Problem.unauthorised("auth.bad-signature", "the signature does not verify with agency \(agency.id)'s key \(agencyKey.keyID)")
        }
        guard try await store.recordNonce(agency: agency.id, nonce: signed.nonce, at: Date(timeIntervalSince1970: Double(now))) else {
            throw Problem.unauthorised("auth.replay", "this nonce was already used: the request is a replay")
        }
        return .agency(agency, signed)
    }

    private func person(_ authorization: String) async throws -> UserRecord {
        guard authorization.hasPrefix("Bearer ") else { throw Problem.unauthorised("auth.token", "the bearer token is missing or unknown") }
        return try await person(token: String(authorization.dropFirst(7)))
    }

    /// The enabled person whose API token this is (the API's bearer tokens, the IG dashboard's sign-in).
    func person(token: String) async throws -> UserRecord {
        guard let user = try await store.user(bearerToken: token) else {
            throw Problem.unauthorised("auth.token", "the bearer token is missing or unknown")
        }
        guard user.enabled else { throw Problem.forbidden("auth.user-disabled", "user \(user.id) is disabled") }
        return user
    }

    static func field(_ name: String) -> HTTPField.Name {
        // Header names here are constants from SignedRequest.Header, all valid tokens.
        HTTPField.Name(name)!
    }

    private static func roles(_ endpoint: HubEndpoint) -> String {
        endpoint.callers.map(\.rawValue).sorted().joined(separator: ", ")
    }
}

extension SignedRequest {
    /// Refuses a body whose SHA-256 is not the one the signature covers.
    func checkBody(digest: some Sequence<UInt8>) throws(Problem) {
        guard digest.lowercaseHex == contentSHA256 else {
            throw Problem.badRequest("auth.body-mismatch", "the body's SHA-256 is not the \(Header.contentSHA256) the request was signed with; nothing of it was kept")
        }
    }
}
