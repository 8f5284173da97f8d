#if canImport(Glibc)
import Glibc
#endif

/// Log lines of chatmaild's services: one line per event on stderr, no
/// timestamps (journald adds them). mtail counts some of these lines by
/// their exact text, and its `warning` counter matches the lower-case word,
/// so warnings start with `warning:` as Postfix's do.
public enum ServiceLog {
    public static func info(_ message: String) {
        write(message)
    }

    public static func warning(_ message: String) {
        write("warning: " + message)
    }

    private static func write(_ line: String) {
        // One fputs per line: stdio's lock keeps concurrent lines whole.
        _ = (line + "\n").withCString { fputs($0, stderr) }
    }
}
