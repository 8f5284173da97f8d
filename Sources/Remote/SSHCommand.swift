import Support
import CLibSSH2
#if canImport(Glibc)
import Glibc
#endif

/// One command on its own channel: feed stdin, drain stdout and stderr as
/// data arrives, then collect the exit status.
///
/// The loop keeps calling libssh2 while any call makes progress and only
/// then waits on the socket. Before waiting it also asks libssh2 whether
/// data for this channel is already queued: reading one stream can pull the
/// other stream's packets off the socket, and waiting then would hang.
struct SSHCommand {
    enum Failure: Error { case libssh2(Int32, String) }

    let session: SSHSession
    let command: String
    let options: RunOptions
    let stepTimeout: Double

    /// Receive window per channel: large enough that bulk output is not
    /// throttled by window adjustments on a fast link.
    static let window: UInt32 = 8 << 20

    func run() throws -> CommandResult {
        session.beginOperation()
        let deadline = Deadline(seconds: options.timeout)
        let step = Deadline(seconds: stepTimeout).earlier(deadline)
        guard let channel = try session.retryPointer(deadline: step, {
            cssh_channel_open_session(session.raw, Self.window)
        }) else { throw failure(libssh2_session_last_errno(session.raw)) }
        defer {
            // After a timeout the channel may still be open: give the close a moment.
            _ = try? session.retry(deadline: Deadline(seconds: 2)) { libssh2_channel_free(channel) }
        }

        let rc = try session.retry(deadline: step) { cssh_channel_exec(channel, command) }
        guard rc == 0 else { throw failure(rc) }

        var collector = OutputCollector(onLine: options.onLine)
        try exchange(channel, deadline: deadline, collector: &collector)
        collector.finish()

        let closeBy = Deadline(seconds: stepTimeout).earlier(deadline)
        var closed = try session.retry(deadline: closeBy) { libssh2_channel_close(channel) }
        if closed == 0 { closed = try session.retry(deadline: closeBy) { libssh2_channel_wait_closed(channel) } }
        if closed != 0 && SSHSession.isConnectionError(closed) { throw failure(closed) }
        return CommandResult(status: exitStatus(channel), stdout: collector.stdout, stderr: collector.stderr)
    }

    private func exchange(_ channel: OpaquePointer, deadline: Deadline, collector: inout OutputCollector) throws {
        let input = options.stdin
        var written = 0
        var eofSent = false
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            var progress = false
            if written < input.count {
                let n = input.withUnsafeBytes { raw in
                    cssh_channel_write(channel, raw.baseAddress!.assumingMemoryBound(to: CChar.self) + written,
                                       min(raw.count - written, 1 << 20))
                }
                if n > 0 {
                    written += n
                    progress = true
                } else if n != Int(LIBSSH2_ERROR_EAGAIN) {
                    // The command may have exited without reading all of
                    // its input; that is its business, not an error.
                    if libssh2_channel_eof(channel) == 1 || n == Int(LIBSSH2_ERROR_CHANNEL_CLOSED) {
                        written = input.count
                    } else {
                        throw failure(Int32(n))
                    }
                }
            }
            if written == input.count && !eofSent {
                let rc = libssh2_channel_send_eof(channel)
                if rc == 0 { eofSent = true; progress = true }
                else if rc != LIBSSH2_ERROR_EAGAIN { eofSent = true }  // channel already closing
            }
            for stream in [OutputStream.stdout, .stderr] {
                let n = buffer.withUnsafeMutableBytes { raw in
                    cssh_channel_read(channel, stream == .stdout ? 0 : 1,
                                      raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
                }
                if n > 0 {
                    buffer.withUnsafeBytes { collector.append(UnsafeRawBufferPointer(rebasing: $0[0..<n]), to: stream) }
                    progress = true
                } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) {
                    throw failure(Int32(n))
                }
            }
            if progress { continue }
            let queued = libssh2_poll_channel_read(channel, 0) > 0 || libssh2_poll_channel_read(channel, 1) > 0
            if queued { continue }
            if libssh2_channel_eof(channel) == 1 { return }
            try session.waitSocket(deadline: deadline)
        }
    }

    /// The exit status, or 128+N when the command died of signal N.
    private func exitStatus(_ channel: OpaquePointer) -> Int32 {
        var signal: UnsafeMutablePointer<CChar>? = nil
        var length = 0
        _ = libssh2_channel_get_exit_signal(channel, &signal, &length, nil, nil, nil, nil)
        if let signal {
            let name = String(cString: signal)
            libssh2_free(session.raw, signal)
            let numbers = ["HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
                           "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15]
            return 128 + Int32(numbers[name] ?? 0)
        }
        return libssh2_channel_get_exit_status(channel)
    }

    private func failure(_ code: Int32) -> Failure {
        .libssh2(code, session.lastError)
    }
}
