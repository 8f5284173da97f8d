import ArgumentParser
import ChatmailConfig
import Deploy
import Foundation
import Online
import Remote

/// Options shared by `test` and `bench`: the second relay and TLS trust.
struct OnlineOptions: ParsableArguments {
    @Option(name: .customLong("second-relay"), help: ArgumentHelp(
        "Mail domain of a second relay for cross-relay checks (default: $CHATMAIL_DOMAIN2).", valueName: "domain"))
    var secondRelay: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp(
        "Also trust the CA certificates in this PEM file (default: $SSL_CERT_FILE).", valueName: "path"),
        completion: .file(extensions: ["pem", "crt"]))
    var caFile: String?

    func endpoints(_ config: ChatmailConfig) -> (RelayEndpoint, RelayEndpoint?) {
        let ca = caFile ?? ProcessInfo.processInfo.environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let relay = RelayEndpoint(config: config, caFile: ca)
        let secondDomain = secondRelay ?? ProcessInfo.processInfo.environment["CHATMAIL_DOMAIN2"].flatMap { $0.isEmpty ? nil : $0 }
        return (relay, secondDomain.map { RelayEndpoint.other($0, like: relay, caFile: ca) })
    }
}

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Run the online test suite against the deployed relay.",
        discussion: """
            Logs in with fresh random accounts over IMAP (993), SMTP (465) and port 25, checks \
            what the relay accepts and refuses, and runs server-side checks over SSH (--ssh-host). \
            Prints one line per test; exits 1 when a test fails. Afterwards the accounts the run \
            made are removed again over SSH (on the second relay too, when SSH to it works), \
            unless --keep-accounts.
            """)

    @OptionGroup var host: SSHHostOption
    @OptionGroup var online: OnlineOptions
    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("k"), .customLong("filter")], help: ArgumentHelp(
        "Run only tests whose name contains this text (repeatable).", valueName: "text"))
    var filters: [String] = []

    @Flag(help: "List the test names and exit.")
    var list = false

    @Flag(help: "Leave the accounts the tests made on the relays (to look into a failure).")
    var keepAccounts = false

    func run() async throws {
        if list {
            OnlineSuite.testNames.forEach { Console.out($0) }
            return
        }
        let config = try global.loadConfig()
        let (relay, second) = online.endpoints(config)
        let target = host.target(for: config)
        let sshOptions = host.sshOptions
        let context = OnlineContext(relay: relay, second: second, config: config,
                                    localVersion: Deployment.versionStamp()) { try openHost(target, options: sshOptions) }
        Console.out("testing \(relay.mailDomain)" + (second.map { " with second relay \($0.mailDomain)" } ?? "")
            + " (server checks via \(target))")
        let filters = self.filters
        let outcomes = await OnlineSuite.run(context, filters: filters) { outcome in
            let time = String(format: "%.2f s", outcome.seconds)
            switch outcome.result {
            case .passed: Console.out("ok   \(outcome.name) (\(time))")
            case .skipped(let why): Console.out("skip \(outcome.name) (\(why))")
            case .failed(let why):
                Console.out("FAIL \(outcome.name) (\(time))")
                Console.out("     \(why)")
            }
            fflush(nil)
        }
        if !keepAccounts {
            removeTestAccounts(relay: relay, second: second, days: config.deleteInactiveUsersAfter, sshOptions: sshOptions) {
                try context.removeCreatedAccounts()
            }
        }
        context.close()
        let failed = outcomes.filter { if case .failed = $0.result { return true } else { return false } }
        let skipped = outcomes.filter { if case .skipped = $0.result { return true } else { return false } }
        let passed = outcomes.count - failed.count - skipped.count
        Console.out("\(passed) passed, \(failed.count) failed" + (skipped.isEmpty ? "" : ", \(skipped.count) skipped"))
        if outcomes.isEmpty {
            Console.error("no test matches \(filters.joined(separator: ", "))")
            throw ExitCode(1)
        }
        if !failed.isEmpty {
            throw CommandFailure("failed: " + failed.map(\.name).joined(separator: "; "))
        }
    }
}
