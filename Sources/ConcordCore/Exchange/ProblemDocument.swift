/// An RFC 9457 problem as the hub's API carries it (`docs/api-auth.md` section 4): written by the
/// hub, read back by the hub for a refused upload, and read and filed by the agent.
public struct ProblemDocument: Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    /// Stable, for programs to branch on: `upload.refused`, `auth.stale`, …
    public var code: String
    /// What went wrong and what to do, for a person.
    public var detail: String
    public var reasons: [String]
    /// For `upload.offset-mismatch`: the offset to send from.
    public var offset: Int?

    public init(status: Int, code: String, detail: String, reasons: [String] = [], offset: Int? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.reasons = reasons
        self.offset = offset
    }

    /// Reads a problem document; `nil` when the body is not one.
    public init?(json value: CanonicalJSON?) {
        guard case .object(let members)? = value, case .string(let code)? = members["code"] else { return nil }
        self.code = code
        if case .integer(let status)? = members["status"] { self.status = status } else { self.status = 0 }
        if case .string(let detail)? = members["detail"] { self.detail = detail } else { self.detail = "" }
        if case .array(let items)? = members["reasons"] {
            reasons = items.compactMap { if case .string(let text) = $0 { text } else { nil } }
        } else {
            reasons = []
        }
        if case .integer(let offset)? = members["offset"] { self.offset = offset } else { offset = nil }
    }

    /// The problem's own members (the hub adds `type` and `title` on the wire; the agent files exactly these).
    public var json: CanonicalJSON {
        var members: [String: CanonicalJSON] = [
            "status": .integer(status), "code": .string(code), "detail": .string(detail),
            "reasons": .array(reasons.map(CanonicalJSON.string)),
        ]
        if let offset { members["offset"] = .integer(offset) }
        return .object(members)
    }

    public var description: String {
        var text = "\(code) (\(status)): \(detail)"
        if !reasons.isEmpty { text += " [" + reasons.joined(separator: "; ") + "]" }
        return text
    }
}
