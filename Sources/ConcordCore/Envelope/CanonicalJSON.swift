/// JSON restricted to strings, integers, booleans, arrays and objects, in one canonical byte form
/// (RFC 8785 for these types): what Concord signs, so that the signed bytes are unambiguous.
public indirect enum CanonicalJSON: Sendable, Hashable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    /// The canonical bytes: no whitespace, keys sorted by their UTF-8 bytes, minimal escaping.
    public var bytes: [UInt8] {
        var output: [UInt8] = []
        append(to: &output)
        return output
    }

    private func append(to output: inout [UInt8]) {
        switch self {
        case .string(let text): Self.appendString(text, to: &output)
        case .integer(let value): output += Array(String(value).utf8)
        case .boolean(let value): output += Array((value ? "true" : "false").utf8)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.append(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }).enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.appendString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                members[key]!.append(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func appendString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: output += Array("\\b".utf8)
            case 0x0C: output += Array("\\f".utf8)
            case 0x0A: output += Array("\\n".utf8)
            case 0x0D: output += Array("\\r".utf8)
            case 0x09: output += Array("\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Parses bytes that must already be canonical: anything else (whitespace, unsorted or repeated
    /// keys, other escapes, floats, nulls, trailing bytes) is refused, so one value has one encoding.
    public init(canonical bytes: [UInt8]) throws(CanonicalJSONError) {
        var parser = Parser(bytes: bytes)
        let value = try parser.value(depth: 0)
        guard parser.index == bytes.count else { throw .notCanonical("bytes after the value") }
        guard value.bytes == bytes else { throw .notCanonical("not in canonical form (key order, spacing or escaping)") }
        self = value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        static let maximumDepth = 16

        mutating func value(depth: Int) throws(CanonicalJSONError) -> CanonicalJSON {
            guard depth < Self.maximumDepth else { throw .notCanonical("nested more than \(Self.maximumDepth) deep") }
            guard index < bytes.count else { throw .notCanonical("ends early") }
            switch bytes[index] {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                index += 1
                var items: [CanonicalJSON] = []
                if peek(UInt8(ascii: "]")) { return .array(items) }
                repeat { items.append(try value(depth: depth + 1)) } while try separator(closing: UInt8(ascii: "]"))
                return .array(items)
            case UInt8(ascii: "{"):
                index += 1
                var members: [String: CanonicalJSON] = [:]
                if peek(UInt8(ascii: "}")) { return .object(members) }
                repeat {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .notCanonical("expected a key at byte \(index)") }
                    let key = try string()
                    guard peek(UInt8(ascii: ":")) else { throw .notCanonical("expected ':' at byte \(index)") }
                    guard members.updateValue(try value(depth: depth + 1), forKey: key) == nil else { throw .notCanonical("key '\(key)' twice") }
                } while try separator(closing: UInt8(ascii: "}"))
                return .object(members)
            case UInt8(ascii: "t") where bytes[index...].starts(with: "true".utf8): index += 4; return .boolean(true)
            case UInt8(ascii: "f") where bytes[index...].starts(with: "false".utf8): index += 5; return .boolean(false)
            default:
                let start = index
                if bytes[index] == UInt8(ascii: "-") { index += 1 }
                while index < bytes.count, ASCII.isDigit(bytes[index]) { index += 1 }
                guard let value = Int(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                    throw .notCanonical("unexpected byte at \(start)")
                }
                return .integer(value)
            }
        }

        mutating func peek(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func separator(closing: UInt8) throws(CanonicalJSONError) -> Bool {
            if peek(UInt8(ascii: ",")) { return true }
            if peek(closing) { return false }
            throw .notCanonical("expected ',' or a closing bracket at byte \(index)")
        }

        mutating func string() throws(CanonicalJSONError) -> String {
            index += 1
            var output: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    guard let text = String(validating: output, as: UTF8.self) else { throw .notCanonical("a string is not UTF-8") }
                    return text
                }
                guard byte == UInt8(ascii: "\\") else { output.append(byte); continue }
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(escape)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, let code = UInt8(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                        throw .notCanonical("bad \\u escape")
                    }
                    output.append(code)
                    index += 4
                default: throw .notCanonical("bad escape")
                }
            }
            throw .notCanonical("a string is never closed")
        }
    }
}

/// Bytes that are not canonical JSON.
public enum CanonicalJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    case notCanonical(String)

    public var description: String {
        switch self {
        case .notCanonical(let reason): "not canonical JSON: \(reason)"
        }
    }
}
