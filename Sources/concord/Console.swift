#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Messages for people on standard error, so standard output stays clean for data.
enum Console {
    static func note(_ message: String) {
        FileStream.standardError.write(message + "\n")
    }

    /// Whether standard error is a terminal: progress lines are drawn only there.
    static var showsProgress: Bool { isatty(STDERR_FILENO) == 1 }

    /// Redraws one progress line in place.
    static func progress(_ message: String) {
        FileStream.standardError.write("\r\u{1B}[K" + message)
    }

    static func endProgress() {
        FileStream.standardError.write("\r\u{1B}[K")
    }
}

extension Duration {
    /// The duration in seconds, for rates and summaries.
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Unbuffered writes to a file descriptor.
struct FileStream {
    let descriptor: Int32
    static let standardError = FileStream(descriptor: STDERR_FILENO)

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}
