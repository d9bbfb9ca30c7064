/// What of a dataset leaves the agency: which match keys, and which fields at which
/// generalisation. By default everything the schema lets leave; under agreements, only what every
/// one of them permits, each field at the coarsest generalisation any of them (or the schema) asks,
/// so that no agreement receives more than it allows.
public struct ReleasePlan: Sendable, Hashable {
    /// A field that leaves, with the generalisation it leaves at.
    public typealias Field = Agreement.FieldPermission

    /// In the schema's order.
    public var matchKeys: [String]
    /// In the schema's order.
    public var fields: [Field]
    /// The privacy-preserving encoding sent after the fields (`docs/pprl.md`), when the schema
    /// defines one and every agreement lets it be used for fuzzy linkage.
    public var encoding: CLKParameters?

    /// The columns of the pseudonymised extract, in order: match keys, fields, then the
    /// encoding's `clk` and blocking tokens.
    public var columns: [String] { matchKeys + fields.map(\.field) + (encoding?.columns ?? []) }

    /// Everything the schema lets leave: all match keys, quasi-identifiers at the schema's
    /// generalisation, attributes as they are.
    public init(schema: DatasetSchema) {
        matchKeys = schema.matchKeys.map(\.name)
        fields = schema.releasableFields.map { Field(field: $0.name, generalisation: $0.role == .quasiIdentifier ? $0.generalisation : nil) }
        encoding = schema.encoding
    }

    /// What `agency` may send of `schema`'s dataset under all of `agreements` at once.
    public init(schema: DatasetSchema, agreements: [Agreement], agency: String) throws(ReleasePlanError) {
        guard !agreements.isEmpty else { throw .noAgreement }
        var permissions: [(Agreement, Agreement.DatasetPermission)] = []
        for agreement in agreements {
            guard let (provider, permission) = agreement.permission(for: schema.dataset), provider.agency == agency else {
                throw .notProvided(agreement: agreement.id, agency: agency, dataset: schema.dataset)
            }
            guard permission.schemaVersion == schema.version else {
                throw .schemaVersion(agreement: agreement.id, agreed: permission.schemaVersion, actual: schema.version)
            }
            permissions.append((agreement, permission))
        }
        matchKeys = schema.matchKeys.map(\.name).filter { key in
            permissions.allSatisfy { agreement, _ in
                agreement.linkage.permitted && agreement.linkage.datasets.contains(schema.dataset) && agreement.linkage.matchKeys.contains(key)
            }
        }
        var fields: [Field] = []
        for field in schema.releasableFields {
            let grants = permissions.compactMap { _, permission in permission.fields.first { $0.field == field.name } }
            guard grants.count == permissions.count else { continue }
            var candidates = grants.compactMap(\.generalisation)
            if field.role == .quasiIdentifier, let schemaGeneralisation = field.generalisation { candidates.append(schemaGeneralisation) }
            if candidates.isEmpty {
                fields.append(Field(field: field.name, generalisation: nil))
                continue
            }
            guard let coarsest = candidates.first(where: { candidate in candidates.allSatisfy { candidate.isAtLeastAsCoarse(as: $0) } }) else {
                throw .incompatibleGeneralisations(field: field.name, candidates.map(\.description))
            }
            fields.append(Field(field: field.name, generalisation: coarsest))
        }
        self.fields = fields
        // Encodings serve fuzzy linkage alone: sent only when every agreement links the dataset fuzzily.
        encoding = permissions.allSatisfy { agreement, _ in
            agreement.linkage.permitted && agreement.linkage.datasets.contains(schema.dataset) && agreement.linkage.fuzzy != nil
        } ? schema.encoding : nil
    }
}

/// Why an extract cannot be released under the given agreements.
public enum ReleasePlanError: Error, Sendable, Equatable, CustomStringConvertible {
    case noAgreement
    case notProvided(agreement: String, agency: String, dataset: String)
    case schemaVersion(agreement: String, agreed: Int, actual: Int)
    case incompatibleGeneralisations(field: String, [String])

    public var description: String {
        switch self {
        case .noAgreement: "an extract is sent under at least one agreement"
        case .notProvided(let agreement, let agency, let dataset):
            "under agreement \(agreement), \(agency) does not provide \(dataset); send it only under agreements that name it"
        case .schemaVersion(let agreement, let agreed, let actual):
            "agreement \(agreement) covers schema version \(agreed) of this dataset, not version \(actual)"
        case .incompatibleGeneralisations(let field, let generalisations):
            "\(field) is asked at \(generalisations.joined(separator: " and ")), none coarser than all the others; send under these agreements separately"
        }
    }
}
