import ConcordHubStore
import Hummingbird

/// Binds `AuditContext.requestID` to the request's id around everything the router does for it,
/// so every audit entry a request causes (API or dashboard, allowed or refused) names it.
struct AuditContextMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await AuditContext.$requestID.withValue(context.id) { try await next(request, context) }
    }
}
