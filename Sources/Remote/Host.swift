import Support
/// Where a deploy happens: a relay reached over SSH, or this machine.
///
/// The API is blocking on purpose: a deploy is a short sequence of steps
/// that each wait for the previous one, and a blocking call whose every wait
/// is bounded by a deadline is the simplest thing that is correct. One
/// `Host` value is one connection; run as many commands over it as needed.
public protocol Host: AnyObject {
    /// What error messages call this host ("root@chat.example.org:22", "localhost").
    var name: String { get }

    /// Runs `command` as a shell command line on the host (the login
    /// shell over SSH, as `ssh host command` does; /bin/sh locally).
    /// Never throws for a non-zero exit status: that is in the result.
    /// Throws `RemoteError` when the command could not be run to its end
    /// (timeout, dropped connection).
    func run(_ command: String, options: RunOptions) throws -> CommandResult

    /// Writes `file` atomically: a temporary file next to the target gets
    /// the content, owner, group and mode, then is renamed over the target.
    func put(_ file: RemoteFile) throws

    /// Reads a whole file.
    func read(_ path: String) throws -> [UInt8]

    /// Ends the connection. Later calls throw.
    func close()
}

public struct RunOptions {
    /// Bytes fed to the command's standard input, then end of file.
    public var stdin: [UInt8]
    /// Gives up (and reports `RemoteError.timedOut`) after this many seconds.
    public var timeout: Double?
    /// Called with each complete output line as it arrives (without the
    /// newline), e.g. to show progress of a long apt run. The whole output is
    /// still returned in the result.
    public var onLine: ((OutputStream, String) -> Void)?

    public init(stdin: [UInt8] = [], timeout: Double? = nil,
                onLine: ((OutputStream, String) -> Void)? = nil) {
        self.stdin = stdin
        self.timeout = timeout
        self.onLine = onLine
    }
}

public enum OutputStream: Sendable { case stdout, stderr }

public struct CommandResult: Sendable {
    /// The exit status; 128+N when the command was killed by signal N.
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public var succeeded: Bool { status == 0 }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// One file to write on the host.
public struct RemoteFile {
    public var path: String
    public var content: [UInt8]
    public var mode: UInt32
    public var owner: String
    public var group: String

    public init(path: String, content: [UInt8], mode: UInt32 = 0o644,
                owner: String = "root", group: String = "root") {
        self.path = path
        self.content = content
        self.mode = mode
        self.owner = owner
        self.group = group
    }
}

extension Host {
    public func run(_ command: String, stdin: [UInt8] = [], timeout: Double? = nil,
                    onLine: ((OutputStream, String) -> Void)? = nil) throws -> CommandResult {
        try run(command, options: RunOptions(stdin: stdin, timeout: timeout, onLine: onLine))
    }

    /// Runs a (possibly large) shell script with /bin/sh, fed on stdin: no
    /// command-line length limit (one exec argument is capped at 128 KiB on
    /// Linux) and no dependence on the login shell. For the fact probe.
    public func runScript(_ script: String, timeout: Double? = nil,
                          onLine: ((OutputStream, String) -> Void)? = nil) throws -> CommandResult {
        try run("/bin/sh -s", stdin: Array(script.utf8), timeout: timeout, onLine: onLine)
    }

    /// Runs `command` and returns its stdout; a non-zero exit is an error
    /// that carries the command and its stderr.
    @discardableResult
    public func check(_ command: String, stdin: [UInt8] = [], timeout: Double? = nil) throws -> String {
        let result = try run(command, stdin: stdin, timeout: timeout)
        guard result.succeeded else {
            throw RemoteError.commandFailed(host: name, command: command, status: result.status,
                                            stderr: result.stderrText)
        }
        return result.stdoutText
    }
}
