import ConcordCore
import ConcordHubServer
import ConcordHubStore
import ConcordTestSupport
import Foundation
import Testing

@Suite("Access reports", .enabled(if: databaseAvailable))
struct AccessReportTests {
    @Test func periods() {
        #expect(ReportPeriod("2026-11").map { "\($0.since) \($0.until)" } == "2026-11-01 2026-12-01")
        #expect(ReportPeriod("2026-12").map { "\($0.since) \($0.until)" } == "2026-12-01 2027-01-01")
        #expect(ReportPeriod("2026").map { "\($0.since) \($0.until)" } == "2026-01-01 2027-01-01")
        for bad in ["2026-13", "26-11", "2026-1", "2026-11-01", "", "november"] { #expect(ReportPeriod(bad) == nil, "\(bad)") }
        #expect(ReportPeriod(since: CivilDate(year: 2026, month: 2, day: 1)!, until: CivilDate(year: 2026, month: 1, day: 1)!) == nil)
    }

    /// Who accessed what, when, why and how many rows; uploads per agency; linkage match rates;
    /// refusals; and, in both formats, not one match key.
    @Test func reportContents() async throws {
        try await TestHub.with { hub in
            #expect(try await hub.upload(try await hub.envelope(rows: 80)).status == 200)
            let analyst = try await hub.person("n-carrow", .analyst)
            let approver = try await hub.person("i-thackeray", .igOfficer)
            let otherOfficer = try await hub.person("b-holloway", .igOfficer)
            let id = try await hub.ask(analyst, fields: ["police_da_incidents.GENDER"]).requestID
            #expect(try await hub.decide(id, "approve", token: otherOfficer).status == 403)
            #expect(try await hub.decide(id, "approve", token: approver, reason: "Proportionate for the pilot").state == "ready")
            #expect(try await hub.download(id, token: analyst).status == 200)

            let today = CivilDate(utcSecondsSinceEpoch: Date().timeIntervalSince1970)!
            let period = try #require(ReportPeriod(today.yearMonthText))
            let report = try await hub.store.accessReport(agreement: TestHub.agreement, period: period)

            let mine = report.accesses.filter { $0.request == id }
            // The refused attempt by an officer who is not an approver is an event of the request too.
            try #require(mine.map(\.action) == ["request.create", "request.approve", "request.approve", "request.output", "request.link", "request.download"])
            #expect(mine[1].actor == "user:b-holloway" && mine[1].outcome == "refused")
            #expect(mine.allSatisfy { $0.requester == "n-carrow" && $0.purpose == "EH-DA" && $0.justification == "tests" && $0.datasets == ["police_da_incidents"] })
            let approval = try #require(mine.first { $0.action == "request.approve" && $0.outcome != "refused" })
            #expect(approval.actor == "user:i-thackeray" && approval.role == "ig-officer" && approval.reason == "Proportionate for the pilot" && approval.outcome == "approved")
            let output = try #require(mine.first { $0.action == "request.output" })
            let download = try #require(mine.first { $0.action == "request.download" })
            #expect(download.actor == "user:n-carrow" && download.role == "analyst" && download.rows != nil && download.rows == output.rows)

            #expect(report.uploads.count == 1)
            let upload = try #require(report.uploads.first)
            #expect(upload.agency == "essex-police" && upload.dataset == "police_da_incidents" && upload.accepted == 1 && upload.refused == 0 && upload.rows == 80)
            let run = try #require(report.linkageRuns.last)
            let rate = try #require(run.datasets.first { $0.dataset == "police_da_incidents" })
            #expect(rate.records == 80 && rate.linked <= rate.records && run.persons > 0)
            let refusal = try #require(report.refusals.first)
            #expect(report.refusals.count == 1 && refusal.action == "request.approve" && refusal.actor == "user:b-holloway" && refusal.subject == id)
            #expect(!refusal.reasons.isEmpty)

            let earlier = try await hub.store.accessReport(agreement: TestHub.agreement, period: try #require(ReportPeriod("2020-01")))
            #expect(earlier.accesses.isEmpty && earlier.uploads.isEmpty && earlier.linkageRuns.isEmpty && earlier.refusals.isEmpty)
            #expect(try await hub.store.accessReport(agreement: "youth-violence-vulnerability", period: period).accesses.isEmpty)

            let csv = try csvRecords(try AccessReportDocument.render(report, format: .csv, checkpoint: nil, madeAt: "2026-11-22T00:00:00Z"))
            #expect(csv.first?.first == "section" && Set(csv.dropFirst().map { $0[0] }) == ["access", "uploads", "linkage", "refusal"])
            #expect(csv.contains { $0[0] == "access" && $0.contains("request.approve") && $0.contains("tests | decision: Proportionate for the pilot") })
            let html = String(decoding: try AccessReportDocument.render(report, format: .html, checkpoint: nil, madeAt: "2026-11-22T00:00:00Z"), as: UTF8.self)
            #expect(html.contains("<h2>Linkage runs</h2>") && html.contains("@media print") && html.contains("decision: Proportionate for the pilot"))
            #expect(!html.contains("<script") && !html.contains("<link"), "the file stands alone")

            // Not one pseudonym: no match key of the loaded rows appears in either form.
            let keys = try await hub.store.withTransaction { transaction in
                var keys: [String] = []
                for try await (mk2, mk3) in try await transaction.query("SELECT mk2, mk3 FROM current_police_da_incidents").decode((String?, String?).self) {
                    keys += [mk2, mk3].compactMap { $0 }
                }
                return keys
            }
            #expect(keys.count > 80)
            let csvText = csv.flatMap { $0 }.joined(separator: ",")
            #expect(keys.allSatisfy { !html.contains($0) && !csvText.contains($0) })
        }
    }
}
