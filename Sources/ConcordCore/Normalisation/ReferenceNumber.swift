import Foundation

/// Generic reference numbers (pupil numbers, case and person ids): compared in one canonical form
/// so that `ab-123/4` and `AB1234` are the same reference.
public enum ReferenceNumber {
    /// Upper-case `A–Z 0–9` only, or `nil` when nothing else remains or another character appears.
    public static func normalised(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if bytes.allSatisfy({ ASCII.isUpper($0) || ASCII.isDigit($0) }) {
            return bytes.isEmpty ? nil : ASCII.string(bytes)
        }
        if ASCII.isASCII(bytes) {
            var result: [UInt8] = []
            result.reserveCapacity(bytes.count)
            for byte in bytes {
                if Self.isRemoved(Unicode.Scalar(byte)) { continue }
                let upper = ASCII.uppercased(byte)
                guard ASCII.isDigit(upper) || ASCII.isUpper(upper) else { return nil }
                result.append(upper)
            }
            return result.isEmpty ? nil : ASCII.string(result)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let folded = text.precomposedStringWithCompatibilityMapping.uppercased()
        var result = ""
        for scalar in folded.unicodeScalars where !isRemoved(scalar) {
            guard scalar.isASCII, ASCII.isDigit(UInt8(scalar.value)) || ASCII.isUpper(UInt8(scalar.value)) else { return nil }
            result.unicodeScalars.append(scalar)
        }
        return result.isEmpty ? nil : result
    }

    private static func isRemoved(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "-" || scalar == "/" || scalar == "."
    }
}
