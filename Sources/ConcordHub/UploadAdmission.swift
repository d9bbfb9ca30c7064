import ConcordCore

/// Whether the hub may accept an envelope's extract, judged from its signed manifest alone against
/// the schemas and the agreements in force: asked when an upload starts (so a refused extract is
/// not sent at all) and again when it completes (agreements may have changed in between).
public struct UploadAdmission: Sendable {
    /// The dataset's schema at the hub, when the manifest's dataset and version are known.
    public var schema: DatasetSchema?
    /// What the agreements let the agency send: the exact columns the payload must have.
    public var release: ReleasePlan?
    /// The agreements the extract is accepted under, as named in the manifest.
    public var agreements: [Agreement]
    /// Each agreement's decision, for the audit log.
    public var decisions: [(agreement: String, decision: Decision)]
    /// Every reason to refuse; empty when admitted.
    public var reasons: [String]
    /// The last day the rows may be kept: the longest retention any of the agreements gives this dataset,
    /// counted from `today`.
    public var retainUntil: CivilDate?

    public var isAdmitted: Bool { reasons.isEmpty }

    /// - Parameters:
    ///   - agency: the authenticated sender.
    ///   - inForce: the latest applied version of each agreement at the hub, by id.
    ///   - today: the hub's UTC date.
    public init(manifest: EnvelopeManifest, agency: String, schemas: SchemaCatalogue, inForce: [String: Agreement], today: CivilDate) {
        agreements = []
        decisions = []
        reasons = []
        if manifest.agency != agency {
            reasons.append("the manifest is signed for agency \(manifest.agency), but \(agency) is sending it")
        }
        if let schema = schemas.schemas[manifest.dataset] {
            if schema.version == manifest.schemaVersion {
                self.schema = schema
            } else {
                reasons.append("\(manifest.dataset) is at schema version \(schema.version) at the hub; the extract follows version \(manifest.schemaVersion)")
            }
        } else {
            reasons.append("the hub has no schema for dataset \(manifest.dataset)")
        }
        if manifest.agreements.isEmpty { reasons.append("the manifest names no agreement; an extract is sent under at least one") }
        for name in manifest.agreements {
            guard let (id, version) = Self.split(name) else {
                reasons.append("'\(name)' is not an agreement reference <id>.v<version>")
                continue
            }
            guard let agreement = inForce[id] else {
                reasons.append("agreement \(id) is not applied at this hub")
                continue
            }
            guard agreement.version == version else {
                reasons.append("agreement \(id) is at version \(agreement.version) at this hub; the extract names version \(version)")
                continue
            }
            let decision = Decision.evaluate(
                DecisionRequest(principal: .agency(agency), action: .upload(dataset: manifest.dataset, columns: manifest.columns), date: today),
                under: agreement)
            decisions.append((name, decision))
            if decision.effect == .permit {
                agreements.append(agreement)
            } else {
                reasons += decision.reasons.map { "\(name): \($0)" }
            }
        }
        guard reasons.isEmpty, let schema else { return }
        do {
            let release = try ReleasePlan(schema: schema, agreements: agreements, agency: agency)
            if release.columns != manifest.columns {
                reasons.append("the columns are not what the agreements let \(agency) send of \(manifest.dataset): expected "
                               + release.columns.joined(separator: ", ") + "; got " + manifest.columns.joined(separator: ", "))
            }
            self.release = release
        } catch {
            reasons.append("\(error)")
        }
        retainUntil = agreements.compactMap { $0.permission(for: manifest.dataset)?.permission.retention.after(today) }.max()
    }

    /// `<id>.v<version>` → (id, version).
    static func split(_ reference: String) -> (String, Int)? {
        guard let dot = reference.lastIndex(of: "."), reference[dot...].hasPrefix(".v"),
              let version = Int(reference[reference.index(dot, offsetBy: 2)...]), version > 0 else { return nil }
        return (String(reference[..<dot]), version)
    }
}
