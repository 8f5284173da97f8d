#if canImport(Glibc)
import Glibc
#endif

/// The log of chatmaild's services: one line per event on stderr, without
/// timestamps (systemd puts the lines in the journal, which adds its own).
/// The relay's mtail program (templates/mtail/delivered_mail.mtail) reads
/// the journal and counts some lines by their exact text, such as
/// "Created address: ..." and "registration rejected: ...". Its
/// `warning_count` matches the lower-case word `warning` case-sensitively,
/// so warnings start with `warning:` as Postfix's do, and errors, to match,
/// with `error:`.
public enum Log {
    public enum Level: Sendable { case info, warning, error }

    public static func info(_ message: String) { write(line(.info, message)) }
    public static func warning(_ message: String) { write(line(.warning, message)) }
    public static func error(_ message: String) { write(line(.error, message)) }

    /// The text of one log line, as written to stderr without the newline.
    static func line(_ level: Level, _ message: String) -> String {
        switch level {
        case .info: message
        case .warning: "warning: " + message
        case .error: "error: " + message
        }
    }

    private static func write(_ line: String) {
        toStderr(line + "\n")
    }

    /// Writes straight to descriptor 2, one write(2) per call (no stdio
    /// buffer shared between threads), so concurrent lines stay whole.
    static func toStderr(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue } else { return } }
            bytes = bytes.dropFirst(n)
        }
    }
}
