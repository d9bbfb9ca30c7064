import ConcordCore
import ConcordHubStore
import Foundation
import Logging
import ServiceLifecycle

/// Datasets published since the linkage worker last looked. Ingest notes a dataset; the worker
/// takes them all at once, so a burst of nightly uploads causes one run per agreement, not one
/// per upload.
public actor LinkageQueue {
    private var pending: Set<String> = []
    private let signal: AsyncStream<Void>.Continuation
    let signals: AsyncStream<Void>

    public init() {
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Notes that `dataset` changed.
    public func published(_ dataset: String) {
        pending.insert(dataset)
        signal.yield()
    }

    func take() -> Set<String> {
        defer { pending = [] }
        return pending
    }
}

/// Keeps linkages current while the hub runs (`docs/linkage.md`, section 3): after extracts are
/// published, updates the linkage of every agreement in force that links one of their datasets,
/// one run at a time. A failed run is logged and left for the next publish or request to retry;
/// the published data itself is never affected.
public struct LinkageWorker: Service {
    let store: HubStore
    let catalogue: SchemaCatalogue
    let queue: LinkageQueue
    let logger: Logger

    public init(store: HubStore, catalogue: SchemaCatalogue, queue: LinkageQueue, logger: Logger) {
        self.store = store
        self.catalogue = catalogue
        self.queue = queue
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in queue.signals {
                let datasets = await queue.take()
                guard !datasets.isEmpty else { continue }
                do {
                    for report in try await store.updateLinkages(catalogue: catalogue, actor: .hub, where: { !datasets.isDisjoint(with: $0.linkage.datasets) }) {
                        logger.info("linkage of \(report.agreement) v\(report.agreementVersion) updated: \(report.persons) persons, \(report.run.newNodes) new and \(report.run.removedNodes) removed key tuples, \(report.run.milliseconds) ms")
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("linkage update failed (it runs again after the next publish or request): \(error)")
                }
            }
        }
    }
}

extension HubStore {
    /// Brings up to date, one after another, the linkage of every agreement in force today that
    /// permits linkage and passes `include`; with `rebuild`, each is forgotten first and linked
    /// afresh (`resetLinkage`). Returns their reports, by agreement id.
    public func updateLinkages(catalogue: SchemaCatalogue, actor: AuditActor, rebuild: Bool = false,
                               where include: (Agreement) -> Bool) async throws -> [LinkageReport] {
        let today = CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970)!
        var reports: [LinkageReport] = []
        for agreement in try await agreementsInForce(catalogue: catalogue, on: today).values.sorted(by: { $0.id < $1.id })
        where agreement.linkage.permitted && include(agreement) {
            let plan = try LinkagePlan(agreement: agreement, catalogue: catalogue)
            if rebuild { try await resetLinkage(agreementID: agreement.id, actor: actor) }
            reports.append(try await updateLinkage(agreement: agreement, plan: plan, actor: actor))
        }
        return reports
    }

    /// The latest applied version of each agreement, by id, loaded against `catalogue`, its status
    /// overridden by a suspension or termination at the hub; with `date`, only those in force on
    /// that date.
    public func agreementsInForce(catalogue: SchemaCatalogue, on date: CivilDate? = nil) async throws -> [String: Agreement] {
        let held = try await heldAgreements(catalogue: catalogue)
        guard let date else { return held.mapValues(\.agreement) }
        return held.filter { $0.value.isInForce(on: date) }.mapValues(\.agreement)
    }
}
