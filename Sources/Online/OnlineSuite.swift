import ChatmailConfig
import Deploy
import Foundation
import MailClient
import Remote

/// What the online tests need: the relay under test, optionally a second
/// relay, the config the relay was deployed from, and a way to run
/// commands on the relay for server-side checks.
public final class OnlineContext: @unchecked Sendable {
    public let relay: RelayEndpoint
    public let second: RelayEndpoint?
    public let config: ChatmailConfig
    /// What `cmdeploy run` would write to /etc/chatmail-version from here.
    public let localVersion: String
    private let connectHost: () throws -> Remote.Host
    private var host: Remote.Host?
    private let lock = NSLock()

    public init(relay: RelayEndpoint, second: RelayEndpoint?, config: ChatmailConfig, localVersion: String,
                connectHost: @escaping () throws -> Remote.Host) {
        self.relay = relay
        self.second = second
        self.config = config
        self.localVersion = localVersion
        self.connectHost = connectHost
    }

    /// Runs a command on the relay over the shared SSH connection.
    func remote(_ command: String) throws -> CommandResult {
        lock.lock()
        defer { lock.unlock() }
        if host == nil { host = try connectHost() }
        let result = try host!.run(command, timeout: 60)
        guard result.succeeded else {
            throw TestFailure("on \(host!.name): `\(command)` exited \(result.status): \(result.stderrText.prefix(300))")
        }
        return result
    }

    /// Removes the accounts this run made on the relay, over the shared SSH
    /// connection (`AccountCleanup`); nil when it made none.
    public func removeCreatedAccounts() throws -> AccountCleanup.Result? {
        lock.lock()
        defer { lock.unlock() }
        if host == nil { host = try connectHost() }
        return try AccountCleanup.run(on: host!, relay: relay, mailboxesDir: config.mailboxesDir)
    }

    public func close() {
        host?.close()
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ text: String) { description = text }
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw TestFailure(message()) }
}

/// One online test. `skip` returns a reason when the test does not apply.
public struct OnlineTest: Sendable {
    public var name: String
    var skip: @Sendable (OnlineContext) -> String?
    var body: @Sendable (OnlineContext) async throws -> Void

    init(_ name: String, skip: @escaping @Sendable (OnlineContext) -> String? = { _ in nil },
         _ body: @escaping @Sendable (OnlineContext) async throws -> Void) {
        self.name = name
        self.skip = skip
        self.body = body
    }
}

public struct TestOutcome: Sendable {
    public enum Result: Sendable, Equatable { case passed, failed(String), skipped(String) }
    public var name: String
    public var result: Result
    public var seconds: Double
}

public enum OnlineSuite {
    /// Runs the tests whose name contains one of `filters` (all when empty),
    /// one after another, reporting each as it finishes.
    public static func run(_ context: OnlineContext, filters: [String] = [],
                           report: (TestOutcome) -> Void) async -> [TestOutcome] {
        var outcomes: [TestOutcome] = []
        for test in tests where filters.isEmpty || filters.contains(where: { test.name.contains($0) }) {
            let clock = ContinuousClock()
            let start = clock.now
            let result: TestOutcome.Result
            if let reason = test.skip(context) {
                result = .skipped(reason)
            } else {
                do {
                    try await test.body(context)
                    result = .passed
                } catch {
                    result = .failed("\(error)")
                }
            }
            let outcome = TestOutcome(name: test.name, result: result, seconds: seconds(clock.now - start))
            report(outcome)
            outcomes.append(outcome)
        }
        return outcomes
    }

    public static var testNames: [String] { tests.map(\.name) }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

// MARK: - helpers shared by tests and bench

/// The header block of a raw message, unfolded, as (name, value) pairs.
func headers(of message: [UInt8]) -> [(name: String, value: String)] {
    let text = String(decoding: message, as: UTF8.self)
    var block = Substring(text)
    if let end = text.range(of: "\r\n\r\n") ?? text.range(of: "\n\n") { block = text[..<end.lowerBound] }
    var result: [(String, String)] = []
    for line in block.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
        let l = line.hasSuffix("\r") ? line.dropLast() : line
        if l.first == " " || l.first == "\t", !result.isEmpty {
            result[result.count - 1].1 += " " + l.trimmingCharacters(in: .whitespaces)
        } else if let colon = l.firstIndex(of: ":") {
            result.append((String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
    }
    return result
}

func header(_ name: String, in message: [UInt8]) -> [String] {
    headers(of: message).filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
}

/// Sends `message` from `sender` on `from` to `recipient` on `to` and
/// returns it as stored in the recipient's INBOX (waiting with IDLE).
func deliver(_ message: (_ from: String, _ to: String) -> [UInt8], from: RelayEndpoint, _ sender: Account,
             to: RelayEndpoint, _ recipient: Account, timeout: Double = 30) async throws -> [UInt8] {
    let imap = try await to.imap(recipient)
    defer { imap.connection.close() }
    let before = imap.exists
    let smtp = try await from.smtp(sender)
    try await smtp.deliver(from: sender.address, to: [recipient.address], message: message(sender.address, recipient.address))
    await smtp.quit()
    try await imap.waitForMessages(before + 1, timeout: timeout)
    return try await imap.fetch(before + 1)
}

extension SMTPClient.Transaction {
    var summary: String {
        if let failure { return "refused: \(failure)" }
        return "accepted (\(final.map(\.description) ?? "?"))"
    }
}
