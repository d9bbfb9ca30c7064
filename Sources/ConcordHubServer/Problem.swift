import ConcordCore
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: how every refusal and error leaves the hub (`docs/api-auth.md`, section 4).
/// `code` is stable; `detail` says what to do; `reasons` lists every reason when there are several.
public struct Problem: HTTPResponseError, Sendable, Hashable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    public var reasons: [String]
    /// For `upload.offset-mismatch`: where the client must continue.
    public var offset: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String, reasons: [String] = [], offset: Int? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.reasons = reasons
        self.offset = offset
    }

    public var description: String { "\(code): \(detail)" + (reasons.isEmpty ? "" : " (" + reasons.joined(separator: "; ") + ")") }

    /// The problem document, canonical so that a stored refusal is returned byte for byte.
    public var json: CanonicalJSON {
        var members: [String: CanonicalJSON] = [
            "type": .string("https://concord.invalid/problems/\(code)"), "title": .string(status.reasonPhrase),
            "status": .integer(status.code), "code": .string(code), "detail": .string(detail),
        ]
        if !reasons.isEmpty { members["reasons"] = .array(reasons.map(CanonicalJSON.string)) }
        if let offset { members["offset"] = .integer(offset) }
        return .object(members)
    }

    /// Reads back a problem stored as its canonical JSON (a refused upload's answer, repeated verbatim).
    init?(stored text: String) {
        guard let document = ProblemDocument(json: try? CanonicalJSON(canonical: Array(text.utf8))) else { return nil }
        self.init(HTTPResponse.Status(code: document.status), document.code, document.detail, reasons: document.reasons, offset: document.offset)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }
}

extension Problem {
    static func unauthorised(_ code: String, _ detail: String) -> Problem { Problem(.unauthorized, code, detail) }
    static func forbidden(_ code: String, _ detail: String) -> Problem { Problem(.forbidden, code, detail) }
    static func badRequest(_ code: String, _ detail: String) -> Problem { Problem(.badRequest, code, detail) }
    static func notFound(_ detail: String) -> Problem { Problem(.notFound, "not-found", detail) }
}
