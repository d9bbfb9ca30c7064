import ArgumentParser
import ConcordCore
import Crypto

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the hot paths on this machine.",
        discussion: "The whole pseudonymise benchmark, with its Python baseline, is Benchmarks/run.sh; the CLK comparison against anonlink is Benchmarks/clk.sh (both in make bench).",
        subcommands: [HMACBench.self, CLKBench.self]
    )

    struct HMACBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hmac",
            abstract: "Compare HMAC-SHA256 paths on match-key-sized messages, one core.",
            discussion: """
            swift-crypto keyed per message, swift-crypto with a prepared key copied per message, and
            Concord's prepared libcrypto states (PrekeyedHMACSHA256, what pseudonymise uses); a bare
            SHA-256 of the same message through swift-crypto is shown for reference. The three HMAC paths
            produce the same codes (checked before measuring).

            Example:
              concord bench hmac --count 5000000 --length 120
            """
        )

        @Option(help: "Messages per path.")
        var count = 2_000_000

        @Option(help: "Message length in bytes (a typical match key message is 90-130).")
        var length = 110

        func run() async throws {
            let keyBytes = Array(UInt8(0)..<32)
            let key = SymmetricKey(data: keyBytes)
            // Distinct messages, as in real data, cycling through a small set kept in cache.
            let samples = (0..<1024).map { index in (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) } }
            let prekeyed = PrekeyedHMACSHA256(key: keyBytes)
            let prepared = HMAC<SHA256>(key: key)

            let reference = Array(HMAC<SHA256>.authenticationCode(for: samples[7], using: key))
            var copy = prepared
            copy.update(data: samples[7])
            guard Array(copy.finalize()) == reference, prekeyed.authenticationCode(for: samples[7]) == reference else {
                throw ValidationError("the HMAC paths disagree; not benchmarking")
            }

            var sink: UInt8 = 0
            var results: [(String, Double)] = []
            results.append(("swift-crypto, keyed per message", measure {
                for index in 0..<count { sink ^= HMAC<SHA256>.authenticationCode(for: samples[index & 1023], using: key).withUnsafeBytes { $0[0] } }
            }))
            results.append(("swift-crypto, prepared key copied", measure {
                for index in 0..<count {
                    var hmac = prepared
                    hmac.update(data: samples[index & 1023])
                    sink ^= hmac.finalize().withUnsafeBytes { $0[0] }
                }
            }))
            results.append(("libcrypto, prepared states (Concord)", measure {
                var mac = [UInt8](repeating: 0, count: 32)
                for index in 0..<count {
                    samples[index & 1023].withUnsafeBufferPointer { message in
                        mac.withUnsafeMutableBufferPointer { prekeyed.authenticationCode(for: message, into: $0) }
                    }
                    sink ^= mac[0]
                }
            }))
            results.append(("swift-crypto SHA-256, unkeyed (reference)", measure {
                for index in 0..<count { sink ^= SHA256.hash(data: samples[index & 1023]).withUnsafeBytes { $0[0] } }
            }))
            print("HMAC-SHA256, \(length)-byte messages, one core (sink \(sink)):")
            for (name, rate) in results {
                print("  \(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(String(format: "%6.2f", rate / 1e6)) M/s")
            }
        }

        /// Messages per second of `body`, which hashes `count` of them; best of three runs.
        private func measure(_ body: () -> Void) -> Double {
            let clock = ContinuousClock()
            var best = Duration.seconds(1_000_000)
            for _ in 0..<3 {
                let elapsed = clock.measure(body)
                best = min(best, elapsed)
            }
            return Double(count) / best.inSeconds
        }
    }
}
