import ConcordCore
import Crypto
import Foundation
import PropertyBased
import Testing

/// Properties that must hold for every input, checked on generated ones (x-sheep/swift-property-based):
/// CSV written and read back, normalisers applied twice, envelopes sealed and opened, and the
/// decision function never permitting what one of its rules denies.
@Suite("Properties")
struct PropertyTests {
    /// Bytes that CSV treats specially, mixed with ordinary and non-ASCII ones.
    static let csvByte = Gen<UInt8?>.element(of: [UInt8(ascii: ","), UInt8(ascii: "\""), 0x0A, 0x0D, 0x00, UInt8(ascii: " "), UInt8(ascii: "a"),
                                                  UInt8(ascii: "Z"), UInt8(ascii: "|"), 0xC3, 0xA9, 0xEF, 0xBB, 0xBF, 0xFF]).map { $0! }
    static let csvRecords = csvByte.array(of: 0...6).array(of: 1...5).array(of: 1...8)

    @Test("CSV records written and read back are the same records, whatever the bytes, delimiter and chunking")
    func csvRoundTrip() async {
        await propertyCheck(count: 300, input: Self.csvRecords, Gen.int(in: 1...17), Gen.bool) { records, chunk, pipe in
            let delimiter = pipe ? UInt8(ascii: "|") : UInt8(ascii: ",")
            var writer = CSVWriter(delimiter: delimiter)
            for record in records {
                for field in record { field.withUnsafeBufferPointer { writer.appendField($0) } }
                writer.endRecord()
            }
            let bytes = writer.bytes
            var parser = CSVParser(delimiter: delimiter, batchSize: 3)
            var batches: [CSVRecordBatch] = []
            do {
                var offset = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + chunk)
                    batches += try bytes[offset..<end].withUnsafeBytes { try parser.consume($0) }
                    offset = end
                }
                batches += try parser.finish()
            } catch {
                Issue.record("\(records) did not parse: \(error)")
                return
            }
            var read: [[[UInt8]]] = []
            for batch in batches { batch.forEachRecord { record in read.append((0..<record.count).map { Array(record[$0]) }) } }
            #expect(read == records, "written as \(bytes)")
        }
    }

    static let nameText = Gen<Character?>.element(of: Array("aZ é-'.ØßæÅMrs DR  \t,ÉĲŁñ") as [Character]).map { $0! }.string(of: 0...16)

    @Test("each normaliser is idempotent: normalising its own output changes nothing")
    func normalisationIdempotence() async {
        await propertyCheck(count: 500, input: Self.nameText) { text in
            let bytes = Array(text.utf8)
            if let name = bytes.withUnsafeBufferPointer(PersonalName.init) {
                let again = Array(name.normalised.utf8).withUnsafeBufferPointer(PersonalName.init)
                #expect(again?.normalised == name.normalised, "'\(text)'")
                let canonical = NicknameTable.shipped.canonical(name.firstWord)
                #expect(NicknameTable.shipped.canonical(canonical) == canonical, "'\(name.firstWord)'")
            }
            if let reference = bytes.withUnsafeBufferPointer(ReferenceNumber.normalised) {
                #expect(Array(reference.utf8).withUnsafeBufferPointer(ReferenceNumber.normalised) == reference, "'\(text)'")
            }
            if let sex = bytes.withUnsafeBufferPointer(SexCode.init) {
                #expect(Array(sex.rawValue.utf8).withUnsafeBufferPointer(SexCode.init) == sex)
            }
        }
        let postcodeText = Gen<Character?>.element(of: Array("SW1A 1AAGIR0ec2 9zq ") as [Character]).map { $0! }.string(of: 5...9)
        await propertyCheck(count: 500, input: postcodeText) { text in
            guard let postcode = Array(text.utf8).withUnsafeBufferPointer(Postcode.init) else { return }
            #expect(Array(postcode.description.utf8).withUnsafeBufferPointer(Postcode.init) == postcode, "'\(text)'")
        }
        let nhsText = Gen<Character?>.element(of: Array("0123456789 -") as [Character]).map { $0! }.string(of: 10...14)
        await propertyCheck(count: 2000, input: nhsText) { text in
            guard let number = Array(text.utf8).withUnsafeBufferPointer(NHSNumber.normalised) else { return }
            #expect(Array(number.utf8).withUnsafeBufferPointer(NHSNumber.normalised) == number, "'\(text)'")
        }
        await propertyCheck(count: 500, input: Gen.int(in: -1000...200_000)) { days in
            guard let date = CivilDate(daysSinceEpoch: days) else { return }
            #expect(CivilDate(iso: date.description) == date)
            for pattern in ["DD/MM/YYYY", "YYYY-MM-DD", "YYYYMMDD"] {
                let format = DateFormat(pattern)!
                let written = pattern == "DD/MM/YYYY" ? String(format: "%02d/%02d/%04d", date.day, date.month, date.year)
                    : pattern == "YYYYMMDD" ? date.description.replacingOccurrences(of: "-", with: "") : date.description
                #expect(Array(written.utf8).withUnsafeBufferPointer(format.parse) == date, "\(pattern) \(written)")
            }
        }
    }

    @Test("any payload sealed in any pieces opens to itself, with any chunk size, suite and compression")
    func envelopeRoundTrip() async throws {
        typealias F = EnvelopeFixture
        await propertyCheck(count: 40, input: Gen.int(in: 0...20_000), Gen.int(in: 1...9000), Gen.int(in: 0...2), Gen.bool, Gen.bool) { size, piece, sizeChoice, chacha, zstd in
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            let chunkSize = [4096, 5000, 16_384][sizeChoice]
            var manifest = F.manifest(for: payload)
            manifest.compression = zstd ? "zstd" : "none"
            do {
                let (envelope, _) = try F.seal(payload, manifest: manifest, pieceSize: piece, suite: chacha ? .x25519ChaChaPoly : .x25519AES256GCM, chunkSize: chunkSize)
                #expect(try F.open(envelope, pieceSize: piece) == payload)
            } catch {
                Issue.record("size \(size), piece \(piece), chunk \(chunkSize): \(error)")
            }
        }
    }

    static let agreements: [Agreement] = {
        let directory = repositoryRoot.appendingPathComponent("Agreements")
        let files = try! FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted().map {
            ("Agreements/\($0)", try! String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8))
        }
        return Agreement.load(files: files, catalogue: shippedCatalogue).agreements
    }()

    /// Decision requests built from the shipped agreements' own names (so that many are permitted)
    /// mixed with names no agreement has.
    struct DecisionInput: Sendable, CustomStringConvertible {
        var agreement: Agreement
        var request: DecisionRequest
        var description: String { "\(agreement.id) \(agreement.status): \(request)" }
    }

    static func decisionInputs() -> Generator<DecisionInput, Shrink.None<Int>> {
        let people = Array(Set(agreements.flatMap { $0.analystIDs.sorted() + $0.outputs.approvers + $0.igContacts.map(\.id) })).sorted() + ["x-stranger"]
        let agencies = Array(Set(agreements.flatMap { $0.providers.map(\.agency) })).sorted() + ["x-agency"]
        let datasets = shippedCatalogue.schemas.keys.sorted() + ["x_dataset"]
        let fields = shippedCatalogue.schemas.values.flatMap { schema in schema.fields.map { DatasetField(schema.dataset, $0.name) } }
        let purposes = agreements.map(\.purpose.code) + ["X-PURPOSE"]
        let statuses: [Agreement.Status] = [.active, .active, .active, .suspended, .terminated, .draft]
        return Gen.int(in: 0...Int.max).withoutShrink().map { seed in
            var random = SplitMix(seed: UInt64(truncatingIfNeeded: seed))
            func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
            var agreement = pick(agreements)
            agreement.status = pick(statuses)
            let chosen = Array(Set((0..<Int(random.next() % 4)).map { _ in pick(datasets) })).sorted()
            let requestFields = (0..<Int(random.next() % 5)).map { _ in pick(fields) }
            let action: Action = switch random.next() % 5 {
            case 0: .upload(dataset: pick(datasets), columns: (0..<Int(random.next() % 4)).map { _ in pick(fields).field })
            case 1, 2: .request(datasets: chosen, fields: requestFields, level: pick([.aggregate, .rowLevel]), linked: random.next() % 2 == 0)
            case 3: .approve(requester: pick(people))
            default: .readAuditLog
            }
            let principal: Principal = switch (action, random.next() % 6) {
            case (_, 0): pick([.agency(pick(agencies)), .analyst(pick(people)), .igOfficer(pick(people))])
            case (.upload, _): .agency(pick(agencies))
            case (.request, _): .analyst(pick(people))
            default: .igOfficer(pick(people))
            }
            let date = CivilDate(daysSinceEpoch: agreement.validFrom.daysSinceEpoch + Int(random.next() % 2000) - 500)!
            return DecisionInput(agreement: agreement, request: DecisionRequest(principal: principal, action: action,
                                                                               purpose: random.next() % 5 == 0 ? nil : pick(purposes), date: date))
        }
    }

    /// The rules of docs/agreements.md restated one by one: each returns true when it denies.
    static func deniedByRule(_ input: DecisionInput) -> [String] {
        let agreement = input.agreement, request = input.request
        var denied: [String] = []
        let oversight: Bool = if case .readAuditLog = request.action { true } else { false }
        if agreement.status != .active && !oversight { denied.append("not in force") }
        if (request.date < agreement.validFrom || request.date > agreement.validUntil) && !oversight { denied.append("outside validity") }
        switch (request.principal, request.action) {
        case (.agency(let agency), .upload(let dataset, let columns)):
            if let (provider, permission) = agreement.permission(for: dataset) {
                if provider.agency != agency { denied.append("not the provider") }
                let keys = agreement.linkage.permitted && agreement.linkage.datasets.contains(dataset) ? Set(agreement.linkage.matchKeys) : []
                if columns.contains(where: { column in !permission.fields.contains { $0.field == column } && !keys.contains(column) }) { denied.append("column") }
            } else {
                denied.append("dataset not provided")
            }
        case (.analyst(let analyst), .request(let datasets, let fields, let level, let linked)):
            if !agreement.analystIDs.contains(analyst) { denied.append("not a recipient") }
            if request.purpose != agreement.purpose.code { denied.append("purpose") }
            if datasets.contains(where: { agreement.permission(for: $0) == nil }) { denied.append("dataset not provided") }
            for field in fields {
                if !datasets.contains(field.dataset) || agreement.permission(for: field.dataset)?.1.fields.contains(where: { $0.field == field.field }) != true {
                    denied.append("field \(field)")
                }
            }
            if linked && (!agreement.linkage.permitted || datasets.contains { !agreement.linkage.datasets.contains($0) }) { denied.append("linkage") }
            if level == .rowLevel && agreement.outputs.level == .aggregate { denied.append("row level") }
        case (.igOfficer(let officer), .approve(let requester)):
            if !agreement.outputs.approvers.contains(officer) { denied.append("not an approver") }
            if officer == requester { denied.append("self-approval") }
        case (.igOfficer(let officer), .readAuditLog):
            if !agreement.outputs.approvers.contains(officer) && !agreement.igContacts.contains(where: { $0.id == officer }) { denied.append("not overseeing") }
        default:
            denied.append("action not allowed")
        }
        return denied
    }

    @Test("no input yields permit (or approval) when any rule denies, and a denial always gives its reasons")
    func decisionNeverPermitsWhatARuleDenies() async {
        var permitted = 0
        await propertyCheck(count: 3000, input: Self.decisionInputs()) { input in
            let decision = Decision.evaluate(input.request, under: input.agreement)
            let denied = Self.deniedByRule(input)
            if !denied.isEmpty {
                #expect(decision.effect == .deny, "\(input): \(denied) but \(decision.effect)")
            } else {
                #expect(decision.effect != .deny, "\(input): no rule denies but \(decision.reasons)")
                permitted += 1
            }
            #expect((decision.effect == .deny) == !decision.reasons.filter { $0.code != "approval-required" }.isEmpty)
        }
        // The generator reaches both sides of the decision, or the property says little.
        #expect(permitted > 30, "only \(permitted) of 3000 permitted")
    }
}
