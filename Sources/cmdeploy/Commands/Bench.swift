import ArgumentParser
import ChatmailConfig
import Foundation
import Online
import Remote

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the deployed relay's speed.",
        discussion: """
            Times TLS connects and logins (IMAP 993, SMTP 465), account creation via /new, \
            send→arrival latency (IMAP IDLE) on the relay and to --second-relay, and a burst \
            within the rate limit. Prints min/median/p95/max per measurement in milliseconds. \
            Everything is measured over the mail and web ports; afterwards the accounts the run \
            made are removed over SSH (--ssh-host; on the second relay too when SSH to it works), \
            unless --keep-accounts.
            """)

    @OptionGroup var host: SSHHostOption
    @OptionGroup var online: OnlineOptions
    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Runs per measurement (1-100).", valueName: "n"))
    var runs = 5

    @Flag(help: "Print the results as JSON on stdout.")
    var json = false

    @Flag(help: "Leave the accounts the benchmark made on the relays.")
    var keepAccounts = false

    func validate() throws {
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        let (relay, second) = online.endpoints(config)
        let settings = RelayBench.Settings(runs: runs, burstSize: config.maxUserSendBurstSize,
                                           perMinute: config.maxUserSendPerMinute)
        let quiet = json
        if !quiet { Console.out("benchmarking \(relay.mailDomain), \(runs) runs each") }
        let results = await RelayBench.run(relay: relay, second: second, settings: settings) { name in
            if !quiet { Console.warn("[\(name)]") }
        }
        if !keepAccounts {
            let target = host.target(for: config), options = host.sshOptions
            removeTestAccounts(relay: relay, second: second, days: config.deleteInactiveUsersAfter, sshOptions: options,
                               quiet: quiet) {
                let ssh = try openHost(target, options: options)
                defer { ssh.close() }
                return try AccountCleanup.run(on: ssh, relay: relay, mailboxesDir: config.mailboxesDir)
            }
        }
        if json {
            Console.out(RelayBench.json(results, relay: relay, second: second, runs: runs))
        } else {
            Console.out(RelayBench.table(results))
        }
        let failed = results.filter { $0.error != nil }
        if !failed.isEmpty {
            for m in failed { Console.error("\(m.name): \(m.error!)") }
            throw ExitCode(1)
        }
    }
}
