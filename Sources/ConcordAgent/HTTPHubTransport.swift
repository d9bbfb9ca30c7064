import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// The hub over HTTP(S), with AsyncHTTPClient, for the agent and for people's commands: the system's trust roots (or a private CA's
/// certificates), no redirects (a signed request is valid for one path on one host only).
public final class HTTPHubTransport: HubTransport {
    /// Answers are small JSON documents; anything larger is not the hub's.
    static let maximumAnswerBytes = 1 << 20
    /// Long enough for a 4 MiB piece over a slow link.
    static let requestTimeout = TimeAmount.minutes(10)

    private let client: HTTPClient
    private let baseURL: String

    /// Runs `body` with a transport to the hub, shut down afterwards whatever happens: an
    /// AsyncHTTPClient left running at its end is a leak, and a crash in debug builds.
    /// - Parameters:
    ///   - baseURL: checked with ``HubURL/check(_:)``: HTTPS, or HTTP to this machine only.
    ///   - caFile: PEM certificates to trust instead of the system's roots.
    public static func with<T>(baseURL: String, caFile: String? = nil, _ body: (HTTPHubTransport) async throws -> T) async throws -> T {
        let transport = try HTTPHubTransport(baseURL: baseURL, caFile: caFile)
        let result: T
        do {
            result = try await body(transport)
        } catch {
            try? await transport.client.shutdown()
            throw error
        }
        try await transport.client.shutdown()
        return result
    }

    private init(baseURL: String, caFile: String?) throws {
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
        let (response, headers) = try await execute(request)
        return try await Self.whole(response, headers)
    }

    /// Sends a request and, when the answer is a success (2xx), hands its body to `sink` piece by
    /// piece as it arrives (a download, which may be far larger than an answer); any other answer
    /// is read whole (a problem document) and returned with its body.
    public func stream(_ request: HubRequest, into sink: (UnsafeRawBufferPointer) throws -> Void) async throws -> HubResponse {
        let (response, headers) = try await execute(request)
        guard (200..<300).contains(response.status.code) else { return try await Self.whole(response, headers) }
        for try await piece in response.body { try piece.withUnsafeReadableBytes(sink) }
        return HubResponse(status: Int(response.status.code), headers: headers)
    }

    private func execute(_ request: HubRequest) async throws -> (HTTPClientResponse, [String: String]) {
        var http = HTTPClientRequest(url: baseURL + request.target)
        http.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { http.headers.add(name: name, value: value) }
        if request.method != "GET" { http.body = .bytes(ByteBuffer(bytes: request.body)) }
        let response = try await client.execute(http, timeout: Self.requestTimeout)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return (response, headers)
    }

    private static func whole(_ response: HTTPClientResponse, _ headers: [String: String]) async throws -> HubResponse {
        var body = try await response.body.collect(upTo: maximumAnswerBytes)
        return HubResponse(status: Int(response.status.code), headers: headers, body: body.readBytes(length: body.readableBytes) ?? [])
    }
}
