import ConcordCore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The hub's HTML: Mustache templates carried inside the binary (`Resources/web`), rendered on
/// the server so that every page works without JavaScript (docs/ig-dashboard.md). Mustache
/// escapes every `{{value}}` for HTML; only `{{{body}}}` (a page already rendered) is not.
struct WebPages: Sendable {
    private let library: MustacheLibrary
    /// The access report's stylesheet, inlined so the saved file stands alone; its hash lets the
    /// page's Content-Security-Policy allow exactly that style and no other inline content.
    static let reportStyle = String(decoding: PackageResources.access_report_css, as: UTF8.self)
    static let reportStyleHash = "'sha256-" + Data(SHA256.hash(data: Array(reportStyle.utf8))).base64EncodedString() + "'"

    init() throws {
        var library = MustacheLibrary()
        let templates: [(String, [UInt8])] = [
            ("layout", PackageResources.layout_mustache), ("signin", PackageResources.signin_mustache),
            ("message", PackageResources.message_mustache), ("agreements", PackageResources.agreements_mustache),
            ("uploads", PackageResources.uploads_mustache), ("requests", PackageResources.requests_mustache),
            ("audit", PackageResources.audit_mustache), ("transparency", PackageResources.transparency_mustache),
            ("register", PackageResources.register_mustache), ("access-report", PackageResources.access_report_mustache),
            ("retention", PackageResources.retention_mustache),
        ]
        for (name, bytes) in templates { try library.register(String(decoding: bytes, as: UTF8.self), named: name) }
        self.library = library
    }

    /// Renders template `name` with `context`, inside the layout.
    /// - Parameter frame: the layout's own values: `title`, `area`, `user` (with `csrf`), `notice`, `error`, `nav_…`.
    func page(_ name: String, _ context: [String: Any], frame: [String: Any]) -> String {
        var layout = frame
        layout["body"] = render(name, context)
        return render("layout", layout)
    }

    func render(_ name: String, _ context: [String: Any]) -> String {
        // Every name is one registered in init.
        library.render(context, withTemplate: name)!
    }

    // MARK: Responses

    /// What every HTML answer carries: no script at all, no framing, no referrer, no sniffing.
    /// `private` pages (anything shown to a signed-in person) are never cached.
    static func html(_ body: String, status: HTTPResponse.Status = .ok, private: Bool = true, styleHash: String? = nil,
                     headers extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        security(&headers, private: `private`, styleHash: styleHash)
        for (name, value) in extra { headers.append(HTTPField(name: name, value: value)) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func security(_ headers: inout HTTPFields, private: Bool, styleHash: String? = nil) {
        let style = ["'self'", styleHash].compactMap { $0 }.joined(separator: " ")
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src \(style); img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[xFrameOptions] = "DENY"
        headers[referrerPolicy] = "no-referrer"
        headers[xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = `private` ? "no-store" : "no-cache"
    }

    /// A 303 to `location`: after a form is handled, so reloading does not post it again.
    static func redirect(_ location: String, headers extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        security(&headers, private: true)
        for (name, value) in extra { headers.append(HTTPField(name: name, value: value)) }
        return Response(status: .seeOther, headers: headers)
    }

    static let stylesheet: Response = {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        headers[.cacheControl] = "public, max-age=3600"
        headers[xContentTypeOptions] = "nosniff"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.concord_css)))
    }()

    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!

    // MARK: Reading requests

    /// The fields of an `application/x-www-form-urlencoded` body (at most 64 KiB); a field given
    /// twice keeps its first value.
    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        if fields.contains(where: { TextInput.hasNUL($0.key) || TextInput.hasNUL($0.value) }) {
            throw Problem.badRequest("request.invalid", "the form holds U+0000 (NUL), which no text at the hub may")
        }
        return fields
    }

    /// A cookie sent with the request, by name.
    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
            }
        }
        return nil
    }
}
