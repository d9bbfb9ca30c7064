import ConcordCore
import ConcordFiles
import ConcordHubStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore

/// Builds the hub's HTTP application from its parts: the route table (`HubEndpoint.all`), each
/// route authenticated before its handler runs, every answer measured and every problem counted.
public enum HubApplication {
    /// - Parameters:
    ///   - linkage: where published datasets are announced to a `LinkageWorker` (nil: none runs).
    ///   - now: the clock, in seconds since the Unix epoch (a parameter for tests of stale requests).
    ///   - refusals: where refused requests are audited; share it with the `AuditCheckpointer`,
    ///     which flushes its counts.
    ///   - onServerRunning: called with the bound port once the server listens (port 0 picks a free one).
    public static func make(
        configuration: HubConfiguration, store: HubStore, keys: HubKeys, catalogue: SchemaCatalogue, logger: Logger,
        linkage: LinkageQueue? = nil,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
        refusals: RefusalAudit? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let service = try service(configuration: configuration, store: store, keys: keys, catalogue: catalogue, logger: logger, linkage: linkage, now: now)
        let router = Router(context: HubRequestContext.self)
        router.add(middleware: AuditContextMiddleware())
        router.add(middleware: RequestShapeMiddleware())
        let authenticator = Authenticator(store: store, refusals: refusals ?? RefusalAudit(store: store), now: now)
        let gate = RequestGate(limit: configuration.limits.maxConcurrentRequests)
        for endpoint in HubEndpoint.all {
            let handler = service.handler(for: endpoint)
            router.on(RouterPath(endpoint.routerPath), method: endpoint.method) { request, context in
                try await gate.admit {
                    try await service.measure(endpoint, request: request, logger: context.logger) {
                        let caller = try await authenticator.authenticate(request, for: endpoint)
                        return try await handler(request, context, caller)
                    }
                }
            }
        }
        IGDashboard(service: service, pages: try WebPages(), authenticator: authenticator, settings: configuration.ig, secure: configuration.tls != nil)
            .register(on: router, gate: gate)
        let limits = configuration.limits
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [RequestDeadlineHandler(headTimeout: .seconds(Int64(limits.headerTimeoutSeconds)),
                                                               bodyTimeout: .seconds(Int64(limits.requestTimeoutSeconds)))],
            idleTimeout: .seconds(Int64(limits.requestTimeoutSeconds))))
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            let certificates = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyPath, format: .pem)
            server = try .tls(http1, tlsConfiguration: .makeServerConfiguration(certificateChain: certificates, privateKey: .privateKey(key)))
        } else {
            guard HubConfiguration.isLoopback(configuration.host) else {
                throw HubStartupError("plain HTTP is allowed only on loopback; configure tls to listen on \(configuration.host)")
            }
            server = http1
        }
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "concord-hub"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

extension HubApplication {
    /// Makes the outputs of requests left `approved` without one, when a hub stopped between an
    /// approval and its output (docs/requests.md section 2). Run it at start-up, before serving.
    /// Returns how many were made (or failed, with the reason).
    public static func resumeApprovedRequests(configuration: HubConfiguration, store: HubStore, keys: HubKeys, catalogue: SchemaCatalogue,
                                              logger: Logger) async throws -> Int {
        let service = try service(configuration: configuration, store: store, keys: keys, catalogue: catalogue, logger: logger, linkage: nil,
                                  now: { Int64(Date().timeIntervalSince1970) })
        let approved = try await store.requests(in: .approved)
        let agreements = try await store.agreementsInForce(catalogue: catalogue)
        for record in approved {
            // A request references an applied agreement (a foreign key), and every applied id is in force here.
            _ = await service.produceOutput(record, agreement: agreements[record.request.agreementID]!)
        }
        return approved.count
    }

    static func service(configuration: HubConfiguration, store: HubStore, keys: HubKeys, catalogue: SchemaCatalogue, logger: Logger,
                        linkage: LinkageQueue?, now: @escaping @Sendable () -> Int64) throws -> HubService {
        HubService(store: store, keys: keys, catalogue: catalogue,
                   spool: try UploadSpool(directory: "\(configuration.dataDirectory)/uploads"),
                   outputs: try RequestOutputFiles(directory: "\(configuration.dataDirectory)/outputs"),
                   limits: configuration.limits, metrics: HubMetrics(), linkage: linkage, logger: logger, now: now)
    }
}

/// Bounds the requests handled at once (`limits.max_concurrent_requests`); the rest are told to retry.
actor RequestGate {
    private let limit: Int
    private var inFlight = 0

    init(limit: Int) {
        self.limit = limit
    }

    nonisolated func admit<T>(_ body: () async throws -> T) async throws -> T {
        try await enter()
        do {
            let result = try await body()
            await leave()
            return result
        } catch {
            await leave()
            throw error
        }
    }

    private func enter() throws(Problem) {
        guard inFlight < limit else {
            throw Problem(.serviceUnavailable, "hub.busy", "the hub is handling \(limit) requests already; retry shortly")
        }
        inFlight += 1
    }

    private func leave() {
        inFlight -= 1
    }
}

typealias EndpointHandler = @Sendable (Request, HubRequestContext, Authenticated) async throws -> Response

extension HubService {
    /// The handler of each endpoint in the table.
    func handler(for endpoint: HubEndpoint) -> EndpointHandler {
        switch endpoint.operationID {
        case HubEndpoint.health.operationID: return { _, _, _ in Self.text("ok") }
        case HubEndpoint.ready.operationID: return { _, _, _ in try await ready() }
        case HubEndpoint.metrics.operationID:
            return { _, _, _ in
                // Review dates change with the day, not with any event: counted when scraped.
                let held = try await store.heldAgreements(catalogue: catalogue).values.map(\.agreement)
                metrics.agreementReviews(Dictionary(grouping: held) { ReviewState($0, on: today) }.mapValues(\.count))
                return Self.text(String(decoding: metrics.exposition, as: UTF8.self))
            }
        case HubEndpoint.openAPI.operationID:
            return { _, _, _ in
                var headers = HTTPFields()
                headers[.contentType] = "application/yaml"
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
            }
        case HubEndpoint.getRegister.operationID: return getRegister
        case HubEndpoint.startUpload.operationID: return startUpload
        case HubEndpoint.getUpload.operationID: return getUpload
        case HubEndpoint.appendUpload.operationID: return appendUpload
        case HubEndpoint.completeUpload.operationID: return completeUpload
        case HubEndpoint.listUploads.operationID: return listUploads
        case HubEndpoint.whoami.operationID: return whoami
        case HubEndpoint.listAgencies.operationID: return listAgencies
        case HubEndpoint.listAgreements.operationID: return listAgreements
        case HubEndpoint.suspendAgreement.operationID: return { try await changeAgreementState($0, $1, $2, to: .suspended) }
        case HubEndpoint.terminateAgreement.operationID: return { try await changeAgreementState($0, $1, $2, to: .terminated) }
        case HubEndpoint.readAudit.operationID: return readAudit
        case HubEndpoint.createRequest.operationID: return createRequest
        case HubEndpoint.listRequests.operationID: return listRequests
        case HubEndpoint.getRequest.operationID: return getRequest
        case HubEndpoint.cancelRequest.operationID: return cancelRequest
        case HubEndpoint.approveRequest.operationID: return { try await decideRequest($0, $1, $2, approve: true) }
        case HubEndpoint.denyRequest.operationID: return { try await decideRequest($0, $1, $2, approve: false) }
        case HubEndpoint.getLinkageReport.operationID: return getLinkageReport
        case HubEndpoint.createDownloadLink.operationID: return createDownloadLink
        case HubEndpoint.download.operationID: return download
        case HubEndpoint.getCheckpoint.operationID: return getCheckpoint
        case HubEndpoint.auditInclusionProof.operationID: return auditInclusionProof
        case HubEndpoint.auditConsistencyProof.operationID: return auditConsistencyProof
        default: preconditionFailure("no handler for \(endpoint.operationID)")
        }
    }

    /// Runs a request, recording its latency and, for a problem, its code; any other error becomes
    /// a 500 problem that names no internals (they go to the log).
    func measure(_ endpoint: HubEndpoint, request: Request, logger: Logger, _ body: () async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await body()
            metrics.requestFinished(endpoint: endpoint, status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let problem = Self.problem(for: error, endpoint: endpoint, request: request, logger: logger)
            metrics.problem(problem.code)
            metrics.requestFinished(endpoint: endpoint, status: problem.status.code, duration: ContinuousClock.now - start)
            throw problem
        }
    }

    /// The problem an error that ended a request leaves the hub as.
    private static func problem(for error: any Error, endpoint: HubEndpoint, request: Request, logger: Logger) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case is NIOTooManyBytesError:
            // A body past the limit the handler collects it up to.
            return Problem(.contentTooLarge, "request.too-large", "the request body is larger than \(endpoint.path) takes (docs/openapi.yaml)")
        case HubStoreError.databaseUnavailable:
            // Not audited: the audit log is in the database that is unavailable. Counted and logged.
            logger.warning("\(request.method) \(endpoint.path): \(error)")
            return Problem(.serviceUnavailable, "hub.unavailable", "the hub cannot reach its database just now; retry later")
        default:
            logger.error("\(request.method) \(endpoint.path) failed: \(error)")
            return Problem(.internalServerError, "internal", "the hub could not handle the request; its log says why")
        }
    }

    /// Ready when the database answers within `readinessSeconds`: while PostgreSQL is down the
    /// pool waits for a connection without end, and a probe that hangs tells a load balancer
    /// nothing (found by HubFaultTests, stopping PostgreSQL under a running hub).
    private func ready() async throws -> Response {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.readiness() }
                group.addTask {
                    try await Task.sleep(for: .seconds(Self.readinessSeconds))
                    throw Problem(.serviceUnavailable, "hub.not-ready", "the database did not answer within \(Self.readinessSeconds) s")
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(.serviceUnavailable, "hub.not-ready", "\(error)")
        }
        return Self.text("ready")
    }

    static let readinessSeconds = 2

    private func whoami(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        guard case .person(let user) = caller else { throw Problem.forbidden("auth.role", "for people only") }
        return try json(.object(["id": .string(user.id), "role": .string(user.role.rawValue)]), status: .ok)
    }

    private func listAgencies(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let agencies = try await store.agencies().map { agency -> CanonicalJSON in
            .object(["id": .string(agency.id), "name": .string(agency.name), "enabled": .boolean(agency.enabled),
                     "keys": .array(agency.keys.map { key -> CanonicalJSON in
                         var fields: [String: CanonicalJSON] = ["key_id": .string(key.keyID), "added_at": .string(key.addedAt)]
                         if let revocation = key.revocation { fields["revoked_at"] = .string(revocation.at); fields["revoke_reason"] = .string(revocation.reason) }
                         return .object(fields)
                     })])
        }
        return try json(.object(["agencies": .array(agencies)]), status: .ok)
    }

    private func listAgreements(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let agreements = try await store.agreements().map { stored -> CanonicalJSON in
            .object(["id": .string(stored.id), "version": .integer(stored.version), "sha256": .string(stored.sha256.lowercaseHex)])
        }
        return try json(.object(["agreements": .array(agreements)]), status: .ok)
    }

    private func listUploads(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let limit = try Self.integer(request, "limit", in: 1...1000) ?? 100
        return try json(.object(["uploads": .array(try await store.uploads(limit: limit).map(uploadJSON))]), status: .ok)
    }

    static func text(_ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body + "\n")))
    }
}
