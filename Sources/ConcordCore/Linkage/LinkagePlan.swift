/// How an agreement links its datasets (`docs/linkage.md`, section 2): the deterministic passes in
/// the agreement's order, which stored key columns each pass compares, and which keys name a
/// person uniquely.
public struct LinkagePlan: Sendable, Hashable {
    /// One deterministic pass: records are linked when they share a value of `key`.
    public struct Pass: Sendable, Hashable {
        /// The match key, as the agreement names it (`mk2`, `mk3_swapped`).
        public var key: String
        /// The index into `LinkagePlan.keys` of the key's own column.
        public var column: Int
        /// Further columns whose values compare with this key's: the key it is hashed as
        /// (`mk3_swapped` is compared with `mk3`). Empty for an ordinary key.
        public var comparedWith: [Int]
    }

    /// The agreement's match keys in pass order; `keys[i]` is column `i` of every node's key array.
    public var keys: [String]
    public var passes: [Pass]
    /// Indices into `keys` of the keys made of one person identifier alone (an NHS number, a
    /// unique pupil number): a person has one value of such a key, so two different values are a
    /// conflict, never a link.
    public var uniqueKeys: [Int]
    /// The linked datasets and, for each, which of `keys` it carries.
    public var datasets: [Dataset]

    public struct Dataset: Sendable, Hashable {
        public var name: String
        /// Per entry of `LinkagePlan.keys`: whether the dataset's schema defines that key.
        public var carries: [Bool]
        /// Whether the dataset's encodings take part in the fuzzy pass.
        public var encoded = false
    }

    /// The fuzzy pass after the deterministic ones (`docs/pprl.md`, section 5), when the
    /// agreement permits it.
    public var fuzzy: Fuzzy?

    public struct Fuzzy: Sendable, Hashable {
        public var policy: FuzzyMatchPolicy
        /// The encoding parameters every compared dataset was encoded under.
        public var parameters: CLKParameters
        /// Linked datasets whose schema encodes under other parameters or another linkage key
        /// version than the first encoded dataset: never compared (the hub refuses), with their
        /// fingerprint.
        public var refused: [String: String]
    }

    /// The evidence a fuzzy link is stored and reported with.
    public static let fuzzyEvidence = "fuzzy"

    /// The plan of `agreement`, with the keys' definitions from `catalogue`.
    ///
    /// - Throws: `LinkagePlanError` when linkage is not permitted, a key is defined by no linked
    ///   dataset, or two datasets define one key differently (their values could never match).
    public init(agreement: Agreement, catalogue: SchemaCatalogue) throws(LinkagePlanError) {
        guard agreement.linkage.permitted, !agreement.linkage.datasets.isEmpty else { throw .notPermitted(agreement: agreement.id) }
        let keys = agreement.linkage.matchKeys
        self.keys = keys
        var definitions: [String: MatchKeyDefinition] = [:]
        var datasets: [Dataset] = []
        for name in agreement.linkage.datasets {
            guard let schema = catalogue.schemas[name] else { throw .unknownDataset(name) }
            var carries: [Bool] = []
            for key in keys {
                guard let definition = schema.matchKeys.first(where: { $0.name == key }) else {
                    carries.append(false)
                    continue
                }
                if let known = definitions[key], known.hashedAs != definition.hashedAs || known.components != definition.components {
                    throw .inconsistentKey(key, datasets: datasets.filter { $0.carries[keys.firstIndex(of: key)!] }.map(\.name) + [name])
                }
                definitions[key] = definition
                carries.append(true)
            }
            datasets.append(Dataset(name: name, carries: carries))
        }
        if let policy = agreement.linkage.fuzzy {
            // A key named as the fuzzy evidence would make the two indistinguishable.
            if keys.contains(Self.fuzzyEvidence) { throw .reservedKeyName(Self.fuzzyEvidence) }
            var chosen: CLKParameters?
            var refused: [String: String] = [:]
            for index in datasets.indices {
                guard let encoding = catalogue.schemas[datasets[index].name]?.encoding else { continue }
                if let chosen, (try? chosen.requireComparable(with: encoding)) == nil {
                    refused[datasets[index].name] = encoding.fingerprint
                    continue
                }
                chosen = encoding
                datasets[index].encoded = true
            }
            if let chosen { fuzzy = Fuzzy(policy: policy, parameters: chosen, refused: refused) }
        }
        self.datasets = datasets
        var passes: [Pass] = []
        var uniqueKeys: [Int] = []
        for (index, key) in keys.enumerated() {
            guard let definition = definitions[key] else { throw .undefinedKey(key) }
            let comparedWith = definition.hashedAs == key ? [] : keys.indices.filter { other in
                other != index && (keys[other] == definition.hashedAs || definitions[keys[other]]?.hashedAs == definition.hashedAs)
            }
            passes.append(Pass(key: key, column: index, comparedWith: comparedWith))
            if definition.components.count == 1, definition.components[0].identifiesOnePerson { uniqueKeys.append(index) }
        }
        self.passes = passes
        self.uniqueKeys = uniqueKeys
    }

    /// Per entry of `keys`, the value space it belongs to (the index of the first key hashed the
    /// same way): keys of one space compare with each other (`mk3` and `mk3_swapped`).
    public var valueSpaces: [Int] {
        passes.map { ([$0.column] + $0.comparedWith).min()! }
    }

    /// What the plan links, in one line: a stored linkage made under another signature is
    /// rebuilt rather than updated.
    public var signature: String {
        let keyPart = passes.map { pass in ([pass.key] + pass.comparedWith.map { keys[$0] }).joined(separator: "~") }.joined(separator: ",")
        let base = "concord-linkage/1;keys=\(keyPart);unique=\(uniqueKeys.map { keys[$0] }.joined(separator: ","));datasets=\(datasets.map(\.name).joined(separator: ","))"
        // A linkage made without the fuzzy pass, or under another band or encoding, is rebuilt.
        guard let fuzzy else { return base }
        let encoded = datasets.filter(\.encoded).map(\.name).joined(separator: ",")
        return base + ";fuzzy=\(fuzzy.parameters.fingerprint):\(fuzzy.policy.threshold)/\(fuzzy.policy.reviewFloor):\(encoded)"
    }
}

extension MatchKeyComponent {
    /// Whether one person has one value of this component and nobody else shares it: a national
    /// identifier or a reference number, not a name, date or place.
    var identifiesOnePerson: Bool {
        switch self {
        case .nhsNumber, .reference: true
        default: false
        }
    }
}

/// Why an agreement's linkage cannot be planned.
public enum LinkagePlanError: Error, Sendable, Hashable, CustomStringConvertible {
    case notPermitted(agreement: String)
    case unknownDataset(String)
    case undefinedKey(String)
    case inconsistentKey(String, datasets: [String])
    case reservedKeyName(String)

    public var description: String {
        switch self {
        case .notPermitted(let agreement): "agreement \(agreement) does not permit linkage"
        case .unknownDataset(let name): "no schema describes dataset \(name)"
        case .undefinedKey(let key): "match key \(key) is defined by none of the linked datasets' schemas"
        case .inconsistentKey(let key, let datasets): "match key \(key) is defined differently by \(datasets.joined(separator: " and ")): their values could never match"
        case .reservedKeyName(let name): "a match key may not be named \(name) when the fuzzy pass is permitted: it is the fuzzy links' evidence"
        }
    }
}
