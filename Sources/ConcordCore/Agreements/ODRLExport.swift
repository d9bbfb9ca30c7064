import Foundation

extension Agreement {
    /// The agreement as a W3C ODRL 2.2 policy in JSON-LD (`docs/agreements.md`, section 6), so that
    /// other policy tools can read what it permits, requires and prohibits.
    public func odrlPolicy() -> [String: Any] {
        let uid = "urn:concord:agreement:\(id):v\(version)"
        let validity: [[String: Any]] = [
            constraint("dateTime", "gteq", typed(validFrom.description, "xsd:date")),
            constraint("dateTime", "lteq", typed(validUntil.description, "xsd:date")),
        ]
        var outputConstraints: [[String: Any]] = [constraint("purpose", "eq", purpose.code)]
        if outputs.level == .aggregate {
            if let minimum = outputs.minimumCellCount { outputConstraints.append(constraint("concord:minimumCellCount", "gteq", minimum)) }
            if let rounding = outputs.roundingBase { outputConstraints.append(constraint("concord:roundingBase", "eq", rounding)) }
        }
        let assignees = recipients.map { "urn:concord:group:\($0.group)" }
        var permissions: [[String: Any]] = []
        for provider in providers {
            for dataset in provider.datasets {
                var actions: [Any] = ["use"]
                if linkage.permitted && linkage.datasets.contains(dataset.dataset) { actions.append("concord:link") }
                permissions.append([
                    "uid": "\(uid):permission:\(dataset.dataset)",
                    "target": "urn:concord:dataset:\(dataset.dataset):v\(dataset.schemaVersion)",
                    "assigner": "urn:concord:agency:\(provider.agency)",
                    "assignee": assignees,
                    "action": actions,
                    "constraint": outputConstraints + validity,
                    "concord:fields": dataset.fields.map { field in
                        field.generalisation.map { "\(field.field) (\($0))" } ?? field.field
                    },
                    "concord:outputLevel": outputs.level.rawValue,
                    "duty": [[
                        "action": "delete",
                        "constraint": [constraint("elapsedTime", "lteq", typed(dataset.retention.description, "xsd:duration"))],
                    ]],
                ])
            }
        }
        let target = "urn:concord:agreement:\(id):v\(version):data"
        let prohibitions: [[String: Any]] = purpose.prohibitions.map { prohibition in
            ["target": target, "assignee": assignees, "action": "concord:\(prohibition.rawValue)"]
        }
        return [
            "@context": ["http://www.w3.org/ns/odrl.jsonld", ["concord": "urn:concord:odrl:", "xsd": "http://www.w3.org/2001/XMLSchema#", "dc": "http://purl.org/dc/terms/"]],
            "@type": "Agreement",
            "uid": uid,
            "profile": "urn:concord:odrl:profile:1",
            "dc:title": title,
            "concord:status": status.rawValue,
            "assigner": providers.map { "urn:concord:agency:\($0.agency)" },
            "assignee": assignees,
            "permission": permissions,
            "prohibition": prohibitions,
            "obligation": [[
                "action": "delete",
                "target": target,
                "assigner": providers.map { "urn:concord:agency:\($0.agency)" },
                "assignee": "urn:concord:hub",
                "constraint": [constraint("concord:afterAgreementEnd", "lteq", typed(deleteWithinAfterEnd.description, "xsd:duration"))],
            ]],
        ]
    }

    /// `odrlPolicy()` as pretty-printed JSON with sorted keys, so the same agreement always gives the same bytes.
    public func odrlJSON() -> Data {
        // The policy is built from strings, numbers, arrays and dictionaries only, so it always serialises.
        try! JSONSerialization.data(withJSONObject: odrlPolicy(), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    private func constraint(_ leftOperand: String, _ operator: String, _ rightOperand: Any) -> [String: Any] {
        ["leftOperand": leftOperand, "operator": `operator`, "rightOperand": rightOperand]
    }

    private func typed(_ value: String, _ type: String) -> [String: Any] {
        ["@value": value, "@type": type]
    }
}
