import ConcordCore
import ConcordHubStore
import Foundation
import HTTPTypes
import Hummingbird

/// What the IG dashboard's pages show (docs/ig-dashboard.md, section 4). Each reads the store
/// through the same functions as the API and the `concord` commands: decisions through
/// `HubService.decide`, the access log through `auditViews`, reports through `accessReport`.
struct IGPages: Sendable {
    let dashboard: IGDashboard
    var service: HubService { dashboard.service }
    var pages: WebPages { dashboard.pages }
    /// Expiry and review dates this close are highlighted.
    static let soonDays = 30

    typealias Visit = IGDashboard.Visit

    func agreements(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        let today = service.today
        let rows = try await service.store.agreementsInForce(catalogue: service.catalogue).values.sorted { $0.id < $1.id }.map { agreement -> [String: Any] in
            let daysLeft = agreement.validUntil.daysSinceEpoch - today.daysSinceEpoch
            let reviewIn = agreement.nextReview.daysSinceEpoch - today.daysSinceEpoch
            let expiring = (0...Self.soonDays).contains(daysLeft)
            let reviewSoon = reviewIn <= Self.soonDays
            return [
                "id": agreement.id, "version": String(agreement.version), "title": agreement.title, "status": agreement.status.rawValue,
                "in_force": agreement.status == .active && agreement.validFrom <= today && today <= agreement.validUntil,
                "providers": agreement.providers.map { ["name": $0.name, "agency": $0.agency] },
                "recipients": agreement.recipients.map(\.name),
                "next_review": agreement.nextReview.description, "review_soon": reviewSoon,
                "valid_until": agreement.validUntil.description, "expiring": expiring, "expired": daysLeft < 0,
                "attention": expiring || reviewSoon || daysLeft < 0, "period": today.yearMonthText,
            ]
        }
        return WebPages.html(pages.page("agreements", ["agreements": rows, "soon_days": String(Self.soonDays)],
                                        frame: dashboard.frame(visit, title: "Agreements", nav: "agreements")))
    }

    /// Each provider's datasets under each agreement in force, with the late-extract rule applied.
    func uploads(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        let lateSeconds = dashboard.settings.lateExtractHours * 3600
        var sections: [[String: Any]] = []
        for agreement in try await service.store.agreementsInForce(catalogue: service.catalogue, on: service.today).values.sorted(by: { $0.id < $1.id }) {
            let seen = Dictionary(try await service.store.extractFreshness(agreement: agreement.id).map { ("\($0.agency)/\($0.dataset)", $0) }) { first, _ in first }
            let rows = agreement.providers.flatMap { provider in
                provider.datasets.map { permission -> [String: Any] in
                    let fresh = seen["\(provider.agency)/\(permission.dataset)"]
                    let flag: String? = switch fresh?.secondsSince {
                    case nil: "missing"
                    case let seconds? where seconds > lateSeconds: "late"
                    default: nil
                    }
                    var row: [String: Any] = [
                        "agency": provider.agency, "dataset": permission.dataset, "last_published": fresh?.lastPublished ?? "never",
                        "rows": fresh?.lastRows.map(String.init) ?? "", "recent": String(fresh?.recentExtracts ?? 0),
                    ]
                    row["flag"] = flag
                    return row
                }
            }
            sections.append(["id": agreement.id, "title": agreement.title, "rows": rows])
        }
        return WebPages.html(pages.page("uploads", ["agreements": sections, "late_hours": String(dashboard.settings.lateExtractHours)],
                                        frame: dashboard.frame(visit, title: "Uploads and nightly extracts", nav: "uploads")))
    }

    /// The retention schedule as of today: what a purge would delete, and when.
    func retention(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        let today = service.today
        let schedule = try await service.store.retentionSchedule(on: today, catalogue: service.catalogue)
        func soon(_ day: CivilDate?) -> Bool { day.map { $0.daysSinceEpoch - today.daysSinceEpoch <= Self.soonDays } ?? false }
        let extracts = schedule.extracts.sorted { ($0.purgeOn?.daysSinceEpoch ?? .max, $0.extractID) < ($1.purgeOn?.daysSinceEpoch ?? .max, $1.extractID) }
            .map { extract -> [String: Any] in
                [
                    "purge_on": extract.purgeOn?.description ?? "not set", "soon": soon(extract.purgeOn), "agency": extract.agencyID,
                    "dataset": extract.dataset, "rows": String(extract.rows), "receipt": extract.receiptSHA256,
                    "holds": extract.holds.map { hold -> [String: Any] in
                        ["agreement": hold.agreementID, "version": String(hold.agreementVersion), "ends": hold.ends?.description ?? "not set", "released": hold.released]
                    },
                ]
            }
        let outputs = schedule.outputs.sorted { ($0.purgeOn.daysSinceEpoch, $0.requestID.uuidString) < ($1.purgeOn.daysSinceEpoch, $1.requestID.uuidString) }
            .map { output -> [String: Any] in
                ["purge_on": output.purgeOn.description, "soon": soon(output.purgeOn), "request": output.requestID.uuidString.lowercased(),
                 "agreement": output.agreementID, "rows": String(output.rows)]
            }
        return WebPages.html(pages.page("retention", ["extracts": extracts, "outputs": outputs, "soon_days": String(Self.soonDays)],
                                        frame: dashboard.frame(visit, title: "Retention", nav: "retention")))
    }

    func requests(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        var frame = dashboard.frame(visit, title: "Requests awaiting approval", nav: "requests")
        let parameters = request.uri.queryParameters
        if let decided = parameters["decided"], let state = parameters["state"] {
            frame["notice"] = "Request \(decided) is now \(state)."
        }
        return try await requestsPage(visit, frame: frame, status: .ok)
    }

    private func requestsPage(_ visit: Visit, frame: [String: Any], status: HTTPResponse.Status) async throws -> Response {
        let approvals = visit.user.role == .igOfficer ? Set(try await service.approvals(of: visit.user)) : []
        let pending = try await service.store.requests(in: .pending).map { record -> [String: Any] in
            let request = record.request
            return [
                "id": record.id.uuidString.lowercased(), "requester": request.requester, "agreement": "\(request.agreementID).v\(request.agreementVersion)",
                "purpose": request.purpose, "justification": request.justification ?? "", "datasets": request.datasets.joined(separator: ", "),
                "fields": request.fields.map(\.description).joined(separator: ", "), "level": request.level.rawValue, "created_at": record.createdAt,
                "may_decide": approvals.contains(request.agreementID) && request.requester != visit.user.id, "csrf": visit.csrf,
            ]
        }
        return WebPages.html(pages.page("requests", ["requests": pending], frame: frame), status: status)
    }

    /// An approval or denial from the requests page, through the API's own path (`HubService.decide`).
    func decide(_ request: Request, _ context: HubRequestContext, _ visit: Visit, form: [String: String]) async throws -> Response {
        guard let text = context.parameters.get("request_id"), let id = UUID(uuidString: text) else {
            throw Problem(.notFound, "request.not-found", "no such request")
        }
        guard let choice = form["decision"], choice == "approve" || choice == "deny" else {
            throw Problem.badRequest("request.invalid", "choose Approve or Deny")
        }
        do {
            let record = try await service.decide(id, by: visit.user, approve: choice == "approve", reason: form["reason"])
            return WebPages.redirect("/ig/requests?decided=\(record.id.uuidString.lowercased())&state=\(record.state.rawValue)")
        } catch let problem as Problem {
            var frame = dashboard.frame(visit, title: "Requests awaiting approval", nav: "requests")
            frame["error"] = problem.detail
            frame["error_reasons"] = problem.reasons
            frame["has_error_reasons"] = !problem.reasons.isEmpty
            return try await requestsPage(visit, frame: frame, status: problem.status)
        }
    }

    /// The access log, filtered as `GET /v1/audit` is; reading it is audited as `audit.read`.
    func audit(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        let filter = try HubService.auditFilter(request)
        let after = try HubService.integer(request, "after", in: 0...Int.max) ?? 0
        let limit = 100
        let views = try await service.auditViews(after: after, limit: limit, filter: filter, actor: .user(visit.user.id))
        let parameters = request.uri.queryParameters
        var echo: [String: String] = [:]
        for name in ["agreement", "actor", "action", "dataset", "subject", "since", "until"] {
            echo[name] = parameters[values: Substring(name)].joined(separator: ",")
        }
        var page: [String: Any] = [
            "filter": echo, "columns": AuditRecord.viewColumns,
            "entries": views.map { view in ["cells": AuditRecord.viewColumns.map { AuditRecord.cell(view[$0]) }] },
            "first": views.first.map { AuditRecord.cell($0["seq"]) } ?? "", "last": views.last.map { AuditRecord.cell($0["seq"]) } ?? "",
        ]
        if views.count == limit, case .integer(let last)? = views.last?["seq"] {
            var query = echo.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.queryValue($0.value))" }
            query.append("after=\(last)")
            page["next"] = "/ig/audit?" + query.joined(separator: "&")
        }
        return WebPages.html(pages.page("audit", page, frame: dashboard.frame(visit, title: "Access log", nav: "audit")))
    }

    func transparency(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        try await transparencyPage(visit, verification: nil)
    }

    /// Verifies the whole log against every stored checkpoint and shows the result.
    func verify(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        let check = try await service.store.checkAuditLog(hubKeys: service.keys.signingPublicKeys, kept: [])
        let summary = check.isIntact
            ? "The audit log is intact: \(check.verification.entriesChecked) entries, chain unbroken, \(check.verification.checkpointsMatched) of \(check.storedCheckpoints) checkpoints matched."
            : "The audit log is NOT intact: \(check.problems.count) problem(s); the first bad entry is listed first."
        try await service.store.audit(AuditEntry(actor: .user(visit.user.id), action: "audit.verify", subject: "audit_log",
                                                 outcome: check.isIntact ? "ok" : "broken",
                                                 details: .object(["entries": .integer(check.verification.entriesChecked)])))
        return try await transparencyPage(visit, verification: [
            "intact": check.isIntact, "summary": summary, "problems": check.problems, "has_problems": !check.problems.isEmpty,
        ])
    }

    private func transparencyPage(_ visit: Visit, verification: [String: Any]?) async throws -> Response {
        var page: [String: Any] = ["csrf": visit.csrf]
        if let checkpoint = try await service.store.latestCheckpoint() {
            page["checkpoint"] = ["size": String(checkpoint.size), "root": Data(checkpoint.rootHash).base64EncodedString(), "key_id": checkpoint.keyID,
                                  "note": checkpoint.note]
        }
        page["verification"] = verification
        return WebPages.html(pages.page("transparency", page, frame: dashboard.frame(visit, title: "Transparency log", nav: "transparency")))
    }

    /// The access report of one agreement for a period (`YYYY-MM` or `YYYY`), as printable HTML or
    /// CSV; making it is audited as `audit.report`.
    func report(_ request: Request, _ context: HubRequestContext, _ visit: Visit) async throws -> Response {
        let parameters = request.uri.queryParameters
        guard let agreement = parameters["agreement"].map(String.init),
              try await service.store.agreementsInForce(catalogue: service.catalogue)[agreement] != nil else {
            throw Problem(.notFound, "report.unknown-agreement", "no such agreement is applied at this hub")
        }
        guard let period = parameters["period"].flatMap({ ReportPeriod(String($0)) }) else {
            throw Problem.badRequest("report.period", "the period must be a month, YYYY-MM, or a year, YYYY")
        }
        let format = parameters["format"].flatMap { AccessReportDocument.Format(rawValue: String($0)) } ?? .html
        let report = try await service.store.accessReport(agreement: agreement, period: period)
        try await service.store.audit(AuditEntry(actor: .user(visit.user.id), action: "audit.report", subject: agreement, details: .object([
            "agreement": .string(agreement), "since": .string(period.since.description), "until": .string(period.until.description),
            "format": .string(format.rawValue),
        ])))
        let madeAt = CivilDate.utcTimestamp(secondsSinceEpoch: service.now())
        let checkpoint = try await service.store.latestCheckpoint()
        switch format {
        case .html:
            return WebPages.html(AccessReportDocument.html(report, pages: pages, checkpoint: checkpoint, madeAt: madeAt), styleHash: WebPages.reportStyleHash)
        case .csv:
            var headers = HTTPFields()
            headers[.contentType] = "text/csv; charset=utf-8"
            headers[.contentDisposition] = "attachment; filename=\"access-report-\(agreement)-\(period.since.yearMonthText).csv\""
            WebPages.security(&headers, private: true)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: AccessReportDocument.csv(report))))
        }
    }

    private static func queryValue(_ text: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
