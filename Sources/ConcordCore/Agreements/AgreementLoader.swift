import Yams

/// The dataset schemas an agreement is checked against, by dataset name.
public struct SchemaCatalogue: Sendable {
    public var schemas: [String: DatasetSchema]

    public init(_ schemas: [DatasetSchema]) {
        self.schemas = Dictionary(schemas.map { ($0.dataset, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension Agreement {
    /// Loads an agreement from YAML, checking its format and, against `catalogue`, its meaning
    /// (`docs/agreements.md`, sections 2-4).
    ///
    /// - Throws: `InvalidDocumentError` with every problem, each with its line, path and lint code.
    public init(yaml text: String, file: String, catalogue: SchemaCatalogue) throws(InvalidDocumentError) {
        var loader = AgreementLoader(reader: YAMLDocumentReader(file: file), catalogue: catalogue)
        let agreement = loader.load(text)
        guard let agreement, loader.reader.problems.isEmpty else {
            throw InvalidDocumentError(problems: loader.reader.problems)
        }
        self = agreement
    }

    /// Loads several agreement files, reporting also the same id and version in two files.
    /// Returns the agreements that loaded and every problem found.
    public static func load(files: [(path: String, text: String)], catalogue: SchemaCatalogue) -> (agreements: [Agreement], problems: [DocumentProblem]) {
        var agreements: [Agreement] = []
        var problems: [DocumentProblem] = []
        var firstFile: [String: String] = [:]
        for (path, text) in files {
            do {
                let agreement = try Agreement(yaml: text, file: path, catalogue: catalogue)
                let key = "\(agreement.id) version \(agreement.version)"
                let expectedName = "\(agreement.id).v\(agreement.version).yaml"
                if path.split(separator: "/").last.map(String.init) != expectedName {
                    problems.append(DocumentProblem(file: path, line: nil, column: nil, path: "",
                                                    message: "the file of \(key) must be named \(expectedName)", code: "file-name"))
                }
                if let earlier = firstFile[key] {
                    problems.append(DocumentProblem(file: path, line: nil, column: nil, path: "id",
                                                    message: "\(key) is also defined in \(earlier); each version lives in one file",
                                                    code: "duplicate-agreement"))
                } else {
                    firstFile[key] = path
                    agreements.append(agreement)
                }
            } catch {
                problems += error.problems
            }
        }
        return (agreements, problems)
    }
}

private func isAgreementID(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard (2...64).contains(bytes.count), let first = bytes.first, ASCII.isLower(first) else { return false }
    return bytes.allSatisfy { ASCII.isLower($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") }
}

private func isPurposeCode(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard (2...32).contains(bytes.count), let first = bytes.first, ASCII.isUpper(first) else { return false }
    return bytes.allSatisfy { ASCII.isUpper($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") }
}

private struct AgreementLoader {
    var reader: YAMLDocumentReader
    let catalogue: SchemaCatalogue
    /// Datasets named by providers, even where the rest of their entry is invalid, so that one
    /// mistake does not also make every later check claim the dataset is missing.
    var declaredDatasets: Set<String> = []

    mutating func load(_ text: String) -> Agreement? {
        guard let root = reader.parse(text),
              let top = reader.mapping(root, "", allowed: ["format", "id", "version", "title", "status", "validity", "next_review", "purpose",
                                                           "lawful_basis", "parties", "linkage", "outputs", "retention", "security"])
        else { return nil }
        if let node = reader.required(top, "format"), let format = reader.string(node, "format"), format != Agreement.format {
            reader.report(node, "format", "'\(format)' is not a format this version of Concord reads; expected \(Agreement.format)")
        }
        let id = reader.required(top, "id").flatMap {
            reader.string($0, "id", expectation: "lower-case letters, digits and -, starting with a letter (2-64 characters)", isValid: isAgreementID)
        }
        var version: Int?
        if let node = reader.required(top, "version"), let value = reader.integer(node, "version") {
            if value >= 1 { version = value } else { reader.report(node, "version", "must be a positive whole number") }
        }
        let title = reader.required(top, "title").flatMap { reader.string($0, "title") }
        let status = reader.required(top, "status").flatMap {
            reader.keyword($0, "status", in: Agreement.Status.allCases.map(\.rawValue))
        }.flatMap(Agreement.Status.init(rawValue:))

        var validity: (CivilDate, CivilDate)?
        if let node = reader.required(top, "validity"), let map = reader.mapping(node, "validity", allowed: ["start", "end"]) {
            let start = reader.required(map, "start").flatMap { reader.date($0, map.path("start")) }
            let end = reader.required(map, "end").flatMap { reader.date($0, map.path("end")) }
            if let start, let end {
                if end < start { reader.report(map["end"], map.path("end"), "\(end) is before the start \(start)", code: "dates-out-of-order") }
                validity = (start, end)
            }
        }
        let nextReview = reader.required(top, "next_review").flatMap { reader.date($0, "next_review") }
        if let nextReview, let (start, end) = validity {
            if nextReview > end {
                reader.report(top["next_review"], "next_review", "\(nextReview) is after the agreement ends (\(end)); review before it ends", code: "dates-out-of-order")
            } else if nextReview < start {
                reader.report(top["next_review"], "next_review", "\(nextReview) is before the agreement starts (\(start))", code: "dates-out-of-order")
            }
        }
        let purpose = reader.required(top, "purpose").flatMap { loadPurpose($0) }
        let lawfulBasis = reader.required(top, "lawful_basis").flatMap { loadLawfulBasis($0) }
        let parties = reader.required(top, "parties").flatMap { loadParties($0) }
        let linkage = reader.required(top, "linkage").flatMap { loadLinkage($0) }
        let outputs = reader.required(top, "outputs").flatMap { loadOutputs($0) }
        let deleteWithin = reader.required(top, "retention").flatMap { loadRetention($0) }
        let security = reader.required(top, "security").flatMap { loadSecurity($0) }

        if let parties, let lawfulBasis {
            checkLawfulBasis(lawfulBasis, providers: parties.providers, node: top["lawful_basis"])
        }
        if let parties, let (start, _) = validity {
            for (index, signatory) in parties.signatories.enumerated() where signatory.date > start {
                reader.report(top["parties"], "parties.signatories[\(index)].date",
                              "signed on \(signatory.date), after the agreement starts (\(start)); nothing may be shared before every party has signed",
                              code: "dates-out-of-order")
            }
        }
        if let parties, let outputs {
            let contacts = Set((parties.providers.map(\.igContact) + parties.recipients.map(\.igContact)).map(\.id))
            for approver in outputs.approvers where !contacts.contains(approver) {
                reader.report(top["outputs"], "outputs.approval.approvers",
                              "\(approver) is not the id of any party's IG contact; approvers are IG officers (\(contacts.sorted().joined(separator: ", ")))",
                              code: "unknown-approver")
            }
            let analysts = Set(parties.recipients.flatMap { $0.people.map(\.id) })
            for approver in outputs.approvers where analysts.contains(approver) {
                reader.report(top["outputs"], "outputs.approval.approvers",
                              "\(approver) is also a named analyst; whoever approves requests must not be one who makes them", code: "approver-is-recipient")
            }
            let partyIDs = Set(parties.providers.map(\.agency) + parties.recipients.map(\.group))
            for (index, signatory) in parties.signatories.enumerated() where !partyIDs.contains(signatory.party) {
                reader.report(top["parties"], "parties.signatories[\(index)].party",
                              "\(signatory.party) is not a party to this agreement (\(partyIDs.sorted().joined(separator: ", ")))", code: "unknown-party")
            }
        }
        guard let id, let version, let title, let status, let validity, let nextReview, let purpose, let lawfulBasis,
              let parties, let linkage, let outputs, let deleteWithin, let security else { return nil }
        return Agreement(id: id, version: version, title: title, status: status, validFrom: validity.0, validUntil: validity.1,
                         nextReview: nextReview, purpose: purpose, lawfulBasis: lawfulBasis, providers: parties.providers,
                         recipients: parties.recipients, signatories: parties.signatories, linkage: linkage, outputs: outputs,
                         deleteWithinAfterEnd: deleteWithin, security: security)
    }

    // MARK: Sections

    private mutating func loadPurpose(_ node: Node) -> Agreement.Purpose? {
        guard let map = reader.mapping(node, "purpose", allowed: ["code", "statement", "permitted_uses", "prohibitions"]) else { return nil }
        let code = reader.required(map, "code").flatMap {
            reader.string($0, map.path("code"), expectation: "upper-case letters, digits and -, starting with a letter (2-32 characters)", isValid: isPurposeCode)
        }
        let statement = reader.required(map, "statement").flatMap { reader.string($0, map.path("statement")) }
        let uses = reader.required(map, "permitted_uses").flatMap { reader.strings($0, map.path("permitted_uses"), nonEmpty: true) }
        var prohibitions: [Agreement.Prohibition]?
        if let node = reader.required(map, "prohibitions"), let items = reader.sequence(node, map.path("prohibitions"), nonEmpty: true) {
            prohibitions = items.compactMap { item, path in
                reader.keyword(item, path, in: Agreement.Prohibition.allCases.map(\.rawValue)).flatMap(Agreement.Prohibition.init(rawValue:))
            }
        }
        guard let code, let statement, let uses, let prohibitions else { return nil }
        return Agreement.Purpose(code: code, statement: statement, permittedUses: uses, prohibitions: prohibitions)
    }

    private mutating func loadLawfulBasis(_ node: Node) -> Agreement.LawfulBasis? {
        guard let map = reader.mapping(node, "lawful_basis", allowed: ["article_6", "article_9", "article_10"]) else { return nil }
        let article6 = reader.required(map, "article_6").flatMap { loadClause($0, map.path("article_6"), key: "basis", vocabulary: Agreement.LawfulBasis.article6Bases) }
        let article9 = map["article_9"].flatMap { loadClause($0, map.path("article_9"), key: "condition", vocabulary: Agreement.LawfulBasis.article9Conditions) }
        let article10 = map["article_10"].flatMap { loadClause($0, map.path("article_10"), key: "condition", vocabulary: Agreement.LawfulBasis.article10Conditions) }
        guard let article6 else { return nil }
        return Agreement.LawfulBasis(article6: article6, article9: article9, article10: article10)
    }

    private mutating func loadClause(_ node: Node, _ path: String, key: String, vocabulary: [String]) -> Agreement.Clause? {
        guard let map = reader.mapping(node, path, allowed: [key, "citation"]) else { return nil }
        let name = reader.required(map, key).flatMap { reader.keyword($0, map.path(key), in: vocabulary) }
        let citation = reader.required(map, "citation").flatMap { reader.string($0, map.path("citation")) }
        guard let name, let citation else { return nil }
        return Agreement.Clause(name: name, citation: citation)
    }

    private mutating func loadParties(_ node: Node) -> (providers: [Agreement.Provider], recipients: [Agreement.Recipient], signatories: [Agreement.Signatory])? {
        guard let map = reader.mapping(node, "parties", allowed: ["providers", "recipients", "signatories"]) else { return nil }
        var seenDatasets: Set<String> = []
        let providers = reader.required(map, "providers").flatMap { reader.sequence($0, map.path("providers"), nonEmpty: true) }?
            .compactMap { loadProvider($0, $1, seenDatasets: &seenDatasets) }
        let recipients = reader.required(map, "recipients").flatMap { reader.sequence($0, map.path("recipients"), nonEmpty: true) }?
            .compactMap { loadRecipient($0, $1) }
        let signatories = reader.required(map, "signatories").flatMap { reader.sequence($0, map.path("signatories"), nonEmpty: true) }?
            .compactMap { loadSignatory($0, $1) }
        guard let providers, let recipients, let signatories else { return nil }
        return (providers, recipients, signatories)
    }

    private mutating func loadContact(_ node: Node, _ path: String) -> Agreement.Contact? {
        guard let map = reader.mapping(node, path, allowed: ["id", "name", "email"]) else { return nil }
        let id = identifier(map, "id")
        let name = reader.required(map, "name").flatMap { reader.string($0, map.path("name")) }
        let email = reader.required(map, "email").flatMap {
            reader.string($0, map.path("email"), expectation: "an email address") { $0.contains("@") && !$0.contains(" ") }
        }
        guard let id, let name, let email else { return nil }
        return Agreement.Contact(id: id, name: name, email: email)
    }

    private mutating func identifier(_ map: YAMLDocumentReader.Mapping, _ key: String) -> String? {
        reader.required(map, key).flatMap {
            reader.string($0, map.path(key), expectation: "lower-case letters, digits and -, starting with a letter", isValid: isAgreementID)
        }
    }

    private mutating func loadProvider(_ node: Node, _ path: String, seenDatasets: inout Set<String>) -> Agreement.Provider? {
        guard let map = reader.mapping(node, path, allowed: ["agency", "name", "role", "ig_contact", "datasets"]) else { return nil }
        let agency = identifier(map, "agency")
        let name = reader.required(map, "name").flatMap { reader.string($0, map.path("name")) }
        let role = reader.required(map, "role").flatMap { reader.keyword($0, map.path("role"), in: ["controller", "joint_controller"]) }
        let contact = reader.required(map, "ig_contact").flatMap { loadContact($0, map.path("ig_contact")) }
        var datasets: [Agreement.DatasetPermission]?
        if let node = reader.required(map, "datasets"), let items = reader.sequence(node, map.path("datasets"), nonEmpty: true) {
            datasets = items.compactMap { item, itemPath in
                let permission = loadDatasetPermission(item, itemPath)
                if let permission, !seenDatasets.insert(permission.dataset).inserted {
                    reader.report(item, itemPath, "dataset \(permission.dataset) is contributed twice; list it once, under the provider that exports it", code: "duplicate-dataset")
                }
                return permission
            }
        }
        guard let agency, let name, let role, let contact, let datasets else { return nil }
        return Agreement.Provider(agency: agency, name: name, role: role, igContact: contact, datasets: datasets)
    }

    private mutating func loadDatasetPermission(_ node: Node, _ path: String) -> Agreement.DatasetPermission? {
        guard let map = reader.mapping(node, path, allowed: ["dataset", "schema_version", "fields", "retention"]) else { return nil }
        let dataset = reader.required(map, "dataset").flatMap { reader.string($0, map.path("dataset")) }
        if let dataset { declaredDatasets.insert(dataset) }
        let schemaVersion = reader.required(map, "schema_version").flatMap { reader.integer($0, map.path("schema_version")) }
        var schema: DatasetSchema?
        if let dataset, let schemaVersion {
            if let known = catalogue.schemas[dataset] {
                if known.version == schemaVersion {
                    schema = known
                } else {
                    reader.report(map["schema_version"], map.path("schema_version"), "dataset \(dataset) has schema version \(known.version), not \(schemaVersion)", code: "unknown-dataset")
                }
            } else {
                let known = catalogue.schemas.keys.sorted().joined(separator: ", ")
                reader.report(map["dataset"], map.path("dataset"), "'\(dataset)' is not a dataset in the schemas (known: \(known))", code: "unknown-dataset")
            }
        }
        var fields: [Agreement.FieldPermission]?
        if let node = reader.required(map, "fields"), let items = reader.sequence(node, map.path("fields"), nonEmpty: true) {
            var seen: Set<String> = []
            fields = items.compactMap { item, itemPath in
                let field = loadFieldPermission(item, itemPath, schema: schema)
                if let field, !seen.insert(field.field).inserted {
                    reader.report(item, itemPath, "\(field.field) is listed twice", code: "duplicate-field")
                }
                return field
            }
        }
        var retention: ISODuration?
        if let node = map["retention"] {
            retention = duration(node, map.path("retention"))
        } else {
            reader.report(node, map.path("retention"), "no retention for dataset \(dataset ?? "?"): say how long it is kept, e.g. P2Y", code: "retention-missing")
        }
        guard let dataset, let schemaVersion, let fields, let retention else { return nil }
        return Agreement.DatasetPermission(dataset: dataset, schemaVersion: schemaVersion, fields: fields, retention: retention)
    }

    private mutating func loadFieldPermission(_ node: Node, _ path: String, schema: DatasetSchema?) -> Agreement.FieldPermission? {
        var name: String?
        var generalisation: Generalisation?
        var generalisationNode: Node?
        if case .scalar = node {
            name = reader.string(node, path)
        } else if let map = reader.mapping(node, path, allowed: ["field", "generalise"]) {
            name = reader.required(map, "field").flatMap { reader.string($0, map.path("field")) }
            if let keywordNode = reader.required(map, "generalise"), let keyword = reader.string(keywordNode, map.path("generalise")) {
                generalisationNode = keywordNode
                generalisation = Generalisation(keyword: keyword)
                if generalisation == nil {
                    reader.report(keywordNode, map.path("generalise"), "'\(keyword)' is not a generalisation", code: "generalisation-too-fine")
                }
            }
        }
        guard let name else { return nil }
        if let schema {
            guard let field = schema.field(named: name) else {
                reader.report(node, path, "dataset \(schema.dataset) has no field '\(name)'", code: "unknown-field")
                return nil
            }
            switch field.role {
            case .identifier:
                reader.report(node, path, "\(name) is an identifier: it never leaves the agency, only its match keys do", code: "identifier-permitted")
            case .freeText:
                reader.report(node, path, "\(name) is free text: it may not leave the agency under \(Agreement.format)", code: "free-text-permitted")
            case .attribute:
                // Coarsening an attribute is data minimisation, allowed wherever it applies.
                if let generalisation, !generalisation.applies(to: field.type) {
                    reader.report(generalisationNode, path + ".generalise", "\(generalisation) does not apply to \(name), a \(field.type.keyword)", code: "generalisation-too-fine")
                }
            case .quasiIdentifier:
                if let generalisation, let schemaGeneralisation = field.generalisation, !generalisation.isAtLeastAsCoarse(as: schemaGeneralisation) {
                    reader.report(generalisationNode, path + ".generalise",
                                  "\(generalisation) is finer than or unlike the schema's \(schemaGeneralisation) for \(name); an agreement may only coarsen",
                                  code: "generalisation-too-fine")
                }
            }
        }
        return Agreement.FieldPermission(field: name, generalisation: generalisation)
    }

    private mutating func loadRecipient(_ node: Node, _ path: String) -> Agreement.Recipient? {
        guard let map = reader.mapping(node, path, allowed: ["group", "name", "people", "ig_contact"]) else { return nil }
        let group = identifier(map, "group")
        let name = reader.required(map, "name").flatMap { reader.string($0, map.path("name")) }
        let contact = reader.required(map, "ig_contact").flatMap { loadContact($0, map.path("ig_contact")) }
        var people: [Agreement.Person]?
        if let node = reader.required(map, "people"), let items = reader.sequence(node, map.path("people"), nonEmpty: true) {
            people = items.compactMap { item, itemPath in
                guard let person = reader.mapping(item, itemPath, allowed: ["id", "name"]) else { return nil }
                let id = identifier(person, "id")
                let name = reader.required(person, "name").flatMap { reader.string($0, person.path("name")) }
                guard let id, let name else { return nil }
                return Agreement.Person(id: id, name: name)
            }
        }
        guard let group, let name, let contact, let people else { return nil }
        return Agreement.Recipient(group: group, name: name, people: people, igContact: contact)
    }

    private mutating func loadSignatory(_ node: Node, _ path: String) -> Agreement.Signatory? {
        guard let map = reader.mapping(node, path, allowed: ["name", "role", "party", "date"]) else { return nil }
        let name = reader.required(map, "name").flatMap { reader.string($0, map.path("name")) }
        let role = reader.required(map, "role").flatMap { reader.string($0, map.path("role")) }
        let party = identifier(map, "party")
        let date = reader.required(map, "date").flatMap { reader.date($0, map.path("date")) }
        guard let name, let role, let party, let date else { return nil }
        return Agreement.Signatory(name: name, role: role, party: party, date: date)
    }

    private mutating func loadLinkage(_ node: Node) -> Agreement.Linkage? {
        guard let map = reader.mapping(node, "linkage", allowed: ["permitted", "datasets", "match_keys", "fuzzy"]) else { return nil }
        guard let permitted = reader.required(map, "permitted").flatMap({ reader.boolean($0, map.path("permitted")) }) else { return nil }
        guard permitted else {
            for key in ["datasets", "match_keys", "fuzzy"] where map[key] != nil {
                reader.report(map[key], map.path(key), "linkage is not permitted, so there is nothing to list here")
            }
            return Agreement.Linkage(permitted: false, datasets: [], matchKeys: [])
        }
        let datasets = reader.required(map, "datasets").flatMap { reader.strings($0, map.path("datasets"), nonEmpty: true) } ?? []
        let keys = reader.required(map, "match_keys").flatMap { reader.strings($0, map.path("match_keys"), nonEmpty: true) } ?? []
        if datasets.count == 1 {
            reader.report(map["datasets"], map.path("datasets"), "linkage needs at least two datasets")
        }
        for dataset in datasets where !declaredDatasets.contains(dataset) {
            reader.report(map["datasets"], map.path("datasets"), "\(dataset) is linked but no provider contributes it", code: "linkage-dataset-not-provided")
        }
        for key in keys {
            let having = datasets.filter { catalogue.schemas[$0]?.matchKeys.contains { $0.name == key } == true }
            if having.count < 2 {
                let which = having.isEmpty ? "none of the linked datasets has it" : "only \(having[0]) has it"
                reader.report(map["match_keys"], map.path("match_keys"), "match key \(key) links nothing: \(which)", code: "unknown-match-key")
            }
        }
        let fuzzy = map["fuzzy"].flatMap { loadFuzzy($0, map.path("fuzzy")) }
        return Agreement.Linkage(permitted: true, datasets: datasets, matchKeys: keys, fuzzy: fuzzy)
    }

    /// `fuzzy: {threshold: 0.8, review_floor: 0.7}`, each optional (the standard band by default).
    private mutating func loadFuzzy(_ node: Node, _ path: String) -> FuzzyMatchPolicy? {
        guard let map = reader.mapping(node, path, allowed: ["threshold", "review_floor"]) else { return nil }
        func fraction(_ key: String, default value: Double) -> Double? {
            guard let node = map[key] else { return value }
            guard let text = reader.string(node, map.path(key)) else { return nil }
            guard let number = Double(text), number.isFinite else {
                reader.report(node, map.path(key), "'\(text)' is not a number")
                return nil
            }
            return number
        }
        guard let threshold = fraction("threshold", default: FuzzyMatchPolicy.standard.threshold),
              let floor = fraction("review_floor", default: FuzzyMatchPolicy.standard.reviewFloor) else { return nil }
        do {
            return try FuzzyMatchPolicy(threshold: threshold, reviewFloor: floor)
        } catch {
            reader.report(node, path, "\(error)")
            return nil
        }
    }

    private mutating func loadOutputs(_ node: Node) -> Agreement.Outputs? {
        guard let map = reader.mapping(node, "outputs", allowed: ["level", "minimum_cell_count", "rounding_base", "approval"]) else { return nil }
        let level = reader.required(map, "level").flatMap {
            reader.keyword($0, map.path("level"), in: Agreement.OutputLevel.allCases.map(\.rawValue))
        }.flatMap(Agreement.OutputLevel.init(rawValue:))
        let minimum = map["minimum_cell_count"].flatMap { positive($0, map.path("minimum_cell_count")) }
        let rounding = map["rounding_base"].flatMap { positive($0, map.path("rounding_base")) }
        if level == .aggregate {
            for (key, value) in [("minimum_cell_count", minimum), ("rounding_base", rounding)] where value == nil && map[key] == nil {
                reader.report(node, map.path(key), "aggregate outputs need \(key) (disclosure control, e.g. 10 and 5)", code: "aggregate-without-disclosure-control")
            }
        }
        var approvalRequired: Bool?
        var approvers: [String] = []
        if let approvalNode = reader.required(map, "approval"),
           let approval = reader.mapping(approvalNode, map.path("approval"), allowed: ["required", "approvers"]) {
            approvalRequired = reader.required(approval, "required").flatMap { reader.boolean($0, approval.path("required")) }
            approvers = approval["approvers"].flatMap { reader.strings($0, approval.path("approvers")) } ?? []
            if approvalRequired == true && approvers.isEmpty {
                reader.report(approvalNode, approval.path("approvers"), "requests need approval but nobody may approve them: list the approvers' ids", code: "approvers-missing")
            }
        }
        guard let level, let approvalRequired else { return nil }
        return Agreement.Outputs(level: level, minimumCellCount: minimum, roundingBase: rounding, approvalRequired: approvalRequired, approvers: approvers)
    }

    private mutating func loadRetention(_ node: Node) -> ISODuration? {
        guard let map = reader.mapping(node, "retention", allowed: ["on_end"]),
              let onEnd = reader.required(map, "on_end"),
              let end = reader.mapping(onEnd, map.path("on_end"), allowed: ["delete_within"]) else { return nil }
        return reader.required(end, "delete_within").flatMap { duration($0, end.path("delete_within")) }
    }

    private mutating func loadSecurity(_ node: Node) -> Agreement.Security? {
        guard let map = reader.mapping(node, "security", allowed: ["encryption_in_transit", "encryption_at_rest", "analyst_environment"]) else { return nil }
        let transit = reader.required(map, "encryption_in_transit").flatMap { reader.keyword($0, map.path("encryption_in_transit"), in: ["required"]) }
        let rest = reader.required(map, "encryption_at_rest").flatMap { reader.keyword($0, map.path("encryption_at_rest"), in: ["required"]) }
        let environment = reader.required(map, "analyst_environment").flatMap {
            reader.keyword($0, map.path("analyst_environment"), in: ["secure_research_environment", "secure_workstation"])
        }
        guard let transit, let rest, let environment else { return nil }
        return Agreement.Security(encryptionInTransit: transit, encryptionAtRest: rest, analystEnvironment: environment)
    }

    // MARK: Checks across sections

    /// Sensitive fields shared need the matching condition.
    private mutating func checkLawfulBasis(_ basis: Agreement.LawfulBasis, providers: [Agreement.Provider], node: Node?) {
        var special: [String] = []
        var criminal: [String] = []
        for permission in providers.flatMap(\.datasets) {
            guard let schema = catalogue.schemas[permission.dataset] else { continue }
            for allowed in permission.fields {
                switch schema.field(named: allowed.field)?.sensitivity {
                case .specialCategory: special.append("\(permission.dataset).\(allowed.field)")
                case .criminalOffence: criminal.append("\(permission.dataset).\(allowed.field)")
                case nil: break
                }
            }
        }
        if !special.isEmpty && basis.article9 == nil {
            reader.report(node, "lawful_basis.article_9", "special-category data is shared (\(special.joined(separator: ", "))) without an Article 9 condition", code: "article-9-missing")
        }
        if !criminal.isEmpty && basis.article10 == nil {
            reader.report(node, "lawful_basis.article_10", "criminal-offence data is shared (\(criminal.joined(separator: ", "))) without an Article 10 condition", code: "article-10-missing")
        }
    }

    // MARK: Values

    private mutating func duration(_ node: Node, _ path: String) -> ISODuration? {
        guard let text = reader.string(node, path) else { return nil }
        guard let value = ISODuration(text) else {
            reader.report(node, path, "'\(text)' is not an ISO 8601 duration such as P2Y, P18M or P30D")
            return nil
        }
        return value
    }

    private mutating func positive(_ node: Node, _ path: String) -> Int? {
        guard let value = reader.integer(node, path) else { return nil }
        guard value >= 1 else {
            reader.report(node, path, "must be at least 1")
            return nil
        }
        return value
    }
}
