import ConcordCore
import PostgresNIO

/// Which audit entries a reader wants (`concord audit log`, `GET /v1/audit`). Every criterion is
/// optional; given ones must all hold. Values are bound, never spliced into the SQL.
public struct AuditFilter: Sendable, Hashable {
    /// The stored actor exactly: `agency:ID`, `user:ID`, `operator:NAME` or `hub`.
    public var actor: String?
    /// Any of these actions (`upload.accepted`, `request.refused`, …); empty for all.
    public var actions: [String] = []
    /// What it was done to, exactly: an upload id, a user id, `agreement.vN`, …
    public var subject: String?
    /// An agreement id: entries about any of its versions (`id.vN` as subject, or in the details'
    /// `agreements` list or `agreement`) and entries about its requests (a request's id as
    /// subject: approvals, outputs, links, downloads, which name no agreement themselves).
    public var agreement: String?
    /// A dataset: entries whose details name it.
    public var dataset: String?
    /// From this time (inclusive), `YYYY-MM-DDTHH:MM:SSZ`.
    public var since: String?
    /// Before this time (exclusive), `YYYY-MM-DDTHH:MM:SSZ`.
    public var until: String?

    public init(actor: String? = nil, actions: [String] = [], subject: String? = nil, agreement: String? = nil, dataset: String? = nil,
                since: String? = nil, until: String? = nil) {
        self.actor = actor
        self.actions = actions
        self.subject = subject
        self.agreement = agreement
        self.dataset = dataset
        self.since = since
        self.until = until
    }

    /// Reads a time bound as people type it: `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ`.
    /// `nil` when it is neither.
    public static func time(_ text: String) -> String? {
        if CivilDate(iso: text) != nil { return text + "T00:00:00Z" }
        return CivilDate.secondsSinceEpoch(utcTimestamp: text) != nil ? text : nil
    }

    func query(after: Int64, limit: Int) -> PostgresQuery {
        // `content` is canonical JSON; the details are read from it as jsonb only when a filter needs them.
        """
        SELECT \(unescaped: AuditRecord.columns) FROM audit_log
        WHERE seq > \(after)
          AND (\(actor)::text IS NULL OR actor = \(actor))
          AND (cardinality(\(actions)::text[]) = 0 OR action = ANY(\(actions)::text[]))
          AND (\(subject)::text IS NULL OR subject = \(subject))
          AND (\(dataset)::text IS NULL OR content::jsonb -> 'details' ->> 'dataset' = \(dataset))
          AND (\(agreement)::text IS NULL OR subject = \(agreement) OR starts_with(subject, \(agreement) || '.v')
               OR content::jsonb -> 'details' ->> 'agreement' = \(agreement)
               OR starts_with(content::jsonb -> 'details' ->> 'agreement', \(agreement) || '.v')
               OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(
                              CASE jsonb_typeof(content::jsonb -> 'details' -> 'agreements')
                                   WHEN 'array' THEN content::jsonb -> 'details' -> 'agreements' ELSE '[]'::jsonb END) AS a (name)
                          WHERE a.name = \(agreement) OR starts_with(a.name, \(agreement) || '.v'))
               OR EXISTS (SELECT 1 FROM requests r WHERE r.agreement_id = \(agreement) AND r.id::text = audit_log.subject))
          AND (\(since)::timestamptz IS NULL OR at >= \(since)::timestamptz)
          AND (\(until)::timestamptz IS NULL OR at < \(until)::timestamptz)
        ORDER BY seq LIMIT \(limit)
        """
    }
}

extension AuditRecord {
    /// The members of a `view` that tables and CSV show, in order.
    public static let viewColumns = ["seq", "at", "actor", "role", "agency", "action", "subject", "outcome", "agreements", "dataset", "rows", "reasons"]

    /// A member of a `view` as one table cell: lists joined with `; `, nothing for absent.
    public static func cell(_ value: CanonicalJSON?) -> String {
        switch value {
        case nil: ""
        case .string(let text)?: text
        case .integer(let number)?: String(number)
        case .boolean(let flag)?: String(flag)
        case .array(let items)?: items.map { cell($0) }.joined(separator: "; ")
        case .object?: String(decoding: value!.bytes, as: UTF8.self)
        }
    }

    /// The entry as readers see it (API, `concord audit log`): who (actor, their role and agency),
    /// under what (agreements, purpose, dataset, fields), what (action, subject), how many rows, the
    /// outcome with its reasons, when, and the request id when the action came through the API.
    /// Only what the hub wrote into the entry: never row data, so never a pseudonym or identifier.
    /// - Parameter roles: people's roles by user id.
    public func view(roles: [String: String]) -> [String: CanonicalJSON] {
        var view: [String: CanonicalJSON] = [
            "seq": .integer(Int(seq)), "at": .string(at), "actor": .string(entry.actor.description),
            "action": .string(entry.action), "subject": .string(entry.subject), "outcome": .string(entry.outcome),
            "details": entry.details, "hash": .string(hash.lowercaseHex),
        ]
        switch entry.actor {
        case .agency(let id):
            view["role"] = .string("agency")
            view["agency"] = .string(id)
        case .user(let id): view["role"] = .string(roles[id] ?? "unknown")
        case .operator: view["role"] = .string("operator")
        case .hub: view["role"] = .string("hub")
        }
        guard case .object(let details) = entry.details else { return view }
        if view["agency"] == nil, let agency = details["agency"] { view["agency"] = agency }
        if case .array? = details["agreements"] { view["agreements"] = details["agreements"] }
        if case .string(let agreement)? = details["agreement"] { view["agreements"] = .array([.string(agreement)]) }
        for key in ["dataset", "purpose", "fields", "reasons", "request_id"] where details[key] != nil { view[key] = details[key] }
        if let rows = details["rows_loaded"] ?? details["rows"] { view["rows"] = rows }
        return view
    }
}
