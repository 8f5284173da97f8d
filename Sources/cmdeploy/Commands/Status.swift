import ArgumentParser
import ChatmailConfig
import Deploy

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Report the relay's health: services, ports, certificates, queue, disk.",
        discussion: """
            Reads the relay's state in one SSH command and checks it against chatmail.ini: every
            unit the deploy starts is active, every port it opens is listening (held by the right
            process), the TLS certificate is far from expiry, Postfix's queue is readable, disk and
            memory are above the account-creation guards, the deployed version, and whether
            /etc/chatmail-nocreate stops new addresses. Exit status 0 when nothing failed
            (warnings included), 1 when something is wrong; the last line says what.
            """)

    @Flag(help: "Print one JSON object (checks and the facts behind them) instead of the report.")
    var json = false
    @Flag(help: .hidden) var raw = false   // the probe's raw output (test fixtures are made of it)
    @OptionGroup var host: SSHHostOption
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let config = try global.loadConfig()
        let remote = try host.connect(host.target(for: config), verbose: global.verbose)
        defer { remote.close() }
        if raw {
            do { print(try RelayHealth.probe(config, on: remote), terminator: "") } catch {
                throw CommandFailure("status of \(remote.name) failed: \(error)")
            }
            return
        }
        let report: StatusReport
        do {
            report = try RelayHealth.check(config, on: remote, localStamp: Deployment.versionStamp())
        } catch {
            throw CommandFailure("status of \(remote.name) failed: \(error)")
        }
        if json {
            print(report.json())
        } else {
            printStatus(report)
        }
        if !report.healthy { throw ExitCode(1) }
    }

    func printStatus(_ report: StatusReport) {
        Console.out("\(report.domain) (\(report.host))")
        let width = min(28, report.checks.map(\.name.count).max() ?? 0)
        for group in StatusReport.groups {
            let checks = report.checks.filter { $0.group == group }
            if checks.isEmpty { continue }
            Console.out(group)
            for c in checks {
                let name = c.name.padding(toLength: max(width, c.name.count), withPad: " ", startingAt: 0)
                switch c.level {
                case .ok: Console.report("  ok    \(name)  \(c.message)", style: .ok)
                case .warn: Console.report("  WARN  \(name)  \(c.message)", style: .warning)
                case .fail: Console.report("  FAIL  \(name)  \(c.message)", style: .error)
                }
            }
        }
        if report.healthy { Console.success(report.summary) } else { Console.error(report.summary) }
    }
}
