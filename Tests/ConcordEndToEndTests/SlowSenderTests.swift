import ConcordProcess
import ConcordTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Slow senders (slowloris) against `concord hub serve` with short deadlines: a request head
/// trickled byte by byte, and a body trickled after a whole head, must each have their connection
/// closed once their deadline passes however steadily they keep sending; and while many of them
/// hang on, the hub must keep answering everyone else.
///
/// The hub runs as a process of its own: in this process, other tests' work on the shared event
/// loops delays timers by seconds under a full parallel run. Each deadline is set well apart from
/// the other (Hummingbird's idle timeout is `request_timeout_seconds` and restarts at every byte),
/// so that each test shows which one cut the sender off.
@Suite("Slow senders against concord hub serve", .enabled(if: databaseAvailable))
struct SlowSenderTests {
    @Test("a request head trickled a byte every 200 ms is cut off after header_timeout_seconds, unanswered")
    func slowHead() async throws {
        try await withHub(headerTimeout: 1, requestTimeout: 30) { port in
            let trickled = try await onThreadOfItsOwn {
                try SlowClient(port: port).trickle(start: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", then: "X-Slow: " + String(repeating: "a", count: 200))
            }
            #expect(trickled.closedByHub, "the hub kept the connection open for \(trickled.seconds) s")
            #expect(0.8 < trickled.seconds && trickled.seconds < 15, "cut off after \(trickled.seconds) s")
            #expect(trickled.answer.isEmpty, "no answer to a head that never ended: \(trickled.answer)")
        }
    }

    @Test("a body trickled after a whole head is cut off after request_timeout_seconds from the head, however steadily it comes")
    func slowBody() async throws {
        try await withHub(headerTimeout: 30, requestTimeout: 3) { port in
            // Refused at once (no credentials); the hub still reads the body to keep the
            // connection, and the body's deadline stands.
            let trickled = try await onThreadOfItsOwn {
                try SlowClient(port: port).trickle(start: """
                    POST /v1/requests HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Content-Type: application/json\r
                    Content-Length: 100000\r
                    \r
                    {"agreement":"
                    """, then: String(repeating: "a", count: 200))
            }
            #expect(trickled.closedByHub, "the hub kept the connection open for \(trickled.seconds) s (the trickle lasts 40 s)")
            #expect(2.8 < trickled.seconds && trickled.seconds < 20, "cut off after \(trickled.seconds) s")
        }
    }

    @Test("while 100 slow senders hang on, other requests are answered, and then the slow ones are all cut off")
    func manySlowSenders() async throws {
        try await withHub(headerTimeout: 10, requestTimeout: 60) { port in
            let slow = (0..<100).map { _ in
                Task { try await onThreadOfItsOwn { try SlowClient(port: port).trickle(start: "GET /readyz HTTP/1.1\r\n", then: String(repeating: "b", count: 300)) } }
            }
            try await Task.sleep(for: .milliseconds(500))
            for _ in 0..<10 {
                let answered = try await asyncRun("/usr/bin/curl", ["-s", "-o", "/dev/null", "-m", "8", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
                #expect(answered.output == "200", "answered beside the slow senders: \(answered.output) \(answered.error)")
            }
            for task in slow {
                let trickled = try await task.value
                #expect(trickled.closedByHub && trickled.seconds < 50, "cut off after \(trickled.seconds) s")
            }
        }
    }

    /// A hub on a fresh database with the given deadlines (seconds), running until `body` ends.
    private func withHub(headerTimeout: Int, requestTimeout: Int, _ body: (Int) async throws -> Void) async throws {
        try await withFreshDatabase { database in
            let directory = try TemporaryDirectory()
            let (config, _) = try await hubConfiguration(database, in: directory)
            try (try String(contentsOfFile: config, encoding: .utf8)
                 + "limits: {header_timeout_seconds: \(headerTimeout), request_timeout_seconds: \(requestTimeout)}\n")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let hub = try HubProcess(config: config)
            try await hub.start()
            defer { hub.stop() }
            try await body(try #require(hub.url.split(separator: ":").last.flatMap { Int($0) }))
        }
    }
}

/// A blocking TCP client on loopback that sends as slowly as it likes.
private struct SlowClient {
    struct Outcome: Sendable {
        /// Whether the hub closed the connection (rather than the client running out of bytes).
        var closedByHub: Bool
        /// From the first byte to the close.
        var seconds: Double
        /// What the hub sent back before closing.
        var answer: String
    }

    struct ConnectError: Error, CustomStringConvertible {
        let description: String
    }

    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw ConnectError(description: "cannot connect to 127.0.0.1:\(port): \(reason)")
        }
    }

    /// Sends `start` at once, then `then` one byte every 200 ms, until the hub closes the
    /// connection or the bytes run out; closes the socket.
    func trickle(start: String, then: String) -> Outcome {
        defer { close(descriptor) }
        let began = ContinuousClock.now
        var answer: [UInt8] = []
        func outcome(closed: Bool) -> Outcome {
            let elapsed = ContinuousClock.now - began
            return Outcome(closedByHub: closed, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                           answer: String(decoding: answer, as: UTF8.self))
        }
        guard send(Array(start.utf8)) else { return outcome(closed: true) }
        for byte in then.utf8 {
            // Waits up to 200 ms for the hub to answer or hang up, then sends the next byte.
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 200) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return outcome(closed: true) }
                answer += buffer[0..<count]
            }
            guard send([byte]) else { return outcome(closed: true) }
        }
        return outcome(closed: false)
    }

    private func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }
}
