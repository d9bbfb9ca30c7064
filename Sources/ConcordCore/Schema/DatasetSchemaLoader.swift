import Yams

extension DatasetSchema {
    /// Loads a schema from YAML text, checking everything `docs/dataset-schema.md` requires.
    ///
    /// - Parameter file: the name to put in problem reports (the path the user gave).
    /// - Throws: `InvalidDocumentError` listing every problem found, each with line and field path.
    public init(yaml text: String, file: String) throws(InvalidDocumentError) {
        var loader = DatasetSchemaLoader(reader: YAMLDocumentReader(file: file))
        let schema = loader.load(text)
        guard let schema, loader.reader.problems.isEmpty else {
            throw InvalidDocumentError(problems: loader.reader.problems)
        }
        self = schema
    }
}

/// `^[a-z][a-z0-9_]{n}$` with `lengths` the allowed total lengths: the shape of every machine name
/// in a schema (dataset ids, identities, match keys).
private func isMachineName(_ text: String, lengths: ClosedRange<Int>) -> Bool {
    let bytes = Array(text.utf8)
    guard lengths.contains(bytes.count), let first = bytes.first, ASCII.isLower(first) else { return false }
    return bytes.allSatisfy { ASCII.isLower($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "_") }
}

private struct DatasetSchemaLoader {
    var reader: YAMLDocumentReader

    mutating func load(_ text: String) -> DatasetSchema? {
        guard let root = reader.parse(text),
              let top = reader.mapping(root, "", allowed: ["format", "dataset", "version", "title", "description", "provider_type", "csv", "fields", "match_keys", "fuzzy_encoding"])
        else { return nil }

        if let node = reader.required(top, "format"), let format = reader.string(node, "format"), format != DatasetSchema.format {
            reader.report(node, "format", "'\(format)' is not a format this version of Concord reads; expected \(DatasetSchema.format)")
        }
        let dataset = reader.required(top, "dataset").flatMap {
            reader.string($0, "dataset", expectation: "lower-case letters, digits and _, starting with a letter (2-64 characters)") { isMachineName($0, lengths: 2...64) }
        }
        var version: Int?
        if let node = reader.required(top, "version"), let value = reader.integer(node, "version") {
            if value >= 1 { version = value } else { reader.report(node, "version", "must be a positive whole number") }
        }
        let title = reader.required(top, "title").flatMap { reader.string($0, "title") }
        let description = top["description"].flatMap { reader.string($0, "description") }
        let providerType = top["provider_type"].flatMap {
            reader.keyword($0, "provider_type", in: ["local_authority", "police", "school", "health", "housing", "other"])
        }
        let dialect = top["csv"].flatMap { loadDialect($0) } ?? CSVDialect()
        let fields = reader.required(top, "fields").flatMap { loadFields($0) } ?? []
        let matchKeys = top["match_keys"].flatMap { loadMatchKeys($0, fields: fields) } ?? []
        for key in matchKeys where fields.contains(where: { $0.name == key.name }) {
            reader.report(top["match_keys"], "match_keys", "key '\(key.name)' has the same name as a field; output columns must be distinct")
        }

        let encoding = top["fuzzy_encoding"].flatMap { loadEncoding($0, fields: fields) }
        for column in encoding?.columns ?? [] where fields.contains(where: { $0.name == column }) || matchKeys.contains(where: { $0.name == column }) {
            reader.report(top["fuzzy_encoding"], "fuzzy_encoding", "the encoding's column '\(column)' has the name of a field or match key; output columns must be distinct")
        }

        guard let dataset, let version, let title else { return nil }
        return DatasetSchema(dataset: dataset, version: version, title: title, description: description,
                             providerType: providerType, dialect: dialect, fields: fields, matchKeys: matchKeys, encoding: encoding)
    }

    /// `fuzzy_encoding: {scheme: concord-clk/1, parameters: standard, key_version: N}`: the only
    /// parameter set of `concord-clk/1` is the standard one (`docs/pprl.md`, section 3).
    private mutating func loadEncoding(_ node: Node, fields: [Field]) -> CLKParameters? {
        guard let map = reader.mapping(node, "fuzzy_encoding", allowed: ["scheme", "parameters", "key_version"]) else { return nil }
        _ = reader.required(map, "scheme").flatMap { reader.keyword($0, map.path("scheme"), in: [CLKParameters.scheme]) }
        _ = reader.required(map, "parameters").flatMap { reader.keyword($0, map.path("parameters"), in: ["standard"]) }
        var keyVersion: Int?
        if let node = reader.required(map, "key_version"), let value = reader.integer(node, map.path("key_version")) {
            if LinkageKey.versions.contains(value) { keyVersion = value } else {
                reader.report(node, map.path("key_version"), "\(value) is not a linkage key version (\(LinkageKey.versions.lowerBound) to \(LinkageKey.versions.upperBound))")
            }
        }
        guard let keyVersion else { return nil }
        let parameters = CLKParameters.standard(keyVersion: keyVersion)
        let identities = fields.compactMap(\.identity)
        if !parameters.components.contains(where: { identities.contains($0.source) }) {
            reader.report(node, "fuzzy_encoding", "the schema has no field the encoding reads (surname, forename, date_of_birth or postcode identities)")
        }
        return parameters
    }

    private mutating func loadDialect(_ node: Node) -> CSVDialect? {
        guard let csv = reader.mapping(node, "csv", allowed: ["delimiter", "null_values"]) else { return nil }
        var dialect = CSVDialect()
        if let node = csv["delimiter"], let text = reader.string(node, csv.path("delimiter")) {
            let bytes = Array(text.utf8)
            if bytes.count == 1, bytes[0] < 0x80, ![UInt8(ascii: "\""), 0x0D, 0x0A].contains(bytes[0]) {
                dialect.delimiter = bytes[0]
            } else {
                reader.report(node, csv.path("delimiter"), "must be one ASCII character other than a quote, CR or LF")
            }
        }
        if let node = csv["null_values"], let values = reader.strings(node, csv.path("null_values")) {
            dialect.nullValues = Set(values)
        }
        return dialect
    }

    private mutating func loadFields(_ node: Node) -> [Field]? {
        guard let items = reader.sequence(node, "fields", nonEmpty: true) else { return nil }
        var fields: [Field] = []
        var seenNames: Set<String> = []
        var seenIdentities: Set<Identity> = []
        for (item, path) in items {
            guard let field = loadField(item, path) else { continue }
            if !seenNames.insert(field.name).inserted {
                reader.report(item, path + ".name", "'\(field.name)' is used by an earlier field; column names must be unique")
            }
            if let identity = field.identity, !seenIdentities.insert(identity).inserted {
                reader.report(item, path + ".identity", "'\(identity)' is already the identity of an earlier field; each identity may appear once")
            }
            fields.append(field)
        }
        return fields
    }

    private mutating func loadField(_ node: Node, _ path: String) -> Field? {
        guard let map = reader.mapping(node, path, allowed: ["name", "type", "role", "required", "description", "identity",
                                                             "values", "formats", "minimum", "maximum", "max_length", "generalise", "sensitivity"])
        else { return nil }
        let name = reader.required(map, "name").flatMap {
            reader.string($0, map.path("name"), expectation: "1-64 characters without control characters") { name in
                (1...64).contains(name.unicodeScalars.count) && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
            }
        }
        let role = reader.required(map, "role").flatMap {
            reader.keyword($0, map.path("role"), in: FieldRole.allCases.map(\.rawValue))
        }.flatMap(FieldRole.init(rawValue:))
        let required = map["required"].flatMap { reader.boolean($0, map.path("required")) } ?? false
        let description = map["description"].flatMap { reader.string($0, map.path("description")) }
        let sensitivity = map["sensitivity"].flatMap {
            reader.keyword($0, map.path("sensitivity"), in: Sensitivity.allCases.map(\.rawValue))
        }.flatMap(Sensitivity.init(rawValue:))
        guard let typeNode = reader.required(map, "type"), let type = loadType(typeNode, map) else { return nil }

        var identity: Identity?
        if let node = map["identity"], let keyword = reader.string(node, map.path("identity")) {
            if !isMachineName(keyword, lengths: 2...32) {
                reader.report(node, map.path("identity"), "'\(keyword)' is not a valid identity: lower-case letters, digits and _")
            } else if case .reference = Identity(keyword: keyword), MatchKeyComponent(keyword: keyword) != .reference(keyword) {
                reader.report(node, map.path("identity"), "'\(keyword)' is the name of a derived match-key component; choose another name for this reference scheme")
            } else {
                let candidate = Identity(keyword: keyword)
                if candidate.requiredTypeKeyword == type.keyword {
                    identity = candidate
                } else {
                    reader.report(node, map.path("identity"), "identity '\(keyword)' needs a field of type \(candidate.requiredTypeKeyword), not \(type.keyword)")
                }
            }
        }

        var generalisation: Generalisation?
        if let node = map["generalise"], let keyword = reader.string(node, map.path("generalise")) {
            if let value = Generalisation(keyword: keyword), value.applies(to: type) {
                generalisation = value
            } else {
                reader.report(node, map.path("generalise"), "'\(keyword)' does not apply to a \(type.keyword); use \(Self.generalisations(for: type))")
            }
        }
        if role == .quasiIdentifier, map["generalise"] == nil {
            reader.report(node, map.path("generalise"), "a quasi_identifier must say how it is generalised: \(Self.generalisations(for: type))")
        }
        if role != .quasiIdentifier, let node = map["generalise"] {
            reader.report(node, map.path("generalise"), "only a quasi_identifier is generalised")
        }
        if role == .identifier, ["boolean", "enum"].contains(type.keyword) {
            reader.report(typeNode, map.path("type"), "a \(type.keyword) cannot identify a person; use role attribute")
        }

        guard let name, let role else { return nil }
        return Field(name: name, type: type, role: role, required: required, description: description,
                     identity: identity, generalisation: generalisation, sensitivity: sensitivity)
    }

    private static func generalisations(for type: FieldType) -> String {
        switch type {
        case .date: "year or year_month"
        case .postcode: "postcode_sector, postcode_district or postcode_area"
        case .integer: "band_N with N the band width, e.g. band_5"
        default: "nothing: a \(type.keyword) cannot be generalised, so it cannot be a quasi_identifier"
        }
    }

    /// The type with its constraints; constraint keys that do not apply to the type are reported.
    private mutating func loadType(_ node: Node, _ map: YAMLDocumentReader.Mapping) -> FieldType? {
        guard let keyword = reader.string(node, map.path("type")) else { return nil }
        let constraints: Set<String>
        let type: FieldType?
        switch keyword {
        case "string":
            constraints = ["max_length"]
            type = .string(maximumLength: maximumLength(map))
        case "reference":
            constraints = ["max_length"]
            type = .reference(maximumLength: maximumLength(map))
        case "integer":
            constraints = ["minimum", "maximum"]
            let minimum = map["minimum"].flatMap { reader.integer($0, map.path("minimum")) }
            let maximum = map["maximum"].flatMap { reader.integer($0, map.path("maximum")) }
            if let minimum, let maximum, minimum > maximum { reader.report(map["maximum"], map.path("maximum"), "is below minimum") }
            type = .integer(minimum: minimum, maximum: maximum)
        case "decimal":
            constraints = ["minimum", "maximum"]
            let minimum = map["minimum"].flatMap { decimal($0, map.path("minimum")) }
            let maximum = map["maximum"].flatMap { decimal($0, map.path("maximum")) }
            if let minimum, let maximum, minimum > maximum { reader.report(map["maximum"], map.path("maximum"), "is below minimum") }
            type = .decimal(minimum: minimum, maximum: maximum)
        case "date":
            constraints = ["formats", "minimum", "maximum"]
            let formats = reader.required(map, "formats").flatMap { dateFormats($0, map.path("formats")) }
            let minimum = map["minimum"].flatMap { reader.date($0, map.path("minimum")) }
            let maximum = map["maximum"].flatMap { reader.date($0, map.path("maximum")) }
            if let minimum, let maximum, minimum > maximum { reader.report(map["maximum"], map.path("maximum"), "is before minimum") }
            type = formats.map { .date(formats: $0, minimum: minimum, maximum: maximum) }
        case "enum":
            constraints = ["values"]
            let values = reader.required(map, "values").flatMap { reader.strings($0, map.path("values"), nonEmpty: true) }
            if let values, Set(values).count != values.count {
                reader.report(map["values"], map.path("values"), "lists a value twice")
            }
            type = values.map { .enumeration(values: $0) }
        case "boolean": constraints = []; type = .boolean
        case "name": constraints = []; type = .name
        case "postcode": constraints = []; type = .postcode
        case "nhs_number": constraints = []; type = .nhsNumber
        case "sex": constraints = []; type = .sex
        default:
            reader.report(node, map.path("type"), "'\(keyword)' is not a type; expected one of string, integer, decimal, date, boolean, enum, name, postcode, nhs_number, sex, reference")
            return nil
        }
        for key in ["values", "formats", "minimum", "maximum", "max_length"] where !constraints.contains(key) {
            if let extra = map[key] {
                reader.report(extra, map.path(key), "does not apply to a field of type \(keyword)")
            }
        }
        return type
    }

    private mutating func maximumLength(_ map: YAMLDocumentReader.Mapping) -> Int? {
        guard let node = map["max_length"], let value = reader.integer(node, map.path("max_length")) else { return nil }
        guard value >= 1 else {
            reader.report(node, map.path("max_length"), "must be at least 1")
            return nil
        }
        return value
    }

    private mutating func decimal(_ node: Node, _ path: String) -> Double? {
        guard let text = reader.string(node, path) else { return nil }
        guard let value = Double(text), value.isFinite else {
            reader.report(node, path, "'\(text)' is not a number")
            return nil
        }
        return value
    }

    private mutating func dateFormats(_ node: Node, _ path: String) -> [DateFormat]? {
        guard let items = reader.sequence(node, path, nonEmpty: true) else { return nil }
        var formats: [DateFormat] = []
        for (item, itemPath) in items {
            guard let pattern = reader.string(item, itemPath) else { continue }
            if let format = DateFormat(pattern) {
                formats.append(format)
            } else {
                reader.report(item, itemPath, "'\(pattern)' is not a date format: use YYYY, MM, DD, M, D, MMM once each for year, month and day, and literal punctuation")
            }
        }
        return formats.count == items.count ? formats : nil
    }

    private mutating func loadMatchKeys(_ node: Node, fields: [Field]) -> [MatchKeyDefinition]? {
        guard let items = reader.sequence(node, "match_keys") else { return nil }
        let identities = Set(fields.compactMap(\.identity))
        var keys: [MatchKeyDefinition] = []
        for (item, path) in items {
            guard let map = reader.mapping(item, path, allowed: ["name", "components", "hashed_as", "description"]) else { continue }
            let name = reader.required(map, "name").flatMap {
                reader.string($0, map.path("name"), expectation: "lower-case letters, digits and _, starting with a letter (1-32 characters)") { isMachineName($0, lengths: 1...32) }
            }
            let description = map["description"].flatMap { reader.string($0, map.path("description")) }
            var components: [MatchKeyComponent] = []
            if let componentsNode = reader.required(map, "components"),
               let componentItems = reader.sequence(componentsNode, map.path("components"), nonEmpty: true) {
                for (componentNode, componentPath) in componentItems {
                    guard let keyword = reader.string(componentNode, componentPath) else { continue }
                    guard isMachineName(keyword, lengths: 2...32) else {
                        reader.report(componentNode, componentPath, "'\(keyword)' is not a component name")
                        continue
                    }
                    let component = MatchKeyComponent(keyword: keyword)
                    if components.contains(component) {
                        reader.report(componentNode, componentPath, "'\(keyword)' is listed twice")
                    } else if !identities.contains(component.source) {
                        reader.report(componentNode, componentPath, missingSourceMessage(component))
                    }
                    components.append(component)
                }
            }
            var hashedAs: String?
            if let hashedNode = map["hashed_as"], let target = reader.string(hashedNode, map.path("hashed_as")) {
                if let base = keys.first(where: { $0.name == target }) {
                    if base.components.map(\.hashLabel) != components.map(\.hashLabel) {
                        reader.report(hashedNode, map.path("hashed_as"), "components hash as [\(components.map(\.hashLabel).joined(separator: ", "))] but '\(target)' has [\(base.components.map(\.hashLabel).joined(separator: ", "))]; they must be the same, in order")
                    }
                    hashedAs = base.hashedAs
                } else {
                    reader.report(hashedNode, map.path("hashed_as"), "'\(target)' is not an earlier match key")
                }
            }
            guard let name else { continue }
            if keys.contains(where: { $0.name == name }) {
                reader.report(map["name"], map.path("name"), "'\(name)' is used by an earlier match key")
            }
            keys.append(MatchKeyDefinition(name: name, hashedAs: hashedAs, components: components, description: description))
        }
        return keys
    }

    private func missingSourceMessage(_ component: MatchKeyComponent) -> String {
        if case .reference(let scheme) = component.source {
            return "'\(component)' is neither a known component nor the identity of a reference field in this schema"
                + " (known components: surname, forename, date_of_birth, postcode, nhs_number, sex and their derivations; \(scheme) would need a reference field with identity \(scheme))"
        }
        return "'\(component)' needs a field with identity \(component.source), and this schema has none"
    }
}
