#if canImport(Glibc)
import Foundation
import Glibc
#endif

/// Printing for the CLI. Colour only on a terminal and never with NO_COLOR;
/// red/green/yellow go to stderr as in the Python tool, plain output to stdout.
enum Console {
    static let useColor: Bool = {
        if let nc = getenv("NO_COLOR"), nc.pointee != 0 { return false }
        if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
        return isatty(STDERR_FILENO) == 1
    }()

    /// Standard output is an interactive terminal (live progress line).
    static let isTerminal: Bool = isatty(STDOUT_FILENO) == 1

    static func out(_ text: String) {
        print(text)
    }

    enum Style { case ok, warning, error }

    /// A report line on stdout (so it can be piped), coloured only when
    /// stdout is a terminal.
    static func report(_ text: String, style: Style) {
        let code = style == .ok ? "32" : style == .warning ? "33" : "31"
        print(useColor && isTerminal ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text)
    }

    static func error(_ text: String) { colored(text, code: "31") }
    static func success(_ text: String) { colored(text, code: "32") }
    static func warn(_ text: String) { colored(text, code: "33") }

    private static func colored(_ text: String, code: String) {
        let line = useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m\n" : text + "\n"
        // stdout is buffered when piped: flush it so a log shows both
        // streams in the order they were written.
        fflush(nil)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
