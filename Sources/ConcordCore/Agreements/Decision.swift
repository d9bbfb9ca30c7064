/// Who asks.
public enum Principal: Sendable, Hashable, CustomStringConvertible {
    /// An agency, by its id in agreements.
    case agency(String)
    /// An analyst, by their id among an agreement's recipients.
    case analyst(String)
    /// An information governance officer, by their id.
    case igOfficer(String)
    /// The hub itself: retention, linkage jobs.
    case system

    public var description: String {
        switch self {
        case .agency(let id): "agency \(id)"
        case .analyst(let id): "analyst \(id)"
        case .igOfficer(let id): "IG officer \(id)"
        case .system: "the system"
        }
    }
}

/// A field of a dataset.
public struct DatasetField: Sendable, Hashable, CustomStringConvertible {
    public var dataset: String
    public var field: String

    public init(_ dataset: String, _ field: String) {
        self.dataset = dataset
        self.field = field
    }

    public var description: String { "\(dataset).\(field)" }
}

/// What is asked.
public enum Action: Sendable, Hashable {
    /// Send an extract of `dataset` with these columns (fields and match keys).
    case upload(dataset: String, columns: [String])
    /// Obtain a dataset from these datasets' fields, linked or not, at this level.
    case request(datasets: [String], fields: [DatasetField], level: Agreement.OutputLevel, linked: Bool)
    /// Approve a request made by `requester`.
    case approve(requester: String)
    /// Read the audit log of the agreement.
    case readAuditLog
    /// Delete data held under the agreement (retention, termination).
    case purge
}

/// One question put to an agreement.
public struct DecisionRequest: Sendable, Hashable {
    public var principal: Principal
    public var action: Action
    /// The purpose code the principal states.
    public var purpose: String?
    /// The UTC date of the request.
    public var date: CivilDate

    public init(principal: Principal, action: Action, purpose: String? = nil, date: CivilDate) {
        self.principal = principal
        self.action = action
        self.purpose = purpose
        self.date = date
    }
}

/// Why a request is not simply permitted. Codes are stable (`docs/agreements.md`, section 5).
public struct DecisionReason: Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// The answer: permit, deny, or permit once an approver agrees; with every reason that applies.
public struct Decision: Sendable, Hashable {
    public enum Effect: String, Sendable, Hashable {
        case permit, deny
        case approvalRequired = "approval_required"
    }

    public var effect: Effect
    /// Every rule that failed (for `deny`), or why approval is needed.
    public var reasons: [DecisionReason]

    public init(effect: Effect, reasons: [DecisionReason]) {
        self.effect = effect
        self.reasons = reasons
    }

    /// Decides `request` under `agreement`: the one function the hub calls to permit or refuse.
    public static func evaluate(_ request: DecisionRequest, under agreement: Agreement) -> Decision {
        var reasons: [DecisionReason] = []
        func deny(_ code: String, _ message: String) { reasons.append(DecisionReason(code: code, message: message)) }

        if case .system = request.principal, case .purge = request.action {
            return Decision(effect: .permit, reasons: [])
        }
        if agreement.status != .active {
            deny("not-in-force", "agreement \(agreement.id) version \(agreement.version) is \(agreement.status.rawValue)")
        }
        if request.date < agreement.validFrom || request.date > agreement.validUntil {
            deny("outside-validity", "\(request.date) is outside the agreement's validity, \(agreement.validFrom) to \(agreement.validUntil)")
        }

        switch (request.principal, request.action) {
        case (.agency(let agency), .upload(let dataset, let columns)):
            guard let (provider, permission) = agreement.permission(for: dataset) else {
                deny("dataset-not-provided", "no provider contributes \(dataset) under this agreement")
                break
            }
            if provider.agency != agency {
                deny("not-a-provider", "\(dataset) is contributed by \(provider.agency), not \(agency)")
            }
            let linked = agreement.linkage.permitted && agreement.linkage.datasets.contains(dataset)
            var keys: Set<String> = linked ? Set(agreement.linkage.matchKeys) : []
            // An encoding (docs/pprl.md) serves the fuzzy pass alone: its columns only where that is permitted.
            if linked, agreement.linkage.fuzzy != nil { keys.formUnion(CLKParameters.standardColumns) }
            let fields = Set(permission.fields.map(\.field))
            for column in columns where !fields.contains(column) && !keys.contains(column) {
                deny("field-not-permitted", "\(dataset).\(column) is not permitted by the agreement")
            }

        case (.analyst(let analyst), .request(let datasets, let fields, let level, let linked)):
            if !agreement.analystIDs.contains(analyst) {
                deny("not-a-recipient", "\(analyst) is not named among the agreement's recipients")
            }
            if request.purpose != agreement.purpose.code {
                let stated = request.purpose.map { "'\($0)'" } ?? "no purpose"
                deny("purpose-mismatch", "\(stated) was stated; this agreement is for \(agreement.purpose.code)")
            }
            for dataset in datasets where agreement.permission(for: dataset) == nil {
                deny("dataset-not-provided", "no provider contributes \(dataset) under this agreement")
            }
            for field in fields {
                if !datasets.contains(field.dataset) {
                    deny("field-not-permitted", "\(field) belongs to a dataset the request does not name")
                } else if let (_, permission) = agreement.permission(for: field.dataset), !permission.fields.contains(where: { $0.field == field.field }) {
                    deny("field-not-permitted", "\(field) is not permitted by the agreement")
                }
            }
            if linked {
                if !agreement.linkage.permitted {
                    deny("linkage-not-permitted", "the agreement does not permit linkage")
                } else {
                    for dataset in datasets where !agreement.linkage.datasets.contains(dataset) {
                        deny("dataset-not-linkable", "\(dataset) is not among the datasets the agreement allows to be linked")
                    }
                }
            }
            if level == .rowLevel && agreement.outputs.level == .aggregate {
                deny("row-level-not-permitted", "the agreement allows aggregate outputs only")
            }
            if reasons.isEmpty && agreement.outputs.approvalRequired {
                return Decision(effect: .approvalRequired, reasons: [DecisionReason(
                    code: "approval-required", message: "an approver (\(agreement.outputs.approvers.joined(separator: ", "))) must approve the request")])
            }

        case (.igOfficer(let officer), .approve(let requester)):
            if !agreement.outputs.approvers.contains(officer) {
                deny("not-an-approver", "\(officer) is not an approver under this agreement")
            }
            if officer == requester {
                deny("self-approval", "nobody may approve their own request")
            }

        case (.igOfficer(let officer), .readAuditLog):
            // Reading the log is how an agreement is overseen, so it stays possible after the agreement ends.
            reasons.removeAll { $0.code == "not-in-force" || $0.code == "outside-validity" }
            if !agreement.outputs.approvers.contains(officer) && !agreement.igContacts.contains(where: { $0.id == officer }) {
                deny("not-an-approver", "\(officer) is neither an approver nor an IG contact of a party")
            }

        default:
            deny("action-not-allowed", "\(request.principal) may not do this under an agreement")
        }
        return Decision(effect: reasons.isEmpty ? .permit : .deny, reasons: reasons)
    }
}
