import ArgumentParser
import ConcordCore
import Foundation

extension BenchCommand {
    struct CLKBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clk",
            abstract: "Measure Dice comparisons of 1024-bit CLK encodings per second, on one core and on all.",
            discussion: """
            Encodes --left and --right synthetic records with concord-clk/1 (docs/pprl.md) under a
            throwaway key, then compares every left record with every right one (the hub's hot loop,
            FuzzyComparison, as one block) on one task and on --parallelism tasks. The best of three
            runs is reported. --write-filters saves the encodings (one line per record, lower-case
            hex, the left ones then a blank line then the right ones) for Benchmarks/clk_anonlink.py,
            which runs the same comparisons through anonlink (Benchmarks/clk.sh does both).

            Example:
              concord bench clk --left 10000 --right 10000 --write-filters /tmp/filters.txt
            """
        )

        @Option(help: "Records on the left.")
        var left = 10_000

        @Option(help: "Records on the right.")
        var right = 10_000

        @Option(help: "Dice threshold: pairs at or above it are kept.")
        var threshold = 0.8

        @Option(help: "Tasks for the multi-core run (default: the cores).")
        var parallelism = ProcessInfo.processInfo.activeProcessorCount

        @Option(help: "Write the encodings here for the anonlink comparison.")
        var writeFilters: String?

        func run() async throws {
            guard left > 0, right > 0, parallelism > 0 else { throw ValidationError("--left, --right and --parallelism must be positive") }
            let encoder = try CLKEncoder(parameters: .standard(keyVersion: 1), key: LinkageKey.generate(version: 1))
            var generator = SystemRandomNumberGenerator()
            // Half the right records are the left ones with one surname letter changed, so that
            // the comparison also finds (and keeps) matches, as in real linkage.
            let people = (0..<max(left, right)).map { _ in SyntheticPerson(&generator) }
            let leftSet = CLKFilterSet(people.prefix(left).map { encoder.filter($0.values) })
            let rightSet = CLKFilterSet(people.prefix(right).enumerated().map { index, person in
                encoder.filter(index % 2 == 0 ? person.withTypo(&generator).values : SyntheticPerson(&generator).values)
            })
            if let path = writeFilters {
                let lines = (0..<left).map { leftSet[$0].bytes.lowercaseHex } + [""] + (0..<right).map { rightSet[$0].bytes.lowercaseHex }
                try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            }
            let block = FuzzyComparison.Block(left: Array(0..<Int32(left)), right: Array(0..<Int32(right)))
            let comparisons = Double(left) * Double(right)
            var found = 0
            let one = try await measure {
                found = FuzzyComparison.scores(of: [block], left: leftSet, right: rightSet, minimum: threshold).count
            }
            let all = try await measure {
                _ = await FuzzyComparison.compare(blocks: [block], left: leftSet, right: rightSet, minimum: threshold, parallelism: parallelism)
            }
            print("clk: \(left) x \(right) comparisons, threshold \(threshold), \(found) pairs kept")
            print("clk: one core: \(String(format: "%.1f", comparisons / one / 1e6)) M comparisons/s")
            print("clk: \(parallelism) tasks: \(String(format: "%.1f", comparisons / all / 1e6)) M comparisons/s (\(String(format: "%.1f", comparisons / all / 1e6 / Double(parallelism))) M/s per task)")
        }

        /// Seconds of the best of three runs.
        private func measure(_ body: () async throws -> Void) async throws -> Double {
            let clock = ContinuousClock()
            var best = Duration.seconds(1_000_000)
            for _ in 0..<3 {
                let started = clock.now
                try await body()
                best = min(best, clock.now - started)
            }
            return best.inSeconds
        }
    }
}

/// Identifiers of a made-up person, for the benchmark only: random letters and digits with the
/// shapes of normalised names, dates and postcodes.
private struct SyntheticPerson {
    var surname: String
    var forename: String
    var dateOfBirth: String
    var postcode: String

    init(_ generator: inout SystemRandomNumberGenerator) {
        func letters(_ count: Int) -> String {
            String((0..<count).map { _ in Character(Unicode.Scalar(UInt8(65 + generator.next() % 26))) })
        }
        surname = letters(4 + Int(generator.next() % 6))
        forename = letters(3 + Int(generator.next() % 6))
        dateOfBirth = "\(1940 + generator.next() % 80)-\(10 + generator.next() % 3)-\(10 + generator.next() % 18)"
        postcode = "\(letters(2))\(generator.next() % 10) \(generator.next() % 10)\(letters(2))"
    }

    func withTypo(_ generator: inout SystemRandomNumberGenerator) -> SyntheticPerson {
        var copy = self
        var scalars = Array(surname.unicodeScalars)
        scalars[Int(generator.next() % UInt64(scalars.count))] = Unicode.Scalar(UInt8(65 + generator.next() % 26))
        copy.surname = String(String.UnicodeScalarView(scalars))
        return copy
    }

    var values: (MatchKeyComponent) -> String? {
        { component in
            switch component {
            case .surname: surname
            case .forenameCanonical: forename
            case .dateOfBirth: dateOfBirth
            case .postcode: postcode
            default: nil
            }
        }
    }
}
