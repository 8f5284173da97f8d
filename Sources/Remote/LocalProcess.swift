import Support
#if canImport(Glibc)
import Glibc
#endif

/// Runs `/bin/sh -c command` on this machine with pipes for stdin, stdout
/// and stderr, all served by one poll() loop, so a command can take any
/// amount of input and produce any amount of output without deadlock.
/// The command runs in its own process group, and a timeout kills the group.
func runLocalProcess(_ command: String, options: RunOptions, hostName: String) throws -> CommandResult {
    _ = ignoreSIGPIPE
    let child = try ChildProcess(["/bin/sh", "-c", command], pipes: true, newProcessGroup: true)
    let deadline = Deadline(seconds: options.timeout)
    var collector = OutputCollector(onLine: options.onLine)
    var inFD = child.stdinFD, outFD = child.stdoutFD, errFD = child.stderrFD
    var written = 0
    if options.stdin.isEmpty { close(inFD); inFD = -1 }
    var buffer = [UInt8](repeating: 0, count: 65536)

    while outFD >= 0 || errFD >= 0 {
        var fds: [pollfd] = []
        if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
        if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
        if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
        let ready = poll(&fds, nfds_t(fds.count), deadline.pollMilliseconds())
        if ready < 0 {
            if errno == EINTR { continue }
            child.kill()
            throw RemoteError.spawnFailed(command: command, detail: "poll: \(String(cString: strerror(errno)))")
        }
        if ready == 0 && deadline.expired {
            child.kill()
            if inFD >= 0 { close(inFD) }
            if outFD >= 0 { close(outFD) }
            if errFD >= 0 { close(errFD) }
            throw RemoteError.timedOut(host: hostName, command: command, seconds: options.timeout ?? 0)
        }
        for p in fds where p.revents != 0 {
            if p.fd == inFD {
                let n = options.stdin.withUnsafeBytes { raw in
                    write(inFD, raw.baseAddress! + written, min(raw.count - written, 1 << 20))
                }
                if n > 0 { written += n }
                if (n < 0 && errno != EAGAIN && errno != EINTR) || written == options.stdin.count {
                    close(inFD); inFD = -1  // done, or the command stopped reading (EPIPE)
                }
                continue
            }
            let n = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                buffer.withUnsafeBytes { raw in
                    collector.append(UnsafeRawBufferPointer(rebasing: raw[0..<n]), to: p.fd == outFD ? .stdout : .stderr)
                }
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                close(p.fd)
                if p.fd == outFD { outFD = -1 } else { errFD = -1 }
            }
        }
    }
    if inFD >= 0 { close(inFD) }
    collector.finish()
    guard let status = child.wait(deadline: deadline) else {
        child.kill()
        throw RemoteError.timedOut(host: hostName, command: command, seconds: options.timeout ?? 0)
    }
    return CommandResult(status: status, stdout: collector.stdout, stderr: collector.stderr)
}

/// A child process started with posix_spawn. Public so tests and
/// benchmarks can run daemons (sshd, ssh-agent) as their own children.
public final class ChildProcess {
    public let pid: pid_t
    let stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32
    private let processGroup: Bool
    private var reaped = false

    /// - pipes: connect stdin/stdout/stderr to pipes (non-blocking on our side);
    ///   otherwise stdin is /dev/null and output goes to `outputPath` (or /dev/null).
    public init(_ argv: [String], pipes: Bool = false, outputPath: String? = nil,
                newProcessGroup: Bool = true, environment: [String: String]? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup { flags |= Int32(POSIX_SPAWN_SETPGROUP); posix_spawnattr_setpgroup(&attr, 0) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(flags))

        var ours: [Int32] = [-1, -1, -1]
        var theirs: [Int32] = []
        if pipes {
            for i in 0..<3 {
                var fds: [Int32] = [0, 0]
                // (pipe2 is hidden behind _GNU_SOURCE in Swift's Glibc module.)
                guard pipe(&fds) == 0 else {
                    throw RemoteError.spawnFailed(command: argv.joined(separator: " "),
                                                  detail: String(cString: strerror(errno)))
                }
                let (childEnd, ourEnd) = i == 0 ? (fds[0], fds[1]) : (fds[1], fds[0])
                posix_spawn_file_actions_adddup2(&actions, childEnd, Int32(i))
                _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
                _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
                _ = fcntl(ourEnd, F_SETFL, fcntl(ourEnd, F_GETFL) | O_NONBLOCK)
                ours[i] = ourEnd
                theirs.append(childEnd)
            }
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }

        var env: [String]
        if let environment {
            env = environment.map { "\($0.key)=\($0.value)" }
        } else {
            env = []
            var p = environ
            while let entry = p.pointee { env.append(String(cString: entry)); p += 1 }
        }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var newPID: pid_t = 0
        let rc = posix_spawn(&newPID, argv[0], &actions, &attr, &cArgs, &cEnv)
        theirs.forEach { close($0) }
        guard rc == 0 else {
            ours.filter { $0 >= 0 }.forEach { close($0) }
            throw RemoteError.spawnFailed(command: argv.joined(separator: " "), detail: String(cString: strerror(rc)))
        }
        pid = newPID
        processGroup = newProcessGroup
        (stdinFD, stdoutFD, stderrFD) = (ours[0], ours[1], ours[2])
    }

    /// Sends `signal` to the process (and its group, when it has its own).
    public func kill(_ signal: Int32 = SIGKILL) {
        guard !reaped else { return }
        _ = processGroup ? Glibc.kill(-pid, signal) : Glibc.kill(pid, signal)
    }

    /// Waits for the exit; nil if the deadline passed first. The status is
    /// the exit code, or 128+N for death by signal N, as shells report it.
    public func wait(deadline: Deadline = .never) -> Int32? {
        var status: Int32 = 0
        while true {
            let flags: Int32 = deadline.end == nil ? 0 : WNOHANG
            let r = waitpid(pid, &status, flags)
            if r == pid { break }
            if r < 0 && errno == EINTR { continue }
            if r < 0 { reaped = true; return -1 }
            // Still running with a deadline: re-check every 5 ms until it passes.
            if deadline.expired { return nil }
            usleep(5000)
        }
        reaped = true
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    /// Kills the process (group) and reaps it.
    public func terminate() {
        kill(SIGKILL)
        _ = wait()
    }

    deinit {
        if !reaped { terminate() }
    }
}
