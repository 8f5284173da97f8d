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

extension Host {
    /// Writes many files in one command: a tar stream on stdin unpacks each
    /// file to a temporary name beside its target, then every temporary
    /// file gets its owner, group and mode and is renamed into place. Each
    /// file is replaced atomically; if anything fails, the temporary files
    /// are removed and the error names the command's complaint.
    public func putAll(_ files: [RemoteFile]) throws {
        guard !files.isEmpty else { return }
        let (script, archive) = putAllScript(files)
        let result = try run(script, stdin: archive)
        guard result.succeeded else {
            throw RemoteError.commandFailed(
                host: name, command: "write \(files.count) files (\(files.map(\.path).joined(separator: ", ")))",
                status: result.status, stderr: result.stderrText)
        }
    }
}

/// The script and tar stream for `putAll`. Temporary names are fixed
/// (".<name>.cmdeploy-new") so the script can clean them up by name.
func putAllScript(_ files: [RemoteFile]) -> (String, [UInt8]) {
    var tar = TarStream()
    var temps: [String] = []
    var install: [String] = []
    var dirs: [String] = []
    for file in files {
        let slash = file.path.lastIndex(of: "/")
        let dir = slash.map { String(file.path[...$0]) } ?? ""
        let base = slash.map { String(file.path[file.path.index(after: $0)...]) } ?? file.path
        let temp = dir + "." + base + ".cmdeploy-new"
        if !dir.isEmpty && !dirs.contains(shellQuote(dir)) { dirs.append(shellQuote(dir)) }
        tar.addFile(path: temp, content: file.content, mode: 0o600)
        temps.append(shellQuote(temp))
        let mode = String(file.mode & 0o7777, radix: 8)
        install.append("chown \(shellQuote("\(file.owner):\(file.group)")) \(shellQuote(temp)) && "
            + "chmod \(mode) \(shellQuote(temp)) && sync -- \(shellQuote(temp)) && mv -f -- \(shellQuote(temp)) \(shellQuote(file.path))")
    }
    tar.finish()
    let script = """
        for d in \(dirs.joined(separator: " ")); do [ -d "$d" ] || { echo "no such directory: $d" >&2; exit 1; }; done
        trap 'rm -f -- \(temps.joined(separator: " "))' EXIT
        tar -x -P --no-same-owner --no-same-permissions -f - || exit 1
        \(install.joined(separator: " &&\n")) || exit 1
        """
    return (script, tar.bytes)
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
