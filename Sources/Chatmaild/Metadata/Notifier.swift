import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Push notifications: one persistent queue item per (message, token) in
/// `pending_notifications/`, POSTed to notification_url with retries after
/// 0, 8, 64, 512 and 4096 s, and given up 5 h after the message arrived.
/// Items survive restarts: the file is written before the dict commit is
/// answered and removed only once the endpoint answered 200 or 410.
public final class Notifier: @unchecked Sendable {
    struct Item {
        let file: String
        let addr: String
        let startTS: Double
        let token: String
    }

    static let maxLevels = 5
    static let deadline = 5.0 * 3600
    /// Requests in flight per level, as the Python relay's thread counts.
    static func concurrency(level: Int) -> Int { level == 0 ? 4 : 2 }
    static func delay(level: Int) -> Double { level == 0 ? 0 : Double(1 << (3 * level)) }

    let queueDir: String
    let tokens: TokenStore
    let post: @Sendable (String) -> EventLoopFuture<Int>
    let loop: EventLoop
    /// Scales retry delays; tests use a small factor.
    let delayScale: Double

    // Confined to `loop`.
    private var ready: [[Item]] = Array(repeating: [], count: Notifier.maxLevels)
    private var inFlight = Array(repeating: 0, count: Notifier.maxLevels)

    init(queueDir: String, tokens: TokenStore, loop: EventLoop, delayScale: Double = 1,
         post: @escaping @Sendable (String) -> EventLoopFuture<Int>) {
        self.queueDir = queueDir
        self.tokens = tokens
        self.loop = loop
        self.post = post
        self.delayScale = delayScale
    }

    /// Called for `/private/messagenew`: persist one item per valid token.
    func newMessage(for addr: String) {
        let t = now()
        for token in tokens.tokens(addr) {
            let name = Self.randomHex()
            let file = queueDir + "/" + name
            let content = "\(addr)\n\(t)\n\(token)"
            guard Files.writeAtomically(file, Array(content.utf8)) else {
                Log.error("could not write queue item \(file): \(Files.errorText)")
                continue
            }
            let item = Item(file: file, addr: addr, startTS: t, token: token)
            loop.execute { self.enqueue(item, level: 0) }
        }
    }

    /// Re-queues what a previous run left behind, dropping temp files and junk.
    func recover() {
        for name in (Files.list(queueDir) ?? []).sorted() {
            let file = queueDir + "/" + name
            if name.contains(".tmp") {
                Log.warning("removing spurious queue item: \(file)")
                unlink(file)
                continue
            }
            let lines = (Files.readString(file) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.count == 3, let ts = Double(lines[1]), !lines[0].isEmpty, !lines[2].isEmpty else {
                Log.warning("removing unparsable queue item: \(file)")
                unlink(file)
                continue
            }
            let item = Item(file: file, addr: String(lines[0]), startTS: ts, token: String(lines[2]))
            loop.execute { self.enqueue(item, level: 0) }
        }
    }

    private func enqueue(_ item: Item, level: Int) {
        let delay = Self.delay(level: level)
        if level >= Self.maxLevels || now() + delay > item.startTS + Self.deadline {
            Log.error("notification exceeded deadline: '\(item.token)'")
            unlink(item.file)
            return
        }
        let wait = delay * delayScale
        if wait <= 0 {
            ready[level].append(item)
            pump(level)
        } else {
            loop.scheduleTask(in: .nanoseconds(Int64(wait * 1e9))) {
                self.ready[level].append(item)
                self.pump(level)
            }
        }
    }

    private func pump(_ level: Int) {
        while inFlight[level] < Self.concurrency(level: level), !ready[level].isEmpty {
            let item = ready[level].removeFirst()
            inFlight[level] += 1
            post(item.token).hop(to: loop).whenComplete { result in
                self.inFlight[level] -= 1
                self.finished(item, level: level, result: result)
                self.pump(level)
            }
        }
    }

    private func finished(_ item: Item, level: Int, result: Result<Int, Error>) {
        switch result {
        case .success(200):
            unlink(item.file)
        case .success(410):
            // The push service says the token is gone for good.
            tokens.remove(item.addr, token: item.token)
            unlink(item.file)
        case .success(let code):
            Log.warning("Notification request failed: HTTP \(code)")
            enqueue(item, level: level + 1)
        case .failure(let error):
            Log.warning("Notification request failed: \(error)")
            enqueue(item, level: level + 1)
        }
    }

    static func randomHex() -> String {
        var s = ""
        for _ in 0..<4 {
            let part = String(UInt32.random(in: .min ... .max), radix: 16)
            s += String(repeating: "0", count: 8 - part.count) + part
        }
        return s
    }
}
