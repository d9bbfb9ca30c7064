import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// The hub over HTTP(S), with AsyncHTTPClient: the system's trust roots (or a private CA's
/// certificates), no redirects (a signed request is valid for one path on one host only).
public final class HTTPHubTransport: HubTransport {
    /// Answers are small JSON documents; anything larger is not the hub's.
    static let maximumAnswerBytes = 1 << 20
    /// Long enough for a 4 MiB piece over a slow link.
    static let requestTimeout = TimeAmount.minutes(10)

    private let client: HTTPClient
    private let baseURL: String

    /// - Parameters:
    ///   - baseURL: checked with ``HubURL/check(_:)``: HTTPS, or HTTP to this machine only.
    ///   - caFile: PEM certificates to trust instead of the system's roots.
    public init(baseURL: String, caFile: String? = nil) throws {
        if case .failure(let problem) = HubURL.check(baseURL) { throw problem }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(15)
        if let caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func send(_ request: HubRequest) async throws -> HubResponse {
        var http = HTTPClientRequest(url: baseURL + request.target)
        http.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { http.headers.add(name: name, value: value) }
        if request.method != "GET" { http.body = .bytes(ByteBuffer(bytes: request.body)) }
        let response = try await client.execute(http, timeout: Self.requestTimeout)
        var body = try await response.body.collect(upTo: Self.maximumAnswerBytes)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return HubResponse(status: Int(response.status.code), headers: headers, body: body.readBytes(length: body.readableBytes) ?? [])
    }

    /// Closes the connections; call once when done.
    public func shutdown() async throws {
        try await client.shutdown()
    }
}
