/// Where a synthetic family's names come from. The mix is modelled loosely on Essex and its towns:
/// mostly White British, with Irish, Polish and other European, South Asian, West African,
/// Caribbean and Chinese families. Names carry what real extracts carry: apostrophes (O'Brien),
/// diacritics (Zoë, Łukasz, José), spaces (St John, de Souza) and gendered forms (Kowalski,
/// Kowalska).
enum Origin: Int, CaseIterable, Sendable {
    case english, irish, polish, otherEuropean, indian, pakistani, bangladeshi, westAfrican, caribbean, chinese

    /// Relative frequency of households of this origin.
    var weight: Int {
        switch self {
        case .english: 780
        case .irish: 30
        case .polish: 40
        case .otherEuropean: 30
        case .indian: 30
        case .pakistani: 15
        case .bangladeshi: 12
        case .westAfrican: 30
        case .caribbean: 15
        case .chinese: 10
        }
    }
}

/// DfE main ethnicity codes, in the order of the CIN census list (`csc_referrals.yaml`).
enum Ethnicity: Int, Sendable {
    case wbri, wiri, wirt, woth, wrom, mwbc, mwba, mwas, moth, aind, apkn, aban, aoth, bcrb, bafr, both, chne, ooth, refu, nobt

    static let codes = ["WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN",
                        "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"]

    var code: String { Self.codes[rawValue] }

    /// A family's recorded ethnicity, from its origin.
    static func draw(for origin: Origin, _ random: inout SynthRandom) -> Ethnicity {
        switch origin {
        case .english: random.weighted([(.wbri, 96), (.woth, 2), (.ooth, 1), (.both, 1)])
        case .irish: random.weighted([(.wiri, 90), (.wirt, 10)])
        case .polish: .woth
        case .otherEuropean: random.weighted([(.woth, 85), (.wrom, 10), (.ooth, 5)])
        case .indian: random.weighted([(.aind, 92), (.aoth, 8)])
        case .pakistani: .apkn
        case .bangladeshi: .aban
        case .westAfrican: random.weighted([(.bafr, 95), (.both, 5)])
        case .caribbean: random.weighted([(.bcrb, 90), (.both, 10)])
        case .chinese: .chne
        }
    }

    /// The ethnicity of a child of parents of two different origins.
    static func mixed(_ first: Origin, _ second: Origin) -> Ethnicity {
        let pair = Set([first, second])
        if pair.contains(.caribbean) && !pair.isDisjoint(with: [.english, .irish, .polish, .otherEuropean]) { return .mwbc }
        if pair.contains(.westAfrican) && !pair.isDisjoint(with: [.english, .irish, .polish, .otherEuropean]) { return .mwba }
        if !pair.isDisjoint(with: [.indian, .pakistani, .bangladeshi, .chinese]) && !pair.isDisjoint(with: [.english, .irish, .polish, .otherEuropean]) { return .mwas }
        return .moth
    }
}

/// Every name the synthesiser uses, interned: people refer to names by index, so a population of
/// millions costs a few dozen bytes a person.
struct NameTables: Sendable {
    static let shared = NameTables()

    /// Display forms as a careful clerk would type them (`Zoë`, `O'Brien`).
    let forenames: [String]
    let surnames: [String]
    /// Other forms of the same forename that the nickname table maps to one canonical name.
    let forenameVariants: [[String]]
    /// For each surname, its feminine form (Kowalski → Kowalska), or itself.
    let feminineSurname: [UInt16]
    /// Forename indices by origin, sex (0 male, 1 female) and era (0 born before 1995, 1 after).
    private let forenamePools: [[[[UInt16]]]]
    /// Surname indices by origin.
    let surnamePools: [[UInt16]]

    func forenamePool(origin: Origin, female: Bool, modern: Bool) -> [UInt16] {
        forenamePools[origin.rawValue][female ? 1 : 0][modern ? 1 : 0]
    }

    private init() {
        var forenames: [String] = []
        var forenameIndex: [String: UInt16] = [:]
        func intern(_ name: String) -> UInt16 {
            if let index = forenameIndex[name] { return index }
            let index = UInt16(forenames.count)
            forenames.append(name)
            forenameIndex[name] = index
            return index
        }
        var pools: [[[[UInt16]]]] = []
        for origin in Origin.allCases {
            let lists = NameData.forenames(origin)
            pools.append([
                [lists.maleOlder.map(intern), lists.maleModern.map(intern)],
                [lists.femaleOlder.map(intern), lists.femaleModern.map(intern)],
            ])
        }
        self.forenames = forenames
        forenamePools = pools

        var surnames: [String] = []
        var surnameIndex: [String: UInt16] = [:]
        func internSurname(_ name: String) -> UInt16 {
            if let index = surnameIndex[name] { return index }
            let index = UInt16(surnames.count)
            surnames.append(name)
            surnameIndex[name] = index
            return index
        }
        surnamePools = Origin.allCases.map { NameData.surnames($0).map(internSurname) }
        var feminine: [UInt16] = []
        for index in 0..<surnames.count {
            let name = surnames[index]
            if name.hasSuffix("ski") || name.hasSuffix("cki") || name.hasSuffix("dzki") {
                feminine.append(internSurname(String(name.dropLast()) + "a"))
            } else {
                feminine.append(UInt16(index))
            }
        }
        // Feminine forms added above are their own feminine forms.
        while feminine.count < surnames.count { feminine.append(UInt16(feminine.count)) }
        self.surnames = surnames
        feminineSurname = feminine

        var groupOfKey: [String: Int] = [:]
        let groups = NicknameGroups.groups
        for (index, group) in groups.enumerated() {
            for member in group { groupOfKey[NicknameGroups.key(member)] = index }
        }
        forenameVariants = forenames.map { name in
            let key = NicknameGroups.key(name)
            guard let group = groupOfKey[key] else { return [] }
            return groups[group].filter { NicknameGroups.key($0) != key }
        }
    }
}

/// Removing diacritics the way systems without Unicode support did (`Zoë` → `Zoe`,
/// `Łukasz` → `Lukasz`), for the letters the name lists use.
enum Diacritics {
    private static let replacements: [Character: String] = [
        "á": "a", "à": "a", "â": "a", "ã": "a", "ä": "a", "ą": "a", "Á": "A",
        "ç": "c", "ć": "c", "Ç": "C",
        "é": "e", "è": "e", "ê": "e", "ë": "e", "ę": "e", "É": "E",
        "í": "i", "ï": "i", "ı": "i", "Í": "I", "İ": "I",
        "ł": "l", "Ł": "L",
        "ñ": "n", "ń": "n",
        "ó": "o", "ô": "o", "õ": "o", "ö": "o", "Ó": "O", "Ö": "O",
        "ś": "s", "ş": "s", "ș": "s", "Ś": "S", "Ş": "S",
        "ț": "t", "ţ": "t",
        "ú": "u", "ü": "u", "Ú": "U", "Ü": "U",
        "ź": "z", "ż": "z", "Ż": "Z", "Ź": "Z",
        "ğ": "g",
    ]

    /// The name without diacritics, or `nil` when it has none.
    static func fold(_ name: String) -> String? {
        guard !name.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        var result = ""
        for character in name {
            if let replacement = replacements[character] {
                result += replacement
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// Forenames that people write in several forms (William, Will, Bill, Liam). The first member of
/// each group is the canonical form in `Schemas/nicknames.csv`; every other member is a variant
/// the table maps to it (checked by the tests), so a record that uses one still links through the
/// `forename_canonical` match-key component.
enum NicknameGroups {
    static let groups: [[String]] = [
        "William|Will|Bill|Billy|Liam|Willy", "Robert|Rob|Bob|Robbie|Bobby", "Richard|Rich|Rick|Ricky|Richie",
        "James|Jim|Jimmy|Jamie", "Thomas|Tom|Tommy|Tomasz|Tomek", "Michael|Mike|Mick|Micky|Michał",
        "Christopher|Chris|Kris|Krzysztof", "Daniel|Dan|Danny", "David|Dave|Davey|Dawid", "Anthony|Tony|Ant",
        "Andrew|Andy|Drew|Andrzej", "Stephen|Steve|Steven|Stevie", "Matthew|Matt|Matty|Mateusz",
        "Joseph|Joe|Joey|Józef", "Samuel|Sam|Sammy", "Benjamin|Ben|Benny|Benji", "Alexander|Alex|Alec|Aleks|Zander",
        "Jacob|Jake|Jakub|Kuba", "Joshua|Josh", "Oliver|Ollie|Olly|Oli", "Charles|Charlie|Chas",
        "Edward|Ed|Eddie|Ted|Teddy", "Frederick|Fred|Freddie|Freddy", "Alfred|Alf|Alfie", "Henry|Harry|Hal",
        "Kenneth|Ken|Kenny", "Leonard|Len|Lenny", "Ronald|Ron|Ronnie", "Raymond|Ray", "Terence|Terry",
        "Peter|Pete|Piotr", "Paul|Paweł", "Philip|Phil|Phillip|Filip", "Nicholas|Nick|Nicolas", "Timothy|Tim",
        "Gregory|Greg|Grzegorz", "Gary|Gaz|Garry", "Barry|Baz", "Sean|Shaun|Shawn|Seán", "Kieran|Ciarán|Kieron",
        "Patrick|Paddy|Pádraig", "Muhammad|Mohammed|Mohammad|Mohamed|Muhammed", "Ahmed|Ahmad",
        "Hussain|Hussein|Hüseyin", "Yusuf|Yousuf|Yousef", "Omar|Umar", "Usman|Osman", "Hamza|Hamzah",
        "Ibrahim|Ebrahim", "Luke|Łukasz", "Simon|Szymon", "Francis|Frank|Franciszek", "Wojciech|Wojtek",
        "Aidan|Aiden|Aden|Ayden", "Callum|Calum", "Connor|Conor|Conner", "Finley|Finlay", "Lucas|Lukas",
        "Reuben|Ruben", "Louis|Louie", "Jayden|Jaden|Jaiden", "Zachary|Zac|Zach|Zak", "Theodore|Theo",
        "Sebastian|Seb", "Mark|Marc", "Martin|Marty|Marcin", "Ian|Iain", "Neil|Neal", "Graham|Graeme",
        "Stuart|Stewart|Stu", "Emmanuel|Manny", "Elizabeth|Liz|Lizzie|Beth|Betty|Libby|Elżbieta",
        "Katherine|Kate|Katie|Kathy|Cathy|Catherine|Kathryn|Katarzyna|Kasia", "Margaret|Maggie|Peggy|Meg|Małgorzata|Gosia",
        "Rebecca|Becky|Becca|Bex", "Jennifer|Jenny|Jen|Jenni", "Victoria|Vicky|Vicki|Tori", "Samantha|Sammie|Sammi",
        "Jessica|Jess|Jessie", "Natasha|Tasha|Tash", "Nicola|Nicky|Nikki", "Deborah|Debbie|Debra|Deb",
        "Susan|Sue|Susie|Suzy", "Patricia|Trish|Tricia|Patsy", "Jacqueline|Jackie|Jacqui", "Gillian|Gill|Jill|Gilly",
        "Stephanie|Steph|Stef", "Abigail|Abbie|Abby|Abi", "Isabella|Bella|Izzy|Isabel|Isobel|Izabela",
        "Charlotte|Lottie", "Olivia|Liv|Livvy", "Florence|Flo|Florrie", "Matilda|Tilly|Tilda", "Eleanor|Nell|Nellie",
        "Alexandra|Lexi|Sasha|Aleksandra", "Sarah|Sally|Sara", "Chloe|Cloe|Khloe", "Zoe|Zoey", "Sophia|Sofia|Zofia",
        "Amy|Aimee|Amie", "Grace|Gracie", "Rose|Rosie", "Lily|Lilly|Lillie", "Hannah|Hanna", "Jasmine|Jasmin|Jaz",
        "Madeleine|Maddie|Maddy", "Molly|Mollie", "Maisie|Maisy", "Caitlin|Katelyn|Kaitlyn", "Hayley|Haley|Hailey",
        "Kayleigh|Kayley|Kaylee", "Kelly|Kellie", "Tracey|Tracy", "Claire|Clare", "Joanne|Jo|Joann", "Louise|Lou",
        "Michelle|Shelley", "Danielle|Dani|Daniella", "Gemma|Jemma", "Stacey|Stacy", "Leanne|Lianne",
        "Amanda|Mandy", "Angela|Angie", "Christine|Chrissie", "Janet|Janette", "Linda|Lynda", "Teresa|Theresa|Tess",
        "Barbara|Basia|Babs", "Magdalena|Magda", "Aisha|Ayesha|Aysha", "Fatima|Fatimah|Fatema", "Maryam|Mariam",
        "Zainab|Zaynab", "Khadija|Khadijah", "Yasmin|Yasmine|Yasmeen", "Zara|Zarah", "Aaliyah|Aliyah", "Niamh|Neve",
        "Bridget|Bridie|Brigid", "Freya|Freja", "Sienna|Siena", "Harriet|Hattie", "Anne|Annie|Ann",
    ].map { $0.split(separator: "|").map(String.init) }

    /// The normalised form the nickname table is keyed by: diacritics removed, upper case, letters only.
    static func key(_ name: String) -> String {
        String((Diacritics.fold(name) ?? name).uppercased().filter { $0.isASCII && $0.isLetter })
    }
}

/// The name lists themselves.
enum NameData {
    struct Forenames {
        var maleOlder: [String]
        var maleModern: [String]
        var femaleOlder: [String]
        var femaleModern: [String]
    }

    static func forenames(_ origin: Origin) -> Forenames {
        switch origin {
        case .english:
            Forenames(
                maleOlder: ["David", "Paul", "Mark", "Andrew", "Stephen", "Gary", "Ian", "Kevin", "Richard", "Michael", "John",
                            "Robert", "Peter", "Christopher", "James", "Darren", "Lee", "Craig", "Jason", "Daniel", "Matthew",
                            "Anthony", "Simon", "Neil", "Wayne", "Dean", "Terence", "Trevor", "Kenneth", "Raymond", "Brian",
                            "Alan", "Derek", "Barry", "Keith", "Graham", "Colin", "Roy", "Leonard", "Ronald", "William",
                            "Thomas", "Stuart", "Martin", "Philip", "Nicholas", "Timothy", "Gregory", "Steve", "Dave", "Tony"],
                maleModern: ["Oliver", "Harry", "George", "Jack", "Noah", "Charlie", "Jacob", "Alfie", "Freddie", "Oscar", "Leo",
                             "Thomas", "William", "Joshua", "James", "Archie", "Henry", "Theodore", "Max", "Ethan", "Lucas",
                             "Mason", "Logan", "Riley", "Samuel", "Daniel", "Joseph", "Alexander", "Tommy", "Jayden", "Callum",
                             "Kieran", "Liam", "Reuben", "Finley", "Harrison", "Dylan", "Tyler", "Kai", "Louis", "Connor",
                             "Aidan", "Zachary", "Benjamin", "Sebastian", "Edward", "Frederick", "Alfred", "Luke", "Matthew"],
                femaleOlder: ["Susan", "Sarah", "Tracey", "Karen", "Julie", "Nicola", "Michelle", "Lisa", "Joanne", "Claire",
                              "Emma", "Louise", "Kelly", "Samantha", "Rebecca", "Victoria", "Elizabeth", "Helen", "Deborah",
                              "Amanda", "Jacqueline", "Sharon", "Patricia", "Margaret", "Linda", "Christine", "Janet", "Gillian",
                              "Jennifer", "Katherine", "Catherine", "Hayley", "Stacey", "Gemma", "Laura", "Zoë", "Angela",
                              "Leanne", "Danielle", "Natasha", "Stephanie", "Kayleigh", "Teresa", "Anne", "Jessica", "Rachel",
                              "Kerry", "Donna", "Dawn", "Renée"],
                femaleModern: ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Isabella", "Sophia", "Grace", "Lily", "Freya", "Emily",
                               "Ivy", "Ella", "Rosie", "Evie", "Florence", "Poppy", "Charlotte", "Willow", "Sienna", "Phoebe",
                               "Jessica", "Ruby", "Chloë", "Zoë", "Millie", "Daisy", "Matilda", "Scarlett", "Harriet", "Abigail",
                               "Maisie", "Holly", "Eleanor", "Hannah", "Lucy", "Megan", "Jasmine", "Katie", "Elizabeth", "Molly",
                               "Madeleine", "Caitlin", "Amy", "Alexandra", "Chloe", "Zoe", "Aaliyah", "Eloise", "Rose"]
            )
        case .irish:
            Forenames(
                maleOlder: ["Seán", "Patrick", "Declan", "Michael", "Brendan", "Kieran", "Eamon", "Liam", "Dermot", "Niall"],
                maleModern: ["Ciarán", "Conor", "Pádraig", "Eoin", "Cian", "Oisín", "Darragh", "Aidan", "Sean", "Liam"],
                femaleOlder: ["Siobhán", "Bridget", "Mary", "Niamh", "Sinéad", "Aisling", "Orla", "Margaret", "Deirdre", "Maeve"],
                femaleModern: ["Niamh", "Aoife", "Róisín", "Ciara", "Saoirse", "Caoimhe", "Orla", "Grace", "Erin", "Clodagh"]
            )
        case .polish:
            Forenames(
                maleOlder: ["Łukasz", "Paweł", "Piotr", "Krzysztof", "Tomasz", "Andrzej", "Marcin", "Michał", "Wojciech",
                            "Grzegorz", "Dawid", "Józef", "Marek"],
                maleModern: ["Jakub", "Kacper", "Mateusz", "Szymon", "Filip", "Michał", "Bartosz", "Jan", "Antoni", "Franciszek",
                             "Aleksander", "Oliwer", "Dawid"],
                femaleOlder: ["Katarzyna", "Małgorzata", "Agnieszka", "Anna", "Magdalena", "Joanna", "Barbara", "Ewa",
                              "Elżbieta", "Monika", "Beata", "Dorota"],
                femaleModern: ["Zofia", "Julia", "Zuzanna", "Aleksandra", "Natalia", "Maja", "Wiktoria", "Oliwia", "Hanna",
                               "Lena", "Amelia", "Alicja"]
            )
        case .otherEuropean:
            Forenames(
                maleOlder: ["José", "João", "Mehmet", "Andrei", "Nikos", "Giorgos", "Hüseyin", "Carlos", "Ionuț", "Vasile",
                            "Luís", "Mustafa"],
                maleModern: ["Emre", "Luca", "Mateo", "Andrei", "Rafael", "Tiago", "Yusuf", "Darius", "Nikolas", "Gabriel"],
                femaleOlder: ["María", "Ana", "Elif", "Ioana", "Elena", "Fátima", "Ayşe", "Katerina", "Mihaela", "Inês"],
                femaleModern: ["Zeynep", "Sofia", "Ana", "Maria", "Elena", "Eleni", "Beatriz", "Inês", "Ecrin", "Bianca"]
            )
        case .indian:
            Forenames(
                maleOlder: ["Rajesh", "Sanjay", "Amit", "Ravi", "Vikram", "Harpreet", "Gurpreet", "Sunil", "Anil", "Deepak"],
                maleModern: ["Arjun", "Rohan", "Aarav", "Dev", "Vihaan", "Ishaan", "Jaskaran", "Krish", "Aryan", "Reyansh"],
                femaleOlder: ["Priya", "Anjali", "Sunita", "Deepa", "Kavita", "Neha", "Meera", "Rupinder", "Geeta", "Asha"],
                femaleModern: ["Simran", "Anaya", "Riya", "Pooja", "Aisha", "Diya", "Saanvi", "Meera", "Jasleen", "Priya"]
            )
        case .pakistani:
            Forenames(
                maleOlder: ["Mohammed", "Muhammad", "Tariq", "Imran", "Khalid", "Asif", "Zahid", "Shahid", "Nadeem", "Ahmed"],
                maleModern: ["Muhammad", "Mohammed", "Ali", "Hamza", "Ibrahim", "Yusuf", "Omar", "Bilal", "Usman", "Zain",
                             "Hassan", "Hussain"],
                femaleOlder: ["Fatima", "Nasreen", "Shazia", "Samina", "Rubina", "Parveen", "Yasmin", "Nadia", "Ayesha", "Saima"],
                femaleModern: ["Maryam", "Aisha", "Zainab", "Khadija", "Hafsa", "Inaya", "Sana", "Noor", "Amina", "Zara",
                               "Fatima", "Aaliyah"]
            )
        case .bangladeshi:
            Forenames(
                maleOlder: ["Abdul", "Mohammed", "Shahid", "Rahim", "Jamal", "Sayed", "Anwar", "Ismail", "Nazrul", "Ahmed"],
                maleModern: ["Muhammad", "Ayaan", "Rayyan", "Ibrahim", "Yusuf", "Zakariya", "Hamza", "Arham", "Omar", "Ismail"],
                femaleOlder: ["Fatema", "Nasreen", "Ruksana", "Tahmina", "Shirin", "Salma", "Rehana", "Jahanara", "Rabia", "Amina"],
                femaleModern: ["Sumaiya", "Jannat", "Aisha", "Maryam", "Raisa", "Tasnim", "Safa", "Inaya", "Zainab", "Fatima"]
            )
        case .westAfrican:
            Forenames(
                maleOlder: ["Oluwaseun", "Chinedu", "Emeka", "Kwame", "Kofi", "Tunde", "Adebayo", "Femi", "Kwabena", "Emmanuel",
                            "Samuel", "Godwin"],
                maleModern: ["David", "Daniel", "Samuel", "Emmanuel", "Joshua", "Obinna", "Tobi", "Kayode", "Ebuka", "Nathaniel",
                             "Isaac", "Jayden"],
                femaleOlder: ["Chioma", "Ngozi", "Adaeze", "Abena", "Akosua", "Funmilayo", "Folake", "Ama", "Blessing", "Esther",
                              "Grace", "Comfort"],
                femaleModern: ["Precious", "Favour", "Amara", "Temitope", "Chidinma", "Adwoa", "Esther", "Deborah", "Grace",
                               "Michelle", "Jasmine", "Hannah"]
            )
        case .caribbean:
            Forenames(
                maleOlder: ["Delroy", "Winston", "Errol", "Lloyd", "Clive", "Marcus", "Trevor", "Leroy", "Desmond", "Anthony"],
                maleModern: ["Tyrone", "Dwayne", "Andre", "Jermaine", "Leon", "Kareem", "Shane", "Marcus", "Isaiah", "Malachi"],
                femaleOlder: ["Paulette", "Marcia", "Beverley", "Hyacinth", "Sandra", "Yvonne", "Jennifer", "Carol", "Pauline", "Angela"],
                femaleModern: ["Shanice", "Tanisha", "Keisha", "Janelle", "Jada", "Aaliyah", "Chantelle", "Simone", "Kayla", "Nia"]
            )
        case .chinese:
            Forenames(
                maleOlder: ["Wei", "Jun", "Ming", "Hao", "Kevin", "Jian", "Chun", "Man"],
                maleModern: ["Ethan", "Ryan", "Jayden", "Haoran", "Zihan", "Lucas", "Yuxuan", "Oscar"],
                femaleOlder: ["Mei", "Xiu", "Li", "Ying", "Lan", "Helen", "Wai", "Fang"],
                femaleModern: ["Chloe", "Emily", "Xinyi", "Zoe", "Yuqi", "Grace", "Jia", "Lily"]
            )
        }
    }

    static func surnames(_ origin: Origin) -> [String] {
        switch origin {
        case .english:
            ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts",
             "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris",
             "Clarke", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee",
             "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker",
             "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Cook", "Carter", "Richardson", "Bailey", "Collins",
             "Bell", "Shaw", "Miller", "Cox", "Richards", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Wilkinson",
             "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Hunt", "Matthews", "Owen", "Palmer",
             "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins",
             "Dixon", "Harvey", "Pearce", "Smyth", "Stephenson", "Ashcroft", "Fairweather", "Pettigrew", "Whitlock",
             "Goodwin", "Lambert", "St John", "Ng", "Fox", "Day", "Hart", "Marsh", "Page", "Bird", "Frost"]
        case .irish:
            ["O'Brien", "O'Connor", "O'Sullivan", "O'Neill", "O'Reilly", "D'Arcy", "Murphy", "Kelly", "Byrne", "Ryan",
             "Walsh", "Doyle", "McCarthy", "Gallagher", "Donnelly", "McLaughlin", "Quinn", "Fitzgerald", "O'Donnell",
             "Ó Súilleabháin", "McDonagh", "Ward", "Maughan"]
        case .polish:
            ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański",
             "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Krawczyk", "Piotrowski", "Grabowski", "Pawłowski",
             "Michalski", "Król", "Wieczorek", "Jabłoński"]
        case .otherEuropean:
            ["Silva", "Santos", "Ferreira", "Pereira", "Yılmaz", "Kaya", "Öztürk", "Demir", "Popescu", "Ionescu", "Papadopoulos",
             "Georgiou", "García", "Fernández", "Müller", "Conceição", "de Souza", "Van der Merwe", "Rossi", "Lupu"]
        case .indian:
            ["Patel", "Shah", "Sharma", "Singh", "Gill", "Sandhu", "Mehta", "Desai", "Joshi", "Kumar", "Parmar", "Chauhan",
             "Mistry", "Dhillon"]
        case .pakistani:
            ["Khan", "Ahmed", "Hussain", "Ali", "Iqbal", "Malik", "Mahmood", "Akhtar", "Butt", "Raja", "Qureshi", "Shah",
             "Rashid", "Aslam"]
        case .bangladeshi:
            ["Rahman", "Chowdhury", "Islam", "Uddin", "Miah", "Ahmed", "Hossain", "Ali", "Khatun", "Alam", "Sarkar"]
        case .westAfrican:
            ["Okafor", "Adeyemi", "Mensah", "Okonkwo", "Boateng", "Owusu", "Adebayo", "Asante", "Nwosu", "Eze", "Olawale",
             "Ogunleye", "Appiah", "Danso", "Oduya", "Osei", "Adjei", "Ng'ang'a", "Obi"]
        case .caribbean:
            ["Campbell", "Brown", "Williams", "Thompson", "Clarke", "Francis", "Grant", "Bailey", "Reid", "Morgan",
             "Henry", "Samuels", "Gordon", "Forbes", "McKenzie"]
        case .chinese:
            ["Wang", "Li", "Chen", "Zhang", "Liu", "Wong", "Chan", "Lam", "Cheung", "Ho", "Ng"]
        }
    }
}
