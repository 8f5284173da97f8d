import ChatmailConfig
import Foundation
import MailClient

/// Timed runs against a deployed relay, like the Python `cmdeploy bench`
/// minus its runs through a Delta Chat client: connection set-up, logins,
/// account creation, delivery latency and a burst within the rate limit.
public enum RelayBench {
    public struct Measurement: Sendable {
        public var name: String
        /// Seconds per run, in the order measured.
        public var samples: [Double]
        public var error: String?

        public var sorted: [Double] { samples.sorted() }
        public var min: Double? { sorted.first }
        public var max: Double? { sorted.last }
        public var median: Double? {
            let s = sorted
            guard !s.isEmpty else { return nil }
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        /// Nearest-rank 95th percentile.
        public var p95: Double? {
            let s = sorted
            guard !s.isEmpty else { return nil }
            return s[Swift.max(0, Int((0.95 * Double(s.count)).rounded(.up)) - 1)]
        }
    }

    public struct Settings: Sendable {
        public var runs: Int
        public var burstSize: Int
        public var perMinute: Int
        public var timeout: Double = 30
        public init(runs: Int, burstSize: Int, perMinute: Int) {
            self.runs = runs
            self.burstSize = burstSize
            self.perMinute = perMinute
        }
    }

    public static func run(relay: RelayEndpoint, second: RelayEndpoint?, settings: Settings,
                           progress: (String) -> Void) async -> [Measurement] {
        var results: [Measurement] = []
        func measure(_ name: String, _ body: () async throws -> Double) async {
            progress(name)
            var m = Measurement(name: name, samples: [])
            do {
                for _ in 0..<settings.runs { m.samples.append(try await body()) }
            } catch {
                m.error = "\(error)"
            }
            results.append(m)
        }
        /// Times `body` alone; set-up outside it is not counted.
        func timed(_ body: () async throws -> Void) async rethrows -> Double {
            let clock = ContinuousClock()
            let start = clock.now
            try await body()
            return seconds(clock.now - start)
        }

        await measure("imap tls connect") {
            var client: IMAPClient?
            let t = try await timed { client = try await IMAPClient.connect(host: relay.host, trust: relay.trust) }
            client?.connection.close()
            return t
        }
        await measure("imap login, new account") {
            let account = relay.newCredentials()
            var client: IMAPClient?
            let t = try await timed {
                client = try await IMAPClient.connect(host: relay.host, trust: relay.trust)
                try await client!.loginOrThrow(account.address, account.password)
            }
            client?.connection.close()
            return t
        }
        await measure("smtp tls connect") {
            var client: SMTPClient?
            let t = try await timed {
                client = try await SMTPClient.connect(host: relay.host, port: 465, implicitTLS: true, trust: relay.trust)
            }
            client?.connection.close()
            return t
        }
        await measure("smtp login, new account") {
            let account = relay.newCredentials()
            var client: SMTPClient?
            let t = try await timed { client = try await relay.smtp(account) }
            client?.connection.close()
            return t
        }
        await measure("account via /new + first login") {
            // nginx lets one address make 2 accounts a second (burst 5): the
            // untimed pause keeps a long run inside that limit.
            try await Task.sleep(for: .milliseconds(550))
            return try await timed {
                let response = try await HTTPSClient.request("POST", host: relay.host, path: "/new", trust: relay.trust)
                guard response.status == 200,
                      let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                      let email = json["email"] as? String, let password = json["password"] as? String
                else { throw TestFailure("\(relay.host):443: POST /new: HTTP \(response.status) \(response.bodyText.prefix(120))") }
                relay.created.record(email)
                let imap = try await relay.imap(Account(address: email, password: password))
                imap.connection.close()
            }
        }

        var targets = [("same relay", relay)]
        if let second { targets.append(("to \(second.mailDomain)", second)) }
        for (label, target) in targets {
            var latency = Latency(from: relay, to: target, settings: settings)
            await measure("send→arrival, \(label)") { try await latency.once() }
            await latency.close()
        }

        // Each run uses a fresh sender, so its burst starts from a full bucket.
        let burst = Swift.max(1, Swift.min(settings.burstSize, 10))
        await measure("burst of \(burst) → all arrived") {
            let sender = try await relay.createAccount(1)
            let recipient = try await relay.createAccount(2)
            let imap = try await relay.imap(recipient)
            let smtp = try await relay.smtp(sender)
            defer { imap.connection.close(); smtp.connection.close() }
            return try await timed {
                for _ in 0..<burst {
                    try await smtp.deliver(from: sender.address, to: [recipient.address],
                                           message: TestMessage.encrypted(from: sender.address, to: [recipient.address]))
                }
                try await imap.waitForMessages(burst, timeout: settings.timeout)
            }
        }
        return results
    }

    /// One receiver idling in its INBOX and a sender that is replaced before
    /// it would reach the rate limit.
    struct Latency {
        let from: RelayEndpoint
        let to: RelayEndpoint
        let settings: Settings
        var sender: (Account, SMTPClient, Int)?
        var receiver: (Account, IMAPClient)?

        init(from: RelayEndpoint, to: RelayEndpoint, settings: Settings) {
            self.from = from
            self.to = to
            self.settings = settings
        }

        mutating func once() async throws -> Double {
            if receiver == nil {
                let account = try await to.createAccount(2)
                receiver = (account, try await to.imap(account))
            }
            if sender == nil || sender!.2 >= Swift.max(1, settings.burstSize - 1) {
                sender?.1.connection.close()
                let account = try await from.createAccount(1)
                sender = (account, try await from.smtp(account), 0)
            }
            let (recipient, imap) = receiver!
            let (account, smtp, sent) = sender!
            sender!.2 = sent + 1
            let want = imap.exists + 1
            let clock = ContinuousClock()
            let start = clock.now
            try await smtp.deliver(from: account.address, to: [recipient.address],
                                   message: TestMessage.encrypted(from: account.address, to: [recipient.address]))
            try await imap.waitForMessages(want, timeout: settings.timeout)
            return seconds(clock.now - start)
        }

        func close() async {
            sender?.1.connection.close()
            receiver?.1.connection.close()
        }
    }

    /// A fixed-width table, times in milliseconds.
    public static func table(_ results: [Measurement]) -> String {
        let width = Swift.max(34, results.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: Swift.max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        func ms(_ v: Double?) -> String { v.map { String(format: "%.1f", $0 * 1000) } ?? "-" }
        var out = pad("measurement", width, left: true) + pad("runs", 6) + pad("min ms", 10) + pad("median ms", 11)
            + pad("p95 ms", 10) + pad("max ms", 10) + "\n"
        for m in results {
            out += pad(m.name, width, left: true) + pad("\(m.samples.count)", 6) + pad(ms(m.min), 10)
                + pad(ms(m.median), 11) + pad(ms(m.p95), 10) + pad(ms(m.max), 10) + "\n"
            if let error = m.error { out += "  FAILED: \(error)\n" }
        }
        return out
    }

    public static func json(_ results: [Measurement], relay: RelayEndpoint, second: RelayEndpoint?, runs: Int) -> String {
        func ms(_ v: Double?) -> Any { v.map { ($0 * 1_000_000).rounded() / 1000 } ?? NSNull() }
        let measurements: [[String: Any]] = results.map { m in
            var entry: [String: Any] = [
                "name": m.name, "runs": m.samples.count, "min_ms": ms(m.min), "median_ms": ms(m.median),
                "p95_ms": ms(m.p95), "max_ms": ms(m.max), "samples_ms": m.samples.map { ms($0) },
            ]
            if let error = m.error { entry["error"] = error }
            return entry
        }
        let root: [String: Any] = [
            "relay": relay.mailDomain, "second_relay": second?.mailDomain ?? NSNull(), "runs": runs,
            "measurements": measurements,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
