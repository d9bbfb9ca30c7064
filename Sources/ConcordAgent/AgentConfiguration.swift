import ConcordCore
import Foundation
import Yams

/// An agency agent's configuration (`concord-agent/1`, `docs/agent.md`): who the agency is, which
/// hub it sends to and the hub keys it pins, its own keys, where its state lives, and the datasets
/// it sends under which agreements.
///
/// Loading checks the document's form and values and reports every problem with its file, line and
/// field; ``AgentSetup`` then checks what the settings point at (key files, schemas, agreements).
/// Relative paths are resolved against the configuration file's folder.
public struct AgentConfiguration: Sendable {
    public static let format = "concord-agent/1"

    /// How a dataset's extracts relate to each other, as the manifest tells the hub: a snapshot is
    /// the whole dataset (the newest file matching `extract` is sent) and replaces the previous one;
    /// an append holds new rows only (every matching file is sent once, oldest name first).
    public typealias Mode = EnvelopeManifest.Mode

    /// The hub: where it is and the keys pinned for it.
    public struct Hub: Sendable {
        /// `https://host[:port]`, without a path (requests are signed over their exact path).
        public var url: String
        /// The hub's X25519 key envelopes are encrypted to.
        public var encryptionKey: PublicKeyLine
        /// The hub's Ed25519 key its receipts must be signed with.
        public var receiptKey: PublicKeyLine
        /// Further hub keys receipts may be signed with: the hub's next key, pinned before the
        /// hub switches to it (docs/agent.md, "Hub key rotation").
        public var additionalReceiptKeys: [PublicKeyLine] = []
        /// PEM certificates of a private CA to trust instead of the system's roots.
        public var caFile: String?
    }

    /// One dataset the agency sends.
    public struct Dataset: Sendable {
        public var name: String
        public var schema: String
        /// A path, or a glob pattern (`*`, `?`, `[...]`) in its last component.
        public var extract: String
        public var mode: Mode
        /// Agreement ids; the latest version of each in the agreements folder applies.
        public var agreements: [String]
    }

    /// The configuration file, as named.
    public var file: String
    public var agency: String
    public var hub: Hub
    public var signingKey: String
    public var linkageKey: String
    public var stateDirectory: String
    public var agreementsDirectory: String
    public var schemasDirectory: String
    /// Above this share of rejected rows, an extract is held back rather than sent.
    public var maximumRejectShare: Double
    public var retry: RetryPolicy
    /// In name order.
    public var datasets: [Dataset]
    /// Where each setting is written (`datasets.police.schema` → line and column), so that checks
    /// made after loading can point at the line to fix.
    var locations: [String: Mark]

    /// A problem with the setting at `path`, located at its line.
    public func problem(_ path: String, _ message: String) -> DocumentProblem {
        let mark = locations[path]
        return DocumentProblem(file: file, line: mark?.line, column: mark?.column, path: path, message: message)
    }

    /// Reads and checks the configuration file at `path`.
    public static func load(path: String) throws(InvalidDocumentError) -> AgentConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InvalidDocumentError(problems: [DocumentProblem(file: path, line: nil, column: nil, path: "", message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InvalidDocumentError(problems: [DocumentProblem(file: path, line: nil, column: nil, path: "", message: "not UTF-8 text")])
        }
        return try AgentConfiguration(yaml: text, file: path)
    }

    /// Parses a configuration; `file` names it in problems and anchors its relative paths.
    public init(yaml text: String, file: String) throws(InvalidDocumentError) {
        var loader = ConfigurationLoader(reader: YAMLDocumentReader(file: file), base: (file as NSString).deletingLastPathComponent)
        guard let configuration = loader.load(text), loader.reader.problems.isEmpty else {
            throw InvalidDocumentError(problems: loader.reader.problems)
        }
        self = configuration
    }

    fileprivate init(file: String, agency: String, hub: Hub, signingKey: String, linkageKey: String, stateDirectory: String,
                     agreementsDirectory: String, schemasDirectory: String, maximumRejectShare: Double, retry: RetryPolicy,
                     datasets: [Dataset], locations: [String: Mark]) {
        self.file = file
        self.agency = agency
        self.hub = hub
        self.signingKey = signingKey
        self.linkageKey = linkageKey
        self.stateDirectory = stateDirectory
        self.agreementsDirectory = agreementsDirectory
        self.schemasDirectory = schemasDirectory
        self.maximumRejectShare = maximumRejectShare
        self.retry = retry
        self.datasets = datasets
        self.locations = locations
    }
}

/// `^[a-z][a-z0-9_-]{1,63}$`: agency ids and dataset names.
private func isIdentifier(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard (2...64).contains(bytes.count), let first = bytes.first, isLower(first) else { return false }
    return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
}

private func isLower(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

private struct ConfigurationLoader {
    var reader: YAMLDocumentReader
    /// The configuration file's folder: relative paths are relative to it.
    let base: String
    var locations: [String: Mark] = [:]

    mutating func load(_ text: String) -> AgentConfiguration? {
        guard let root = reader.parse(text),
              let top = reader.mapping(root, "", allowed: ["format", "agency", "hub", "signing_key", "linkage_key", "state_dir", "agreements_dir",
                                                           "schemas_dir", "max_reject_share", "retry", "datasets"])
        else { return nil }
        for (key, node) in top.entries { locations[key] = node.mark }

        if let node = reader.required(top, "format"), let format = reader.string(node, "format"), format != AgentConfiguration.format {
            reader.report(node, "format", "'\(format)' is not a format this version of Concord reads; expected \(AgentConfiguration.format)")
        }
        let agency = reader.required(top, "agency").flatMap {
            reader.string($0, "agency", expectation: "the agency's id: lower-case letters, digits, - and _ (2-64 characters)", isValid: isIdentifier)
        }
        let hub = reader.required(top, "hub").flatMap { loadHub($0) }
        let signingKey = path(top, "signing_key", required: true)
        let linkageKey = path(top, "linkage_key", required: true)
        let agreements = path(top, "agreements_dir", required: true)
        let schemas = path(top, "schemas_dir", required: true)
        let state = path(top, "state_dir", required: false) ?? (base.isEmpty ? "." : base)
        var rejectShare: Double? = 0.05
        if let node = top["max_reject_share"] {
            rejectShare = decimal(node, "max_reject_share", in: 0...1, expectation: "a share from 0 to 1, such as 0.05 for 5%")
        }
        let retry = top["retry"].map { loadRetry($0) } ?? RetryPolicy()
        let datasets = reader.required(top, "datasets").flatMap { loadDatasets($0) } ?? []

        guard let agency, let hub, let signingKey, let linkageKey, let agreements, let schemas, let rejectShare, let retry else { return nil }
        return AgentConfiguration(file: reader.file, agency: agency, hub: hub, signingKey: signingKey, linkageKey: linkageKey, stateDirectory: state,
                                  agreementsDirectory: agreements, schemasDirectory: schemas, maximumRejectShare: rejectShare, retry: retry,
                                  datasets: datasets, locations: locations)
    }

    mutating func loadHub(_ node: Node) -> AgentConfiguration.Hub? {
        guard let hub = reader.mapping(node, "hub", allowed: ["url", "encryption_key", "receipt_key", "additional_receipt_keys", "ca_file"]) else { return nil }
        for (key, value) in hub.entries { locations[hub.path(key)] = value.mark }
        let url = reader.required(hub, "url").flatMap { node -> String? in
            guard let text = reader.string(node, "hub.url") else { return nil }
            switch HubURL.check(text) {
            case .success(let url): return url
            case .failure(let problem):
                reader.report(node, "hub.url", problem.description)
                return nil
            }
        }
        let encryption = reader.required(hub, "encryption_key").flatMap { keyLine($0, "hub.encryption_key", kind: .hubEncryption) }
        let receipt = reader.required(hub, "receipt_key").flatMap { keyLine($0, "hub.receipt_key", kind: .hubSigning) }
        var additional: [PublicKeyLine] = []
        for (item, itemPath) in hub["additional_receipt_keys"].flatMap({ reader.sequence($0, "hub.additional_receipt_keys") }) ?? [] {
            if let line = keyLine(item, itemPath, kind: .hubSigning) { additional.append(line) }
        }
        let caFile = path(hub, "ca_file", required: false)
        guard let url, let encryption, let receipt else { return nil }
        return AgentConfiguration.Hub(url: url, encryptionKey: encryption, receiptKey: receipt, additionalReceiptKeys: additional, caFile: caFile)
    }

    mutating func keyLine(_ node: Node, _ path: String, kind: ExchangeKeyKind) -> PublicKeyLine? {
        guard let text = reader.string(node, path) else { return nil }
        let line: PublicKeyLine
        do {
            line = try PublicKeyLine(line: text)
        } catch {
            reader.report(node, path, "not a public key line (\(error)); paste the line `concord keys new-hub` printed for the \(kind.rawValue) key")
            return nil
        }
        guard line.kind == kind else {
            reader.report(node, path, "this is a \(line.kind.rawValue) key; expected the hub's \(kind.rawValue) key")
            return nil
        }
        return line
    }

    mutating func loadRetry(_ node: Node) -> RetryPolicy? {
        guard let retry = reader.mapping(node, "retry", allowed: ["attempts", "initial_delay_seconds", "max_delay_seconds"]) else { return nil }
        var policy = RetryPolicy()
        var valid = true
        if let node = retry["attempts"] {
            if let value = reader.integer(node, "retry.attempts"), (1...100).contains(value) {
                policy.attempts = value
            } else {
                reader.report(node, "retry.attempts", "must be a whole number from 1 to 100")
                valid = false
            }
        }
        if let node = retry["initial_delay_seconds"] {
            if let value = decimal(node, "retry.initial_delay_seconds", in: 0.001...3600, expectation: "seconds, from 0.001 to 3600") {
                policy.initialDelay = value
            } else { valid = false }
        }
        if let node = retry["max_delay_seconds"] {
            if let value = decimal(node, "retry.max_delay_seconds", in: 0.001...86_400, expectation: "seconds, from 0.001 to 86400") {
                policy.maximumDelay = value
                if value < policy.initialDelay {
                    reader.report(node, "retry.max_delay_seconds", "must be at least retry.initial_delay_seconds (\(policy.initialDelay))")
                    valid = false
                }
            } else { valid = false }
        }
        return valid ? policy : nil
    }

    mutating func loadDatasets(_ node: Node) -> [AgentConfiguration.Dataset]? {
        guard case .mapping(let mapping) = node else {
            reader.report(node, "datasets", "expected a mapping of dataset names to their settings")
            return nil
        }
        if mapping.isEmpty { reader.report(node, "datasets", "name at least one dataset") }
        var datasets: [AgentConfiguration.Dataset] = []
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let name = reader.string(keyNode, "datasets") else { continue }
            let path = "datasets.\(name)"
            locations[path] = keyNode.mark
            guard isIdentifier(name) else {
                reader.report(keyNode, path, "'\(name)' is not a dataset name: lower-case letters, digits and _, starting with a letter")
                continue
            }
            guard seen.insert(name).inserted else {
                reader.report(keyNode, path, "appears twice")
                continue
            }
            guard let entry = reader.mapping(value, path, allowed: ["schema", "extract", "mode", "agreements"]) else { continue }
            for (key, value) in entry.entries { locations[entry.path(key)] = value.mark }
            let schema = self.path(entry, "schema", required: true)
            let extract = self.path(entry, "extract", required: true)
            let mode = entry["mode"].map { node in
                reader.keyword(node, entry.path("mode"), in: AgentConfiguration.Mode.allCases.map(\.rawValue)).flatMap(AgentConfiguration.Mode.init)
            } ?? .snapshot
            let agreements = reader.required(entry, "agreements").flatMap { reader.strings($0, entry.path("agreements"), nonEmpty: true) }
            if let agreements, Set(agreements).count != agreements.count {
                reader.report(entry["agreements"], entry.path("agreements"), "names an agreement twice")
            }
            guard let schema, let extract, let mode, let agreements, !agreements.isEmpty else { continue }
            datasets.append(AgentConfiguration.Dataset(name: name, schema: schema, extract: extract, mode: mode, agreements: agreements))
        }
        return datasets.sorted { $0.name < $1.name }
    }

    /// A path setting, resolved against the configuration's folder.
    mutating func path(_ mapping: YAMLDocumentReader.Mapping, _ key: String, required: Bool) -> String? {
        guard let node = required ? reader.required(mapping, key) : mapping[key] else { return nil }
        guard let text = reader.string(node, mapping.path(key), expectation: "a path", isValid: { !$0.isEmpty }) else { return nil }
        return text.hasPrefix("/") || base.isEmpty ? text : "\(base)/\(text)"
    }

    /// A plain decimal number (`0.05`, `2`) within `range`.
    mutating func decimal(_ node: Node, _ path: String, in range: ClosedRange<Double>, expectation: String) -> Double? {
        guard let text = reader.string(node, path) else { return nil }
        let plain = !text.isEmpty && text.utf8.allSatisfy { isDigit($0) || $0 == UInt8(ascii: ".") }
        guard plain, let value = Double(text), range.contains(value) else {
            reader.report(node, path, "'\(text)' is not valid: expected \(expectation)")
            return nil
        }
        return value
    }
}

/// The hub's address, checked: HTTPS, or plain HTTP to this machine only.
public enum HubURL {
    /// Why a hub URL is refused.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The URL without a trailing slash, or why it cannot be used.
    public static func check(_ text: String) -> Result<String, Problem> {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            return .failure(Problem(description: "'\(text)' is not a URL such as https://hub.example.org"))
        }
        guard components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
              components.path.isEmpty || components.path == "/" else {
            return .failure(Problem(description: "give the hub's address only (https://host or https://host:port), without a path, query or credentials"))
        }
        switch scheme {
        case "https": break
        case "http" where isLoopback(host): break
        case "http":
            return .failure(Problem(description: "plain http:// is allowed only to this machine (localhost, 127.0.0.0/8, ::1); use https:// for \(host)"))
        default:
            return .failure(Problem(description: "the scheme must be https (or http to this machine), not \(scheme)"))
        }
        return .success(text.hasSuffix("/") ? String(text.dropLast()) : text)
    }

    /// localhost, 127.0.0.0/8 or ::1.
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" || bare == "0:0:0:0:0:0:0:1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { part in part.utf8.allSatisfy(isDigit) && UInt8(part) != nil }
    }
}
