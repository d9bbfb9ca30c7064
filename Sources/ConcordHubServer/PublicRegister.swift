import ConcordCore
import ConcordHubStore
import Foundation
import HTTPTypes
import Hummingbird

/// The public register (`/register`, `/register.json`; docs/ig-dashboard.md section 6): every
/// agreement applied at the hub, active or past, with what it allows and counts of its use per
/// month, and the latest signed checkpoint. For anyone, so it names organisations and datasets,
/// never a person (no analysts, approvers or contacts), and holds counts, never data.
extension HubService {
    func getRegister(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated) async throws -> Response {
        let (entries, checkpoint) = try await registerEntries()
        var members: [String: CanonicalJSON] = ["agreements": .array(entries.map(\.json))]
        if let checkpoint { members["checkpoint"] = .string(checkpoint.note) }
        var response = try json(.object(members), status: .ok)
        WebPages.security(&response.headers, private: false)
        return response
    }

    func registerPage(pages: WebPages) async throws -> Response {
        let (entries, checkpoint) = try await registerEntries()
        var context: [String: Any] = ["agreements": entries.map(\.context)]
        if let checkpoint { context["checkpoint"] = ["size": String(checkpoint.size), "root": Data(checkpoint.rootHash).base64EncodedString()] }
        return WebPages.html(pages.page("register", context, frame: ["title": "Register of data sharing agreements", "area": "public register"]),
                             private: false)
    }

    private func registerEntries() async throws -> ([RegisterEntry], StoredCheckpoint?) {
        var entries: [RegisterEntry] = []
        for agreement in try await store.agreementsInForce(catalogue: catalogue).values.sorted(by: { $0.id < $1.id }) {
            entries.append(RegisterEntry(agreement: agreement, months: try await store.monthlyActivity(agreement: agreement.id)))
        }
        return (entries, try await store.latestCheckpoint())
    }
}

/// One agreement as the register shows it.
struct RegisterEntry: Sendable {
    let agreement: Agreement
    let months: [MonthlyActivity]

    var parties: [String] {
        agreement.providers.map { "\($0.name) (provider)" } + agreement.recipients.map { "\($0.name) (recipient)" }
    }

    var lawfulBasis: [String] {
        let basis = agreement.lawfulBasis
        let clauses: [(String, Agreement.Clause?)] = [("UK GDPR Article 6", basis.article6), ("Article 9", basis.article9), ("Article 10", basis.article10)]
        return clauses.compactMap { label, clause in
            clause.map { "\(label): \($0.name) (\($0.citation))" }
        }
    }

    var datasets: [String] { Array(Set(agreement.providers.flatMap { $0.datasets.map(\.dataset) })).sorted() }

    var retention: [String] {
        agreement.providers.flatMap { provider in provider.datasets.map { "\($0.dataset) from \(provider.name): \($0.retention)" } }
            + ["Everything deleted within \(agreement.deleteWithinAfterEnd) of the agreement's end"]
    }

    var context: [String: Any] {
        [
            "id": agreement.id, "version": String(agreement.version), "title": agreement.title, "status": agreement.status.rawValue,
            "valid_from": agreement.validFrom.description, "valid_until": agreement.validUntil.description, "parties": parties,
            "purpose": "\(agreement.purpose.statement) (\(agreement.purpose.code))", "lawful_basis": lawfulBasis,
            "datasets": datasets.joined(separator: ", "), "retention": retention,
            "months": months.map { ["month": $0.month, "uploads": String($0.uploads), "requests": String($0.requests), "downloads": String($0.downloads)] },
        ]
    }

    var json: CanonicalJSON {
        func strings(_ list: [String]) -> CanonicalJSON { .array(list.map(CanonicalJSON.string)) }
        return .object([
            "id": .string(agreement.id), "version": .integer(agreement.version), "title": .string(agreement.title),
            "status": .string(agreement.status.rawValue), "valid_from": .string(agreement.validFrom.description),
            "valid_until": .string(agreement.validUntil.description), "parties": strings(parties),
            "purpose": .object(["code": .string(agreement.purpose.code), "statement": .string(agreement.purpose.statement)]),
            "lawful_basis": strings(lawfulBasis), "datasets": strings(datasets), "retention": strings(retention),
            "months": .array(months.map {
                .object(["month": .string($0.month), "uploads": .integer($0.uploads), "requests": .integer($0.requests), "downloads": .integer($0.downloads)])
            }),
        ])
    }
}
