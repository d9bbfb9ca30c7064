import ConcordCore
import ConcordHub
import ConcordHubStore
import Crypto
import Foundation
import Logging
import ServiceLifecycle

/// Carries out retention (docs/retention.md, section 4): finishes a purge a crash interrupted,
/// then records what is due, deletes rows in short batches, deletes output files, signs the
/// deletion certificates into the audit log and brings the affected linkages up to date.
public struct RetentionPurger: Sendable {
    let store: HubStore
    let catalogue: SchemaCatalogue
    let signingKey: Curve25519.Signing.PrivateKey
    let signingPublic: PublicKeyLine
    let outputs: RequestOutputFiles
    let actor: AuditActor
    /// Rows deleted per transaction: small enough that ingest and requests never wait long.
    let batchSize: Int

    public init(store: HubStore, catalogue: SchemaCatalogue, keys: HubKeys, dataDirectory: String, actor: AuditActor = .hub,
                batchSize: Int = 10_000) throws {
        self.store = store
        self.catalogue = catalogue
        signingKey = keys.signing
        signingPublic = keys.signingPublic
        outputs = try RequestOutputFiles(directory: "\(dataDirectory)/outputs")
        self.actor = actor
        self.batchSize = batchSize
    }

    /// What `purge` did.
    public struct Outcome: Sendable {
        /// The purges finished (an interrupted one first, when there was one).
        public var jobs: [PurgeJob] = []
        public var certificates: [DeletionCertificate] = []
        /// Whether it stopped after `maxBatches` with a purge still running.
        public var interrupted = false
    }

    /// Finishes an interrupted purge, then purges what is due on `date`. `now` (seconds since the
    /// Unix epoch) is the completion time the certificates state. `maxBatches` stops it after that
    /// many row batches, leaving the purge running as a crash would (for tests of recovery).
    public func purge(on date: CivilDate, now: Int64, maxBatches: Int? = nil) async throws -> Outcome {
        var outcome = Outcome()
        var batches = 0
        // At most two rounds: the interrupted purge, then today's.
        for _ in 0..<2 {
            let schedule = try await store.retentionSchedule(on: date, catalogue: catalogue)
            guard let job = try await store.beginPurge(schedule, by: actor) else { break }
            for (dataset, extracts) in job.deletions.sorted(by: { $0.key < $1.key }) {
                while try await store.deletePurgedRows(dataset: dataset, extracts: extracts, limit: batchSize) > 0 {
                    batches += 1
                    if let maxBatches, batches >= maxBatches {
                        outcome.interrupted = true
                        return outcome
                    }
                }
            }
            for item in job.items where item.kind == .output {
                if let id = item.requestID { outputs.remove(id) }
            }
            outcome.certificates += try await store.completePurge(job, key: signingKey, publicKey: signingPublic, completedAt: now, actor: actor)
            outcome.jobs.append(job)
            try await relink(job.agreementsAffected, on: date)
            if job.date == date { break }
        }
        return outcome
    }

    /// Linkage reads only rows its agreement still holds, so a purge changes it: agreements in
    /// force are linked again (nodes of purged rows disappear); an agreement no longer in force
    /// links nothing more, so its persons are forgotten.
    private func relink(_ agreements: Set<String>, on date: CivilDate) async throws {
        guard !agreements.isEmpty else { return }
        let held = try await store.heldAgreements(catalogue: catalogue)
        for id in agreements.sorted() {
            guard let agreement = held[id], agreement.agreement.linkage.permitted else { continue }
            if agreement.isInForce(on: date) {
                let plan = try LinkagePlan(agreement: agreement.agreement, catalogue: catalogue)
                try await store.updateLinkage(agreement: agreement.agreement, plan: plan, actor: actor)
            } else {
                try await store.resetLinkage(agreementID: id, actor: actor)
            }
        }
    }
}

/// Runs retention every `interval` while the hub runs (like `NoncePruner`): purges whatever is
/// due today, finishing first any purge a crash interrupted. A failed run is logged and retried
/// at the next tick; nothing is left inconsistent by a failure (docs/retention.md, section 4).
public struct RetentionWorker: Service {
    let purger: RetentionPurger
    let interval: Duration
    let logger: Logger
    /// Seconds since the Unix epoch.
    let now: @Sendable () -> Int64

    public init(purger: RetentionPurger, interval: Duration = .seconds(3600), logger: Logger,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.purger = purger
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    /// Stopping mid-purge is safe: a purge under way is finished by the next run.
    public func run() async throws {
        try await repeatUntilShutdown {
            do {
                let time = now()
                let outcome = try await purger.purge(on: CivilDate(utcSecondsSinceEpoch: Double(time))!, now: time)
                for job in outcome.jobs {
                    logger.info("purge \(job.id) for \(job.date): \(job.items.count) item(s), \(outcome.certificates.count) deletion certificate(s)")
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.error("retention purge failed (it runs again at the next tick and finishes what was started): \(error)")
            }
            try await Task.sleep(for: interval)
        }
    }
}

extension UploadAdmission {
    /// Each admitting agreement's retention of `dataset`, counted from `today`: the holds
    /// recorded at ingest (docs/retention.md, section 2).
    func holds(for dataset: String, today: CivilDate) -> [RetentionHold] {
        agreements.compactMap { agreement in
            agreement.permission(for: dataset).map {
                RetentionHold(agreementID: agreement.id, agreementVersion: agreement.version, retainUntil: $0.permission.retention.after(today))
            }
        }
    }
}
