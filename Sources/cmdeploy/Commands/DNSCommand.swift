import ArgumentParser
import ChatmailConfig
import Deploy
import Foundation
import Remote

struct DNSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns", abstract: "Check the relay's DNS records, or write them as a zone file.",
        discussion: """
            The records are looked up on the relay, directly at the name servers of the
            domain's zone, so caches do not hide a change. For every record it prints what
            each server has: correct, not set, set differently (with the value found) or
            server unreachable. Exit status 0 when all required records are right, else 1;
            missing recommended records only warn. --zonefile writes the records as a
            BIND zone file instead.
            """)

    @Option(help: ArgumentHelp("Write the zone to this file instead of checking.", valueName: "path"), completion: .file())
    var zonefile: String?
    @OptionGroup var host: SSHHostOption
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let config = try global.loadConfig()
        if let ip = config.ipv4Relay {
            print("[WARNING] \(ip) is not a domain, skipping DNS checks.")
            return
        }
        let remote = try host.connect(host.sshHost ?? config.mailDomain, verbose: global.verbose)
        defer { remote.close() }
        let probe = try collectDNS(config, on: remote, verbose: global.verbose)

        // Unlike the Python tool, missing A/CNAME records do not stop here:
        // writing and checking the zone is how the operator gets them set.
        if let problems = DNSPreCheck.problems(config, probe: probe) {
            for line in problems { print(line) }
            print("")
        }
        if config.strictTLS && probe.acmeAccountURL.isEmpty {
            throw CommandFailure("could not get letsencrypt account url, please run 'cmdeploy run'")
        }
        if probe.dkimPublicKey.isEmpty {
            throw CommandFailure("could not determine dkim_entry, please run 'cmdeploy run'")
        }
        let zone = RelayZone(config: config, probe: probe)
        if let zonefile {
            do {
                try Data(zone.text.utf8).write(to: URL(fileURLWithPath: zonefile))
            } catch {
                throw CommandFailure("cannot write \(zonefile): \(error.localizedDescription)")
            }
            Console.success("DNS records successfully written to: \(zonefile)")
            return
        }
        let result = DNSCheckResult(zone: zone, probe: probe)
        printReport(DNSReport.lines(result, zone: zone))
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

/// Gathers the relay's DNS view in one round trip; failures become exit code 1.
func collectDNS(_ config: ChatmailConfig, on remote: Remote.Host, verbose: Bool, installDig: Bool = true) throws -> RelayDNSProbe {
    if verbose { Console.warn("[\(remote.name)] Collecting initial DNS settings.") }
    do {
        return try RelayDNSProbe.collect(config, on: remote, installDig: installDig)
    } catch {
        throw CommandFailure("DNS lookup on \(remote.name) failed: \(error)")
    }
}

func printReport(_ lines: [ReportLine]) {
    for line in lines {
        switch line.style {
        case .plain: Console.out(line.text)
        case .ok: Console.success(line.text)
        case .warning: Console.warn(line.text)
        case .error: Console.error(line.text)
        }
    }
}
