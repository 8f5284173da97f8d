import ChatmailConfig
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The state shared by all sessions of one filtermail instance: the policy,
/// the per-sender rate limiter (behind a lock, sessions run on several
/// threads) and the log sink.
final class FilterGate: Sendable {
    let mode: FilterMode
    let policy: MailPolicy
    let log: @Sendable (String) -> Void
    private let limiter: NIOLockedValueBox<RateLimiter>

    init(settings: FiltermailSettings, log: @escaping @Sendable (String) -> Void) {
        mode = settings.mode
        let dir = settings.mailboxesDir
        // Only addresses of mail_domain have a mailbox here: no file system
        // lookups for the foreign recipients of outgoing mail.
        let local = "@" + ASCII.lowercased(settings.mailDomain)
        policy = MailPolicy(mode: settings.mode, flags: MailboxFlags(
            enforcesE2EE: { $0.hasSuffix(local) && access("\(dir)/\($0)/\(HostLayout.enforceE2EEFlag)", F_OK) == 0 },
            isDisabled: { $0.hasSuffix(local) && access("\(dir)/\($0)/DISABLED", F_OK) == 0 }))
        self.log = log
        limiter = NIOLockedValueBox(RateLimiter(perMinute: settings.maxUserSendPerMinute,
                                                burst: settings.maxUserSendBurstSize))
    }

    /// MAIL FROM checks: the sender to record, or the refusal (the session
    /// goes on, as upstream's does). Outgoing senders are reduced to their
    /// canonical form, so every spelling of one address shares one rate
    /// budget and is compared as one with From:. Incoming takes any
    /// sender, also the null sender of bounces.
    func checkSender(_ address: String) -> Result<String, SMTPReply> {
        guard mode == .outgoing else { return .success(address) }
        guard let path = MailPath.parse(address), !path.local.utf8.contains(UInt8(ascii: "@")) else {
            return .failure(SMTPReply(500, "Invalid from address \(address)"))
        }
        let now = Double(NIODeadline.now().uptimeNanoseconds) / 1e9
        let key = path.withoutExtension ?? path.canonical
        if let wait = limiter.withLockedValue({ $0.check(key, now: now) }) {
            let seconds = (wait * 1000).rounded(.up) / 1000
            return .failure(SMTPReply(450, "4.7.1: Too much mail from \(path.canonical), retry in \(seconds)s"))
        }
        return .success(path.canonical)
    }

    func judge(_ envelope: Envelope, message: [UInt8]) -> MailPolicy.Verdict {
        let (verdict, lines) = policy.judge(envelope, message: message)
        lines.forEach(log)
        return verdict
    }

    /// Messages at least this big are checked on the thread pool: checking
    /// takes about 7 µs per KB, and a 30 MB message must not stall every
    /// other session of its event loop for a quarter of a second.
    static let inlineCheckLimit = 1 << 20

    /// The whole way of one message, for the SMTP and the /mxdeliv front
    /// ends alike: judged (inline when small, so the future is already
    /// complete; on `pool` when big), re-injected when accepted, and the
    /// reply for the client.
    func handle(_ envelope: Envelope, message: ByteBuffer, reinjector: Reinjector, pool: NIOThreadPool,
                on eventLoop: EventLoop) -> EventLoopFuture<SMTPReply> {
        let bytes = Array(message.readableBytesView)
        let verdict = bytes.count < Self.inlineCheckLimit
            ? eventLoop.makeSucceededFuture(judge(envelope, message: bytes))
            : pool.runIfActive(eventLoop: eventLoop) { self.judge(envelope, message: bytes) }
        return verdict.flatMap { verdict -> EventLoopFuture<SMTPReply> in
            switch verdict {
            case .reject(let refusal):
                return eventLoop.makeSucceededFuture(refusal)
            case .accept(let delivery) where delivery.recipients.isEmpty:
                // Every recipient (or the sender) is disabled: taken, not delivered.
                return eventLoop.makeSucceededFuture(.ok)
            case .accept(let delivery):
                return reinjector.deliver(delivery, message).map { $0.isPositive ? .ok : $0 }
            }
        }.recover { _ in SMTPReply(451, "4.3.0 filtermail is shutting down") }
    }
}

// The closure only calls access(2) on an immutable path prefix.
extension MailPolicy: @unchecked Sendable {}

/// What both front ends (an SMTP session and `/mxdeliv`) hold to pass a
/// message through the gate; the server builds one per connection, with
/// the re-injector of the connection's event loop.
struct GateRoute {
    let settings: FiltermailSettings
    let gate: FilterGate
    let reinjector: Reinjector
    let checkPool: NIOThreadPool
    let drain: Drain?

    /// Judges and re-injects one message, then hands the reply to `done`.
    /// In flight from here until `done` has run: a graceful stop waits for
    /// it, so a re-injected message always gets its reply written.
    func submit(_ envelope: Envelope, _ message: ByteBuffer, on eventLoop: EventLoop,
                then done: @escaping @Sendable (SMTPReply) -> Void) {
        let drain = self.drain
        drain?.begin()
        gate.handle(envelope, message: message, reinjector: reinjector, pool: checkPool, on: eventLoop)
            .whenSuccess { reply in
                defer { drain?.end() }
                done(reply)
            }
    }
}
