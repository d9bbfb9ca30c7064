import ConcordHubServer
import ConcordTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Slow senders (slowloris) against a real hub with short deadlines: a request head trickled byte
/// by byte, and a body trickled after a whole head, must each have their connection closed once
/// the deadline passes however steadily they keep sending; and while many of them hang on, the
/// hub must keep answering everyone else at once.
@Suite("Slow senders against PostgreSQL", .enabled(if: databaseAvailable))
struct SlowSenderTests {
    static let headerTimeout = 1
    // Apart, so that each test shows which deadline cut it off (Hummingbird's idle timeout is the longer).
    static let requestTimeout = 6

    static func withHub(_ body: @Sendable (TestHub, Int) async throws -> Void) async throws {
        try await TestHub.with(limits: { limits in
            limits.headerTimeoutSeconds = headerTimeout
            limits.requestTimeoutSeconds = requestTimeout
        }) { hub in
            try await body(hub, try #require(hub.baseURL.split(separator: ":").last.flatMap { Int($0) }))
        }
    }

    @Test("a request head trickled a byte every 200 ms is cut off after header_timeout_seconds, unanswered")
    func slowHead() async throws {
        try await Self.withHub { _, port in
            let trickled = try await onThread {
                try SlowClient(port: port).trickle(start: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", then: "X-Slow: " + String(repeating: "a", count: 200))
            }
            #expect(trickled.closedByHub, "the hub kept the connection open for \(trickled.seconds) s")
            #expect(Double(Self.headerTimeout) - 0.2 < trickled.seconds && trickled.seconds < Double(Self.headerTimeout) + 3.5, "\(trickled.seconds) s")
            #expect(trickled.answer.isEmpty, "no answer to a head that never ended: \(trickled.answer)")
        }
    }

    @Test("a body trickled after a whole head is cut off after request_timeout_seconds, however steadily it comes")
    func slowBody() async throws {
        try await Self.withHub { hub, port in
            let analyst = try await hub.person("n-carrow", .analyst)
            let trickled = try await onThread {
                try SlowClient(port: port).trickle(start: """
                    POST /v1/requests HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Authorization: Bearer \(analyst)\r
                    Content-Type: application/json\r
                    Content-Length: 100000\r
                    \r
                    {"agreement":"
                    """, then: String(repeating: "a", count: 200))
            }
            #expect(trickled.closedByHub, "the hub kept the connection open for \(trickled.seconds) s")
            #expect(Double(Self.requestTimeout) - 0.2 < trickled.seconds && trickled.seconds < Double(Self.requestTimeout) + 3, "\(trickled.seconds) s")
            #expect(try await hub.send(.get, "/healthz").status == 200)
        }
    }

    @Test("while 100 slow senders hang on, other requests are answered at once, and the slow ones are all cut off")
    func manySlowSenders() async throws {
        try await Self.withHub { hub, port in
            let slow = (0..<100).map { _ in
                Task { try await onThread { try SlowClient(port: port).trickle(start: "GET /readyz HTTP/1.1\r\n", then: String(repeating: "b", count: 100)) } }
            }
            try await Task.sleep(for: .milliseconds(300))
            for _ in 0..<10 {
                let started = ContinuousClock.now
                #expect(try await hub.send(.get, "/healthz").status == 200)
                #expect(ContinuousClock.now - started < .seconds(1), "answered at once beside the slow senders")
            }
            for task in slow {
                let trickled = try await task.value
                #expect(trickled.closedByHub && trickled.seconds < Double(Self.headerTimeout) + 3.5, "\(trickled.seconds) s")
            }
        }
    }
}

/// Runs blocking socket work on a thread of its own, so the hub under test keeps the test's threads.
private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
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
            close(descriptor)
            throw TestFailure("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
    }

    /// Sends `start` at once, then `then` one byte every 200 ms, until the hub closes the
    /// connection or the bytes run out; closes the socket.
    func trickle(start: String, then: String) -> Outcome {
        defer { close(descriptor) }
        let began = ContinuousClock.now
        var answer: [UInt8] = []
        func elapsed() -> Double { Double((ContinuousClock.now - began).components.attoseconds) / 1e18 + Double((ContinuousClock.now - began).components.seconds) }
        guard send(Array(start.utf8)) else { return Outcome(closedByHub: true, seconds: elapsed(), answer: "") }
        for byte in then.utf8 {
            // Waits up to 200 ms for the hub to answer or hang up, then sends the next byte.
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 200) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return Outcome(closedByHub: true, seconds: elapsed(), answer: String(decoding: answer, as: UTF8.self)) }
                answer += buffer[0..<count]
            }
            guard send([byte]) else { return Outcome(closedByHub: true, seconds: elapsed(), answer: String(decoding: answer, as: UTF8.self)) }
        }
        return Outcome(closedByHub: false, seconds: elapsed(), answer: String(decoding: answer, as: UTF8.self))
    }

    private func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }
}
