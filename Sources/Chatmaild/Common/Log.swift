#if canImport(Glibc)
import Glibc
#endif

/// Log lines go to stderr: systemd puts them in the journal, and mtail reads
/// lines such as "Created address: ..." from there. No timestamps: the journal
/// adds its own.
public enum Log {
    public nonisolated(unsafe) static var quiet = false

    public static func info(_ message: String) { write(message) }
    public static func warning(_ message: String) { write("WARNING: " + message) }
    public static func error(_ message: String) { write("ERROR: " + message) }

    static func write(_ line: String) {
        if quiet { return }
        let text = line + "\n"
        text.withCString { _ = fputs($0, stderr) }
    }
}
