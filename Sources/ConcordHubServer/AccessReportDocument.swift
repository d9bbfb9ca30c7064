import ConcordCore
import ConcordHubStore
import Foundation

/// An `AccessReport` as a file for people: printable, self-contained HTML (its print stylesheet
/// inside) or CSV (one row per line of the report, its section first). Used by
/// `concord audit report` and the IG dashboard, so both give the same document.
public enum AccessReportDocument {
    public enum Format: String, Sendable, CaseIterable {
        case html, csv
    }

    /// - Parameters:
    ///   - checkpoint: the latest signed checkpoint, named in the HTML's heading.
    ///   - madeAt: when the report was made, RFC 3339 UTC.
    public static func render(_ report: AccessReport, format: Format, checkpoint: StoredCheckpoint?, madeAt: String) throws -> [UInt8] {
        switch format {
        case .csv: csv(report)
        case .html: Array(html(report, pages: try WebPages(), checkpoint: checkpoint, madeAt: madeAt).utf8)
        }
    }

    static func html(_ report: AccessReport, pages: WebPages, checkpoint: StoredCheckpoint?, madeAt: String) -> String {
        var context: [String: Any] = [
            "agreement": report.agreement, "period": report.period.description, "made_at": madeAt, "last_seq": String(report.lastSeq),
            "style": WebPages.reportStyle,
            "accesses": report.accesses.map { access -> [String: Any] in
                ["at": access.at, "actor": access.actor, "role": access.role, "action": access.action, "request": access.request,
                 "requester": access.requester, "purpose": access.purpose, "why": why(access), "datasets": access.datasets.joined(separator: ", "),
                 "rows": access.rows.map(String.init) ?? "", "outcome": access.outcome]
            },
            "uploads": report.uploads.map { upload -> [String: Any] in
                ["agency": upload.agency, "dataset": upload.dataset, "accepted": String(upload.accepted), "refused": String(upload.refused),
                 "rows": String(upload.rows), "last_accepted": upload.lastAccepted ?? ""]
            },
            "linkage_runs": report.linkageRuns.map { run -> [String: Any] in
                ["at": run.at, "run": String(run.run), "persons": String(run.persons), "merges": String(run.merges), "splits": String(run.splits),
                 "rates": rates(run)]
            },
            "refusals": report.refusals.map { refusal -> [String: Any] in
                ["at": refusal.at, "actor": refusal.actor, "action": refusal.action, "subject": refusal.subject,
                 "reasons": refusal.reasons.joined(separator: "; ")]
            },
        ]
        if let checkpoint {
            context["checkpoint"] = ["size": String(checkpoint.size), "root": Data(checkpoint.rootHash).base64EncodedString()]
        }
        return pages.render("access-report", context)
    }

    /// The CSV's columns; a section uses those that apply to it and leaves the rest empty.
    static let columns = ["section", "at", "who", "role", "action", "subject", "requester", "purpose", "justification_or_reason", "agency",
                          "dataset", "count", "rows", "detail", "outcome"]

    static func csv(_ report: AccessReport) -> [UInt8] {
        var writer = CSVWriter()
        writer.appendRecord(columns)
        func row(_ values: [String: String]) { writer.appendRecord(columns.map { values[$0] ?? "" }) }
        for access in report.accesses {
            row(["section": "access", "at": access.at, "who": access.actor, "role": access.role, "action": access.action, "subject": access.request,
                 "requester": access.requester, "purpose": access.purpose, "justification_or_reason": why(access),
                 "dataset": access.datasets.joined(separator: "; "), "rows": access.rows.map(String.init) ?? "", "outcome": access.outcome])
        }
        for upload in report.uploads {
            row(["section": "uploads", "at": upload.lastAccepted ?? "", "agency": upload.agency, "dataset": upload.dataset,
                 "count": String(upload.accepted), "rows": String(upload.rows), "detail": "refused: \(upload.refused)", "outcome": "accepted"])
        }
        for run in report.linkageRuns {
            row(["section": "linkage", "at": run.at, "who": "hub", "action": "linkage.update", "subject": "run \(run.run)", "count": String(run.persons),
                 "detail": "persons; merges \(run.merges); splits \(run.splits); " + rates(run)])
        }
        for refusal in report.refusals {
            row(["section": "refusal", "at": refusal.at, "who": refusal.actor, "action": refusal.action, "subject": refusal.subject,
                 "detail": refusal.reasons.joined(separator: "; "), "outcome": "refused"])
        }
        return writer.takeBytes()
    }

    /// Why an access happened: the requester's justification, and a decision's reason.
    private static func why(_ access: AccessReport.Access) -> String {
        [access.justification, access.reason.isEmpty ? "" : "decision: " + access.reason].filter { !$0.isEmpty }.joined(separator: " | ")
    }

    /// `dataset: linked / records (rate %)` per dataset.
    private static func rates(_ run: AccessReport.LinkageRunSummary) -> String {
        run.datasets.map { "\($0.dataset): \($0.linked) / \($0.records) (\(String(format: "%.1f", $0.rate * 100)) %)" }.joined(separator: "; ")
    }
}
