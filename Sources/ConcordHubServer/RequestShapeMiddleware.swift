import HTTPTypes
import Hummingbird

/// Refuses, before any route runs, what no route could handle well:
/// - a query with U+0000 in a name or value: PostgreSQL `text` cannot hold it, so it would
///   otherwise fail deep in a handler as a 500 (found by schemathesis, scripts/api-test.sh);
/// - a method the API does not serve on a path it does: 405 with `Allow` (RFC 9110 section
///   15.5.6), where the router alone says 404 as if the path did not exist.
struct RequestShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        for (name, value) in request.uri.queryParameters where TextInput.hasNUL(name) || TextInput.hasNUL(value) {
            let which = TextInput.hasNUL(name) ? "a query parameter's name" : "query parameter \(name.prefix(64))"
            throw Problem.badRequest("request.invalid-parameter", "\(which) holds U+0000 (NUL), which no text at the hub may")
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = HubEndpoint.methods(servingPath: request.uri.path)
            guard !allowed.isEmpty else { throw error }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            var response = try Problem(.methodNotAllowed, "request.method-not-allowed", "\(request.method) is not served here; use \(allow)")
                .response(from: request, context: context)
            response.headers[.allow] = allow
            return response
        }
    }
}

/// U+0000 in text a caller sends: PostgreSQL `text` cannot store it, so the hub refuses it where it
/// reads it (a query, a JSON body's fields, a form) with a 400 rather than failing at the database.
enum TextInput {
    static func hasNUL(_ text: some StringProtocol) -> Bool { text.utf8.contains(0) }
}
