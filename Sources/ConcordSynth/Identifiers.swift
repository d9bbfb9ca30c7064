/// Synthetic NHS numbers, unique pupil numbers and system ids.
enum Identifiers {
    /// The NHS number for the `ordinal`-th child with one: `999` followed by six digits and the
    /// modulus-11 check digit, so always in the 999 000 0000–999 999 9999 range the NHS reserves
    /// for testing (never a real patient's). The six digits are an affine permutation of the
    /// ordinal, so the first million children get distinct numbers. About one ordinal in eleven
    /// has no valid check digit; that child has no traced NHS number, as happens in real records.
    static func nhsNumber(ordinal: Int, offset: Int) -> Int? {
        let serial = (ordinal % 1_000_000 * 7919 + offset) % 1_000_000
        let body = 999_000_000 + serial
        // 999 999 9999 passes the checksum but ten identical digits are a placeholder, never a number.
        guard serial != 999_999, let check = nhsCheckDigit(body) else { return nil }
        return body * 10 + check
    }

    /// The modulus-11 check digit of nine digits, or `nil` when it would be 10 (no valid number).
    static func nhsCheckDigit(_ nineDigits: Int) -> Int? {
        var sum = 0
        var rest = nineDigits
        for weight in 2...10 {
            sum += (rest % 10) * weight
            rest /= 10
        }
        let check = 11 - sum % 11
        if check == 11 { return 0 }
        return check == 10 ? nil : check
    }

    /// The check letter of a unique pupil number's 12 digits (DfE algorithm: digits in character
    /// positions 2–13 weighted by their position, sum modulo 23, mapped to A–Z without I, O, S).
    static func upnCheckLetter(_ digits: [UInt8]) -> UInt8 {
        let letters = Array("ABCDEFGHJKLMNPQRTUVWXYZ".utf8)
        var sum = 0
        for (index, digit) in digits.enumerated() {
            sum += Int(digit - 0x30) * (index + 2)
        }
        return letters[sum % 23]
    }

    /// A UPN from its 12 digits packed in an integer: check letter, local authority (3 digits),
    /// establishment (4), year of allocation (2), serial (3).
    static func upn(_ value: Int) -> String {
        let digits = Array(zeroPadded(value, width: 12).utf8)
        return String(decoding: [upnCheckLetter(digits)] + digits, as: UTF8.self)
    }

    /// The 12 digits of a UPN as an integer.
    static func upnDigits(authority: Int, establishment: Int, year: Int, serial: Int) -> Int {
        ((authority * 10_000 + establishment) * 100 + year % 100) * 1000 + serial
    }

    /// A bijection of `0..<modulus` for ids that should look unrelated across people of one
    /// household (multiplier coprime to the modulus).
    static func permuted(_ index: Int, multiplier: Int, offset: Int, modulus: Int) -> Int {
        (index % modulus * multiplier + offset) % modulus
    }

    /// `P000042`: the person id used in `truth.csv`, for the person at index 41.
    static func personID(_ index: Int) -> String {
        ASCIIText.make(capacity: 20) { text in
            text.append(UInt8(ascii: "P"))
            text.append(index + 1, width: 6)
        }
    }
}
