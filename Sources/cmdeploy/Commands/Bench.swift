import ArgumentParser
import ChatmailConfig
import Foundation
import Online

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the deployed relay's speed.",
        discussion: """
            Times TLS connects and logins (IMAP 993, SMTP 465), account creation via /new, \
            send→arrival latency (IMAP IDLE) on the relay and to --second-relay, and a burst \
            within the rate limit. Prints min/median/p95/max per measurement in milliseconds. \
            Everything goes over the mail and web ports; the SSH options are accepted so bench \
            takes the same options as test.
            """)

    // Accepted (and unused) so scripts can pass `test` and `bench` the same options.
    @OptionGroup var host: SSHHostOption
    @OptionGroup var online: OnlineOptions
    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Runs per measurement (1-100).", valueName: "n"))
    var runs = 5

    @Flag(help: "Print the results as JSON on stdout.")
    var json = false

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
