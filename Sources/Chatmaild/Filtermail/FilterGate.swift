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
        policy = MailPolicy(mode: settings.mode) { address in
            access("\(dir)/\(address)/enforceE2EEincoming", F_OK) == 0
        }
        self.log = log
        limiter = NIOLockedValueBox(RateLimiter(perMinute: settings.maxUserSendPerMinute,
                                                burst: settings.maxUserSendBurstSize))
    }

    /// MAIL FROM checks: nil to go on, else the reply after which the
    /// session is closed. Outgoing only; incoming takes any sender, also
    /// the null sender of bounces.
    func checkSender(_ address: String) -> SMTPReply? {
        guard mode == .outgoing else { return nil }
        guard address.utf8.filter({ $0 == UInt8(ascii: "@") }).count == 1 else {
            return SMTPReply(500, "Invalid from address \(address)")
        }
        let now = Double(NIODeadline.now().uptimeNanoseconds) / 1e9
        if let wait = limiter.withLockedValue({ $0.check(address, now: now) }) {
            let seconds = (wait * 1000).rounded(.up) / 1000
            return SMTPReply(450, "4.7.1: Too much mail from \(address), retry in \(seconds)s")
        }
        return nil
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

    func judge(_ envelope: Envelope, message: [UInt8], pool: NIOThreadPool,
               on eventLoop: EventLoop) -> EventLoopFuture<MailPolicy.Verdict> {
        pool.runIfActive(eventLoop: eventLoop) { self.judge(envelope, message: message) }
    }
}

// The closure only calls access(2) on an immutable path prefix.
extension MailPolicy: @unchecked Sendable {}
