import Testing
import TestSupport
@testable import Remote
import Support
#if canImport(Glibc)
import Glibc
#endif

/// The same behaviour from both Host implementations: a real sshd on
/// loopback for SSHHost, /bin/sh for LocalHost.
enum HostKind: String, CaseIterable, CustomTestStringConvertible {
    case local, ssh
    var testDescription: String { rawValue }
}

/// Runs `body` with a fresh host of `kind` and a scratch directory on it.
func withHost(_ kind: HostKind, _ body: (Host, String) throws -> Void) throws {
    let scratch = try scratchDir("host")
    defer { _ = try? sh("rm -rf \(scratch)") }
    switch kind {
    case .local:
        let host = LocalHost()
        defer { host.close() }
        try body(host, scratch)
    case .ssh:
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        let host = try fixture.connect()
        defer { host.close() }
        try body(host, scratch)
    }
}

/// Deterministic pseudo-random bytes (xorshift), so uploads are not all zeros.
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        var i = 0
        while i < count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            withUnsafeBytes(of: state) { word in
                for b in word where i < count { raw[i] = b; i += 1 }
            }
        }
    }
    return out
}

@Suite struct HostBehaviourTests {
    @Test(arguments: HostKind.allCases)
    func exitStatusStdoutAndStderr(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            #expect(try host.run("true").status == 0)
            #expect(try host.run("exit 3").status == 3)
            #expect(try host.run("kill -9 $$").status == 137)
            let r = try host.run("echo out; echo err >&2; exit 1")
            #expect(r.status == 1)
            #expect(r.stdoutText == "out\n")
            #expect(r.stderrText == "err\n")
            #expect(throws: RemoteError.self) { try host.check("false") }
        }
    }

    @Test(arguments: HostKind.allCases)
    func stdinReachesTheCommand(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            let input = pseudoRandomBytes(3 << 20)
            let r = try host.run("sha256sum", stdin: input)
            #expect(r.stdoutText.hasPrefix(sha256Hex(input)))
            // A command that ignores its input must not hang or fail.
            #expect(try host.run("exit 0", stdin: input).status == 0)
            #expect(try host.run("cat", stdin: Array("hi".utf8)).stdoutText == "hi")
        }
    }

    @Test(arguments: HostKind.allCases)
    func fiftyMegabytesOfOutput(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            let size = 50 << 20
            let r = try host.run("head -c \(size) /dev/zero | tr '\\0' x; echo done >&2")
            #expect(r.status == 0)
            #expect(r.stdout.count == size)
            #expect(r.stdout.allSatisfy { $0 == UInt8(ascii: "x") })
            #expect(r.stderrText == "done\n")
        }
    }

    @Test(arguments: HostKind.allCases)
    func linesAreStreamedAsTheyArrive(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            var lines: [String] = []
            var firstLineAt = 0.0
            let r = try host.run("echo one; sleep 1; echo two >&2; printf three", onLine: { stream, line in
                if lines.isEmpty { firstLineAt = monotonicSeconds() }
                lines.append((stream == .stdout ? "out:" : "err:") + line)
            })
            let finishedAt = monotonicSeconds()
            #expect(r.status == 0)
            #expect(lines == ["out:one", "err:two", "out:three"])
            // The first line came while the command was still sleeping.
            #expect(finishedAt - firstLineAt > 0.5)
        }
    }

    @Test(arguments: HostKind.allCases)
    func timeoutStopsALongCommand(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            let started = monotonicSeconds()
            #expect {
                try host.run("sleep 10", timeout: 0.5)
            } throws: { error in
                guard case let RemoteError.timedOut(_, command, _)? = error as? RemoteError else { return false }
                return command == "sleep 10"
            }
            #expect(monotonicSeconds() - started < 5)
            // The host stays usable after a timeout.
            let again = try host.run("echo again")
            #expect(again.stdoutText == "again\n")
        }
    }

    @Test(arguments: HostKind.allCases)
    func uploadThirtyMegabytesWithModeAndOwner(kind: HostKind) throws {
        try withHost(kind) { host, scratch in
            let content = pseudoRandomBytes(30 << 20)
            let path = scratch + "/upload.bin"
            let (owner, group) = getuid() == 0 ? ("nobody", "nogroup") : (localUserName(), localUserName())
            try host.put(RemoteFile(path: path, content: content, mode: 0o640, owner: owner, group: group))
            let sum = try host.check("sha256sum \(path)")
            #expect(sum.hasPrefix(sha256Hex(content)))
            #expect(try host.check("stat -c '%a %U %G' \(path)") == "640 \(owner) \(group)\n")
            // Replacing leaves no temporary files behind.
            try host.put(RemoteFile(path: path, content: Array("new\n".utf8), mode: 0o600, owner: owner, group: group))
            #expect(try host.check("ls -A \(scratch)") == "upload.bin\n")
            #expect(try host.read(path) == Array("new\n".utf8))
        }
    }

    @Test(arguments: HostKind.allCases)
    func readFileAndMissingFile(kind: HostKind) throws {
        try withHost(kind) { host, scratch in
            try host.check("printf 'a\\nb' > \(scratch)/f")
            #expect(try host.read(scratch + "/f") == Array("a\nb".utf8))
            #expect {
                try host.read(scratch + "/missing")
            } throws: { error in
                "\(error)".contains("read \(scratch)/missing") && "\(error)".contains("No such file")
            }
        }
    }

    @Test(arguments: HostKind.allCases)
    func failedPutLeavesNoTrace(kind: HostKind) throws {
        try withHost(kind) { host, scratch in
            #expect {
                try host.put(RemoteFile(path: scratch + "/f", content: [1, 2], owner: "no-such-user-x", group: "root"))
            } throws: { error in "\(error)".contains("write \(scratch)/f") }
            let listing = try host.check("ls -A \(scratch)")
            #expect(listing == "")
        }
    }

    @Test(arguments: HostKind.allCases)
    func closedHostRefusesWork(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            host.close()
            #expect(throws: RemoteError.closed(host: host.name)) { try host.run("true") }
        }
    }
}

extension HostBehaviourTests {
    /// CPU seconds used by the calling thread so far.
    static func threadCPUSeconds() -> Double {
        var usage = rusage()
        _ = getrusage(__rusage_who_t(1), &usage)  // 1 = RUSAGE_THREAD
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    @Test(arguments: HostKind.allCases)
    func waitingForAQuietCommandDoesNotSpin(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            let before = Self.threadCPUSeconds()
            let status = try host.run("sleep 2").status
            #expect(status == 0)
            // A busy-waiting loop would burn about 2 s of CPU here.
            #expect(Self.threadCPUSeconds() - before < 0.3)
        }
    }
}

extension HostBehaviourTests {
    @Test(arguments: HostKind.allCases)
    func largeScriptRunsInOneCommand(kind: HostKind) throws {
        try withHost(kind) { host, _ in
            // 20,000 lines, about 400 KB: far beyond one exec argument's limit.
            let script = (0..<20_000).map { "echo line-\($0) # padding padding" }.joined(separator: "\n") + "\nexit 4\n"
            let result = try host.runScript(script)
            #expect(result.status == 4)
            let lines = result.stdoutText.split(separator: "\n")
            #expect(lines.count == 20_000)
            #expect(lines.last == "line-19999")
        }
    }
}
