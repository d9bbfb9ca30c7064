/// Writes a person's identifiers the way one agency's clerk would: mostly right, sometimes with
/// the keying errors and variations `ErrorRates` describes. Every draw comes from the `noise`
/// stream, so error rates never change what happened, only how it is written.
struct Keying: Sendable {
    let rates: ErrorRates
    private let names = NameTables.shared

    init(rates: ErrorRates) {
        self.rates = rates
    }

    private static let titles = WeightedTable([("Mrs", 4), ("Ms", 3), ("Miss", 2), ("Dr", 1)])
    private static let maleTitles = WeightedTable([("Mr", 9), ("Dr", 1)])

    /// - Parameters:
    ///   - middleName: include the middle name when the person has one (legal forenames field).
    ///   - variantScale: multiplies `forenameVariant` for this agency.
    ///   - allowTitle: an adult's record, where a title may creep into the field.
    func forename(_ person: Person, middleName: Bool, variantScale: Double, allowTitle: Bool, _ random: inout SynthRandom) -> String {
        var text = names.forenames[Int(person.forename)]
        let variants = names.forenameVariants[Int(person.forename)]
        if random.chance(rates.forenameVariant * variantScale), !variants.isEmpty {
            text = random.pick(variants)
        }
        if middleName, person.middleName != Person.noName {
            text += " " + names.forenames[Int(person.middleName)]
        }
        if random.chance(rates.titleInForename), allowTitle {
            text = (person.female ? Self.titles : Self.maleTitles).draw(&random) + " " + text
        }
        return styled(text, &random)
    }

    func surname(_ person: Person, _ random: inout SynthRandom) -> String {
        var text = names.surnames[Int(person.surname)]
        if person.secondSurname != Person.noName, !random.chance(rates.shortenedSurname) {
            text += "-" + names.surnames[Int(person.secondSurname)]
        }
        if random.chance(rates.surnameTypo) {
            text = Self.typo(text, &random)
        }
        if random.chance(rates.punctuationVariant), text.utf8.contains(UInt8(ascii: "'")) {
            text = random.chance(0.6) ? text.replacingApostrophes(with: "\u{2019}") : text.replacingApostrophes(with: "")
        }
        return styled(text, &random)
    }

    /// Diacritics, case and spacing, applied to any name.
    private func styled(_ name: String, _ random: inout SynthRandom) -> String {
        var text = name
        if random.chance(rates.droppedDiacritics), let folded = Diacritics.fold(text) {
            text = folded
        }
        if random.chance(rates.caseChange) {
            text = random.chance(0.75) ? text.uppercased() : text.lowercased()
        }
        if random.chance(rates.extraWhitespace) {
            switch random.int(3) {
            case 0: text = " " + text
            case 1: text += "  "
            default: text = text.contains(" ") ? text.replacingSpaces(with: "  ") : text + " "
            }
        }
        return text
    }

    /// One substitution, transposition or deletion of an ASCII letter; the name keeps at least
    /// two letters, so it stays a valid name.
    static func typo(_ name: String, _ random: inout SynthRandom) -> String {
        var characters = Array(name)
        let letters = characters.indices.filter { characters[$0].isASCII && characters[$0].isLetter }
        guard letters.count >= 2 else { return name }
        let operation = random.int(4)
        let pairs = letters.filter { $0 + 1 < characters.count && characters[$0 + 1].isASCII && characters[$0 + 1].isLetter
            && characters[$0].isUppercase == characters[$0 + 1].isUppercase && characters[$0] != characters[$0 + 1] }
        if operation == 0, letters.count >= 4 {
            characters.remove(at: random.pick(letters))
        } else if operation == 1, !pairs.isEmpty {
            let at = random.pick(pairs)
            characters.swapAt(at, at + 1)
        } else {
            let at = random.pick(letters)
            let original = characters[at]
            var replacement = original
            while replacement.lowercased() == original.lowercased() {
                let letter = Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(random.int(26))))
                replacement = original.isUppercase ? Character(letter.uppercased()) : letter
            }
            characters[at] = replacement
        }
        return String(characters)
    }

    /// The date of birth, sometimes with day and month exchanged.
    func dateOfBirth(_ person: Person, style: DateStyle, _ random: inout SynthRandom) -> String {
        let birth = Int(person.birth)
        if random.chance(rates.dateOfBirthSwap), let swapped = style.formatSwapped(birth) {
            return swapped
        }
        return style.format(birth)
    }

    /// The household's postcode (or the previous one), in the usual or a looser form.
    func postcode(_ household: Household, _ random: inout SynthRandom) -> String {
        let code = random.chance(rates.movedHouse) ? household.previousPostcode : household.postcode
        var text = random.chance(rates.punctuationVariant * 0.5) ? code.compactText : code.text
        if random.chance(rates.caseChange) { text = text.lowercased() }
        if random.chance(rates.extraWhitespace) { text = text.contains(" ") ? text.replacingSpaces(with: "  ") : " " + text }
        return text
    }

    /// An NHS number as ten digits, or in the 3-3-4 groups people write.
    func nhsNumber(_ number: Int, _ random: inout SynthRandom) -> String {
        let digits = String(number)
        guard random.chance(rates.punctuationVariant) else { return digits }
        let bytes = Array(digits.utf8)
        return String(decoding: bytes[0..<3], as: UTF8.self) + " " + String(decoding: bytes[3..<6], as: UTF8.self) + " "
            + String(decoding: bytes[6...], as: UTF8.self)
    }
}

extension String {
    func replacingApostrophes(with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == "'" { result += replacement } else { result.append(character) }
        }
        return result
    }

    func replacingSpaces(with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == " " { result += replacement } else { result.append(character) }
        }
        return result
    }
}
