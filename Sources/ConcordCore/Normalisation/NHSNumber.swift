/// NHS number validation: ten digits whose last is the modulus-11 check digit of the first nine.
public enum NHSNumber {
    /// The ten digits of a valid NHS number (spaces and hyphens removed), or `nil`.
    /// Ten identical digits pass the checksum but are placeholders, so they are refused: linking on
    /// them would join unrelated people.
    public static func normalised(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var digits: [UInt8] = []
        digits.reserveCapacity(10)
        for byte in bytes where byte != UInt8(ascii: " ") && byte != UInt8(ascii: "-") {
            guard ASCII.isDigit(byte), digits.count < 10 else { return nil }
            digits.append(byte - 0x30)
        }
        guard digits.count == 10, digits.contains(where: { $0 != digits[0] }) else { return nil }
        var sum = 0
        for position in 0..<9 {
            sum += Int(digits[position]) * (10 - position)
        }
        var check = 11 - sum % 11
        if check == 11 { check = 0 }
        guard check != 10, check == Int(digits[9]) else { return nil }
        return String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
    }
}
