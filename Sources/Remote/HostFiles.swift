import Support
// File transfer built on `run`, shared by every Host: one exec per file,
// with the content on stdin. Both hosts behave identically because they run
// the very same shell lines.

extension Host {
    public func put(_ file: RemoteFile) throws {
        let command = putScript(file)
        let result = try run(command, stdin: file.content)
        guard result.succeeded else {
            throw RemoteError.commandFailed(host: name, command: "write \(file.path)", status: result.status,
                                            stderr: result.stderrText)
        }
    }

    public func read(_ path: String) throws -> [UInt8] {
        let result = try run("cat -- \(shellQuote(path))")
        guard result.succeeded else {
            throw RemoteError.commandFailed(host: name, command: "read \(path)", status: result.status,
                                            stderr: result.stderrText)
        }
        return result.stdout
    }
}

/// The shell lines that write stdin to a temporary file beside the target,
/// set owner, group and mode on it, and rename it into place; on any failure
/// the temporary file is removed and the target is left as it was.
func putScript(_ file: RemoteFile) -> String {
    let path = shellQuote(file.path)
    let owner = shellQuote("\(file.owner):\(file.group)")
    let mode = String(file.mode & 0o7777, radix: 8)
    return """
        f=\(path); t=$(mktemp "$(dirname -- "$f")/.cmdeploy-XXXXXX") || exit 1
        if cat >"$t" && chown \(owner) "$t" && chmod \(mode) "$t" && sync -- "$t" && mv -f -- "$t" "$f"; then exit 0; fi
        rm -f -- "$t"; exit 1
        """
}
